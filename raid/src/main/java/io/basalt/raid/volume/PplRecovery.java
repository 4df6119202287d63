package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.Status;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.parity.ChunkAddress;
import io.basalt.raid.parity.Raid5Layout;
import io.basalt.raid.parity.Xor;
import io.basalt.shims.Check;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Recovery of a raid5 array that was not stopped cleanly, from md's partial parity log, as drivers/md/raid5-ppl.c
 * does it at assembly (ppl_load_distributed, ppl_recover, ppl_recover_entry), then every area reset to an empty
 * header (ppl_write_empty_header: the area zeroed first, so no older header can pass for a newer one).
 *
 * <p>Per member present: the io_units are read from the start of its area, each at the end of the previous one
 * (4 KiB + its partial parity); the newest (generation rising, header checksum and signature valid) is the one
 * recovered. For each entry whose partial parity checksum matches, each row gets parity = partial parity ^ the
 * modified data blocks, written to the parity member (the area's own member).
 *
 * <p>With a member missing (degraded, or lost after the power cut):
 * <ul>
 * <li>the parity member of an entry missing: its log went with it, and nothing reads that parity; nothing to do;</li>
 * <li>a data member that the entry did not modify missing: the parity is rebuilt from the partial parity (which
 *     holds that member's data) and the modified blocks, so the missing member's blocks read back right;</li>
 * <li>a modified data member missing: md skips the entry (its new data is unknown); the missing blocks were being
 *     written, and every block of the row that was not being written is on a present member and reads directly.</li>
 * </ul>
 * Control path only: synchronous on the caller's reactor (which it drives), allocates freely.
 */
public final class PplRecovery {
    /** What recovery did: headers found, entries recovered, entries skipped (checksum or a modified member missing). */
    public record Result(int headers, int entriesRecovered, int entriesSkipped, int mismatches) {}

    private static final long TIMEOUT_NS = 30_000_000_000L;

    private final Reactor reactor;
    private final Raid5Layout layout;
    private final int signature;
    private final int blockBytes;
    private final BlockChannel[] members;
    private final BlockChannel[] areas;
    private final Arena arena = Arena.ofConfined();
    private int headers, recovered, skipped, mismatches;

    private PplRecovery(Reactor reactor, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout, int signature) {
        this.reactor = reactor;
        this.layout = layout;
        this.signature = signature;
        int n = layout.diskCount();
        Check.that(members.size() == n && areas.size() == n, "one member and one PPL area per role", members.size());
        this.members = new BlockChannel[n];
        this.areas = new BlockChannel[n];
        int block = 0;
        for (int r = 0; r < n; r++) {
            if (members.get(r) != null) {
                this.members[r] = members.get(r).openChannel(reactor);
                block = members.get(r).geometry().logicalBlockBytes();
            }
            if (members.get(r) != null && areas.get(r) != null) this.areas[r] = areas.get(r).openChannel(reactor);
        }
        Check.that(block > 0 && MdPpl.HEADER_BYTES % block == 0, "a present member with blocks dividing 4 KiB", block);
        this.blockBytes = block;
    }

    /**
     * Recovers every member's newest io_unit, flushes, and resets the areas. {@code members} and {@code areas}: per
     * role, the member's data device and its PPL area, null when missing. The caller's thread must own the reactor.
     */
    public static Result recover(Reactor reactor, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout,
                                 int signature) throws IOException {
        Check.that(reactor.isOwnerThread(), "PplRecovery on the reactor's owner thread");
        PplRecovery r = new PplRecovery(reactor, members, areas, layout, signature);
        try {
            for (int role = 0; role < layout.diskCount(); role++) if (r.areas[role] != null) r.recoverMember(role);
            for (BlockChannel c : r.members) if (c != null) r.check(r.flush(c), "flush after recovery");
            for (int role = 0; role < layout.diskCount(); role++) if (r.areas[role] != null) r.resetArea(role, areas.get(role));
            return new Result(r.headers, r.recovered, r.skipped, r.mismatches);
        } finally {
            r.close();
        }
    }

    /**
     * Writes an empty PPL area (zeroes, then a header with no entries): at create, as mdadm's write_init_ppl1, and
     * after recovery, as md's ppl_write_empty_header.
     */
    public static void initialize(Reactor reactor, BlockDevice area, int signature) throws IOException {
        Check.that(reactor.isOwnerThread(), "PPL initialize on the reactor's owner thread");
        try (Arena a = Arena.ofConfined(); BlockChannel c = area.openChannel(reactor)) {
            int block = area.geometry().logicalBlockBytes();
            long bytes = area.geometry().sizeBytes() / block * block;
            MemorySegment zero = a.allocate(bytes, 4096);
            new MdPpl().wrap(zero.asSlice(0, MdPpl.HEADER_BYTES)).reset(signature).seal(new CRC32C(), zero.asByteBuffer());
            long blocks = bytes / block;
            int step = Math.max(1, area.geometry().maxTransferBlocks());
            int status = Status.OK;
            for (long b = 0; b < blocks && status == Status.OK; b += step) {
                int n = (int) Math.min(step, blocks - b);
                status = io(reactor, c, true, b, n, zero.asSlice(b * block, (long) n * block));
            }
            if (status == Status.OK) status = flushAndWait(reactor, c);
            if (status != Status.OK) throw new IOException("writing the empty PPL area of " + area.name() + ": " + Status.name(status));
        }
    }

    private void resetArea(int role, BlockDevice area) throws IOException {
        areas[role].close();
        areas[role] = null;
        initialize(reactor, area, signature);
    }

    private void recoverMember(int role) throws IOException {
        long areaBytes = areas[role].device().geometry().sizeBytes();
        MemorySegment header = arena.allocate(MdPpl.HEADER_BYTES, 4096);
        MemorySegment newest = arena.allocate(MdPpl.HEADER_BYTES, 4096);
        MdPpl ppl = new MdPpl().wrap(header);
        long offset = 0, newestOffset = -1, newestGeneration = -1;
        while (offset + MdPpl.HEADER_BYTES <= areaBytes && offset % blockBytes == 0) {
            check(read(areas[role], offset / blockBytes, MdPpl.HEADER_BYTES / blockBytes, header), "reading a PPL header");
            if (!ppl.checksumValid() || (int) ppl.signature() != signature) break;
            if (newestOffset >= 0 && newestGeneration > ppl.generation()) break; // the previous one was the newest
            MemorySegment.copy(header, 0, newest, 0, MdPpl.HEADER_BYTES);
            newestOffset = offset;
            newestGeneration = ppl.generation();
            long next = offset + MdPpl.HEADER_BYTES;
            for (int e = 0; e < Math.min(ppl.entriesCount(), MdPpl.ENTRIES_MAX); e++) next += ppl.ppSize(e);
            offset = next;
        }
        if (newestOffset < 0) {
            mismatches++; // md counts a member without a valid header as a mismatch
            return;
        }
        headers++;
        ppl.wrap(newest);
        long ppOffset = newestOffset + MdPpl.HEADER_BYTES;
        for (int e = 0; e < Math.min(ppl.entriesCount(), MdPpl.ENTRIES_MAX); e++) {
            long ppBytes = ppl.ppSize(e);
            recoverEntry(role, ppl, e, ppOffset, areaBytes);
            ppOffset += ppBytes;
        }
    }

    private void recoverEntry(int role, MdPpl ppl, int e, long ppOffset, long areaBytes) throws IOException {
        long ppBytes = ppl.ppSize(e), dataBytes = ppl.dataSize(e);
        long blockSectors = blockBytes / Raid5Layout.SECTOR_BYTES;
        long first = ppl.dataSector(e);
        long chunkSectors = layout.chunkSectors();
        if (ppBytes % blockBytes != 0 || dataBytes % blockBytes != 0 || dataBytes == 0 || first % blockSectors != 0
                || ppOffset + ppBytes > areaBytes || ppl.parityDisk(e) != role) {
            mismatches++; // not something md or Basalt writes for these blocks
            return;
        }
        MemorySegment pp = arena.allocate(Math.max(ppBytes, blockBytes), 4096);
        if (ppBytes > 0) {
            check(read(areas[role], ppOffset / blockBytes, (int) (ppBytes / blockBytes), pp), "reading partial parity");
            if (MdPpl.crc32c(pp.asSlice(0, ppBytes)) != (int) ppl.entryChecksum(e)) {
                mismatches++; // md: "ppl entry crc does not match", the entry is not recovered
                return;
            }
        }
        int dataDisks;
        long stripSectors, last;
        long ppSectors = ppBytes / Raid5Layout.SECTOR_BYTES;
        if (ppSectors < chunkSectors) {
            dataDisks = ppBytes > 0 ? (int) (dataBytes / ppBytes) : layout.dataDiskCount();
            stripSectors = ppBytes > 0 ? ppSectors : dataBytes / Raid5Layout.SECTOR_BYTES / dataDisks;
            last = first + (dataDisks - 1) * chunkSectors + stripSectors;
        } else {
            dataDisks = layout.dataDiskCount();
            stripSectors = chunkSectors;
            last = first + dataBytes / Raid5Layout.SECTOR_BYTES;
        }
        MemorySegment parity = arena.allocate(blockBytes, 4096);
        MemorySegment data = arena.allocate(blockBytes, 4096);
        ChunkAddress at = new ChunkAddress();
        boolean skippedAny = false;
        for (long i = 0; i < stripSectors; i += blockSectors) {
            parity.fill((byte) 0);
            boolean update = false, missing = false;
            for (int d = 0; d < dataDisks; d++) {
                long sector = first + i + d * chunkSectors;
                if (sector >= last) continue;
                update = true;
                layout.map(sector, at);
                if (members[at.disk()] == null) {
                    missing = true;
                    break;
                }
                check(read(members[at.disk()], at.diskSector() / blockSectors, 1, data), "reading data for recovery");
                Xor.xorInto(parity, data);
            }
            if (!update) continue;
            if (missing) {
                skippedAny = true;
                continue;
            }
            if (ppBytes > 0) Xor.xorInto(parity, pp.asSlice(i * Raid5Layout.SECTOR_BYTES, blockBytes));
            layout.map(first + i, at);
            if (at.parityDisk() != role) {
                mismatches++;
                return;
            }
            check(write(members[role], at.diskSector() / blockSectors, parity), "writing recovered parity");
        }
        if (skippedAny) skipped++;
        else recovered++;
    }

    private void check(int status, String what) throws IOException {
        if (status != Status.OK) throw new IOException("PPL recovery: " + what + " failed: " + Status.name(status));
    }

    private int read(BlockChannel c, long lba, int blocks, MemorySegment into) {
        return io(reactor, c, false, lba, blocks, into);
    }

    private int write(BlockChannel c, long lba, MemorySegment from) {
        return io(reactor, c, true, lba, 1, from);
    }

    private int flush(BlockChannel c) {
        return flushAndWait(reactor, c);
    }

    private static int io(Reactor reactor, BlockChannel c, boolean write, long lba, int blocks, MemorySegment buffer) {
        int[] status = {-1};
        IoCompletion done = (tag, s) -> status[0] = s;
        MemorySegment slice = buffer.asSlice(0, (long) blocks * c.device().geometry().logicalBlockBytes());
        long deadline = System.nanoTime() + TIMEOUT_NS;
        while (!(write ? c.write(lba, blocks, slice, 0, done) : c.read(lba, blocks, slice, 0, done))) {
            reactor.doWork();
            if (System.nanoTime() - deadline > 0) return Status.IO_ERROR;
        }
        while (status[0] < 0) reactor.doWork(); // the buffer must outlive the request
        return status[0];
    }

    private static int flushAndWait(Reactor reactor, BlockChannel c) {
        int[] status = {-1};
        IoCompletion done = (tag, s) -> status[0] = s;
        while (!c.flush(0, done)) reactor.doWork();
        while (status[0] < 0) reactor.doWork();
        return status[0];
    }

    private void close() {
        for (BlockChannel c : members) if (c != null) c.close();
        for (BlockChannel c : areas) if (c != null) c.close();
        arena.close();
    }
}
