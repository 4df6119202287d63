package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdArraySpec;
import io.basalt.raid.md.MdBitmap;
import io.basalt.raid.md.MdFormatException;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.md.MdWriteIntent;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * The write-intent bitmap's control-plane side: where it lives on each member (md's internal bitmap, at
 * bitmap_offset sectors from the superblock), writing a fresh one at creation, loading it at assembly, the
 * resync of the regions it marks dirty, and the {@link MdWriteIntent.Store} that writes its pages to every
 * member through a reactor.
 */
public final class RaidBitmaps {
    static final int PAGE = 4096;
    /** Bytes read and rewritten per request by the assembly-time resync. */
    static final int RESYNC_IO_BYTES = 1 << 20;

    private RaidBitmaps() {}

    /** The byte on the member device where the bitmap starts. */
    static long areaByte(MdSuperblock sb) {
        return (MdSuperblock.SUPER_OFFSET_SECTORS + sb.bitmapOffsetSectors()) * MdSuperblock.SECTOR_BYTES;
    }

    /** A fresh bitmap (every bit clear) for a new array, in a buffer that is whole pages. */
    static MemorySegment freshArea(MdArraySpec spec) {
        long bytes = spec.bitmapSectors() * MdSuperblock.SECTOR_BYTES;
        MemorySegment area = ControlIo.buffer(roundUp(bytes), PAGE);
        new MdBitmap().wrap(area).initialize(spec);
        return area;
    }

    static void writeArea(Reactor reactor, BlockDevice device, MdSuperblock sb, MemorySegment area, long offset, long length) throws IOException {
        int blockBytes = device.geometry().logicalBlockBytes();
        long at = areaByte(sb) + offset;
        ControlIo.write(reactor, device, at / blockBytes, (int) (length / blockBytes), area.asSlice(offset, length));
    }

    /**
     * Reads and validates the bitmap of a member whose superblock says it has one. A bitmap older than the
     * superblock (md: "out of date") comes back with every bit set: md resyncs everything then, and so do we.
     */
    public static MemorySegment readArea(Reactor reactor, BlockDevice device, MdSuperblock sb) throws IOException, MdFormatException {
        int blockBytes = device.geometry().logicalBlockBytes();
        long at = areaByte(sb);
        MemorySegment first = ControlIo.buffer(PAGE, PAGE);
        ControlIo.read(reactor, device, at / blockBytes, PAGE / blockBytes, first);
        MdBitmap header = new MdBitmap().wrap(first);
        if (header.magic() != MdBitmap.BITMAP_MAGIC || header.chunkBytes() == 0) {
            header.validate(sb); // throws the precise reason
        }
        long bytes = roundUp(MdBitmap.BITS_OFFSET + (header.chunkCount() + 7) / 8);
        long room = (sb.dataOffsetSectors() - MdSuperblock.SUPER_OFFSET_SECTORS - sb.bitmapOffsetSectors()) * MdSuperblock.SECTOR_BYTES;
        if (bytes > room) {
            throw new MdFormatException(MdFormatException.Reason.BITMAP_TOO_SMALL, header.chunkCount() + " bitmap bits need " + bytes
                    + " bytes, the metadata area before the data has " + room);
        }
        MemorySegment area = ControlIo.buffer(bytes, PAGE);
        MemorySegment.copy(first, 0, area, 0, PAGE);
        if (bytes > PAGE) ControlIo.read(reactor, device, (at + PAGE) / blockBytes, (int) ((bytes - PAGE) / blockBytes), area.asSlice(PAGE));
        MdBitmap bitmap = new MdBitmap().wrap(area);
        bitmap.validate(sb);
        if (bitmap.isStale(sb)) bitmap.setAll();
        return area;
    }

    private static long roundUp(long bytes) {
        return (bytes + PAGE - 1) / PAGE * PAGE;
    }

    /**
     * Makes the regions the bitmap marks dirty consistent again, before the volume takes any other I/O: each
     * dirty range is read through the volume and written back. For a mirror the read comes from one member and
     * the write goes to all; for raid5 the range is widened to whole stripes, so every write is a full-stripe
     * write and the parity is recomputed from the data. The bits stay set: the write intent clears them once
     * the regions have been idle. Returns the bitmap chunks resynced.
     *
     * @param memberRowsToVolume maps a member data block to the volume block its stripe (or mirror row) starts at
     * @param rowsPerStripe      member rows per stripe (a raid5 chunk; 1 for a mirror)
     * @param volumeBlocksPerStripe volume blocks per stripe (raid5: chunk x data members; 1 for a mirror)
     */
    static long resync(Reactor reactor, BlockDevice volume, MemorySegment area, long rowsPerStripe, long volumeBlocksPerStripe) throws IOException {
        MdBitmap bitmap = new MdBitmap().wrap(area);
        int blockBytes = volume.geometry().logicalBlockBytes();
        long sectorsPerBlock = blockBytes / MdSuperblock.SECTOR_BYTES;
        long volumeBlocks = volume.geometry().blockCount();
        long ioBlocks = Math.max(volumeBlocksPerStripe, RESYNC_IO_BYTES / blockBytes / volumeBlocksPerStripe * volumeBlocksPerStripe);
        MemorySegment buffer = ControlIo.buffer(ioBlocks * blockBytes, blockBytes);
        IOException[] failure = {null};
        long dirty = bitmap.dirtyCount();
        bitmap.forEachDirtyRange((startSector, sectorCount) -> {
            if (failure[0] != null) return;
            long firstRow = startSector / sectorsPerBlock, endRow = (startSector + sectorCount + sectorsPerBlock - 1) / sectorsPerBlock;
            long from = firstRow / rowsPerStripe * volumeBlocksPerStripe;
            long to = Math.min(volumeBlocks, (endRow + rowsPerStripe - 1) / rowsPerStripe * volumeBlocksPerStripe);
            try {
                for (long lba = from; lba < to; lba += ioBlocks) {
                    int n = (int) Math.min(ioBlocks, to - lba);
                    MemorySegment piece = buffer.asSlice(0, (long) n * blockBytes);
                    ControlIo.read(reactor, volume, lba, n, piece);
                    ControlIo.write(reactor, volume, lba, n, piece);
                }
            } catch (IOException e) {
                failure[0] = e;
            }
        });
        if (failure[0] != null) throw failure[0];
        return dirty;
    }

    /**
     * Writes bitmap pages to every member still active and flushes them; a member that fails is failed in the
     * volume (it then gets no more writes, and is stale at the next assembly). Throws only when no member took it.
     */
    static final class Store implements MdWriteIntent.Store {
        private final String volume;
        private final int roles;
        private final IntFunction<BlockDevice> activeMember;
        private final IntFunction<MdSuperblock> superblock;
        private final IntConsumer failMember;
        private final Supplier<Reactor> reactor;

        /**
         * @param activeMember the device of a role that is present and active, or null
         * @param superblock   a role's current superblock (where its bitmap lives)
         */
        Store(String volume, int roles, IntFunction<BlockDevice> activeMember, IntFunction<MdSuperblock> superblock,
              IntConsumer failMember, Supplier<Reactor> reactor) {
            this.volume = volume;
            this.roles = roles;
            this.activeMember = activeMember;
            this.superblock = superblock;
            this.failMember = failMember;
            this.reactor = reactor;
        }

        @Override
        public void flush() throws IOException {
            each(null, 0, 0);
        }

        @Override
        public void write(MemorySegment area, long offsetBytes, long lengthBytes) throws IOException {
            each(area, offsetBytes, lengthBytes);
        }

        private void each(MemorySegment area, long offset, long length) throws IOException {
            Reactor r = reactor.get();
            if (r == null) throw new IOException("no running reactor for the bitmap of " + volume);
            int done = 0;
            IOException last = null;
            for (int role = 0; role < roles; role++) {
                BlockDevice device = activeMember.apply(role);
                if (device == null) continue;
                try {
                    if (area != null) writeArea(r, device, superblock.apply(role), area, offset, length);
                    ControlIo.flush(r, device);
                    done++;
                } catch (IOException e) {
                    last = e;
                    failMember.accept(role);
                }
            }
            if (done == 0) throw new IOException("bitmap " + (area == null ? "flush" : "write") + " of " + volume + " reached no member"
                    + (last == null ? "" : ": " + last.getMessage()));
        }
    }
}
