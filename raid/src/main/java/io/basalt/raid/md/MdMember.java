package io.basalt.raid.md;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdFormatException.Reason;
import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One candidate member as found on a device: its name, size and either a validated copy of its md superblock
 * or the reason it has none. Immutable; the superblock is a private heap copy.
 */
public final class MdMember {
    /** How long a control-path read may take before the member is reported unreadable. */
    public static final long READ_TIMEOUT_NS = 10_000_000_000L;

    private final String deviceName;
    private final long deviceSectors;
    private final MdSuperblock superblock;
    private final MdFormatException error;

    private MdMember(String deviceName, long deviceSectors, MdSuperblock superblock, MdFormatException error) {
        this.deviceName = deviceName;
        this.deviceSectors = deviceSectors;
        this.superblock = superblock;
        this.error = error;
    }

    public String deviceName() { return deviceName; }
    public long deviceSectors() { return deviceSectors; }
    public boolean valid() { return superblock != null; }

    /** The validated superblock (a private copy); only when {@link #valid}. */
    public MdSuperblock superblock() {
        Check.that(superblock != null, "member " + deviceName + " has a valid superblock");
        return superblock;
    }

    /** Why the member has no usable superblock; only when not {@link #valid}. */
    public MdFormatException error() {
        Check.that(error != null, "member " + deviceName + " has an error");
        return error;
    }

    /** Copies the 4 KiB at {@code raw} and validates it against a device of {@code deviceSectors}. */
    public static MdMember parse(String deviceName, long deviceSectors, MemorySegment raw) {
        MemorySegment copy = MemorySegment.ofArray(new byte[MdSuperblock.BUFFER_BYTES]);
        MemorySegment.copy(raw, 0, copy, 0, MdSuperblock.BUFFER_BYTES);
        MdSuperblock sb = new MdSuperblock().wrap(copy);
        try {
            sb.validate(deviceSectors);
            return new MdMember(deviceName, deviceSectors, sb, null);
        } catch (MdFormatException e) {
            return new MdMember(deviceName, deviceSectors, null, e);
        }
    }

    public static MdMember unreadable(String deviceName, long deviceSectors, String why) {
        return new MdMember(deviceName, deviceSectors, null, new MdFormatException(Reason.IO_ERROR, why));
    }

    /**
     * Reads and validates the superblock of {@code device} (control path only). The calling thread must own
     * {@code reactor} and drive it: this opens a channel, submits one read of the 4 KiB at byte 4096, runs
     * {@link Reactor#doWork} until it completes, and closes the channel.
     */
    public static MdMember read(Reactor reactor, BlockDevice device) {
        Check.that(reactor.isOwnerThread(), "MdMember.read on the reactor's owner thread");
        Geometry g = device.geometry();
        long deviceSectors = g.sizeBytes() / MdSuperblock.SECTOR_BYTES;
        long superBytes = MdSuperblock.SUPER_OFFSET_SECTORS * MdSuperblock.SECTOR_BYTES;
        int blockBytes = g.logicalBlockBytes();
        long lba = superBytes / blockBytes;
        long inBlockBytes = superBytes % blockBytes;
        int blockCount = (int) ((inBlockBytes + MdSuperblock.BUFFER_BYTES + blockBytes - 1) / blockBytes);
        if (g.checkRange(lba, blockCount) != Status.OK) {
            return unreadable(device.name(), deviceSectors, "device of " + g.sizeBytes() + " bytes is too small for an md superblock");
        }
        try (Arena arena = Arena.ofConfined(); BlockChannel channel = device.openChannel(reactor)) {
            MemorySegment buffer = arena.allocate((long) blockCount * blockBytes, Math.max(blockBytes, 4096));
            int status = readAndWait(reactor, channel, lba, blockCount, buffer);
            if (status != Status.OK) {
                return unreadable(device.name(), deviceSectors, "reading the superblock failed: " + Status.name(status));
            }
            return parse(device.name(), deviceSectors, buffer.asSlice(inBlockBytes, MdSuperblock.BUFFER_BYTES));
        }
    }

    private static int readAndWait(Reactor reactor, BlockChannel channel, long lba, int blockCount, MemorySegment buffer) {
        int[] status = {-1};
        IoCompletion done = (tag, s) -> status[0] = s;
        long deadline = System.nanoTime() + READ_TIMEOUT_NS;
        while (!channel.read(lba, blockCount, buffer, 0, done)) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) return Status.IO_ERROR;
        }
        while (status[0] < 0) {
            reactor.doWork();
            // A request in flight must complete before its buffer goes away: keep driving past the deadline.
            if (System.nanoTime() - deadline > 0 && channel.inFlight() == 0) return Status.IO_ERROR;
        }
        return status[0];
    }

    @Override
    public String toString() {
        return deviceName + (valid() ? " md dev " + superblock.devNumber() + " events " + superblock.events()
                : " (" + error.getMessage() + ")");
    }
}
