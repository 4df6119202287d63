package io.basalt.nvmeof.nvme;

/**
 * Command opcodes and the numbers they carry (NVMe base 2.0 figure 141 admin opcodes, NVM command set 1.0
 * figure 18 I/O opcodes, NVMe over Fabrics 1.1 figure 13 fabrics command types; Linux {@code enum nvme_opcode},
 * {@code nvme_admin_opcode}, {@code nvmf_fabrics_opcode}). An opcode's bits 1:0 give its data direction:
 * 01 host to controller, 10 controller to host.
 */
public final class Opcodes {
    private Opcodes() {}

    // Admin.
    public static final int ADMIN_GET_LOG_PAGE = 0x02;
    public static final int ADMIN_IDENTIFY = 0x06;
    public static final int ADMIN_ABORT = 0x08;
    public static final int ADMIN_SET_FEATURES = 0x09;
    public static final int ADMIN_GET_FEATURES = 0x0A;
    public static final int ADMIN_ASYNC_EVENT_REQUEST = 0x0C;
    public static final int ADMIN_KEEP_ALIVE = 0x18;

    /** The fabrics command opcode, on any queue; its type is in byte 4. */
    public static final int FABRICS = 0x7F;

    // NVM I/O.
    public static final int IO_FLUSH = 0x00;
    public static final int IO_WRITE = 0x01;
    public static final int IO_READ = 0x02;
    public static final int IO_WRITE_ZEROES = 0x08;
    public static final int IO_DATASET_MANAGEMENT = 0x09;

    // Fabrics command types (fctype).
    public static final int FCTYPE_PROPERTY_SET = 0x00;
    public static final int FCTYPE_CONNECT = 0x01;
    public static final int FCTYPE_PROPERTY_GET = 0x04;
    public static final int FCTYPE_DISCONNECT = 0x08;

    // Identify CNS values (NVMe base 2.0 figure 273).
    public static final int CNS_NAMESPACE = 0x00;
    public static final int CNS_CONTROLLER = 0x01;
    public static final int CNS_ACTIVE_NAMESPACES = 0x02;
    public static final int CNS_NAMESPACE_DESCRIPTORS = 0x03;
    public static final int CNS_CS_CONTROLLER = 0x06;
    /** The NVM command set identifier (CSI), cdw11 bits 31:24 of Identify. */
    public static final int CSI_NVM = 0x00;

    // Log page identifiers (figure 202; discovery: NVMe over Fabrics 1.1 section 5.3).
    public static final int LOG_ERROR = 0x01;
    public static final int LOG_SMART = 0x02;
    public static final int LOG_FIRMWARE_SLOT = 0x03;
    public static final int LOG_CHANGED_NAMESPACES = 0x04;
    public static final int LOG_DISCOVERY = 0x70;

    // Feature identifiers (figure 316).
    public static final int FEATURE_VOLATILE_WRITE_CACHE = 0x06;
    public static final int FEATURE_NUMBER_OF_QUEUES = 0x07;
    public static final int FEATURE_ASYNC_EVENT_CONFIG = 0x0B;
    public static final int FEATURE_KEEP_ALIVE_TIMER = 0x0F;

    /** Data moves from host to controller (opcode bits 1:0 = 01). */
    public static boolean hostToController(int opcode) {
        return (opcode & 0x3) == 0x1;
    }

    /** Data moves from controller to host (opcode bits 1:0 = 10). */
    public static boolean controllerToHost(int opcode) {
        return (opcode & 0x3) == 0x2;
    }
}
