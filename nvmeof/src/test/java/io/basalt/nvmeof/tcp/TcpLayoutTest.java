package io.basalt.nvmeof.tcp;

import io.basalt.engine.fixtures.GccLayout;
import io.basalt.engine.fixtures.GccLayout.Row;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every offset, size and constant of the PDU flyweights and {@link Sqe} against the C structures as gcc lays
 * them out. include/linux/nvme-tcp.h is a kernel-internal header (not in linux-libc-dev), so the test declares
 * its structures here field for field as Linux does (with the parts of struct nvme_command and struct
 * nvme_completion from include/linux/nvme.h that the transport reads). The same pattern as MdLayoutTest: a C
 * program prints "name value" lines, compared with the Java values. gcc is required; a missing compiler fails.
 */
class TcpLayoutTest {
    private static final List<Row> ROWS = new ArrayList<>();

    private static void size(String struct, long javaValue) {
        ROWS.add(new Row("sizeof(" + struct + ")", javaValue, "sizeof(struct " + struct + ")"));
    }

    private static void field(String struct, String field, long javaValue) {
        ROWS.add(new Row(struct + "." + field, javaValue, "offsetof(struct " + struct + ", " + field + ")"));
    }

    private static void constant(String name, long javaValue) {
        ROWS.add(new Row(name, javaValue, name));
    }

    static {
        size("nvme_tcp_hdr", PduFlyweight.COMMON_HEADER_BYTES);
        field("nvme_tcp_hdr", "type", PduFlyweight.TYPE_OFFSET);
        field("nvme_tcp_hdr", "flags", PduFlyweight.FLAGS_OFFSET);
        field("nvme_tcp_hdr", "hlen", PduFlyweight.HLEN_OFFSET);
        field("nvme_tcp_hdr", "pdo", PduFlyweight.PDO_OFFSET);
        field("nvme_tcp_hdr", "plen", PduFlyweight.PLEN_OFFSET);

        size("nvme_tcp_icreq_pdu", IcReqPdu.BYTES);
        field("nvme_tcp_icreq_pdu", "pfv", IcReqPdu.PFV_OFFSET);
        field("nvme_tcp_icreq_pdu", "hpda", IcReqPdu.HPDA_OFFSET);
        field("nvme_tcp_icreq_pdu", "digest", IcReqPdu.DIGEST_OFFSET);
        field("nvme_tcp_icreq_pdu", "maxr2t", IcReqPdu.MAXR2T_OFFSET);
        field("nvme_tcp_icreq_pdu", "rsvd2", IcReqPdu.RESERVED_OFFSET);

        size("nvme_tcp_icresp_pdu", IcRespPdu.BYTES);
        field("nvme_tcp_icresp_pdu", "pfv", IcRespPdu.PFV_OFFSET);
        field("nvme_tcp_icresp_pdu", "cpda", IcRespPdu.CPDA_OFFSET);
        field("nvme_tcp_icresp_pdu", "digest", IcRespPdu.DIGEST_OFFSET);
        field("nvme_tcp_icresp_pdu", "maxdata", IcRespPdu.MAXH2CDATA_OFFSET);
        field("nvme_tcp_icresp_pdu", "rsvd", IcRespPdu.RESERVED_OFFSET);

        // Termination PDUs as the specification lays them out (SPDK's spdk_nvme_tcp_term_req_hdr)...
        size("term_pdu_spec", TermReqPdu.BYTES);
        field("term_pdu_spec", "fes", TermReqPdu.FES_OFFSET);
        field("term_pdu_spec", "fei", TermReqPdu.FEI_OFFSET);
        field("term_pdu_spec", "rsvd", TermReqPdu.RESERVED_OFFSET);
        // ...and as Linux declares them: same size and FES; its __le32 fei lands at 12 (see TermReqPdu).
        size("nvme_tcp_term_pdu", TermReqPdu.BYTES);
        field("nvme_tcp_term_pdu", "fes", TermReqPdu.FES_OFFSET);
        field("nvme_tcp_term_pdu", "fei", TermReqPdu.FEI_OFFSET + 2);

        size("nvme_tcp_cmd_pdu", CapsuleCmdPdu.BYTES);
        field("nvme_tcp_cmd_pdu", "cmd", CapsuleCmdPdu.SQE_OFFSET);
        size("nvme_command", Sqe.BYTES);
        field("nvme_common_command", "opcode", Sqe.OPCODE_OFFSET);
        field("nvme_common_command", "flags", Sqe.FLAGS_OFFSET);
        field("nvme_common_command", "command_id", Sqe.CID_OFFSET);
        field("nvme_common_command", "dptr.sgl.addr", Sqe.SGL_ADDRESS_OFFSET);
        field("nvme_common_command", "dptr.sgl.length", Sqe.SGL_LENGTH_OFFSET);
        field("nvme_common_command", "dptr.sgl.type", Sqe.SGL_TYPE_OFFSET);
        field("nvmf_connect_command", "fctype", Sqe.FCTYPE_OFFSET);
        field("nvmf_connect_command", "qid", Sqe.CONNECT_QID_OFFSET);
        field("nvmf_connect_command", "sqsize", Sqe.CONNECT_SQSIZE_OFFSET);
        field("nvmf_connect_command", "cattr", Sqe.CONNECT_CATTR_OFFSET);

        size("nvme_tcp_rsp_pdu", CapsuleRespPdu.BYTES);
        field("nvme_tcp_rsp_pdu", "cqe", CapsuleRespPdu.CQE_OFFSET);
        field("nvme_tcp_rsp_pdu", "cqe.result", CapsuleRespPdu.DW0_OFFSET);
        field("nvme_tcp_rsp_pdu", "cqe.sq_head", CapsuleRespPdu.SQHD_OFFSET);
        field("nvme_tcp_rsp_pdu", "cqe.sq_id", CapsuleRespPdu.SQID_OFFSET);
        field("nvme_tcp_rsp_pdu", "cqe.command_id", CapsuleRespPdu.CID_OFFSET);
        field("nvme_tcp_rsp_pdu", "cqe.status", CapsuleRespPdu.STATUS_OFFSET);
        size("nvme_completion", CapsuleRespPdu.CQE_BYTES);

        size("nvme_tcp_r2t_pdu", R2tPdu.BYTES);
        field("nvme_tcp_r2t_pdu", "command_id", R2tPdu.CCCID_OFFSET);
        field("nvme_tcp_r2t_pdu", "ttag", R2tPdu.TTAG_OFFSET);
        field("nvme_tcp_r2t_pdu", "r2t_offset", R2tPdu.R2TO_OFFSET);
        field("nvme_tcp_r2t_pdu", "r2t_length", R2tPdu.R2TL_OFFSET);
        field("nvme_tcp_r2t_pdu", "rsvd", R2tPdu.RESERVED_OFFSET);

        size("nvme_tcp_data_pdu", DataPdu.BYTES);
        field("nvme_tcp_data_pdu", "command_id", DataPdu.CCCID_OFFSET);
        field("nvme_tcp_data_pdu", "ttag", DataPdu.TTAG_OFFSET);
        field("nvme_tcp_data_pdu", "data_offset", DataPdu.DATAO_OFFSET);
        field("nvme_tcp_data_pdu", "data_length", DataPdu.DATAL_OFFSET);
        field("nvme_tcp_data_pdu", "rsvd", DataPdu.RESERVED_OFFSET);

        constant("nvme_tcp_icreq", PduFlyweight.TYPE_IC_REQ);
        constant("nvme_tcp_icresp", PduFlyweight.TYPE_IC_RESP);
        constant("nvme_tcp_h2c_term", PduFlyweight.TYPE_H2C_TERM_REQ);
        constant("nvme_tcp_c2h_term", PduFlyweight.TYPE_C2H_TERM_REQ);
        constant("nvme_tcp_cmd", PduFlyweight.TYPE_CAPSULE_CMD);
        constant("nvme_tcp_rsp", PduFlyweight.TYPE_CAPSULE_RESP);
        constant("nvme_tcp_h2c_data", PduFlyweight.TYPE_H2C_DATA);
        constant("nvme_tcp_c2h_data", PduFlyweight.TYPE_C2H_DATA);
        constant("nvme_tcp_r2t", PduFlyweight.TYPE_R2T);
        constant("NVME_TCP_F_HDGST", PduFlyweight.FLAG_HDGST);
        constant("NVME_TCP_F_DDGST", PduFlyweight.FLAG_DDGST);
        constant("NVME_TCP_F_DATA_LAST", PduFlyweight.FLAG_DATA_LAST);
        constant("NVME_TCP_F_DATA_SUCCESS", PduFlyweight.FLAG_DATA_SUCCESS);
        constant("NVME_TCP_HDR_DIGEST_ENABLE", IcReqPdu.DIGEST_HEADER);
        constant("NVME_TCP_DATA_DIGEST_ENABLE", IcReqPdu.DIGEST_DATA);
        constant("NVME_TCP_PFV_1_0", IcReqPdu.PFV_1_0);
        constant("NVME_TCP_DIGEST_LENGTH", PduFlyweight.DIGEST_BYTES);
        constant("NVME_TCP_ADMIN_CCSZ", TcpConfig.ADMIN_IN_CAPSULE_BYTES);
        constant("NVME_TCP_FES_INVALID_PDU_HDR", TermReqPdu.FES_INVALID_PDU_HEADER_FIELD);
        constant("NVME_TCP_FES_PDU_SEQ_ERR", TermReqPdu.FES_PDU_SEQUENCE_ERROR);
        constant("NVME_TCP_FES_HDR_DIGEST_ERR", TermReqPdu.FES_HEADER_DIGEST_ERROR);
        constant("NVME_TCP_FES_DATA_OUT_OF_RANGE", TermReqPdu.FES_DATA_TRANSFER_OUT_OF_RANGE);
        constant("NVME_TCP_FES_DATA_LIMIT_EXCEEDED", TermReqPdu.FES_DATA_TRANSFER_LIMIT_EXCEEDED);
        constant("NVME_TCP_FES_UNSUPPORTED_PARAM", TermReqPdu.FES_UNSUPPORTED_PARAMETER);
        constant("(NVME_SGL_FMT_DATA_DESC << 4 | NVME_SGL_FMT_OFFSET)", Sqe.SGL_IN_CAPSULE);
        constant("(NVME_TRANSPORT_SGL_DATA_DESC << 4 | NVME_SGL_FMT_TRANSPORT_A)", Sqe.SGL_TRANSPORT_DATA_BLOCK);
        constant("nvme_fabrics_command", Sqe.OPCODE_FABRICS);
        constant("nvme_fabrics_type_connect", Sqe.FCTYPE_CONNECT);
    }

    /** include/linux/nvme-tcp.h and the parts of include/linux/nvme.h it uses, as Linux 6.x declares them. */
    private static final String SOURCE = """
            #include <stddef.h>
            #include <stdio.h>
            #include <linux/types.h>

            #define SZ_8K 0x2000
            enum { nvme_fabrics_command = 0x7f };
            enum { nvme_fabrics_type_connect = 0x01 };
            enum { NVME_SGL_FMT_OFFSET = 0x01, NVME_SGL_FMT_TRANSPORT_A = 0x0A };
            enum { NVME_SGL_FMT_DATA_DESC = 0x00, NVME_TRANSPORT_SGL_DATA_DESC = 0x05 };

            struct nvme_sgl_desc { __le64 addr; __le32 length; __u8 rsvd[3]; __u8 type; };
            struct nvme_keyed_sgl_desc { __le64 addr; __u8 length[3]; __u8 key[4]; __u8 type; };
            union nvme_data_ptr {
                struct { __le64 prp1; __le64 prp2; };
                struct nvme_sgl_desc sgl;
                struct nvme_keyed_sgl_desc ksgl;
            };
            struct nvme_common_command {
                __u8 opcode; __u8 flags; __u16 command_id; __le32 nsid; __le32 cdw2[2]; __le64 metadata;
                union nvme_data_ptr dptr;
                __le32 cdw10; __le32 cdw11; __le32 cdw12; __le32 cdw13; __le32 cdw14; __le32 cdw15;
            };
            struct nvmf_connect_command {
                __u8 opcode; __u8 resv1; __u16 command_id; __u8 fctype; __u8 resv2[19];
                union nvme_data_ptr dptr;
                __le16 recfmt; __le16 qid; __le16 sqsize; __u8 cattr; __u8 resv3; __le32 kato; __u8 resv4[12];
            };
            struct nvme_command {
                union { struct nvme_common_command common; struct nvmf_connect_command connect; };
            };
            struct nvme_completion {
                union nvme_result { __le16 u16; __le32 u32; __le64 u64; } result;
                __le16 sq_head; __le16 sq_id; __u16 command_id; __le16 status;
            };

            #define NVME_TCP_ADMIN_CCSZ SZ_8K
            #define NVME_TCP_DIGEST_LENGTH 4
            enum nvme_tcp_pfv { NVME_TCP_PFV_1_0 = 0x0 };
            enum nvme_tcp_fatal_error_status {
                NVME_TCP_FES_INVALID_PDU_HDR = 0x01, NVME_TCP_FES_PDU_SEQ_ERR = 0x02,
                NVME_TCP_FES_HDR_DIGEST_ERR = 0x03, NVME_TCP_FES_DATA_OUT_OF_RANGE = 0x04,
                NVME_TCP_FES_R2T_LIMIT_EXCEEDED = 0x05, NVME_TCP_FES_DATA_LIMIT_EXCEEDED = 0x05,
                NVME_TCP_FES_UNSUPPORTED_PARAM = 0x06,
            };
            enum nvme_tcp_digest_option { NVME_TCP_HDR_DIGEST_ENABLE = (1 << 0), NVME_TCP_DATA_DIGEST_ENABLE = (1 << 1) };
            enum nvme_tcp_pdu_type {
                nvme_tcp_icreq = 0x0, nvme_tcp_icresp = 0x1, nvme_tcp_h2c_term = 0x2, nvme_tcp_c2h_term = 0x3,
                nvme_tcp_cmd = 0x4, nvme_tcp_rsp = 0x5, nvme_tcp_h2c_data = 0x6, nvme_tcp_c2h_data = 0x7,
                nvme_tcp_r2t = 0x9,
            };
            enum nvme_tcp_pdu_flags {
                NVME_TCP_F_HDGST = (1 << 0), NVME_TCP_F_DDGST = (1 << 1),
                NVME_TCP_F_DATA_LAST = (1 << 2), NVME_TCP_F_DATA_SUCCESS = (1 << 3),
            };
            struct nvme_tcp_hdr { __u8 type; __u8 flags; __u8 hlen; __u8 pdo; __le32 plen; };
            struct nvme_tcp_icreq_pdu {
                struct nvme_tcp_hdr hdr; __le16 pfv; __u8 hpda; __u8 digest; __le32 maxr2t; __u8 rsvd2[112];
            };
            struct nvme_tcp_icresp_pdu {
                struct nvme_tcp_hdr hdr; __le16 pfv; __u8 cpda; __u8 digest; __le32 maxdata; __u8 rsvd[112];
            };
            struct nvme_tcp_term_pdu { struct nvme_tcp_hdr hdr; __le16 fes; __le32 fei; __u8 rsvd[8]; };
            struct term_pdu_spec { struct nvme_tcp_hdr hdr; __le16 fes; __u8 fei[4]; __u8 rsvd[10]; };
            struct nvme_tcp_cmd_pdu { struct nvme_tcp_hdr hdr; struct nvme_command cmd; };
            struct nvme_tcp_rsp_pdu { struct nvme_tcp_hdr hdr; struct nvme_completion cqe; };
            struct nvme_tcp_r2t_pdu {
                struct nvme_tcp_hdr hdr; __u16 command_id; __u16 ttag; __le32 r2t_offset; __le32 r2t_length; __u8 rsvd[4];
            };
            struct nvme_tcp_data_pdu {
                struct nvme_tcp_hdr hdr; __u16 command_id; __u16 ttag; __le32 data_offset; __le32 data_length; __u8 rsvd[4];
            };

            #define P(name, expr) printf("%s %lld\\n", name, (long long) (expr))

            int main(void) {
            """;

    @Test
    void everyRowMatchesGcc() throws Exception {
        GccLayout.assertMatches(TcpLayoutTest.class, "NVMe/TCP", SOURCE, ROWS);
    }

    @Test
    void derivedSizes() {
        assertEquals(PduFlyweight.COMMON_HEADER_BYTES + Sqe.BYTES, CapsuleCmdPdu.BYTES);
        assertEquals(CapsuleRespPdu.CQE_OFFSET + CapsuleRespPdu.CQE_BYTES, CapsuleRespPdu.BYTES);
        assertEquals((64 + 8192) / 16, TcpConfig.DEFAULT.ioccsz(), "IOCCSZ in 16-byte units");
    }
}
