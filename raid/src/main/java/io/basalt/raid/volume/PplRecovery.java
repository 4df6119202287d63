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

    /** Blocking member I/O for the control path (the daemon goes through its reactors; tests drive their own). */
    public interface SyncIo {
        void read(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException;

        void write(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException;

        void flush(BlockDevice device) throws IOException;

        /** I/O on {@code reactor}, driven by the calling thread, which must own it: a channel per request. */
        static SyncIo onOwnerThread(Reactor reactor) {
            return new SyncIo() {
                @Override
                public void read(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                    run(device, false, lba, blocks, buffer);
                }

                @Override
                public void write(BlockDevice device, long lba, int blocks, MemorySegment buffer) throws IOException {
                    run(device, true, lba, blocks, buffer);
                }

                @Override
                public void flush(BlockDevice device) throws IOException {
                    try (BlockChannel c = device.openChannel(reactor)) {
                        int status = flushAndWait(reactor, c);
                        if (status != Status.OK) throw new IOException("flush of " + device.name() + ": " + Status.name(status));
                    }
                }

                private void run(BlockDevice device, boolean write, long lba, int blocks, MemorySegment buffer) throws IOException {
                    Check.that(reactor.isOwnerThread(), "PPL I/O on the reactor's owner thread");
                    try (BlockChannel c = device.openChannel(reactor)) {
                        int status = io(reactor, c, write, lba, blocks, buffer);
                        if (status != Status.OK) {
                            throw new IOException((write ? "writing " : "reading ") + blocks + " blocks at " + lba + " of "
                                    + device.name() + ": " + Status.name(status));
                        }
                    }
                }
            };
        }
    }

    private final SyncIo sync;
    private final Raid5Layout layout;
    private final int signature;
    private final int blockBytes;
    private final BlockDevice[] members;
    private final BlockDevice[] areas;
    private final Arena arena = Arena.ofConfined();
    private int headers, recovered, skipped, mismatches;
    /** Rows (the parity member's sector) of the member being recovered that a newer entry already decided. */
    private final java.util.HashSet<Long> decidedRows = new java.util.HashSet<>();

    private PplRecovery(SyncIo sync, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout, int signature) {
        this.sync = sync;
        this.layout = layout;
        this.signature = signature;
        int n = layout.diskCount();
        Check.that(members.size() == n && areas.size() == n, "one member and one PPL area per role", members.size());
        this.members = new BlockDevice[n];
        this.areas = new BlockDevice[n];
        int block = 0;
        for (int r = 0; r < n; r++) {
            if (members.get(r) != null) {
                this.members[r] = members.get(r);
                block = members.get(r).geometry().logicalBlockBytes();
            }
            if (members.get(r) != null && areas.get(r) != null) this.areas[r] = areas.get(r);
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
        return recover(SyncIo.onOwnerThread(reactor), members, areas, layout, signature);
    }

    /** The same over any blocking I/O. */
    public static Result recover(SyncIo sync, List<BlockDevice> members, List<BlockDevice> areas, Raid5Layout layout,
                                 int signature) throws IOException {
        PplRecovery r = new PplRecovery(sync, members, areas, layout, signature);
        try {
            for (int role = 0; role < layout.diskCount(); role++) if (r.areas[role] != null) r.recoverMember(role);
            for (BlockDevice d : r.members) if (d != null) sync.flush(d);
            for (int role = 0; role < layout.diskCount(); role++) if (r.areas[role] != null) initialize(sync, r.areas[role], signature);
            return new Result(r.headers, r.recovered, r.skipped, r.mismatches);
        } finally {
            r.arena.close();
        }
    }

    /**
     * Writes an empty PPL area (zeroes, then a header with no entries): at create, as mdadm's write_init_ppl1, and
     * after recovery, as md's ppl_write_empty_header.
     */
    public static void initialize(Reactor reactor, BlockDevice area, int signature) throws IOException {
        initialize(SyncIo.onOwnerThread(reactor), area, signature);
    }

    /** The same over any blocking I/O. */
    public static void initialize(SyncIo sync, BlockDevice area, int signature) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            int block = area.geometry().logicalBlockBytes();
            long blocks = area.geometry().sizeBytes() / block;
            int step = (int) Math.max(1, Math.min(blocks, Math.min(area.geometry().maxTransferBlocks(), (1 << 20) / block)));
            MemorySegment zero = a.allocate((long) step * block, 4096);
            for (long b = MdPpl.HEADER_BYTES / block; b < blocks; b += step) { // zeroes after the header block(s)
                int n = (int) Math.min(step, blocks - b);
                sync.write(area, b, n, zero.asSlice(0, (long) n * block));
            }
            MemorySegment header = a.allocate(MdPpl.HEADER_BYTES, 4096);
            new MdPpl().wrap(header).reset(signature).seal(new CRC32C(), header.asByteBuffer());
            sync.write(area, 0, MdPpl.HEADER_BYTES / block, header);
            sync.flush(area);
        }
    }

    private void recoverMember(int role) throws IOException {
        long areaBytes = areas[role].geometry().sizeBytes();
        MemorySegment header = arena.allocate(MdPpl.HEADER_BYTES, 4096);
        MemorySegment newest = arena.allocate(MdPpl.HEADER_BYTES, 4096);
        MdPpl ppl = new MdPpl().wrap(header);
        long offset = 0, newestOffset = -1, newestGeneration = -1;
        while (offset + MdPpl.HEADER_BYTES <= areaBytes && offset % blockBytes == 0) {
            sync.read(areas[role], offset / blockBytes, MdPpl.HEADER_BYTES / blockBytes, header);
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
        int entries = (int) Math.min(ppl.entriesCount(), MdPpl.ENTRIES_MAX);
        long[] ppOffsets = new long[entries];
        long ppOffset = newestOffset + MdPpl.HEADER_BYTES;
        for (int e = 0; e < entries; e++) {
            ppOffsets[e] = ppOffset;
            ppOffset += ppl.ppSize(e);
        }
        // Newest entry first, and each row decided by the newest entry that covers it: Basalt's growing io_unit keeps
        // the entries of steps already done, whose partial parity predates the later writes of their stripe. When the
        // later entry is applied it overrides them anyway; when it is skipped (a modified member missing) an older one
        // must not be applied in its place: its partial parity holds the missing member's data from before the later
        // write, so that member would read back old data even after a flush (the model test found it: a degraded
        // write, flushed, then a power cut). md never meets this: a stripe's next entry is always in a newer io_unit,
        // and only the newest header is read.
        decidedRows.clear();
        for (int e = entries - 1; e >= 0; e--) recoverEntry(role, ppl, e, ppOffsets[e], areaBytes);
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
            sync.read(areas[role], ppOffset / blockBytes, (int) (ppBytes / blockBytes), pp);
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
                sync.read(members[at.disk()], at.diskSector() / blockSectors, 1, data);
                Xor.xorInto(parity, data);
            }
            if (!update) continue;
            layout.map(first + i, at);
            if (!decidedRows.add(at.diskSector())) continue; // a newer entry decided this row
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
            sync.write(members[role], at.diskSector() / blockSectors, 1, parity);
        }
        if (skippedAny) skipped++;
        else recovered++;
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
}
