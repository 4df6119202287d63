package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;

/**
 * The Discovery Log Page, log 70h (NVMe over Fabrics 1.1 figure 32 header, figure 33 entry; Linux
 * {@code struct nvmf_disc_rsp_page_hdr}, {@code nvmf_disc_rsp_page_entry}), little endian.
 * <pre>
 * Header (1024 bytes): 0 generation counter (u64)  8 number of records (u64)  16 record format (u16)
 * Entry (1024 bytes):  0 trtype  1 adrfam  2 subtype  3 treq  4 portid (u16)  6 cntlid (u16)  8 asqsz (u16)
 *                      10 eflags (u16)  32 trsvcid[32]  256 subnqn[256]  512 traddr[256]  768 tsas[256]
 * </pre>
 */
public final class DiscoveryLog {
    private DiscoveryLog() {}

    public static final int HEADER_BYTES = 1024;
    public static final int GENCTR_OFFSET = 0;
    public static final int NUMREC_OFFSET = 8;
    public static final int RECFMT_OFFSET = 16;

    public static final int ENTRY_BYTES = 1024;
    public static final int TRTYPE_OFFSET = 0;
    public static final int ADRFAM_OFFSET = 1;
    public static final int SUBTYPE_OFFSET = 2;
    public static final int TREQ_OFFSET = 3;
    public static final int PORTID_OFFSET = 4;
    public static final int CNTLID_OFFSET = 6;
    public static final int ASQSZ_OFFSET = 8;
    public static final int EFLAGS_OFFSET = 10;
    public static final int TRSVCID_OFFSET = 32;
    public static final int TRSVCID_BYTES = 32;
    public static final int SUBNQN_OFFSET = 256;
    public static final int TRADDR_OFFSET = 512;
    public static final int TRADDR_BYTES = 256;
    public static final int TSAS_OFFSET = 768;

    public static final int TRTYPE_TCP = 3;
    public static final int ADRFAM_IPV4 = 1;
    public static final int ADRFAM_IPV6 = 2;
    /** Subtype: a referral to another discovery subsystem, an NVM subsystem, the current discovery subsystem. */
    public static final int SUBTYPE_DISCOVERY_REFERRAL = 1;
    public static final int SUBTYPE_NVM = 2;
    public static final int SUBTYPE_CURRENT_DISCOVERY = 3;
    /** TREQ: secure channel not specified (bits 1:0 = 0) and SQ flow control may be disabled (bit 2). */
    public static final int TREQ_SQ_FLOW_CONTROL_DISABLE_SUPPORTED = 1 << 2;
    /** EFLAGS for the current discovery subsystem entry: duplicate returned information (bit 0). */
    public static final int EFLAGS_DUPLICATE_RETURNED_INFO = 1;

    /** One record, as the target fills it. */
    public record Entry(int subtype, int portId, int adrfam, String traddr, String trsvcid, String subsystemNqn,
                        int adminQueueEntries, int eflags) {}

    public static void writeHeader(MemorySegment out, long generation, long records) {
        out.asSlice(0, HEADER_BYTES).fill((byte) 0);
        Sqe.putU64(out, GENCTR_OFFSET, generation);
        Sqe.putU64(out, NUMREC_OFFSET, records);
        Sqe.putU16(out, RECFMT_OFFSET, 0);
    }

    public static void writeEntry(MemorySegment out, Entry e) {
        out.asSlice(0, ENTRY_BYTES).fill((byte) 0);
        Sqe.putU8(out, TRTYPE_OFFSET, TRTYPE_TCP);
        Sqe.putU8(out, ADRFAM_OFFSET, e.adrfam());
        Sqe.putU8(out, SUBTYPE_OFFSET, e.subtype());
        Sqe.putU8(out, TREQ_OFFSET, TREQ_SQ_FLOW_CONTROL_DISABLE_SUPPORTED);
        Sqe.putU16(out, PORTID_OFFSET, e.portId());
        Sqe.putU16(out, CNTLID_OFFSET, Fabrics.CNTLID_DYNAMIC);
        Sqe.putU16(out, ASQSZ_OFFSET, e.adminQueueEntries());
        Sqe.putU16(out, EFLAGS_OFFSET, e.eflags());
        IdentifyController.putPadded(out, TRSVCID_OFFSET, TRSVCID_BYTES, e.trsvcid(), (byte) 0); // NUL padded, as nvmet fills them
        IdentifyController.putPadded(out, SUBNQN_OFFSET, Fabrics.NQN_FIELD_BYTES, e.subsystemNqn(), (byte) 0);
        IdentifyController.putPadded(out, TRADDR_OFFSET, TRADDR_BYTES, e.traddr(), (byte) 0);
        // TSAS for TCP: sectype 0 (no security), the rest reserved.
    }
}
