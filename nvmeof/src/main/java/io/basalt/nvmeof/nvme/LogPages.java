package io.basalt.nvmeof.nvme;

/**
 * Log page layouts and the Get Log Page command's fields (NVMe base 2.0 section 5.16; Linux
 * {@code struct nvme_get_log_page_command}, {@code nvme_error_slot}, {@code nvme_smart_log}).
 * <pre>
 * Get Log Page: cdw10 LID (7:0), LSP (11:8), RAE (15), NUMDL (31:16); cdw11 NUMDU (15:0); cdw12 LPOL; cdw13 LPOU
 * Error entry (64 bytes): 0 error count (u64)  8 sqid  10 cid  12 status field (phase in bit 0)  14 parameter
 *                         error location  16 lba (u64)  24 nsid (u32)
 * SMART (512 bytes): 0 critical warning  1 temperature (u16, kelvin)  3 available spare  4 spare threshold
 *                    32 data units read (u128, thousands of 512 bytes)  48 data units written  64 host reads
 *                    80 host writes  112 power cycles  128 power-on hours  176 error log entries
 * Changed namespace list (4096 bytes): up to 1024 nsids (u32); 0xFFFFFFFF first when more changed.
 * </pre>
 */
public final class LogPages {
    private LogPages() {}

    public static final int RAE_BIT = 1 << 15;
    public static final int NUMDL_SHIFT = 16;

    /** Bytes the command asks for: (NUMDU:NUMDL + 1) dwords. */
    public static long lengthBytes(int cdw10, int cdw11) {
        long numd = ((long) (cdw11 & 0xFFFF) << 16) | (cdw10 >>> NUMDL_SHIFT);
        return (numd + 1) * Integer.BYTES;
    }

    public static long offsetBytes(int cdw12, int cdw13) {
        return (Integer.toUnsignedLong(cdw13) << 32) | Integer.toUnsignedLong(cdw12);
    }

    public static final int ERROR_ENTRY_BYTES = 64;
    public static final int ERROR_COUNT_OFFSET = 0;
    public static final int ERROR_SQID_OFFSET = 8;
    public static final int ERROR_CID_OFFSET = 10;
    public static final int ERROR_STATUS_OFFSET = 12;
    public static final int ERROR_PARAM_LOCATION_OFFSET = 14;
    public static final int ERROR_LBA_OFFSET = 16;
    public static final int ERROR_NSID_OFFSET = 24;
    /** "Parameter error location not specific to a field" (all ones). */
    public static final int ERROR_LOCATION_NONE = 0xFFFF;

    public static final int SMART_BYTES = 512;
    public static final int SMART_CRITICAL_WARNING_OFFSET = 0;
    public static final int SMART_TEMPERATURE_OFFSET = 1;
    public static final int SMART_AVAILABLE_SPARE_OFFSET = 3;
    public static final int SMART_SPARE_THRESHOLD_OFFSET = 4;
    public static final int SMART_DATA_UNITS_READ_OFFSET = 32;
    public static final int SMART_DATA_UNITS_WRITTEN_OFFSET = 48;
    public static final int SMART_HOST_READS_OFFSET = 64;
    public static final int SMART_HOST_WRITES_OFFSET = 80;
    public static final int SMART_POWER_CYCLES_OFFSET = 112;
    public static final int SMART_POWER_ON_HOURS_OFFSET = 128;
    public static final int SMART_ERROR_ENTRIES_OFFSET = 176;
    /** A data unit of the SMART log: 1000 units of 512 bytes, rounded up. */
    public static final long SMART_DATA_UNIT_BYTES = 512_000;
    /** The temperature reported: 20 degrees Celsius in kelvin (there is no sensor). */
    public static final int SMART_TEMPERATURE_KELVIN = 293;

    public static final int CHANGED_NAMESPACES_MAX = 1024;
    public static final int CHANGED_NAMESPACES_BYTES = CHANGED_NAMESPACES_MAX * Integer.BYTES;
    public static final int CHANGED_NAMESPACES_OVERFLOW = 0xFFFF_FFFF;

    public static final int FIRMWARE_SLOT_BYTES = 512;

    // Asynchronous event completion dword 0 (figure 146): type 2:0, information 15:8, log page 23:16.
    public static final int AEN_TYPE_NOTICE = 0x2;
    public static final int AEN_INFO_NAMESPACE_CHANGED = 0x00;
    public static final int AEN_INFO_DISCOVERY_CHANGED = 0xF0;

    public static int asyncEventResult(int type, int information, int logPage) {
        return (logPage << 16) | (information << 8) | type;
    }
}
