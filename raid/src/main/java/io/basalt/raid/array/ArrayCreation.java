package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Geometry;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdArraySpec;
import io.basalt.raid.md.MdPpl;
import io.basalt.raid.md.MdSuperblock;
import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.OffsetDevice;
import io.basalt.raid.volume.PplAreas;
import io.basalt.raid.volume.PplRecovery;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.raid.volume.VolumeFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A new array (md's --create): the members are claimed and checked, the volume built over their data slices
 * before anything is written (members it refuses leave the drives untouched), then the superblocks, bitmaps
 * and PPL headers written as mdadm writes them. Called under the arrays' lock.
 */
final class ArrayCreation {
    private final RaidArrays arrays;
    private final ArrayContext context;
    private final Superblocks superblocks;

    ArrayCreation(RaidArrays arrays, ArrayContext context, Superblocks superblocks) {
        this.arrays = arrays;
        this.context = context;
        this.superblocks = superblocks;
    }

    static void checkName(MemberSource members, String name) throws ArrayException {
        try {
            members.checkVolumeName(name);
        } catch (IllegalArgumentException e) {
            throw ArrayException.invalid("param 'name': " + e.getMessage());
        }
        if (name.length() > RaidArrays.SET_NAME_CHARS_MAX) {
            throw ArrayException.invalid("param 'name': a volume name is at most " + RaidArrays.SET_NAME_CHARS_MAX
                    + " characters (it is the md set_name)");
        }
    }

    RaidArray create(CreateRequest request) throws ArrayException {
        checkName(context.members, request.name());
        String holder = RaidArrays.holderOf(request.name());
        try {
            context.members.claim(request.members(), holder);
        } catch (IllegalArgumentException e) {
            throw ArrayException.invalid("param 'members': " + e.getMessage());
        }
        try {
            return createClaimed(request);
        } catch (ArrayException | RuntimeException e) {
            for (String m : request.members()) context.members.release(m, holder);
            throw e;
        }
    }

    /** The members' common block size and smallest size in sectors, checked: one block size, all keeping data. */
    private long[] memberShape(List<String> members) throws ArrayException {
        int blockBytes = context.members.device(members.getFirst()).geometry().logicalBlockBytes();
        long memberSectors = Long.MAX_VALUE;
        for (String d : members) {
            Geometry g = context.members.device(d).geometry();
            if (g.logicalBlockBytes() != blockBytes) {
                throw ArrayException.invalid("param 'members': " + d + " has " + g.logicalBlockBytes() + "-byte blocks, "
                        + members.getFirst() + " has " + blockBytes + ": members need one block size");
            }
            if (!g.persistent()) throw ArrayException.invalid("param 'members': " + d + " does not keep data (a null drive)");
            memberSectors = Math.min(memberSectors, g.sizeBytes() / MdSuperblock.SECTOR_BYTES);
        }
        if (blockBytes > MdSuperblock.BUFFER_BYTES) {
            throw ArrayException.invalid("param 'members': " + blockBytes + "-byte blocks are larger than an md superblock (4096)");
        }
        return new long[] {blockBytes, memberSectors};
    }

    private MdArraySpec spec(CreateRequest request, long memberSectors, long now) throws ArrayException {
        RaidLevel level = request.level();
        int n = request.members().size();
        try {
            return request.consistency() == Consistency.PPL
                    ? MdArraySpec.createPpl(request.name(), MdSuperblock.ALGORITHM_LEFT_SYMMETRIC, request.chunkSectors(), n, memberSectors, now, context.random)
                    : MdArraySpec.create(request.name(), level.mdLevel, mdLayout(level), request.chunkSectors(), n, memberSectors,
                    request.consistency() == Consistency.BITMAP, now, context.random);
        } catch (IllegalStateException e) {
            throw ArrayException.invalid("param 'members': the smallest member (" + memberSectors * MdSuperblock.SECTOR_BYTES
                    + " bytes) is too small for the md metadata (data offset "
                    + MdArraySpec.mdadmDataOffsetSectors(memberSectors, level.usesChunk() ? request.chunkSectors() : 0) * MdSuperblock.SECTOR_BYTES
                    + " bytes) and one chunk");
        }
    }

    /** md's layout for a new array: raid5 left-symmetric (md's default), 0 for the others. */
    private static int mdLayout(RaidLevel level) {
        return level.hasParity() ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0;
    }

    private RaidArray createClaimed(CreateRequest request) throws ArrayException {
        List<String> members = request.members();
        long[] shape = memberShape(members);
        int blockBytes = (int) shape[0];
        if (request.level().usesChunk() && request.chunkSectors() * MdSuperblock.SECTOR_BYTES < blockBytes) {
            throw ArrayException.invalid("param 'chunk_kib' is smaller than a member block (" + blockBytes + " bytes)");
        }
        long now = System.currentTimeMillis() / 1000;
        MdArraySpec spec = spec(request, shape[1], now);
        // Build the volume first (nothing written yet if the members cannot form one), then the superblocks.
        boolean ppl = request.consistency() == Consistency.PPL;
        int signature = MdPpl.signature(spec.setUuid());
        List<BlockDevice> slices = new ArrayList<>(), areas = new ArrayList<>();
        for (String d : members) {
            BlockDevice device = context.members.device(d);
            slices.add(new OffsetDevice(d, device, spec.dataOffsetSectors() * MdSuperblock.SECTOR_BYTES / blockBytes,
                    spec.sizeSectors() * MdSuperblock.SECTOR_BYTES / blockBytes));
            if (ppl) areas.add(pplArea(d, device, MdSuperblock.SUPER_OFFSET_SECTORS + MdArraySpec.BITMAP_OFFSET_SECTORS, spec.pplSectors()));
        }
        BlockDevice volume;
        try {
            volume = request.level().factory().open(request.name(), slices, (int) (request.chunkSectors() * MdSuperblock.SECTOR_BYTES),
                    mdLayout(request.level()), ppl ? new PplAreas(areas, signature) : null);
        } catch (VolumeFactory.NotSupportedException e) {
            throw new ArrayException(ArrayException.Kind.NOT_SUPPORTED, "param 'level': " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw ArrayException.invalid(e.getMessage());
        }
        String[] names = members.toArray(String[]::new);
        MemorySegment[] copies = writeMetadata(request, spec, areas, signature, volume, now);
        RaidArray array = new RaidArray(request.name(), request.level(), mdLayout(request.level()), members.size(), spec.chunkSectors(),
                spec.sizeSectors(), spec.setUuid(), spec.events(), "created", volume, names, copies);
        array.consistency = request.consistency();
        if (spec.bitmapSectors() > 0) arrays.attachIntent(array, RaidBitmaps.freshArea(spec));
        superblocks.markDirty(array, "raid_create");
        arrays.register(array);
        return array;
    }

    /** Each member's superblock (and fresh bitmap), flushed, then the empty PPL headers; the superblocks' heap copies. */
    private MemorySegment[] writeMetadata(CreateRequest request, MdArraySpec spec, List<BlockDevice> areas, int signature,
                                          BlockDevice volume, long now) throws ArrayException {
        List<String> members = request.members();
        MemorySegment[] copies = new MemorySegment[members.size()];
        try {
            Reactor reactor = context.controlReactor();
            for (int i = 0; i < members.size(); i++) {
                BlockDevice device = context.members.device(members.get(i));
                MemorySegment buffer = ControlIo.buffer(MdSuperblock.BUFFER_BYTES, device.geometry().logicalBlockBytes());
                byte[] deviceUuid = new byte[MdSuperblock.UUID_BYTES];
                context.random.nextBytes(deviceUuid);
                spec.writeSuperblock(buffer, i, deviceUuid, now);
                Superblocks.write(reactor, device, buffer);
                copies[i] = Superblocks.heapCopy(buffer);
                if (spec.bitmapSectors() > 0) {
                    MemorySegment area = RaidBitmaps.freshArea(spec);
                    RaidBitmaps.writeArea(reactor, device, new MdSuperblock().wrap(copies[i]), area, 0, area.byteSize());
                }
            }
            for (String d : members) ControlIo.flush(reactor, context.members.device(d));
            for (BlockDevice area : areas) PplRecovery.initialize(context.controlSync(), area, signature); // mdadm write_init_ppl1
        } catch (IOException e) {
            volume.close();
            throw ArrayException.internal("writing the md superblocks failed: " + e.getMessage());
        } catch (ArrayException e) {
            volume.close();
            throw e;
        }
        return copies;
    }

    /** A member's PPL area: {@code sizeSectors} from sector {@code startSector} (super_offset + ppl.offset). */
    static OffsetDevice pplArea(String drive, BlockDevice device, long startSector, long sizeSectors) {
        int blockBytes = device.geometry().logicalBlockBytes();
        return new OffsetDevice(drive + "/ppl", device, startSector * MdSuperblock.SECTOR_BYTES / blockBytes,
                sizeSectors * MdSuperblock.SECTOR_BYTES / blockBytes);
    }
}
