package io.basalt.nvmeof.nvme;

/**
 * Controller properties a fabrics host reads and writes with Property Get/Set (NVMe base 2.0 section 3.1.3,
 * figure 35; Linux NVME_REG_*). CAP is 8 bytes, the others 4.
 */
public final class Registers {
    private Registers() {}

    public static final int CAP = 0x00;
    public static final int VS = 0x08;
    public static final int CC = 0x14;
    public static final int CSTS = 0x1C;

    // CAP fields.
    /** Maximum queue entries supported, 0-based (bits 15:0). */
    public static long capMqes(int entriesMax) {
        return (entriesMax - 1) & 0xFFFFL;
    }

    /** Contiguous queues required (bit 16). */
    public static final long CAP_CQR = 1L << 16;
    public static final int CAP_TO_SHIFT = 24;
    /** CSS bit 0 (CAP bit 37): the NVM command set. */
    public static final long CAP_CSS_NVM = 1L << 37;

    /** VS for NVMe 1.3: major in bits 31:16, minor in 15:8. */
    public static final int VERSION_1_3 = (1 << 16) | (3 << 8);

    // CC fields.
    public static final int CC_ENABLE = 1;
    public static final int CC_CSS_SHIFT = 4;
    public static final int CC_CSS_MASK = 0x7;
    public static final int CC_MPS_SHIFT = 7;
    public static final int CC_MPS_MASK = 0xF;
    public static final int CC_SHN_SHIFT = 14;
    public static final int CC_SHN_MASK = 0x3;
    public static final int CC_IOSQES_SHIFT = 16;
    public static final int CC_IOCQES_SHIFT = 20;
    public static final int CC_QES_MASK = 0xF;
    /** log2 of the 64-byte SQE and the 16-byte CQE, what CC.IOSQES and CC.IOCQES must say. */
    public static final int IOSQES = 6;
    public static final int IOCQES = 4;

    // CSTS fields.
    public static final int CSTS_RDY = 1;
    public static final int CSTS_CFS = 1 << 1;
    public static final int CSTS_SHST_SHIFT = 2;
    public static final int CSTS_SHST_MASK = 0x3 << CSTS_SHST_SHIFT;
    public static final int CSTS_SHST_COMPLETE = 2 << CSTS_SHST_SHIFT;
}
