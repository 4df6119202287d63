package io.basalt.raid.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.raid.md.MdPpl;
import io.basalt.shims.Check;

import java.util.List;

/**
 * Where a {@link Raid5Volume} writes md's partial parity log: per member, a device that is exactly that member's
 * PPL area (the daemon gives an {@link OffsetDevice} slice at the superblock's ppl.offset, ppl.size sectors; tests
 * give any device), and the array's PPL signature ({@link MdPpl#signature}, the CRC-32C of the set uuid). The volume
 * claims these devices as it claims its members.
 *
 * @param devices   per member, its PPL area (member order); at least the 4 KiB header and one chunk of partial parity
 * @param signature the header signature md checks at assembly
 */
public record PplAreas(List<BlockDevice> devices, int signature) {
    public PplAreas {
        devices = List.copyOf(devices);
        Check.that(!devices.isEmpty(), "one PPL area per member", devices.size());
    }

    /** The smallest area, in bytes. */
    long areaBytesMin() {
        long min = Long.MAX_VALUE;
        for (BlockDevice d : devices) min = Math.min(min, d.geometry().sizeBytes());
        return min;
    }

    static final int HEADER_BYTES = MdPpl.HEADER_BYTES;
}
