package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Identify Namespace data structure for the NVM command set, 4096 bytes (NVM command set 1.0 figure 97;
 * Linux {@code struct nvme_id_ns}), little endian. One LBA format (index 0) with LBADS = log2(block bytes).
 * <pre>
 *   0 nsze  8 ncap  16 nuse  24 nsfeat  25 nlbaf  26 flbas  30 nmic  33 dlfeat  64 npwg  66 npwa  68 npdg
 *  70 npda  72 nows  104 nguid[16]  120 eui64[8]  128 lbaf[0]: ms (u16), lbads (u8), rp (u8)
 * </pre>
 */
public final class IdentifyNamespace {
    private IdentifyNamespace() {}

    public static final int SIZE = 4096;
    public static final int NSZE_OFFSET = 0;
    public static final int NCAP_OFFSET = 8;
    public static final int NUSE_OFFSET = 16;
    public static final int NSFEAT_OFFSET = 24;
    public static final int NLBAF_OFFSET = 25;
    public static final int FLBAS_OFFSET = 26;
    public static final int NMIC_OFFSET = 30;
    public static final int DLFEAT_OFFSET = 33;
    public static final int NPWG_OFFSET = 64;
    public static final int NPWA_OFFSET = 66;
    public static final int NPDG_OFFSET = 68;
    public static final int NPDA_OFFSET = 70;
    public static final int NOWS_OFFSET = 72;
    public static final int NGUID_OFFSET = 104;
    public static final int EUI64_OFFSET = 120;
    public static final int LBAF_OFFSET = 128;
    public static final int LBAF_BYTES = 4;
    /** Within an LBA format descriptor: LBA data size as a power of two. */
    public static final int LBAF_LBADS_OFFSET = 2;

    /** NSFEAT bit 0: thin provisioning (deallocation frees capacity); bit 4: NPWG..NOWS are valid. */
    public static final int NSFEAT_THIN = 1;
    public static final int NSFEAT_OPTIMAL_IO = 1 << 4;
    /** DLFEAT bits 2:0 = 001: a deallocated block reads as zeroes; bit 3: Write Zeroes may deallocate. */
    public static final int DLFEAT_READS_ZEROES = 0x1;
    public static final int DLFEAT_WRITE_ZEROES_DEALLOCATES = 1 << 3;
    /** NMIC bit 0: the namespace may be attached to several controllers at once. */
    public static final int NMIC_SHARED = 1;

    /** What a namespace reports. */
    public record Values(long blockCount, int logicalBlockBytes, int nsfeat, int dlfeat, int preferredGranularityBlocks,
                         int preferredDeallocateBlocks, byte[] nguid, byte[] eui64) {}

    public static void write(MemorySegment out, Values v) {
        out.asSlice(0, SIZE).fill((byte) 0);
        Sqe.putU64(out, NSZE_OFFSET, v.blockCount());
        Sqe.putU64(out, NCAP_OFFSET, v.blockCount());
        Sqe.putU64(out, NUSE_OFFSET, v.blockCount());
        Sqe.putU8(out, NSFEAT_OFFSET, v.nsfeat());
        Sqe.putU8(out, NLBAF_OFFSET, 0); // 0-based: one format
        Sqe.putU8(out, FLBAS_OFFSET, 0);
        Sqe.putU8(out, NMIC_OFFSET, NMIC_SHARED);
        Sqe.putU8(out, DLFEAT_OFFSET, v.dlfeat());
        if ((v.nsfeat() & NSFEAT_OPTIMAL_IO) != 0) {
            Sqe.putU16(out, NPWG_OFFSET, v.preferredGranularityBlocks() - 1);
            Sqe.putU16(out, NPWA_OFFSET, v.preferredGranularityBlocks() - 1);
            Sqe.putU16(out, NPDG_OFFSET, v.preferredDeallocateBlocks() - 1);
            Sqe.putU16(out, NPDA_OFFSET, v.preferredDeallocateBlocks() - 1);
            Sqe.putU16(out, NOWS_OFFSET, v.preferredGranularityBlocks() - 1);
        }
        MemorySegment.copy(v.nguid(), 0, out, ValueLayout.JAVA_BYTE, NGUID_OFFSET, 16);
        if (v.eui64() != null) MemorySegment.copy(v.eui64(), 0, out, ValueLayout.JAVA_BYTE, EUI64_OFFSET, 8);
        Sqe.putU8(out, LBAF_OFFSET + LBAF_LBADS_OFFSET, Integer.numberOfTrailingZeros(v.logicalBlockBytes()));
    }

    /** Clamps a block count to what a 16-bit 0-based field holds. */
    public static int clampU16Blocks(long blocks) {
        return (int) Math.max(1, Math.min(blocks, 1 << 16));
    }
}
