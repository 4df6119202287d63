package io.basalt.raid.md;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.conformance.ConformanceHarness;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A reactor driven by hand on the test thread, memory members, and writing superblocks onto them. */
final class MdTestSupport implements AutoCloseable {
    static final long MEMBER_BYTES = 64L << 20;
    static final long MEMBER_SECTORS = MEMBER_BYTES / 512;
    static final long CTIME = 1_700_000_000L;

    final Reactor reactor = new Reactor(ReactorConfig.defaults("md-test"));
    final Arena arena = Arena.ofConfined();

    MdTestSupport() {
        reactor.initOnCurrentThread();
    }

    static MdArraySpec spec(int level, int disks, boolean bitmap, long seed) {
        int layout = level == 5 ? MdSuperblock.ALGORITHM_LEFT_SYMMETRIC : 0;
        return MdArraySpec.create("basalt:vol0", level, layout, MdArraySpec.DEFAULT_CHUNK_SECTORS, disks, MEMBER_SECTORS,
                bitmap, CTIME, new SplittableRandom(seed));
    }

    static byte[] deviceUuid(int devNumber) {
        byte[] uuid = new byte[16];
        new SplittableRandom(1000 + devNumber).nextBytes(uuid);
        return uuid;
    }

    MemoryBlockDevice device(String name, long bytes) {
        return new MemoryBlockDevice(name, bytes, 512);
    }

    /** Writes member {@code devNumber}'s superblock (and bitmap, if any) of {@code spec} to {@code device}. */
    MdSuperblock writeMember(MemoryBlockDevice device, MdArraySpec spec, int devNumber) {
        MemorySegment buffer = arena.allocate(MdSuperblock.BUFFER_BYTES, 4096);
        MdSuperblock sb = spec.writeSuperblock(buffer, devNumber, deviceUuid(devNumber), CTIME + 5);
        writeBytes(device, MdSuperblock.SUPER_OFFSET_SECTORS * 512, buffer);
        if (spec.bitmapSectors() > 0) {
            MemorySegment area = arena.allocate(spec.bitmapSectors() * 512, 4096);
            new MdBitmap().wrap(area).initialize(spec);
            writeBytes(device, (MdSuperblock.SUPER_OFFSET_SECTORS + MdArraySpec.BITMAP_OFFSET_SECTORS) * 512, area);
        }
        return sb;
    }

    void writeBytes(MemoryBlockDevice device, long offsetBytes, MemorySegment data) {
        try (BlockChannel channel = device.openChannel(reactor)) {
            ConformanceHarness h = new ConformanceHarness(reactor, channel);
            assertEquals(Status.OK, h.write(offsetBytes / 512, (int) (data.byteSize() / 512), data));
        }
    }

    MemorySegment readBytes(MemoryBlockDevice device, long offsetBytes, long length) {
        MemorySegment out = arena.allocate(length, 4096);
        try (BlockChannel channel = device.openChannel(reactor)) {
            ConformanceHarness h = new ConformanceHarness(reactor, channel);
            assertEquals(Status.OK, h.read(offsetBytes / 512, (int) (length / 512), out));
        }
        return out;
    }

    @Override
    public void close() {
        arena.close();
        reactor.close();
    }
}
