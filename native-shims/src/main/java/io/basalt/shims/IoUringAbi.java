package io.basalt.shims;

/**
 * io_uring ABI: structure offsets and constants from include/uapi/linux/io_uring.h (Linux 6.x), little-endian
 * x86_64. {@code IoUringLayoutTest} compiles a C program against the installed kernel headers and checks
 * every offset and size here.
 *
 * <pre>
 * struct io_uring_sqe (64 bytes)                      struct io_uring_cqe (16 bytes)
 *  0 opcode u8 | 1 flags u8 | 2 ioprio u16             0 user_data u64
 *  4 fd s32                                            8 res s32
 *  8 off u64                                          12 flags u32
 * 16 addr u64
 * 24 len u32 | 28 rw_flags/fsync_flags/... u32
 * 32 user_data u64
 * 40 buf_index u16 | 42 personality u16 | 44 file_index/splice_fd_in s32
 * 48 addr3 u64 | 56 __pad2 u64
 *
 * struct io_uring_buf (16 bytes)          struct io_uring_buf_ring: io_uring_buf bufs[entries], page aligned;
 *  0 addr u64                              the u16 tail overlays bufs[0].resv at offset 14 (the kernel reads
 *  8 len u32 | 12 bid u16 | 14 resv u16    it with a load-acquire; we publish it with a store-release)
 *
 * struct io_uring_buf_reg (40 bytes), argument of IORING_(UN)REGISTER_PBUF_RING
 *  0 ring_addr u64 | 8 ring_entries u32 | 12 bgid u16 | 14 flags/pad u16 | 16 resv u64[3]
 * </pre>
 */
public final class IoUringAbi {
    private IoUringAbi() {}

    // struct io_uring_sqe
    public static final int SQE_SIZE = 64;
    public static final int SQE_OPCODE_OFFSET = 0;
    public static final int SQE_FLAGS_OFFSET = 1;
    public static final int SQE_IOPRIO_OFFSET = 2;
    public static final int SQE_FD_OFFSET = 4;
    public static final int SQE_OFF_OFFSET = 8;
    public static final int SQE_ADDR_OFFSET = 16;
    public static final int SQE_LEN_OFFSET = 24;
    public static final int SQE_OP_FLAGS_OFFSET = 28;
    public static final int SQE_USER_DATA_OFFSET = 32;
    public static final int SQE_BUF_INDEX_OFFSET = 40;
    public static final int SQE_PERSONALITY_OFFSET = 42;
    public static final int SQE_FILE_INDEX_OFFSET = 44;
    public static final int SQE_ADDR3_OFFSET = 48;

    // struct io_uring_cqe
    public static final int CQE_SIZE = 16;
    public static final int CQE_USER_DATA_OFFSET = 0;
    public static final int CQE_RES_OFFSET = 8;
    public static final int CQE_FLAGS_OFFSET = 12;

    // struct io_uring_buf, io_uring_buf_ring, io_uring_buf_reg (provided buffer rings, Linux 5.19)
    public static final int BUF_SIZE = 16;
    public static final int BUF_ADDR_OFFSET = 0;
    public static final int BUF_LEN_OFFSET = 8;
    public static final int BUF_BID_OFFSET = 12;
    public static final int BUF_RING_TAIL_OFFSET = 14;
    public static final int BUF_REG_SIZE = 40;
    public static final int BUF_REG_RING_ADDR_OFFSET = 0;
    public static final int BUF_REG_RING_ENTRIES_OFFSET = 8;
    public static final int BUF_REG_BGID_OFFSET = 12;

    // struct io_uring_params (120 bytes) and its io_sqring_offsets / io_cqring_offsets (40 bytes each)
    public static final int PARAMS_SIZE = 120;
    public static final int PARAMS_SQ_ENTRIES_OFFSET = 0;
    public static final int PARAMS_CQ_ENTRIES_OFFSET = 4;
    public static final int PARAMS_FLAGS_OFFSET = 8;
    public static final int PARAMS_SQ_THREAD_CPU_OFFSET = 12;
    public static final int PARAMS_SQ_THREAD_IDLE_OFFSET = 16;
    public static final int PARAMS_FEATURES_OFFSET = 20;
    public static final int PARAMS_WQ_FD_OFFSET = 24;
    public static final int PARAMS_SQ_OFF_OFFSET = 40;
    public static final int PARAMS_CQ_OFF_OFFSET = 80;

    public static final int SQ_OFF_HEAD = 0;
    public static final int SQ_OFF_TAIL = 4;
    public static final int SQ_OFF_RING_MASK = 8;
    public static final int SQ_OFF_RING_ENTRIES = 12;
    public static final int SQ_OFF_FLAGS = 16;
    public static final int SQ_OFF_DROPPED = 20;
    public static final int SQ_OFF_ARRAY = 24;

    public static final int CQ_OFF_HEAD = 0;
    public static final int CQ_OFF_TAIL = 4;
    public static final int CQ_OFF_RING_MASK = 8;
    public static final int CQ_OFF_RING_ENTRIES = 12;
    public static final int CQ_OFF_OVERFLOW = 16;
    public static final int CQ_OFF_CQES = 20;
    public static final int CQ_OFF_FLAGS = 24;

    // struct io_uring_getevents_arg (24 bytes), for IORING_ENTER_EXT_ARG
    public static final int GETEVENTS_ARG_SIZE = 24;
    public static final int GETEVENTS_ARG_SIGMASK_OFFSET = 0;
    public static final int GETEVENTS_ARG_SIGMASK_SZ_OFFSET = 8;
    public static final int GETEVENTS_ARG_TS_OFFSET = 16;

    // struct __kernel_timespec (16 bytes)
    public static final int TIMESPEC_SIZE = 16;
    public static final int TIMESPEC_SEC_OFFSET = 0;
    public static final int TIMESPEC_NSEC_OFFSET = 8;

    // struct iovec (16 bytes)
    public static final int IOVEC_SIZE = 16;
    public static final int IOVEC_BASE_OFFSET = 0;
    public static final int IOVEC_LEN_OFFSET = 8;

    // io_uring_setup flags
    public static final int IORING_SETUP_IOPOLL = 1;
    public static final int IORING_SETUP_SQPOLL = 1 << 1;
    public static final int IORING_SETUP_CQSIZE = 1 << 3;
    public static final int IORING_SETUP_CLAMP = 1 << 4;
    public static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;
    public static final int IORING_SETUP_COOP_TASKRUN = 1 << 8;
    public static final int IORING_SETUP_TASKRUN_FLAG = 1 << 9;
    public static final int IORING_SETUP_SINGLE_ISSUER = 1 << 12;
    public static final int IORING_SETUP_DEFER_TASKRUN = 1 << 13;

    // features reported by io_uring_setup
    public static final int IORING_FEAT_SINGLE_MMAP = 1;
    public static final int IORING_FEAT_NODROP = 1 << 1;
    public static final int IORING_FEAT_SUBMIT_STABLE = 1 << 2;
    public static final int IORING_FEAT_FAST_POLL = 1 << 5;
    public static final int IORING_FEAT_EXT_ARG = 1 << 8;

    // mmap offsets
    public static final long IORING_OFF_SQ_RING = 0L;
    public static final long IORING_OFF_CQ_RING = 0x8000000L;
    public static final long IORING_OFF_SQES = 0x10000000L;

    // sq ring flags
    public static final int IORING_SQ_NEED_WAKEUP = 1;
    public static final int IORING_SQ_CQ_OVERFLOW = 2;
    public static final int IORING_SQ_TASKRUN = 4;

    // io_uring_enter flags
    public static final int IORING_ENTER_GETEVENTS = 1;
    public static final int IORING_ENTER_EXT_ARG = 1 << 3;
    /** io_uring_enter's fd is an index into the task's registered ring table (Linux 5.18). */
    public static final int IORING_ENTER_REGISTERED_RING = 1 << 4;
    /** IORING_(UN)REGISTER_RING_FDS take struct io_uring_rsrc_update { u32 offset; u32 resv; u64 data; }. */
    public static final int IORING_REGISTER_RING_FDS = 20;
    public static final int IORING_UNREGISTER_RING_FDS = 21;
    public static final int RSRC_UPDATE_SIZE = 16;
    public static final int RSRC_UPDATE_OFFSET_OFFSET = 0;
    public static final int RSRC_UPDATE_DATA_OFFSET = 8;

    // io_uring_register opcodes
    public static final int IORING_REGISTER_BUFFERS = 0;
    public static final int IORING_UNREGISTER_BUFFERS = 1;
    public static final int IORING_REGISTER_FILES = 2;
    public static final int IORING_UNREGISTER_FILES = 3;
    public static final int IORING_REGISTER_FILES_UPDATE = 6;
    public static final int IORING_REGISTER_PROBE = 8;
    public static final int IORING_REGISTER_PBUF_RING = 22;
    public static final int IORING_UNREGISTER_PBUF_RING = 23;

    // sqe flags
    public static final byte IOSQE_FIXED_FILE = 1;
    public static final byte IOSQE_IO_LINK = 1 << 2;
    public static final byte IOSQE_ASYNC = 1 << 4;
    /** Take the buffer from the provided-buffer group named in sqe->buf_group (the buf_index field). */
    public static final byte IOSQE_BUFFER_SELECT = 1 << 5;

    // cqe flags
    public static final int IORING_CQE_F_BUFFER = 1;
    /** More completions will follow for this SQE (a multishot request is still armed). */
    public static final int IORING_CQE_F_MORE = 1 << 1;
    public static final int IORING_CQE_F_SOCK_NONEMPTY = 1 << 2;
    /** With IORING_CQE_F_BUFFER, the buffer id sits in the upper 16 bits of cqe->flags. */
    public static final int IORING_CQE_BUFFER_SHIFT = 16;

    // send/recv and accept flags, in sqe->ioprio
    public static final int IORING_RECVSEND_POLL_FIRST = 1;
    public static final int IORING_RECV_MULTISHOT = 1 << 1;
    public static final int IORING_ACCEPT_MULTISHOT = 1;

    // opcodes (enum io_uring_op)
    public static final byte IORING_OP_NOP = 0;
    public static final byte IORING_OP_READV = 1;
    public static final byte IORING_OP_WRITEV = 2;
    public static final byte IORING_OP_FSYNC = 3;
    public static final byte IORING_OP_READ_FIXED = 4;
    public static final byte IORING_OP_WRITE_FIXED = 5;
    public static final byte IORING_OP_POLL_ADD = 6;
    public static final byte IORING_OP_SENDMSG = 9;
    public static final byte IORING_OP_TIMEOUT = 11;
    public static final byte IORING_OP_ACCEPT = 13;
    public static final byte IORING_OP_ASYNC_CANCEL = 14;
    public static final byte IORING_OP_FALLOCATE = 17;
    public static final byte IORING_OP_READ = 22;
    public static final byte IORING_OP_WRITE = 23;
    public static final byte IORING_OP_SEND = 26;
    public static final byte IORING_OP_RECV = 27;
    public static final byte IORING_OP_LAST_KNOWN = 58;

    public static final int IORING_FSYNC_DATASYNC = 1;
    /** sqe.rw_flags of a write (include/uapi/linux/fs.h): per-write O_DSYNC; with O_DIRECT on a block device, REQ_FUA. */
    public static final int RWF_DSYNC = 0x2;

    // struct io_uring_probe (16 bytes) + io_uring_probe_op[] (8 bytes each)
    public static final int PROBE_SIZE = 16;
    public static final int PROBE_LAST_OP_OFFSET = 0;
    public static final int PROBE_OPS_LEN_OFFSET = 1;
    public static final int PROBE_OP_SIZE = 8;
    public static final int PROBE_OP_FLAGS_OFFSET = 2;
    public static final int IO_URING_OP_SUPPORTED = 1;
}
