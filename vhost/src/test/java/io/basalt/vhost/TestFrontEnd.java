package io.basalt.vhost;

import io.basalt.shims.Errno;
import io.basalt.shims.Libc;
import io.basalt.shims.NativeException;
import io.basalt.shims.UnixSocket;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.basalt.vhost.protocol.VhostUserMessage.*;

/**
 * Plays QEMU's side of vhost-user in tests: a socket, one memfd of "guest RAM" mapped here too, and a split
 * ring laid out in it (desc table, avail, used), with eventfds for kick and call. Real QEMU guests run in
 * qemu-tests/; this is for protocol cases a guest cannot produce (malformed messages, fuzzing).
 */
final class TestFrontEnd implements AutoCloseable {
    static final long RAM_BYTES = 4 << 20;
    static final long GPA_BASE = 0x100000;
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final Arena arena = Arena.ofShared();
    int socket;
    final VhostUserMessage message = new VhostUserMessage(arena);
    final UnixSocket.Receiver receiver = new UnixSocket.Receiver();
    final int ramFd;
    final long ramAddress;
    final MemorySegment ram;
    final int[] fdsIn = new int[8];
    /** fds that came with the last reply (in {@link #fdsIn}); the caller owns them. */
    int receivedFds;

    void closeReceivedFds() {
        for (int i = 0; i < receivedFds; i++) Libc.close(fdsIn[i]);
        receivedFds = 0;
    }

    TestFrontEnd(String socketPath) {
        socket = connect(socketPath);
        ramFd = (int) NativeException.check(Libc.memfdCreate("test-guest", Libc.MFD_CLOEXEC), "memfd");
        NativeException.check(Libc.ftruncate(ramFd, RAM_BYTES), "ftruncate");
        ramAddress = NativeException.check(Libc.mmap(0, RAM_BYTES, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, ramFd, 0), "mmap");
        ram = Libc.segment(ramAddress, RAM_BYTES);
    }

    private static int connect(String socketPath) {
        int fd = -1;
        for (int i = 0; i < 200 && fd < 0; i++) {
            fd = UnixSocket.connect(socketPath);
            if (fd < 0) sleep(10);
        }
        return (int) NativeException.check(fd, "connect " + socketPath);
    }

    /**
     * A new connection with the same guest memory, as QEMU reconnects after its back-end went away; {@code
     * whileAway} runs between (waiting for the old session to end: one front-end at a time). The caller sets the
     * device up again.
     */
    void reconnect(String socketPath, Runnable whileAway) {
        Libc.close(socket);
        whileAway.run();
        socket = connect(socketPath);
    }

    /** GET_INFLIGHT_FD: returns {memfd (the caller's), mmap size}. */
    long[] getInflightFd(int numQueues, int queueSize) {
        message.request(VhostUser.GET_INFLIGHT_FD, VhostUser.VERSION, INFLIGHT_SIZE)
                .putU16(INFLIGHT_NUM_QUEUES_OFFSET, numQueues).putU16(INFLIGHT_QUEUE_SIZE_OFFSET, queueSize);
        if (!send(null, 0) || !receive() || receivedFds != 1) throw new IllegalStateException("GET_INFLIGHT_FD: no buffer");
        receivedFds = 0;
        return new long[] {fdsIn[0], message.u64(INFLIGHT_MMAP_SIZE_OFFSET)};
    }

    /** SET_INFLIGHT_FD with a buffer a back-end gave before (QEMU sends it on every start). */
    void setInflightFd(int fd, long mmapBytes, int numQueues, int queueSize) {
        message.request(VhostUser.SET_INFLIGHT_FD, VhostUser.VERSION, INFLIGHT_SIZE).putU64(INFLIGHT_MMAP_SIZE_OFFSET, mmapBytes)
                .putU64(INFLIGHT_MMAP_OFFSET_OFFSET, 0).putU16(INFLIGHT_NUM_QUEUES_OFFSET, numQueues).putU16(INFLIGHT_QUEUE_SIZE_OFFSET, queueSize);
        send(new int[] {fd}, 1);
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ messages

    /** Sends the message now in {@link #message}; returns false if the back-end has gone. */
    boolean send(int[] fds, int fdCount) {
        long n = UnixSocket.send(socket, message.buffer(), message.totalBytes(), fds == null ? new int[0] : fds, fdCount);
        return n == message.totalBytes();
    }

    /** Sends the first {@code bytes} of the buffer, whatever the header's size field says (for garbage). */
    boolean sendRaw(long bytes, int[] fds, int fdCount) {
        long n = UnixSocket.send(socket, message.buffer(), bytes, fds == null ? new int[0] : fds, fdCount);
        return n == bytes;
    }

    boolean send(int request, int flags, int payloadBytes) {
        message.request(request, flags, payloadBytes);
        return send(null, 0);
    }

    /** Reads one reply into {@link #message}; false when the back-end closed the connection. */
    boolean receive() {
        long got = 0;
        receivedFds = 0;
        while (got < HEADER_SIZE) {
            long n = receiver.receive(socket, message.buffer().asSlice(got), HEADER_SIZE - got, fdsIn);
            if (n <= 0) return false;
            if (receiver.fdCount() > 0) receivedFds = receiver.fdCount();
            got += n;
        }
        long size = message.size();
        got = 0;
        while (got < size) {
            long n = receiver.receive(socket, message.buffer().asSlice(HEADER_SIZE + got), size - got, fdsIn);
            if (n <= 0) return false;
            got += n;
        }
        return true;
    }

    long getU64(int request) {
        if (!send(request, VhostUser.VERSION, 0) || !receive()) throw new IllegalStateException("no reply to " + VhostUser.name(request));
        return message.u64(0);
    }

    void setU64(int request, long value) {
        message.request(request, VhostUser.VERSION, 8).putU64(0, value);
        send(null, 0);
    }

    /** True when the back-end has closed the connection (a read returns 0 within the timeout). */
    boolean closedByBackEnd(int timeoutMs) {
        int revents = Libc.poll(socket, Libc.POLLIN, timeoutMs);
        if (revents <= 0) return false;
        long n = receiver.receive(socket, message.buffer(), HEADER_SIZE, fdsIn, 0);
        return n == 0 || n == -Errno.ECONNRESET;
    }

    // ------------------------------------------------------------------ device set-up, as QEMU does it

    long uva(long gpa) { return ramAddress + (gpa - GPA_BASE); }
    MemorySegment at(long gpa, long bytes) { return ram.asSlice(gpa - GPA_BASE, bytes); }

    /** Negotiates everything offered except RING_PACKED: split rings, as QEMU does unless packed=on. */
    void negotiate() {
        negotiate(false);
    }

    void negotiate(boolean packed) {
        long features = getU64(VhostUser.GET_FEATURES);
        if (!packed) features &= ~(1L << io.basalt.vhost.virtio.VirtioFeatures.RING_PACKED);
        long protocol = getU64(VhostUser.GET_PROTOCOL_FEATURES);
        setU64(VhostUser.SET_PROTOCOL_FEATURES, protocol);
        send(VhostUser.SET_OWNER, VhostUser.VERSION, 0);
        setU64(VhostUser.SET_FEATURES, features);
    }

    void setMemTable() {
        message.request(VhostUser.SET_MEM_TABLE, VhostUser.VERSION, MEMORY_REGIONS_OFFSET + REGION_SIZE)
                .putU32(MEMORY_COUNT_OFFSET, 1)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_GUEST_ADDR_OFFSET, GPA_BASE)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_SIZE_OFFSET, RAM_BYTES)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_USER_ADDR_OFFSET, ramAddress)
                .putU64(MEMORY_REGIONS_OFFSET + REGION_MMAP_OFFSET_OFFSET, 0);
        send(new int[] {ramFd}, 1);
    }

    /** A split ring of {@code size} entries at fixed guest addresses; returns its kick and call eventfds. */
    Ring setUpRing(int index, int size) {
        return setUpRing(index, size, GPA_BASE + 0x10000L * index);
    }

    /** The same at guest address {@code base} (a ring and its buffers take about 300 KiB). */
    Ring setUpRing(int index, int size, long base) {
        Ring r = new Ring(this, index, size, base);
        message.request(VhostUser.SET_VRING_NUM, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, size);
        send(null, 0);
        message.request(VhostUser.SET_VRING_BASE, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, 0);
        send(null, 0);
        message.request(VhostUser.SET_VRING_ADDR, VhostUser.VERSION, ADDR_SIZE).putU32(ADDR_INDEX_OFFSET, index)
                .putU64(ADDR_DESC_OFFSET, uva(r.descGpa)).putU64(ADDR_AVAIL_OFFSET, uva(r.availGpa)).putU64(ADDR_USED_OFFSET, uva(r.usedGpa));
        send(null, 0);
        message.request(VhostUser.SET_VRING_KICK, VhostUser.VERSION, 8).putU64(0, index);
        send(new int[] {r.kickFd}, 1);
        message.request(VhostUser.SET_VRING_CALL, VhostUser.VERSION, 8).putU64(0, index);
        send(new int[] {r.callFd}, 1);
        message.request(VhostUser.SET_VRING_ENABLE, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, 1);
        send(null, 0);
        return r;
    }

    /**
     * A packed ring (virtio 2.8) of {@code size} entries, started at vring base {@code base} (position |
     * wrap << 15): SET_VRING_ADDR carries the descriptor ring, driver area and device area as QEMU sends them.
     */
    PackedRing setUpPackedRing(int index, int size, int base) {
        return describePackedRing(new PackedRing(this, index, size, GPA_BASE + 0x10000L * index, base), base);
    }

    /**
     * Describes ring {@code r} (its driver state as it stands) to the back-end with vring base {@code base}: after a
     * reconnect QEMU sends a packed ring's base of its previous start, not where the ring is.
     */
    PackedRing describePackedRing(PackedRing r, int base) {
        int index = r.index, size = r.size;
        message.request(VhostUser.SET_VRING_NUM, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, size);
        send(null, 0);
        message.request(VhostUser.SET_VRING_BASE, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, base);
        send(null, 0);
        message.request(VhostUser.SET_VRING_ADDR, VhostUser.VERSION, ADDR_SIZE).putU32(ADDR_INDEX_OFFSET, index)
                .putU64(ADDR_DESC_OFFSET, uva(r.ringGpa)).putU64(ADDR_AVAIL_OFFSET, uva(r.driverEventGpa))
                .putU64(ADDR_USED_OFFSET, uva(r.deviceEventGpa));
        send(null, 0);
        message.request(VhostUser.SET_VRING_KICK, VhostUser.VERSION, 8).putU64(0, index);
        send(new int[] {r.kickFd}, 1);
        message.request(VhostUser.SET_VRING_CALL, VhostUser.VERSION, 8).putU64(0, index);
        send(new int[] {r.callFd}, 1);
        message.request(VhostUser.SET_VRING_ENABLE, VhostUser.VERSION, STATE_SIZE).putU32(STATE_INDEX_OFFSET, index).putU32(STATE_NUM_OFFSET, 1);
        send(null, 0);
        return r;
    }

    /** One packed ring, buffer id = the request's first slot, requests of 3 slots (2 for FLUSH), in order. */
    static final class PackedRing {
        static final int AVAIL = 1 << 7, USED = 1 << 15;
        final TestFrontEnd fe;
        final int index, size;
        final long ringGpa, driverEventGpa, deviceEventGpa, dataGpa;
        final int kickFd, callFd;
        int nextAvail, usedPos;
        boolean availWrap, usedWrap;
        final int[] slotsOfId;

        PackedRing(TestFrontEnd fe, int index, int size, long base, int vringBase) {
            this.fe = fe;
            this.index = index;
            this.size = size;
            this.ringGpa = base;
            this.driverEventGpa = ringGpa + 16L * size;
            this.deviceEventGpa = driverEventGpa + 4;
            this.dataGpa = (deviceEventGpa + 4 + 4095) & ~4095L;
            this.nextAvail = usedPos = vringBase & 0x7FFF;
            this.availWrap = usedWrap = (vringBase & 0x8000) != 0;
            this.slotsOfId = new int[size];
            this.kickFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
            this.callFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        }

        private void desc(int slot, long gpa, int len, int id, int flags, boolean head) {
            MemorySegment d = fe.at(ringGpa + 16L * slot, 16);
            d.set(U64, 0, gpa);
            d.set(U32, 8, len);
            d.set(U16, 12, (short) id);
            if (!head) d.set(U16, 14, (short) flags);
        }

        private int nextSlot() {
            int s = nextAvail;
            if (++nextAvail == size) {
                nextAvail = 0;
                availWrap = !availWrap;
            }
            return s;
        }

        /** AVAIL/USED bits marking a descriptor available in the lap {@link #nextAvail} is in. */
        private int availBits() {
            return availWrap ? AVAIL : USED;
        }

        /**
         * Queues a virtio-blk request (header, data if any, status); returns its buffer id. As Linux
         * virtio_ring.c does it: each descriptor's flags carry the AVAIL/USED bits of the lap its own slot is in
         * (taken before {@link #nextSlot} flips the wrap counter at the ring's end: 2.8.6 wants them right in
         * every descriptor of the list), and the head's flags are stored last, after a release fence (2.8.21).
         */
        int request(int type, long sector, long dataGpa, int dataBytes, boolean deviceWrites) {
            int headSlot = nextAvail;
            int headFlags = availBits() | 1;
            nextSlot();
            int id = headSlot;
            long header = this.dataGpa + 4096L * 64 + 32L * id;
            fe.at(header, 16).set(U32, 0, type);
            fe.at(header, 16).set(U32, 4, 0);
            fe.at(header, 16).set(U64, 8, sector);
            long status = header + 16;
            fe.at(status, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0xFF);
            desc(headSlot, header, 16, id, headFlags, true);
            int slots = 2;
            if (dataBytes > 0) {
                int flags = availBits() | 1 | (deviceWrites ? 2 : 0);
                desc(nextSlot(), dataGpa, dataBytes, id, flags, false);
                slots = 3;
            }
            int flags = availBits() | 2;
            desc(nextSlot(), status, 1, id, flags, false);
            slotsOfId[id] = slots;
            java.lang.invoke.VarHandle.releaseFence(); // the head's flags last (virtio 2.8.21)
            fe.at(ringGpa + 16L * headSlot, 16).set(U16, 14, (short) headFlags);
            return id;
        }

        int status(int id) {
            return fe.at(this.dataGpa + 4096L * 64 + 32L * id + 16, 1).get(ValueLayout.JAVA_BYTE, 0) & 0xFF;
        }

        void kick() {
            try (Arena a = Arena.ofConfined()) {
                Libc.write(kickFd, a.allocateFrom(ValueLayout.JAVA_LONG, 1L), 8);
            }
        }

        String dump() {
            StringBuilder b = new StringBuilder("usedPos=" + usedPos + " usedWrap=" + usedWrap + " nextAvail=" + nextAvail + ":");
            for (int i = 0; i < size; i++) {
                MemorySegment d = fe.at(ringGpa + 16L * i, 16);
                b.append(" [").append(i).append(" id=").append(Short.toUnsignedInt(d.get(U16, 12))).append(" f=0x")
                        .append(Integer.toHexString(Short.toUnsignedInt(d.get(U16, 14)))).append(" len=").append(d.get(U32, 8)).append(']');
            }
            return b.toString();
        }

        /** Waits for the next used descriptor; returns its buffer id, or -1 on timeout. */
        int awaitUsed(long timeoutMs) {
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (System.currentTimeMillis() < deadline) {
                java.lang.invoke.VarHandle.acquireFence();
                int flags = Short.toUnsignedInt(fe.at(ringGpa + 16L * usedPos + 14, 2).get(U16, 0));
                if (((flags & AVAIL) != 0) == usedWrap && ((flags & USED) != 0) == usedWrap) {
                    java.lang.invoke.VarHandle.acquireFence();
                    int id = Short.toUnsignedInt(fe.at(ringGpa + 16L * usedPos + 12, 2).get(U16, 0));
                    usedPos += slotsOfId[id];
                    if (usedPos >= size) {
                        usedPos -= size;
                        usedWrap = !usedWrap;
                    }
                    return id;
                }
                TestFrontEnd.sleep(1);
            }
            return -1;
        }

        void close() {
            Libc.close(kickFd);
            Libc.close(callFd);
        }
    }

    /** One split ring and a bump allocator for request buffers after it. */
    static final class Ring {
        final TestFrontEnd fe;
        final int index, size;
        final long descGpa, availGpa, usedGpa, dataGpa;
        final int kickFd, callFd;
        int availIdx, usedSeen, nextDesc;

        Ring(TestFrontEnd fe, int index, int size, long base) {
            this.fe = fe;
            this.index = index;
            this.size = size;
            this.descGpa = base;
            this.availGpa = descGpa + 16L * size;
            this.usedGpa = (availGpa + 6 + 2L * size + 3) & ~3L;
            this.dataGpa = (usedGpa + 6 + 8L * size + 4095) & ~4095L;
            this.kickFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC), "eventfd");
            this.callFd = (int) NativeException.check(Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd");
        }

        void desc(int i, long gpa, int len, int flags, int next) {
            MemorySegment d = fe.at(descGpa + 16L * i, 16);
            d.set(U64, 0, gpa);
            d.set(U32, 8, len);
            d.set(U16, 12, (short) flags);
            d.set(U16, 14, (short) next);
        }

        /** Queues a virtio-blk request: header, data (if any), status byte. Returns the head. */
        int request(int type, long sector, long dataGpa, int dataBytes, boolean deviceWrites) {
            if (nextDesc + 3 > size) nextDesc = 0;
            int h = nextDesc;
            nextDesc += 3;
            long header = this.dataGpa + 4096L * 64 + 32L * h;
            fe.at(header, 16).set(U32, 0, type);
            fe.at(header, 16).set(U32, 4, 0);
            fe.at(header, 16).set(U64, 8, sector);
            long status = header + 16;
            fe.at(status, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0xFF);
            if (dataBytes == 0) { // FLUSH and friends: header and status only
                desc(h, header, 16, 1, h + 2);
            } else {
                desc(h, header, 16, 1, h + 1);
                desc(h + 1, dataGpa, dataBytes, 1 | (deviceWrites ? 2 : 0), h + 2);
            }
            desc(h + 2, status, 1, 2, 0);
            fe.at(availGpa + 4 + 2L * (availIdx % size), 2).set(U16, 0, (short) h);
            availIdx++;
            java.lang.invoke.VarHandle.releaseFence();
            fe.at(availGpa + 2, 2).set(U16, 0, (short) availIdx);
            return h;
        }

        String usedEntry(int i) {
            MemorySegment e = fe.at(usedGpa + 4 + 8L * i, 8);
            return "id=" + e.get(U32, 0) + " len=" + e.get(U32, 4);
        }

        int status(int head) {
            return fe.at(this.dataGpa + 4096L * 64 + 32L * head + 16, 1).get(ValueLayout.JAVA_BYTE, 0) & 0xFF;
        }

        void kick() {
            try (Arena a = Arena.ofConfined()) {
                Libc.write(kickFd, a.allocateFrom(ValueLayout.JAVA_LONG, 1L), 8);
            }
        }

        /** Waits until {@code count} more used entries appeared; false on timeout. */
        boolean awaitUsed(int count, long timeoutMs) {
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (System.currentTimeMillis() < deadline) {
                java.lang.invoke.VarHandle.acquireFence();
                int used = Short.toUnsignedInt(fe.at(usedGpa + 2, 2).get(U16, 0));
                if (((used - usedSeen) & 0xFFFF) >= count) {
                    usedSeen = (usedSeen + count) & 0xFFFF;
                    return true;
                }
                TestFrontEnd.sleep(1);
            }
            return false;
        }

        void close() {
            Libc.close(kickFd);
            Libc.close(callFd);
        }
    }

    @Override
    public void close() {
        Libc.close(socket);
        receiver.close();
        Libc.munmap(ramAddress, RAM_BYTES);
        Libc.close(ramFd);
        arena.close();
    }
}
