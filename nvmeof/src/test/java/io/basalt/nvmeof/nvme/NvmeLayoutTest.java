package io.basalt.nvmeof.nvme;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Offsets and sizes of the NVMe structures against include/linux/nvme.h. This machine has no kernel headers with
 * nvme.h (only the uapi nvme_ioctl.h), and the header needs kernel types, so unlike raid's MdLayoutTest this is a
 * table: each expected number was read from the kernel's struct definition (offsetof worked out field by field)
 * and is written here independently of the Java constants, so a wrong constant fails.
 */
class NvmeLayoutTest {
    private record Row(String field, long expected, long actual) {}

    private static void check(Row... rows) {
        assertAll(java.util.Arrays.stream(rows).map(r -> () -> assertEquals(r.expected(), r.actual(), r.field())));
    }

    @Test
    void commandAndCompletion() {
        check(new Row("sizeof(struct nvme_command)", 64, Sqe.SIZE),
                new Row("nvme_common_command.command_id", 2, Sqe.COMMAND_ID_OFFSET),
                new Row("nvme_common_command.nsid", 4, Sqe.NSID_OFFSET),
                new Row("nvme_common_command.dptr", 24, Sqe.DPTR_OFFSET),
                new Row("nvme_common_command.cdw10", 40, Sqe.CDW10_OFFSET),
                new Row("nvme_common_command.cdw15", 60, Sqe.CDW15_OFFSET),
                new Row("sizeof(struct nvme_completion)", 16, Cqe.SIZE),
                new Row("nvme_completion.sq_head", 8, Cqe.SQ_HEAD_OFFSET),
                new Row("nvme_completion.sq_id", 10, Cqe.SQ_ID_OFFSET),
                new Row("nvme_completion.command_id", 12, Cqe.COMMAND_ID_OFFSET),
                new Row("nvme_completion.status", 14, Cqe.STATUS_OFFSET),
                new Row("NVME_SC_CONNECT_INVALID_HOST", 0x184, NvmeStatus.CONNECT_INVALID_HOST),
                new Row("NVME_SC_CONNECT_INVALID_PARAM", 0x182, NvmeStatus.CONNECT_INVALID_PARAM),
                new Row("NVME_SC_LBA_RANGE", 0x80, NvmeStatus.LBA_RANGE),
                new Row("NVME_SC_READ_ERROR", 0x281, NvmeStatus.UNRECOVERED_READ_ERROR),
                new Row("NVME_SC_WRITE_FAULT", 0x280, NvmeStatus.WRITE_FAULT),
                new Row("NVME_STATUS_DNR", 0x4000, NvmeStatus.DNR));
    }

    @Test
    void fabricsCommands() {
        check(new Row("nvmf_connect_command.fctype", 4, Fabrics.FCTYPE_OFFSET),
                new Row("nvmf_connect_command.recfmt", 40, Fabrics.CONNECT_RECFMT_OFFSET),
                new Row("nvmf_connect_command.qid", 42, Fabrics.CONNECT_QID_OFFSET),
                new Row("nvmf_connect_command.sqsize", 44, Fabrics.CONNECT_SQSIZE_OFFSET),
                new Row("nvmf_connect_command.cattr", 46, Fabrics.CONNECT_CATTR_OFFSET),
                new Row("nvmf_connect_command.kato", 48, Fabrics.CONNECT_KATO_OFFSET),
                new Row("NVME_CONNECT_DISABLE_SQFLOW", 1 << 2, Fabrics.CATTR_DISABLE_SQ_FLOW_CONTROL),
                new Row("sizeof(struct nvmf_connect_data)", 1024, Fabrics.CONNECT_DATA_BYTES),
                new Row("nvmf_connect_data.cntlid", 16, Fabrics.DATA_CNTLID_OFFSET),
                new Row("nvmf_connect_data.subsysnqn", 256, Fabrics.DATA_SUBNQN_OFFSET),
                new Row("nvmf_connect_data.hostnqn", 512, Fabrics.DATA_HOSTNQN_OFFSET),
                new Row("nvmf_property_get_command.attrib", 40, Fabrics.PROPERTY_ATTRIB_OFFSET),
                new Row("nvmf_property_get_command.offset", 44, Fabrics.PROPERTY_OFFSET_OFFSET),
                new Row("nvmf_property_set_command.value", 48, Fabrics.PROPERTY_VALUE_OFFSET),
                new Row("NVME_REG_CC", 0x14, Registers.CC),
                new Row("NVME_REG_CSTS", 0x1c, Registers.CSTS),
                new Row("NVME_REG_VS", 0x08, Registers.VS));
    }

    @Test
    void identifyController() {
        check(new Row("sizeof(struct nvme_id_ctrl)", 4096, IdentifyController.SIZE),
                new Row("sn", 4, IdentifyController.SN_OFFSET), new Row("mn", 24, IdentifyController.MN_OFFSET),
                new Row("fr", 64, IdentifyController.FR_OFFSET), new Row("cmic", 76, IdentifyController.CMIC_OFFSET),
                new Row("mdts", 77, IdentifyController.MDTS_OFFSET), new Row("cntlid", 78, IdentifyController.CNTLID_OFFSET),
                new Row("ver", 80, IdentifyController.VER_OFFSET), new Row("oaes", 92, IdentifyController.OAES_OFFSET),
                new Row("ctratt", 96, IdentifyController.CTRATT_OFFSET),
                new Row("cntrltype", 111, IdentifyController.CNTRLTYPE_OFFSET),
                new Row("oacs", 256, IdentifyController.OACS_OFFSET), new Row("acl", 258, IdentifyController.ACL_OFFSET),
                new Row("aerl", 259, IdentifyController.AERL_OFFSET), new Row("lpa", 261, IdentifyController.LPA_OFFSET),
                new Row("elpe", 262, IdentifyController.ELPE_OFFSET), new Row("kas", 320, IdentifyController.KAS_OFFSET),
                new Row("sqes", 512, IdentifyController.SQES_OFFSET), new Row("maxcmd", 514, IdentifyController.MAXCMD_OFFSET),
                new Row("nn", 516, IdentifyController.NN_OFFSET), new Row("oncs", 520, IdentifyController.ONCS_OFFSET),
                new Row("vwc", 525, IdentifyController.VWC_OFFSET), new Row("sgls", 536, IdentifyController.SGLS_OFFSET),
                new Row("subnqn", 768, IdentifyController.SUBNQN_OFFSET),
                new Row("ioccsz", 1792, IdentifyController.IOCCSZ_OFFSET),
                new Row("iorcsz", 1796, IdentifyController.IORCSZ_OFFSET),
                new Row("icdoff", 1800, IdentifyController.ICDOFF_OFFSET),
                new Row("fcatt", 1802, IdentifyController.FCATT_OFFSET),
                new Row("msdbd", 1803, IdentifyController.MSDBD_OFFSET),
                new Row("NVME_CTRL_ONCS_DSM", 1 << 2, IdentifyController.ONCS_DSM),
                new Row("NVME_CTRL_ONCS_WRITE_ZEROES", 1 << 3, IdentifyController.ONCS_WRITE_ZEROES));
    }

    @Test
    void identifyNamespaceAndDescriptors() {
        check(new Row("sizeof(struct nvme_id_ns)", 4096, IdentifyNamespace.SIZE),
                new Row("nsze", 0, IdentifyNamespace.NSZE_OFFSET), new Row("ncap", 8, IdentifyNamespace.NCAP_OFFSET),
                new Row("nuse", 16, IdentifyNamespace.NUSE_OFFSET), new Row("nsfeat", 24, IdentifyNamespace.NSFEAT_OFFSET),
                new Row("nlbaf", 25, IdentifyNamespace.NLBAF_OFFSET), new Row("flbas", 26, IdentifyNamespace.FLBAS_OFFSET),
                new Row("nmic", 30, IdentifyNamespace.NMIC_OFFSET), new Row("dlfeat", 33, IdentifyNamespace.DLFEAT_OFFSET),
                new Row("npwg", 64, IdentifyNamespace.NPWG_OFFSET), new Row("nows", 72, IdentifyNamespace.NOWS_OFFSET),
                new Row("nguid", 104, IdentifyNamespace.NGUID_OFFSET), new Row("eui64", 120, IdentifyNamespace.EUI64_OFFSET),
                new Row("lbaf", 128, IdentifyNamespace.LBAF_OFFSET), new Row("nvme_lbaf.ds", 2, IdentifyNamespace.LBAF_LBADS_OFFSET),
                new Row("sizeof(struct nvme_ns_id_desc)", 4, NamespaceDescriptors.HEADER_BYTES),
                new Row("NVME_NIDT_EUI64", 1, NamespaceDescriptors.NIDT_EUI64),
                new Row("NVME_NIDT_NGUID", 2, NamespaceDescriptors.NIDT_NGUID),
                new Row("NVME_NIDT_UUID", 3, NamespaceDescriptors.NIDT_UUID),
                new Row("NVME_NIDT_CSI", 4, NamespaceDescriptors.NIDT_CSI));
    }

    @Test
    void logPages() {
        check(new Row("sizeof(struct nvme_error_slot)", 64, LogPages.ERROR_ENTRY_BYTES),
                new Row("nvme_error_slot.sqid", 8, LogPages.ERROR_SQID_OFFSET),
                new Row("nvme_error_slot.cmdid", 10, LogPages.ERROR_CID_OFFSET),
                new Row("nvme_error_slot.status_field", 12, LogPages.ERROR_STATUS_OFFSET),
                new Row("nvme_error_slot.param_error_location", 14, LogPages.ERROR_PARAM_LOCATION_OFFSET),
                new Row("nvme_error_slot.lba", 16, LogPages.ERROR_LBA_OFFSET),
                new Row("nvme_error_slot.nsid", 24, LogPages.ERROR_NSID_OFFSET),
                new Row("sizeof(struct nvme_smart_log)", 512, LogPages.SMART_BYTES),
                new Row("nvme_smart_log.temperature", 1, LogPages.SMART_TEMPERATURE_OFFSET),
                new Row("nvme_smart_log.avail_spare", 3, LogPages.SMART_AVAILABLE_SPARE_OFFSET),
                new Row("nvme_smart_log.data_units_read", 32, LogPages.SMART_DATA_UNITS_READ_OFFSET),
                new Row("nvme_smart_log.data_units_written", 48, LogPages.SMART_DATA_UNITS_WRITTEN_OFFSET),
                new Row("nvme_smart_log.host_reads", 64, LogPages.SMART_HOST_READS_OFFSET),
                new Row("nvme_smart_log.host_writes", 80, LogPages.SMART_HOST_WRITES_OFFSET),
                new Row("nvme_smart_log.power_cycles", 112, LogPages.SMART_POWER_CYCLES_OFFSET),
                new Row("nvme_smart_log.num_err_log_entries", 176, LogPages.SMART_ERROR_ENTRIES_OFFSET),
                new Row("NVME_LOG_CHANGED_NS", 0x04, Opcodes.LOG_CHANGED_NAMESPACES),
                new Row("NVME_LOG_DISC", 0x70, Opcodes.LOG_DISCOVERY),
                new Row("sizeof(struct nvmf_disc_rsp_page_hdr)", 1024, DiscoveryLog.HEADER_BYTES),
                new Row("nvmf_disc_rsp_page_hdr.numrec", 8, DiscoveryLog.NUMREC_OFFSET),
                new Row("nvmf_disc_rsp_page_hdr.recfmt", 16, DiscoveryLog.RECFMT_OFFSET),
                new Row("sizeof(struct nvmf_disc_rsp_page_entry)", 1024, DiscoveryLog.ENTRY_BYTES),
                new Row("entry.portid", 4, DiscoveryLog.PORTID_OFFSET), new Row("entry.cntlid", 6, DiscoveryLog.CNTLID_OFFSET),
                new Row("entry.asqsz", 8, DiscoveryLog.ASQSZ_OFFSET), new Row("entry.eflags", 10, DiscoveryLog.EFLAGS_OFFSET),
                new Row("entry.trsvcid", 32, DiscoveryLog.TRSVCID_OFFSET), new Row("entry.subnqn", 256, DiscoveryLog.SUBNQN_OFFSET),
                new Row("entry.traddr", 512, DiscoveryLog.TRADDR_OFFSET), new Row("entry.tsas", 768, DiscoveryLog.TSAS_OFFSET),
                new Row("NVMF_TRTYPE_TCP", 3, DiscoveryLog.TRTYPE_TCP),
                new Row("NVME_NQN_CURR", 3, DiscoveryLog.SUBTYPE_CURRENT_DISCOVERY),
                new Row("NVMF_TREQ_DISABLE_SQFLOW", 1 << 2, DiscoveryLog.TREQ_SQ_FLOW_CONTROL_DISABLE_SUPPORTED));
    }

    @Test
    void cqeRoundTripAndLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cqe = arena.allocate(Cqe.SIZE);
            Cqe.write(cqe, 0x11223344, 7, 0xFFFF, 3, 0xBEEF, NvmeStatus.CONNECT_INVALID_HOST | NvmeStatus.DNR, true);
            assertEquals(0x44, Byte.toUnsignedInt(cqe.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0)), "little endian");
            assertEquals(0x11223344, Cqe.dw0(cqe));
            assertEquals(0xBEEF, Cqe.commandId(cqe));
            assertEquals(0x4184, Cqe.status(cqe));
            assertEquals((0x4184 << 1) | 1, Sqe.u16(cqe, Cqe.STATUS_OFFSET), "phase in bit 0");
            assertEquals(LogPages.lengthBytes(0x00FF_0070, 0), 256L * 4, "NUMDL 255 means 256 dwords");
        }
    }
}
