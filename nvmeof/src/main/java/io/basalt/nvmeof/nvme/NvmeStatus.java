package io.basalt.nvmeof.nvme;

/**
 * Completion status field values (NVMe base 2.0, section 4.2.3 "Status Field Definition"): status code type in
 * bits 10:8, status code in bits 7:0, More in bit 13, Do Not Retry in bit 14; the same numbers as Linux's
 * {@code NVME_SC_*} and {@code NVME_STATUS_DNR} in include/linux/nvme.h.
 */
public final class NvmeStatus {
    private NvmeStatus() {}

    public static final int DNR = 1 << 14;
    public static final int MORE = 1 << 13;
    public static final int SCT_SHIFT = 8;

    // Generic command status (SCT 0), figure 102.
    public static final int SUCCESS = 0x000;
    public static final int INVALID_OPCODE = 0x001;
    public static final int INVALID_FIELD = 0x002;
    public static final int CMDID_CONFLICT = 0x003;
    public static final int DATA_TRANSFER_ERROR = 0x004;
    public static final int INTERNAL = 0x006;
    public static final int ABORT_REQUESTED = 0x007;
    public static final int INVALID_NS = 0x00B;
    public static final int CMD_SEQ_ERROR = 0x00C;
    public static final int SGL_INVALID_DATA = 0x00F;
    public static final int NS_WRITE_PROTECTED = 0x020;
    public static final int LBA_RANGE = 0x080;
    public static final int CAP_EXCEEDED = 0x081;
    public static final int NS_NOT_READY = 0x082;

    // Command specific status (SCT 1), figure 103 and NVMe over Fabrics 1.1 figure 19 (Connect).
    public static final int QID_INVALID = 0x101;
    public static final int QUEUE_SIZE = 0x102;
    public static final int ABORT_LIMIT = 0x103;
    public static final int ASYNC_LIMIT = 0x105;
    public static final int INVALID_LOG_PAGE = 0x109;
    public static final int FEATURE_NOT_SAVEABLE = 0x10D;
    public static final int FEATURE_NOT_CHANGEABLE = 0x10E;
    public static final int CONNECT_FORMAT = 0x180;
    public static final int CONNECT_CTRL_BUSY = 0x181;
    public static final int CONNECT_INVALID_PARAM = 0x182;
    public static final int CONNECT_RESTART_DISC = 0x183;
    public static final int CONNECT_INVALID_HOST = 0x184;

    // Media and data integrity errors (SCT 2), figure 104.
    public static final int WRITE_FAULT = 0x280;
    public static final int UNRECOVERED_READ_ERROR = 0x281;
    public static final int ACCESS_DENIED = 0x286;

    public static int statusCodeType(int status) {
        return (status >>> SCT_SHIFT) & 0x7;
    }

    public static int statusCode(int status) {
        return status & 0xFF;
    }

    public static boolean doNotRetry(int status) {
        return (status & DNR) != 0;
    }

    /** For logs and test messages: "SCT 1 SC 0x84 DNR". */
    public static String describe(int status) {
        return "SCT " + statusCodeType(status) + " SC 0x" + Integer.toHexString(statusCode(status))
                + (doNotRetry(status) ? " DNR" : "");
    }
}
