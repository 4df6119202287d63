package io.basalt.vhost;

import io.basalt.shims.Libc;
import io.basalt.vhost.protocol.ProtocolException;
import io.basalt.vhost.protocol.VhostUser;
import io.basalt.vhost.protocol.VhostUserMessage;
import io.basalt.vhost.virtio.VirtioFeatures;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static io.basalt.vhost.protocol.VhostUserMessage.*;

/**
 * One QEMU connection to a vhost-user-blk export (SPDK's split: the export is the device, this is the
 * session with its memory map and rings). Runs on its own control thread: reads a message, applies it,
 * answers when the protocol asks. Rings are served by reactors ({@link QueueRunner}); this thread only
 * starts, changes and stops them by message.
 *
 * <p>Hostile input: every index, size and address is checked here before any reactor sees it. A message
 * that breaks the protocol ends this session only ({@link ProtocolException}); other sessions and exports
 * keep running.
 */
final class VhostSession implements Runnable {
    private final VhostBlkExport export;
    private final VhostSocket socket;
    private final Arena arena = Arena.ofShared(); // made on the accept thread, used on the session's
    private final VhostUserMessage message;
    private final int[] fds = new int[VhostSocket.FDS_MAX];
    private int fdCount;
    /**
     * One entry per queue offered (up to 64), made on the first message that names it: QEMU uses as many as it
     * has vCPUs (or its num-queues), so most stay null; a ring's reactor-side state is built only when it starts.
     */
    private final VringState[] rings;
    /** Without protocol features a ring starts enabled (vhost-user.rst, "Ring states"), also one made later. */
    private boolean ringsStartEnabled;
    private final MemoryTable memory = new MemoryTable();
    private final InflightArea inflight = new InflightArea();
    private long features;
    private long protocolFeatures;
    private boolean featuresAcked;
    private long deviceStatus;
    private volatile boolean closed;

    VhostSession(VhostBlkExport export, int connectionFd) {
        this.export = export;
        this.socket = new VhostSocket(connectionFd);
        this.message = new VhostUserMessage(arena);
        this.rings = new VringState[export.config().numQueues()];
    }

    /**
     * Requests held by the running rings: a racy snapshot for status, read off the session thread and the reactors
     * (a ring's runner and its queue's free count are single-writer fields read without ordering).
     */
    int inFlight() {
        int n = 0;
        for (VringState ring : rings) {
            QueueRunner runner = ring == null ? null : ring.runner;
            if (runner != null) n += runner.inFlight();
        }
        return n;
    }

    @Override
    public void run() {
        try {
            while (!closed) {
                fdCount = socket.read(message, fds);
                if (fdCount < 0) break; // the front-end closed the connection
                try {
                    handle();
                } finally {
                    closeUnclaimedFds();
                }
            }
        } catch (ProtocolException e) {
            export.log("session closed: " + e.getMessage());
            export.counters().protocolErrors.increment();
        } catch (RuntimeException e) {
            export.log("session failed: " + e);
            export.counters().protocolErrors.increment();
        } finally {
            teardown();
        }
    }

    /** Stops this session from another thread (export deletion, daemon shutdown). */
    void close() {
        closed = true;
        socket.shutdown();
    }

    /** Releases everything; whatever fails, the export learns that the session ended (or no QEMU gets in again). */
    private void teardown() {
        try {
            for (VringState ring : rings) {
                if (ring == null) continue;
                try {
                    stopRing(ring);
                } catch (RuntimeException e) {
                    export.log("queue " + ring.index + " did not stop cleanly: " + e.getMessage());
                }
                ring.closeFds();
            }
            inflight.close();
            memory.close();
            socket.close();
            arena.close();
        } finally {
            export.sessionEnded(this);
        }
    }

    // ------------------------------------------------------------------ dispatch

    private void handle() {
        int request = message.request();
        if ((message.flags() & VhostUser.VERSION_MASK) != VhostUser.VERSION) {
            throw new ProtocolException(VhostUser.name(request) + " with protocol version " + (message.flags() & VhostUser.VERSION_MASK));
        }
        export.counters().messages.increment();
        boolean ok = switch (request) {
            case VhostUser.GET_FEATURES -> replyU64(request, export.offeredFeatures());
            case VhostUser.SET_FEATURES -> setFeatures(message.u64(0));
            case VhostUser.GET_PROTOCOL_FEATURES -> replyU64(request, VhostBlkExport.PROTOCOL_FEATURES);
            case VhostUser.SET_PROTOCOL_FEATURES -> setProtocolFeatures(message.u64(0));
            case VhostUser.SET_OWNER -> true;
            case VhostUser.RESET_OWNER -> resetDevice();
            case VhostUser.GET_QUEUE_NUM -> replyU64(request, rings.length);
            case VhostUser.GET_MAX_MEM_SLOTS -> replyU64(request, VhostUser.MEMORY_SLOTS_MAX);
            case VhostUser.SET_MEM_TABLE -> setMemTable();
            case VhostUser.ADD_MEM_REG -> addMemRegion();
            case VhostUser.REM_MEM_REG -> removeMemRegion();
            case VhostUser.SET_VRING_NUM -> setVringNum();
            case VhostUser.SET_VRING_ADDR -> setVringAddr();
            case VhostUser.SET_VRING_BASE -> setVringBase();
            case VhostUser.GET_VRING_BASE -> getVringBase();
            case VhostUser.SET_VRING_KICK -> setVringKick();
            case VhostUser.SET_VRING_CALL -> setVringCall();
            case VhostUser.SET_VRING_ERR -> setVringErr();
            case VhostUser.SET_VRING_ENABLE -> setVringEnable();
            case VhostUser.GET_CONFIG -> getConfig();
            case VhostUser.SET_CONFIG -> false; // no writable field is offered (no CONFIG_WCE)
            case VhostUser.GET_INFLIGHT_FD -> getInflightFd();
            case VhostUser.SET_INFLIGHT_FD -> setInflightFd();
            case VhostUser.RESET_DEVICE -> resetDevice();
            case VhostUser.SET_STATUS -> setStatus(message.u64(0));
            case VhostUser.GET_STATUS -> replyU64(request, deviceStatus);
            default -> {
                export.counters().unsupportedMessages.increment();
                yield false; // SET_LOG_BASE, SET_BACKEND_REQ_FD, ...: not offered; their fds are closed below
            }
        };
        if (message.needsReply() && hasProtocolFeature(VhostUser.PROTOCOL_F_REPLY_ACK) && !repliesItself(request)) {
            message.reply(request, 8).putU64(0, ok ? 0 : 1);
            socket.write(message, null, 0);
        }
    }

    /** Messages whose reply is their answer, not an acknowledgement (vhost-user.rst, "Communication"). */
    private static boolean repliesItself(int request) {
        return switch (request) {
            case VhostUser.GET_FEATURES, VhostUser.GET_PROTOCOL_FEATURES, VhostUser.GET_QUEUE_NUM,
                 VhostUser.GET_MAX_MEM_SLOTS, VhostUser.GET_VRING_BASE, VhostUser.GET_CONFIG,
                 VhostUser.GET_INFLIGHT_FD, VhostUser.GET_STATUS -> true;
            default -> false;
        };
    }

    private boolean hasProtocolFeature(int bit) {
        return (protocolFeatures & (1L << bit)) != 0;
    }

    private boolean replyU64(int request, long value) {
        message.reply(request, 8).putU64(0, value);
        socket.write(message, null, 0);
        return true;
    }

    /** Takes the i-th received fd out of the "close after handling" set and returns it. */
    private int claimFd(int i) {
        int fd = fds[i];
        fds[i] = -1;
        return fd;
    }

    private void closeUnclaimedFds() {
        for (int i = 0; i < fdCount; i++) {
            if (fds[i] >= 0) Libc.close(fds[i]);
            fds[i] = -1;
        }
        fdCount = 0;
    }

    // ------------------------------------------------------------------ features

    private boolean setFeatures(long requested) {
        long unknown = requested & ~export.offeredFeatures();
        if (unknown != 0) {
            throw new ProtocolException("SET_FEATURES asks for features not offered: 0x" + Long.toHexString(unknown));
        }
        boolean first = !featuresAcked;
        features = requested;
        featuresAcked = true;
        if (first && (requested & (1L << VhostUser.F_PROTOCOL_FEATURES)) == 0) {
            // Without protocol features, rings start enabled (vhost-user.rst, "Ring states").
            ringsStartEnabled = true;
            for (VringState ring : rings) if (ring != null) ring.enabled = true;
        }
        return true;
    }

    private boolean setProtocolFeatures(long requested) {
        long unknown = requested & ~VhostBlkExport.PROTOCOL_FEATURES;
        if (unknown != 0) {
            throw new ProtocolException("SET_PROTOCOL_FEATURES asks for features not offered: 0x" + Long.toHexString(unknown));
        }
        protocolFeatures = requested;
        return true;
    }

    private boolean setStatus(long status) {
        deviceStatus = status & 0xFF;
        return true;
    }

    // ------------------------------------------------------------------ memory

    private boolean setMemTable() {
        int count = message.u32(MEMORY_COUNT_OFFSET);
        if (count < 1 || count > VhostUser.MEMORY_REGIONS_MAX) {
            throw new ProtocolException("SET_MEM_TABLE with " + count + " regions (1.." + VhostUser.MEMORY_REGIONS_MAX + ")");
        }
        if (fdCount != count) throw new ProtocolException("SET_MEM_TABLE with " + count + " regions but " + fdCount + " fds");
        // Parse and check every region before taking any fd: a bad message leaves all fds to be closed.
        long[][] fields = new long[count][];
        for (int i = 0; i < count; i++) fields[i] = regionFields(MEMORY_REGIONS_OFFSET + i * REGION_SIZE);
        MemoryTable.Region[] regions = new MemoryTable.Region[count];
        for (int i = 0; i < count; i++) regions[i] = region(fields[i], claimFd(i));
        changeMemory(() -> memory.replaceAll(regions));
        return true;
    }

    private boolean addMemRegion() {
        if (fdCount != 1) throw new ProtocolException("ADD_MEM_REG with " + fdCount + " fds (1 expected)");
        MemoryTable.Region region = region(regionFields(SINGLE_REGION_OFFSET), claimFd(0));
        if (memory.regionCount() >= VhostUser.MEMORY_SLOTS_MAX) {
            Libc.close(region.fd());
            throw new ProtocolException("ADD_MEM_REG beyond " + VhostUser.MEMORY_SLOTS_MAX + " slots");
        }
        changeMemory(() -> memory.add(region));
        return true;
    }

    private boolean removeMemRegion() {
        long gpa = message.u64(SINGLE_REGION_OFFSET + REGION_GUEST_ADDR_OFFSET);
        long size = message.u64(SINGLE_REGION_OFFSET + REGION_SIZE_OFFSET);
        long uva = message.u64(SINGLE_REGION_OFFSET + REGION_USER_ADDR_OFFSET);
        boolean[] found = {false};
        changeMemory(() -> found[0] = memory.remove(gpa, size, uva));
        return found[0]; // a passed fd (allowed for old front-ends) is closed unclaimed
    }

    /** A region's four fields, checked: {gpa, size, uva, mmap offset}. */
    private long[] regionFields(int offset) {
        long gpa = message.u64(offset + REGION_GUEST_ADDR_OFFSET);
        long size = message.u64(offset + REGION_SIZE_OFFSET);
        long uva = message.u64(offset + REGION_USER_ADDR_OFFSET);
        long mmapOffset = message.u64(offset + REGION_MMAP_OFFSET_OFFSET);
        if (size <= 0 || gpa + size < gpa || uva + size < uva || mmapOffset < 0 || mmapOffset + size < mmapOffset) {
            throw new ProtocolException("memory region gpa=0x" + Long.toHexString(gpa) + " size=0x" + Long.toHexString(size)
                    + " uva=0x" + Long.toHexString(uva) + " offset=0x" + Long.toHexString(mmapOffset) + " is malformed");
        }
        return new long[] {gpa, size, uva, mmapOffset};
    }

    private static MemoryTable.Region region(long[] f, int fd) {
        return new MemoryTable.Region(f[0], f[1], f[2], f[3], fd);
    }

    /** Pauses running rings, changes the table, and restarts them on the new mapping from where they were. */
    private void changeMemory(Runnable change) {
        boolean[] wasRunning = new boolean[rings.length];
        for (VringState ring : rings) {
            if (ring != null && ring.started()) {
                wasRunning[ring.index] = true;
                stopRing(ring);
            }
        }
        change.run();
        memory.rebuild();
        for (VringState ring : rings) if (ring != null && wasRunning[ring.index]) startRing(ring);
    }

    // ------------------------------------------------------------------ rings

    private VringState ring(int index) {
        if (index < 0 || index >= rings.length) {
            throw new ProtocolException("queue index " + index + " beyond the " + rings.length + " queues offered");
        }
        if (rings[index] == null) {
            rings[index] = new VringState(index);
            rings[index].enabled = ringsStartEnabled;
        }
        return rings[index];
    }

    private boolean setVringNum() {
        VringState ring = ring(message.u32(STATE_INDEX_OFFSET));
        int num = message.u32(STATE_NUM_OFFSET);
        if (num < 1 || num > QueueRunner.QUEUE_SIZE_MAX || Integer.bitCount(num) != 1) {
            throw new ProtocolException("SET_VRING_NUM " + num + " is not a power of two in [1, " + QueueRunner.QUEUE_SIZE_MAX + "]");
        }
        if (ring.started()) throw new ProtocolException("SET_VRING_NUM on running queue " + ring.index);
        ring.size = num;
        return true;
    }

    private boolean setVringAddr() {
        VringState ring = ring(message.u32(ADDR_INDEX_OFFSET));
        if (ring.started()) throw new ProtocolException("SET_VRING_ADDR on running queue " + ring.index);
        ring.addrFlags = message.u32(ADDR_FLAGS_OFFSET);
        ring.descUserAddr = message.u64(ADDR_DESC_OFFSET);
        ring.usedUserAddr = message.u64(ADDR_USED_OFFSET);
        ring.availUserAddr = message.u64(ADDR_AVAIL_OFFSET);
        ring.addressed = true;
        return true;
    }

    private boolean setVringBase() {
        VringState ring = ring(message.u32(STATE_INDEX_OFFSET));
        if (ring.started()) throw new ProtocolException("SET_VRING_BASE on running queue " + ring.index);
        ring.base = message.u32(STATE_NUM_OFFSET) & 0xFFFF;
        return true;
    }

    private boolean getVringBase() {
        VringState ring = ring(message.u32(STATE_INDEX_OFFSET));
        stopRing(ring);
        // The ring is stopped now; QEMU sends a new kick fd when it starts it again.
        if (ring.kickFd >= 0) Libc.close(ring.kickFd);
        ring.kickFd = -1;
        ring.kickPolled = false;
        message.reply(VhostUser.GET_VRING_BASE, STATE_SIZE).putU32(STATE_INDEX_OFFSET, ring.index).putU32(STATE_NUM_OFFSET, ring.base);
        socket.write(message, null, 0);
        return true;
    }

    private boolean setVringKick() {
        long value = message.u64(0);
        VringState ring = ring((int) (value & VhostUser.VRING_INDEX_MASK));
        boolean noFd = (value & VhostUser.VRING_NOFD_MASK) != 0;
        if (noFd == (fdCount == 1)) throw new ProtocolException("SET_VRING_KICK: fd flag and " + fdCount + " fds disagree");
        stopRing(ring);
        if (ring.kickFd >= 0) Libc.close(ring.kickFd);
        ring.kickFd = noFd ? -1 : claimFd(0);
        ring.kickPolled = noFd;
        startRing(ring); // vhost-user.rst: the back-end starts the ring on its kick
        return true;
    }

    private boolean setVringCall() {
        long value = message.u64(0);
        VringState ring = ring((int) (value & VhostUser.VRING_INDEX_MASK));
        boolean noFd = (value & VhostUser.VRING_NOFD_MASK) != 0;
        if (noFd == (fdCount == 1)) throw new ProtocolException("SET_VRING_CALL: fd flag and " + fdCount + " fds disagree");
        // A running queue keeps the fd it started with: stop it (it drains), swap, start again from where it was.
        boolean wasRunning = ring.started();
        stopRing(ring);
        if (ring.callFd >= 0) Libc.close(ring.callFd);
        ring.callFd = noFd ? -1 : claimFd(0);
        if (wasRunning) startRing(ring);
        return true;
    }

    private boolean setVringErr() {
        long value = message.u64(0);
        VringState ring = ring((int) (value & VhostUser.VRING_INDEX_MASK));
        boolean noFd = (value & VhostUser.VRING_NOFD_MASK) != 0;
        if (noFd == (fdCount == 1)) throw new ProtocolException("SET_VRING_ERR: fd flag and " + fdCount + " fds disagree");
        if (ring.errFd >= 0) Libc.close(ring.errFd);
        ring.errFd = noFd ? -1 : claimFd(0);
        return true;
    }

    private boolean setVringEnable() {
        VringState ring = ring(message.u32(STATE_INDEX_OFFSET));
        int num = message.u32(STATE_NUM_OFFSET);
        if (num != 0 && num != 1) throw new ProtocolException("SET_VRING_ENABLE " + num + " (0 or 1)");
        ring.enabled = num == 1;
        if (ring.enabled) startRing(ring);
        else stopRing(ring);
        return true;
    }

    /** Starts serving a ring once it is fully described; a half-described ring waits for the rest. */
    private void startRing(VringState ring) {
        if (ring.started() || !ring.enabled || ring.size == 0 || !ring.addressed || (ring.kickFd < 0 && !ring.kickPolled)
                || !memory.mapped()) {
            return;
        }
        MemorySegment region = inflight.queueRegion(ring.index, ring.size, packed());
        if (region == null && inflight.present()) export.counters().inflightIgnored.increment(); // made for other rings
        ring.runner = QueueRunner.start(export, ring, memory.snapshot(), features, region);
        export.counters().queuesStarted.increment();
    }

    private void stopRing(VringState ring) {
        if (!ring.started()) return;
        ring.base = ring.runner.stop();
        ring.runner = null;
    }

    private boolean resetDevice() {
        for (VringState ring : rings) {
            if (ring == null) continue;
            stopRing(ring);
            ring.reset(false);
        }
        ringsStartEnabled = false;
        features = 0;
        featuresAcked = false;
        deviceStatus = 0;
        inflight.close();
        return true;
    }

    // ------------------------------------------------------------------ config and inflight

    private boolean getConfig() {
        int offset = message.u32(CONFIG_OFFSET_OFFSET);
        int size = message.u32(CONFIG_SIZE_OFFSET);
        int flags = message.u32(CONFIG_FLAGS_OFFSET);
        byte[] config = export.configSpace();
        if (offset < 0 || size < 0 || size > CONFIG_PAYLOAD_MAX || offset > config.length || size > config.length - offset) {
            // vhost-user.rst: a zero-length payload tells the front-end the request failed.
            message.reply(VhostUser.GET_CONFIG, 0);
            socket.write(message, null, 0);
            return false;
        }
        message.reply(VhostUser.GET_CONFIG, CONFIG_PAYLOAD_OFFSET + size)
                .putU32(CONFIG_OFFSET_OFFSET, offset).putU32(CONFIG_SIZE_OFFSET, size).putU32(CONFIG_FLAGS_OFFSET, flags)
                .putBytes(CONFIG_PAYLOAD_OFFSET, java.lang.foreign.MemorySegment.ofArray(Arrays.copyOfRange(config, offset, offset + size)));
        socket.write(message, null, 0);
        return true;
    }

    private boolean getInflightFd() {
        int numQueues = message.u16(INFLIGHT_NUM_QUEUES_OFFSET);
        int queueSize = message.u16(INFLIGHT_QUEUE_SIZE_OFFSET);
        if (numQueues < 1 || numQueues > rings.length || queueSize < 1 || queueSize > QueueRunner.QUEUE_SIZE_MAX) {
            throw new ProtocolException("GET_INFLIGHT_FD for " + numQueues + " queues of " + queueSize);
        }
        int fd = inflight.create(numQueues, queueSize, packed()); // QEMU sets the features before asking
        message.reply(VhostUser.GET_INFLIGHT_FD, INFLIGHT_SIZE)
                .putU64(INFLIGHT_MMAP_SIZE_OFFSET, inflight.sizeBytes()).putU64(INFLIGHT_MMAP_OFFSET_OFFSET, 0)
                .putU16(INFLIGHT_NUM_QUEUES_OFFSET, numQueues).putU16(INFLIGHT_QUEUE_SIZE_OFFSET, queueSize);
        socket.write(message, new int[] {fd}, 1);
        return true;
    }

    private boolean setInflightFd() {
        if (fdCount != 1) throw new ProtocolException("SET_INFLIGHT_FD with " + fdCount + " fds (1 expected)");
        long sizeBytes = message.u64(INFLIGHT_MMAP_SIZE_OFFSET);
        long offset = message.u64(INFLIGHT_MMAP_OFFSET_OFFSET);
        int numQueues = message.u16(INFLIGHT_NUM_QUEUES_OFFSET);
        int queueSize = message.u16(INFLIGHT_QUEUE_SIZE_OFFSET);
        if (numQueues < 1 || numQueues > rings.length || queueSize < 1 || queueSize > QueueRunner.QUEUE_SIZE_MAX
                || sizeBytes < InflightArea.bytesFor(numQueues, queueSize, packed()) || offset < 0) {
            throw new ProtocolException("SET_INFLIGHT_FD of " + sizeBytes + " bytes for " + numQueues + " queues of " + queueSize);
        }
        inflight.adopt(claimFd(0), sizeBytes, offset, numQueues, queueSize, packed());
        return true;
    }

    /** Whether the rings are packed (virtio 2.8): the inflight buffer's layout follows. */
    private boolean packed() {
        return (features & (1L << VirtioFeatures.RING_PACKED)) != 0;
    }
}
