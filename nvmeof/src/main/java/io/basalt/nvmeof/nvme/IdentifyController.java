package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * The Identify Controller data structure, 4096 bytes (NVMe base 2.0 figure 275; fabrics fields NVMe over
 * Fabrics 1.1 figure 28; Linux {@code struct nvme_id_ctrl}). Little endian; strings are ASCII padded with spaces.
 * Offsets of the fields Basalt fills (others stay zero):
 * <pre>
 *    0 vid  2 ssvid  4 sn[20]  24 mn[40]  64 fr[8]  72 rab  73 ieee[3]  76 cmic  77 mdts  78 cntlid  80 ver
 *   92 oaes  96 ctratt  111 cntrltype  256 oacs  258 acl  259 aerl  260 frmw  261 lpa  262 elpe
 *  320 kas  512 sqes  513 cqes  514 maxcmd  516 nn  520 oncs  525 vwc  536 sgls  768 subnqn[256]
 * 1792 ioccsz  1796 iorcsz  1800 icdoff  1802 fcatt  1803 msdbd
 * </pre>
 */
public final class IdentifyController {
    private IdentifyController() {}

    public static final int SIZE = 4096;
    public static final int VID_OFFSET = 0;
    public static final int SSVID_OFFSET = 2;
    public static final int SN_OFFSET = 4;
    public static final int SN_BYTES = 20;
    public static final int MN_OFFSET = 24;
    public static final int MN_BYTES = 40;
    public static final int FR_OFFSET = 64;
    public static final int FR_BYTES = 8;
    public static final int RAB_OFFSET = 72;
    public static final int IEEE_OFFSET = 73;
    public static final int CMIC_OFFSET = 76;
    public static final int MDTS_OFFSET = 77;
    public static final int CNTLID_OFFSET = 78;
    public static final int VER_OFFSET = 80;
    public static final int OAES_OFFSET = 92;
    public static final int CTRATT_OFFSET = 96;
    public static final int CNTRLTYPE_OFFSET = 111;
    public static final int OACS_OFFSET = 256;
    public static final int ACL_OFFSET = 258;
    public static final int AERL_OFFSET = 259;
    public static final int FRMW_OFFSET = 260;
    public static final int LPA_OFFSET = 261;
    public static final int ELPE_OFFSET = 262;
    public static final int KAS_OFFSET = 320;
    public static final int SQES_OFFSET = 512;
    public static final int CQES_OFFSET = 513;
    public static final int MAXCMD_OFFSET = 514;
    public static final int NN_OFFSET = 516;
    public static final int ONCS_OFFSET = 520;
    public static final int VWC_OFFSET = 525;
    public static final int SGLS_OFFSET = 536;
    public static final int SUBNQN_OFFSET = 768;
    public static final int SUBNQN_BYTES = 256;
    public static final int IOCCSZ_OFFSET = 1792;
    public static final int IORCSZ_OFFSET = 1796;
    public static final int ICDOFF_OFFSET = 1800;
    public static final int FCATT_OFFSET = 1802;
    public static final int MSDBD_OFFSET = 1803;

    public static final int CNTRLTYPE_IO = 1;
    public static final int CNTRLTYPE_DISCOVERY = 2;
    /** CMIC: the subsystem may have several ports (bit 0) and several controllers (bit 1). No ANA (bit 3). */
    public static final int CMIC_MULTI_PORT_MULTI_CONTROLLER = 0x3;
    /** OAES bit 8: Namespace Attribute Notices; bit 31: Discovery Log Page Change notices. */
    public static final int OAES_NAMESPACE_ATTRIBUTE = 1 << 8;
    public static final int OAES_DISCOVERY_LOG_CHANGE = 1 << 31;
    /** LPA bit 2: extended data for Get Log Page (NUMDU, offsets), as nvmet says. */
    public static final int LPA_EXTENDED_DATA = 1 << 2;
    public static final int ONCS_DSM = 1 << 2;
    public static final int ONCS_WRITE_ZEROES = 1 << 3;
    public static final int VWC_PRESENT = 1;
    /** SGLS bit 0: SGLs supported (no alignment rule); bit 20: offset SGL data blocks (in-capsule data), as nvmet for TCP. */
    public static final int SGLS_SUPPORTED = 1;
    public static final int SGLS_OFFSET_DATA_BLOCK = 1 << 20;
    /** SQES/CQES: required and maximum entry sizes as log2 (both 64 and 16 bytes). */
    public static final int SQES_64_BYTES = (Registers.IOSQES << 4) | Registers.IOSQES;
    public static final int CQES_16_BYTES = (Registers.IOCQES << 4) | Registers.IOCQES;

    /** The values a controller reports; the target computes them, this class lays them out. */
    public record Values(int vendorId, String serial, String model, String firmware, int cmic, int mdts, int cntlid,
                         int version, int oaes, int controllerType, int abortLimit, int aerLimit, int logPageAttributes,
                         int errorLogEntries, int keepAliveGranularity100Ms, int maxCommands, int namespaceCount,
                         int oncs, int vwc, int sgls, String subsystemNqn, int ioccsz16Bytes, int iorcsz16Bytes) {}

    public static void write(MemorySegment out, Values v) {
        out.asSlice(0, SIZE).fill((byte) 0);
        Sqe.putU16(out, VID_OFFSET, v.vendorId());
        Sqe.putU16(out, SSVID_OFFSET, v.vendorId());
        putPadded(out, SN_OFFSET, SN_BYTES, v.serial(), (byte) ' ');
        putPadded(out, MN_OFFSET, MN_BYTES, v.model(), (byte) ' ');
        putPadded(out, FR_OFFSET, FR_BYTES, v.firmware(), (byte) ' ');
        Sqe.putU8(out, RAB_OFFSET, 6);
        Sqe.putU8(out, CMIC_OFFSET, v.cmic());
        Sqe.putU8(out, MDTS_OFFSET, v.mdts());
        Sqe.putU16(out, CNTLID_OFFSET, v.cntlid());
        Sqe.putU32(out, VER_OFFSET, v.version());
        Sqe.putU32(out, OAES_OFFSET, v.oaes());
        Sqe.putU8(out, CNTRLTYPE_OFFSET, v.controllerType());
        Sqe.putU8(out, ACL_OFFSET, v.abortLimit() - 1);
        Sqe.putU8(out, AERL_OFFSET, v.aerLimit() - 1);
        Sqe.putU8(out, FRMW_OFFSET, 0x3); // slot 1 read-only, one slot: nothing to download
        Sqe.putU8(out, LPA_OFFSET, v.logPageAttributes());
        Sqe.putU8(out, ELPE_OFFSET, v.errorLogEntries() - 1);
        Sqe.putU16(out, KAS_OFFSET, v.keepAliveGranularity100Ms());
        Sqe.putU8(out, SQES_OFFSET, SQES_64_BYTES);
        Sqe.putU8(out, CQES_OFFSET, CQES_16_BYTES);
        Sqe.putU16(out, MAXCMD_OFFSET, v.maxCommands());
        Sqe.putU32(out, NN_OFFSET, v.namespaceCount());
        Sqe.putU16(out, ONCS_OFFSET, v.oncs());
        Sqe.putU8(out, VWC_OFFSET, v.vwc());
        Sqe.putU32(out, SGLS_OFFSET, v.sgls());
        putPadded(out, SUBNQN_OFFSET, SUBNQN_BYTES, v.subsystemNqn(), (byte) 0);
        Sqe.putU32(out, IOCCSZ_OFFSET, v.ioccsz16Bytes());
        Sqe.putU32(out, IORCSZ_OFFSET, v.iorcsz16Bytes());
        Sqe.putU16(out, ICDOFF_OFFSET, 0);
        Sqe.putU8(out, MSDBD_OFFSET, 1);
    }

    /** ASCII text cut to {@code width} and padded with {@code pad} (spaces for SN/MN/FR, NULs for NQNs). */
    public static void putPadded(MemorySegment out, long offset, int width, String text, byte pad) {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        int length = Math.min(bytes.length, width);
        out.asSlice(offset, width).fill(pad);
        MemorySegment.copy(bytes, 0, out, ValueLayout.JAVA_BYTE, offset, length);
    }

    /** The text of a padded field, trailing spaces and NULs dropped. */
    public static String text(MemorySegment in, long offset, int width) {
        byte[] bytes = new byte[width];
        MemorySegment.copy(in, ValueLayout.JAVA_BYTE, offset, bytes, 0, width);
        int end = width;
        while (end > 0 && (bytes[end - 1] == ' ' || bytes[end - 1] == 0)) end--;
        return new String(bytes, 0, end, StandardCharsets.US_ASCII);
    }
}
