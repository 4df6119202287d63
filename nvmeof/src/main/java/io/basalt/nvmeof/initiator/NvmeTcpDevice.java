package io.basalt.nvmeof.initiator;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Capabilities;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Registers;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.UUID;

/**
 * A namespace on an NVMe/TCP target as a drive. Opening runs the admin queue's set-up (blocking): Connect, CAP/VS,
 * CC.EN and CSTS.RDY, Identify Controller and Namespace, Set Features Number of Queues; a daemon thread then sends
 * Keep Alive every KATO/2. Each channel is one I/O queue on its own connection ({@link NvmeTcpChannel}).
 * Not yet: reconnect, digests, an NGUID check (docs/nvmeof.md, "Initiator").
 */
public final class NvmeTcpDevice implements BlockDevice {
    static final int KATO_MS = 10_000;
    static final int QUEUE_ENTRIES_MAX = 128;
    private static final int ADMIN_SQSIZE0 = 31;
    private static final int READY_POLL_MS = 10;
    private static final int READY_WAIT_MS = 5_000;
    private static final int MPS_MIN_BYTES = 4096;
    private static final int TRANSFER_BYTES_CAP = 1 << 20;
    private static final int CAPSULE_SQE_BYTES = 64;
    private static final int IOCCSZ_UNIT_BYTES = 16;

    private final String name;
    private final NvmeTcpSpec spec;
    private final SyncQueue admin;
    private final int cntlid;
    private final Geometry geometry;
    private final int queueEntries;
    private final long inCapsuleBytes;
    private final MemorySegment hostId;
    private final boolean[] qidUsed;
    private final Thread keepAlive;
    private volatile boolean closed;

    private NvmeTcpDevice(String name, NvmeTcpSpec spec, SyncQueue admin, MemorySegment hostId) {
        this.name = name;
        this.spec = spec;
        this.admin = admin;
        this.hostId = hostId;
        this.cntlid = admin.fabricsConnect(0, ADMIN_SQSIZE0, KATO_MS, 0xFFFF, spec.subsystemNqn(), spec.hostNqn(), hostId);
        long cap = admin.propertyGet(Registers.CAP, true);
        this.queueEntries = (int) Math.min(QUEUE_ENTRIES_MAX, (cap & 0xFFFF) + 1);
        admin.propertyGet(Registers.VS, false);
        enable();
        MemorySegment page = Arena.ofAuto().allocate(IdentifyController.SIZE, 4096);
        check(admin.admin(Opcodes.ADMIN_IDENTIFY, 0, Opcodes.CNS_CONTROLLER, 0, page), "Identify Controller");
        int mdts = Sqe.u8(page, IdentifyController.MDTS_OFFSET);
        long transfer = mdts == 0 ? TRANSFER_BYTES_CAP : Math.min(TRANSFER_BYTES_CAP, (long) MPS_MIN_BYTES << mdts);
        long ioccsz = Integer.toUnsignedLong(Sqe.u32(page, IdentifyController.IOCCSZ_OFFSET)) * IOCCSZ_UNIT_BYTES;
        this.inCapsuleBytes = Math.max(0, ioccsz - CAPSULE_SQE_BYTES);
        check(admin.admin(Opcodes.ADMIN_IDENTIFY, spec.nsid(), Opcodes.CNS_NAMESPACE, 0, page), "Identify Namespace " + spec.nsid());
        long nsze = Sqe.u64(page, IdentifyNamespace.NSZE_OFFSET);
        if (nsze <= 0) throw admin.fail("namespace " + spec.nsid() + " is not active (size 0)");
        int format = Sqe.u8(page, IdentifyNamespace.FLBAS_OFFSET) & 0xF;
        int lbads = Sqe.u8(page, IdentifyNamespace.LBAF_OFFSET + (long) format * IdentifyNamespace.LBAF_BYTES
                + IdentifyNamespace.LBAF_LBADS_OFFSET);
        int blockBytes = 1 << lbads;
        int q0 = spec.queues() - 1;
        check(admin.admin(Opcodes.ADMIN_SET_FEATURES, 0, Opcodes.FEATURE_NUMBER_OF_QUEUES, q0 | (q0 << 16), null),
                "Set Features Number of Queues " + spec.queues());
        int granted = (int) Math.min(admin.lastDw0() & 0xFFFF, admin.lastDw0() >>> 16) + 1;
        this.qidUsed = new boolean[Math.min(granted, spec.queues()) + 1];
        int transferBlocks = (int) Math.max(1, transfer / blockBytes);
        this.geometry = new Geometry(blockBytes, nsze, 1, transferBlocks, NvmeTcpChannel.SEGMENTS_MAX, true,
                Capabilities.NONE.withWriteZeroes(true, false)); // ONCS not checked yet: Basalt's target has it
        this.keepAlive = Thread.ofPlatform().daemon().name("nvme-tcp-keepalive-" + name).unstarted(this::keepAliveLoop);
    }

    /** Opens the admin queue and identifies the namespace; IllegalArgumentException naming host:port/NQN on failure. */
    public static NvmeTcpDevice open(String name, NvmeTcpSpec spec) {
        SyncQueue admin = SyncQueue.connect(spec);
        try {
            MemorySegment hostId = Arena.ofAuto().allocate(16);
            UUID id = UUID.nameUUIDFromBytes(spec.hostNqn().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            hostId.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0, id.getMostSignificantBits());
            hostId.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8, id.getLeastSignificantBits());
            NvmeTcpDevice d = new NvmeTcpDevice(name, spec, admin, hostId);
            d.keepAlive.start();
            return d;
        } catch (RuntimeException e) {
            admin.close();
            throw e;
        }
    }

    private void enable() {
        int cc = Registers.CC_ENABLE | (Registers.IOSQES << Registers.CC_IOSQES_SHIFT)
                | (Registers.IOCQES << Registers.CC_IOCQES_SHIFT);
        admin.propertySet(Registers.CC, cc);
        for (int waitedMs = 0; waitedMs < READY_WAIT_MS; waitedMs += READY_POLL_MS) {
            long csts = admin.propertyGet(Registers.CSTS, false);
            if ((csts & Registers.CSTS_CFS) != 0) throw admin.fail("controller fatal status (CSTS.CFS) after CC.EN=1");
            if ((csts & Registers.CSTS_RDY) != 0) return;
            sleepMs(READY_POLL_MS);
        }
        throw admin.fail("CSTS.RDY not set " + READY_WAIT_MS + " ms after CC.EN=1");
    }

    private void check(int status, String what) {
        if (status != NvmeStatus.SUCCESS) throw admin.fail(what + " failed: " + NvmeStatus.describe(status));
    }

    private void keepAliveLoop() {
        while (!closed) {
            sleepMs(KATO_MS / 2);
            if (closed) return;
            try {
                int status = admin.admin(Opcodes.ADMIN_KEEP_ALIVE, 0, 0, 0, null);
                if (status != NvmeStatus.SUCCESS) System.err.println(name + ": Keep Alive: " + NvmeStatus.describe(status));
            } catch (RuntimeException e) {
                if (!closed) System.err.println(name + ": Keep Alive failed, admin queue lost: " + e.getMessage());
                return; // reconnect is a later slice
            }
        }
    }

    private static void sleepMs(int ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An I/O queue connected and past Fabrics Connect (blocking; control path), or an exception. */
    synchronized SyncQueue connectIoQueue(int[] qidOut) {
        if (closed) throw new IllegalStateException("nvme-tcp " + spec.where() + ": device closed");
        int qid = 1;
        while (qid < qidUsed.length && qidUsed[qid]) qid++;
        if (qid == qidUsed.length) {
            throw new IllegalStateException("nvme-tcp " + spec.where() + ": all " + (qidUsed.length - 1)
                    + " I/O queues are in use (queues=Q in the spec sets how many channels may open)");
        }
        SyncQueue q = SyncQueue.connect(spec);
        try {
            q.fabricsConnect(qid, queueEntries - 1, 0, cntlid, spec.subsystemNqn(), spec.hostNqn(), hostId);
        } catch (RuntimeException e) {
            q.close();
            throw e;
        }
        qidUsed[qid] = true;
        qidOut[0] = qid;
        return q;
    }

    synchronized void releaseQid(int qid) {
        qidUsed[qid] = false;
    }

    int queueDepth() { return queueEntries - 1; }
    int nsid() { return spec.nsid(); }
    long inCapsuleBytes() { return inCapsuleBytes; }
    boolean isClosed() { return closed; }
    String where() { return spec.where(); }

    @Override public String name() { return name; }
    @Override public Geometry geometry() { return geometry; }

    @Override
    public BlockChannel openChannel(Reactor reactor) {
        return NvmeTcpChannel.open(this, reactor);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        keepAlive.interrupt();
        admin.close();
    }

    @Override
    public String describe() {
        return "nvme-tcp://" + spec.where() + "?nsid=" + spec.nsid() + " (" + (qidUsed.length - 1) + " queues)";
    }
}
