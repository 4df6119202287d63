package io.basalt.shims;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks every offset, size and constant that {@link IoUringAbi}, {@link Stat}, {@link Libc}, {@link Errno},
 * {@link SocketAbi} and {@link UnixSocket} mirror from C against the installed headers: the table below is turned
 * into a C program, compiled with gcc into target/, run, and each "name value" line it prints is compared with the
 * Java value.
 *
 * <p>The table is explicit (Java name, Java value, C expression) so a renamed or removed Java constant is a
 * compile error here, and {@link #everyConstantIsInTheTable} fails when a new public constant is added to one
 * of those classes without a row. The headers are linux-libc-dev (Linux 6.1 on these machines); a constant
 * newer than them would be listed in {@link #NOT_IN_HEADERS} with the reason.
 *
 * <p>gcc is required: a missing compiler fails the test (./basalt test installs gcc), it never skips.
 */
class StructLayoutTest {
    private record Row(String name, long javaValue, String cExpression) {}

    /** Java constants with no C counterpart in the installed headers, with the reason. */
    private static final Map<String, String> NOT_IN_HEADERS = Map.of(
            "IoUringAbi.IORING_OP_LAST_KNOWN", "ours: the highest opcode Basalt knows about, not a kernel value",
            "UnixSocket.FDS_MAX", "vhost-user's VHOST_MEMORY_BASELINE_NREGIONS, a protocol limit (its control "
                    + "room is checked by the SocketAbi.CMSG_SPACE_8_FDS row)");

    private static final List<Row> ROWS = new ArrayList<>();
    private static Map<String, Long> cValues;

    private static void row(String name, long javaValue, String cExpression) {
        ROWS.add(new Row(name, javaValue, cExpression));
    }

    private static void offset(String name, long javaValue, String struct, String field) {
        row(name, javaValue, "offsetof(struct " + struct + ", " + field + ")");
    }

    private static void size(String name, long javaValue, String struct) {
        row(name, javaValue, "sizeof(struct " + struct + ")");
    }

    /** A macro or enum constant of the same name in C. */
    private static void constant(String javaClass, String name, long javaValue) {
        row(javaClass + "." + name, javaValue, name);
    }

    static {
        // struct io_uring_sqe (include/uapi/linux/io_uring.h)
        size("IoUringAbi.SQE_SIZE", IoUringAbi.SQE_SIZE, "io_uring_sqe");
        offset("IoUringAbi.SQE_OPCODE_OFFSET", IoUringAbi.SQE_OPCODE_OFFSET, "io_uring_sqe", "opcode");
        offset("IoUringAbi.SQE_FLAGS_OFFSET", IoUringAbi.SQE_FLAGS_OFFSET, "io_uring_sqe", "flags");
        offset("IoUringAbi.SQE_IOPRIO_OFFSET", IoUringAbi.SQE_IOPRIO_OFFSET, "io_uring_sqe", "ioprio");
        offset("IoUringAbi.SQE_FD_OFFSET", IoUringAbi.SQE_FD_OFFSET, "io_uring_sqe", "fd");
        offset("IoUringAbi.SQE_OFF_OFFSET", IoUringAbi.SQE_OFF_OFFSET, "io_uring_sqe", "off");
        offset("IoUringAbi.SQE_ADDR_OFFSET", IoUringAbi.SQE_ADDR_OFFSET, "io_uring_sqe", "addr");
        offset("IoUringAbi.SQE_LEN_OFFSET", IoUringAbi.SQE_LEN_OFFSET, "io_uring_sqe", "len");
        offset("IoUringAbi.SQE_OP_FLAGS_OFFSET", IoUringAbi.SQE_OP_FLAGS_OFFSET, "io_uring_sqe", "rw_flags");
        offset("IoUringAbi.SQE_USER_DATA_OFFSET", IoUringAbi.SQE_USER_DATA_OFFSET, "io_uring_sqe", "user_data");
        offset("IoUringAbi.SQE_BUF_INDEX_OFFSET", IoUringAbi.SQE_BUF_INDEX_OFFSET, "io_uring_sqe", "buf_index");
        offset("IoUringAbi.SQE_PERSONALITY_OFFSET", IoUringAbi.SQE_PERSONALITY_OFFSET, "io_uring_sqe", "personality");
        offset("IoUringAbi.SQE_FILE_INDEX_OFFSET", IoUringAbi.SQE_FILE_INDEX_OFFSET, "io_uring_sqe", "file_index");
        offset("IoUringAbi.SQE_ADDR3_OFFSET", IoUringAbi.SQE_ADDR3_OFFSET, "io_uring_sqe", "addr3");
        // IoUring.prepare zeroes __pad2 at ADDR3 + 8: it must be the last 8 bytes of the SQE.
        row("sqe.__pad2 (ADDR3 + 8)", IoUringAbi.SQE_ADDR3_OFFSET + 8, "offsetof(struct io_uring_sqe, __pad2)");

        // struct io_uring_cqe
        size("IoUringAbi.CQE_SIZE", IoUringAbi.CQE_SIZE, "io_uring_cqe");
        offset("IoUringAbi.CQE_USER_DATA_OFFSET", IoUringAbi.CQE_USER_DATA_OFFSET, "io_uring_cqe", "user_data");
        offset("IoUringAbi.CQE_RES_OFFSET", IoUringAbi.CQE_RES_OFFSET, "io_uring_cqe", "res");
        offset("IoUringAbi.CQE_FLAGS_OFFSET", IoUringAbi.CQE_FLAGS_OFFSET, "io_uring_cqe", "flags");

        // struct io_uring_params, io_sqring_offsets, io_cqring_offsets
        size("IoUringAbi.PARAMS_SIZE", IoUringAbi.PARAMS_SIZE, "io_uring_params");
        offset("IoUringAbi.PARAMS_SQ_ENTRIES_OFFSET", IoUringAbi.PARAMS_SQ_ENTRIES_OFFSET, "io_uring_params", "sq_entries");
        offset("IoUringAbi.PARAMS_CQ_ENTRIES_OFFSET", IoUringAbi.PARAMS_CQ_ENTRIES_OFFSET, "io_uring_params", "cq_entries");
        offset("IoUringAbi.PARAMS_FLAGS_OFFSET", IoUringAbi.PARAMS_FLAGS_OFFSET, "io_uring_params", "flags");
        offset("IoUringAbi.PARAMS_SQ_THREAD_CPU_OFFSET", IoUringAbi.PARAMS_SQ_THREAD_CPU_OFFSET, "io_uring_params", "sq_thread_cpu");
        offset("IoUringAbi.PARAMS_SQ_THREAD_IDLE_OFFSET", IoUringAbi.PARAMS_SQ_THREAD_IDLE_OFFSET, "io_uring_params", "sq_thread_idle");
        offset("IoUringAbi.PARAMS_FEATURES_OFFSET", IoUringAbi.PARAMS_FEATURES_OFFSET, "io_uring_params", "features");
        offset("IoUringAbi.PARAMS_WQ_FD_OFFSET", IoUringAbi.PARAMS_WQ_FD_OFFSET, "io_uring_params", "wq_fd");
        offset("IoUringAbi.PARAMS_SQ_OFF_OFFSET", IoUringAbi.PARAMS_SQ_OFF_OFFSET, "io_uring_params", "sq_off");
        offset("IoUringAbi.PARAMS_CQ_OFF_OFFSET", IoUringAbi.PARAMS_CQ_OFF_OFFSET, "io_uring_params", "cq_off");
        size("sizeof(io_sqring_offsets)", 40, "io_sqring_offsets");
        offset("IoUringAbi.SQ_OFF_HEAD", IoUringAbi.SQ_OFF_HEAD, "io_sqring_offsets", "head");
        offset("IoUringAbi.SQ_OFF_TAIL", IoUringAbi.SQ_OFF_TAIL, "io_sqring_offsets", "tail");
        offset("IoUringAbi.SQ_OFF_RING_MASK", IoUringAbi.SQ_OFF_RING_MASK, "io_sqring_offsets", "ring_mask");
        offset("IoUringAbi.SQ_OFF_RING_ENTRIES", IoUringAbi.SQ_OFF_RING_ENTRIES, "io_sqring_offsets", "ring_entries");
        offset("IoUringAbi.SQ_OFF_FLAGS", IoUringAbi.SQ_OFF_FLAGS, "io_sqring_offsets", "flags");
        offset("IoUringAbi.SQ_OFF_DROPPED", IoUringAbi.SQ_OFF_DROPPED, "io_sqring_offsets", "dropped");
        offset("IoUringAbi.SQ_OFF_ARRAY", IoUringAbi.SQ_OFF_ARRAY, "io_sqring_offsets", "array");
        size("sizeof(io_cqring_offsets)", 40, "io_cqring_offsets");
        offset("IoUringAbi.CQ_OFF_HEAD", IoUringAbi.CQ_OFF_HEAD, "io_cqring_offsets", "head");
        offset("IoUringAbi.CQ_OFF_TAIL", IoUringAbi.CQ_OFF_TAIL, "io_cqring_offsets", "tail");
        offset("IoUringAbi.CQ_OFF_RING_MASK", IoUringAbi.CQ_OFF_RING_MASK, "io_cqring_offsets", "ring_mask");
        offset("IoUringAbi.CQ_OFF_RING_ENTRIES", IoUringAbi.CQ_OFF_RING_ENTRIES, "io_cqring_offsets", "ring_entries");
        offset("IoUringAbi.CQ_OFF_OVERFLOW", IoUringAbi.CQ_OFF_OVERFLOW, "io_cqring_offsets", "overflow");
        offset("IoUringAbi.CQ_OFF_CQES", IoUringAbi.CQ_OFF_CQES, "io_cqring_offsets", "cqes");
        offset("IoUringAbi.CQ_OFF_FLAGS", IoUringAbi.CQ_OFF_FLAGS, "io_cqring_offsets", "flags");

        // provided buffer rings: struct io_uring_buf, io_uring_buf_ring (tail overlays bufs[0].resv), io_uring_buf_reg
        size("IoUringAbi.BUF_SIZE", IoUringAbi.BUF_SIZE, "io_uring_buf");
        offset("IoUringAbi.BUF_ADDR_OFFSET", IoUringAbi.BUF_ADDR_OFFSET, "io_uring_buf", "addr");
        offset("IoUringAbi.BUF_LEN_OFFSET", IoUringAbi.BUF_LEN_OFFSET, "io_uring_buf", "len");
        offset("IoUringAbi.BUF_BID_OFFSET", IoUringAbi.BUF_BID_OFFSET, "io_uring_buf", "bid");
        offset("IoUringAbi.BUF_RING_TAIL_OFFSET", IoUringAbi.BUF_RING_TAIL_OFFSET, "io_uring_buf_ring", "tail");
        row("sizeof(io_uring_buf_ring.tail)", 2, "sizeof(((struct io_uring_buf_ring *) 0)->tail)");
        row("io_uring_buf_ring.bufs at 0", 0, "offsetof(struct io_uring_buf_ring, bufs)");
        size("IoUringAbi.BUF_REG_SIZE", IoUringAbi.BUF_REG_SIZE, "io_uring_buf_reg");
        offset("IoUringAbi.BUF_REG_RING_ADDR_OFFSET", IoUringAbi.BUF_REG_RING_ADDR_OFFSET, "io_uring_buf_reg", "ring_addr");
        offset("IoUringAbi.BUF_REG_RING_ENTRIES_OFFSET", IoUringAbi.BUF_REG_RING_ENTRIES_OFFSET, "io_uring_buf_reg", "ring_entries");
        offset("IoUringAbi.BUF_REG_BGID_OFFSET", IoUringAbi.BUF_REG_BGID_OFFSET, "io_uring_buf_reg", "bgid");
        // struct io_uring_rsrc_update, argument of IORING_(UN)REGISTER_RING_FDS
        size("IoUringAbi.RSRC_UPDATE_SIZE", IoUringAbi.RSRC_UPDATE_SIZE, "io_uring_rsrc_update");
        offset("IoUringAbi.RSRC_UPDATE_OFFSET_OFFSET", IoUringAbi.RSRC_UPDATE_OFFSET_OFFSET, "io_uring_rsrc_update", "offset");
        offset("IoUringAbi.RSRC_UPDATE_DATA_OFFSET", IoUringAbi.RSRC_UPDATE_DATA_OFFSET, "io_uring_rsrc_update", "data");
        // sqe->buf_group (the group of IOSQE_BUFFER_SELECT) shares buf_index's place, where prepare writes bufIndex.
        row("sqe.buf_group == buf_index", IoUringAbi.SQE_BUF_INDEX_OFFSET, "offsetof(struct io_uring_sqe, buf_group)");

        // struct io_uring_getevents_arg, __kernel_timespec, iovec
        size("IoUringAbi.GETEVENTS_ARG_SIZE", IoUringAbi.GETEVENTS_ARG_SIZE, "io_uring_getevents_arg");
        offset("IoUringAbi.GETEVENTS_ARG_SIGMASK_OFFSET", IoUringAbi.GETEVENTS_ARG_SIGMASK_OFFSET, "io_uring_getevents_arg", "sigmask");
        offset("IoUringAbi.GETEVENTS_ARG_SIGMASK_SZ_OFFSET", IoUringAbi.GETEVENTS_ARG_SIGMASK_SZ_OFFSET, "io_uring_getevents_arg", "sigmask_sz");
        // IoUring.enterWithTimeout zeroes the pad word right after sigmask_sz.
        row("getevents_arg.pad (SIGMASK_SZ + 4)", IoUringAbi.GETEVENTS_ARG_SIGMASK_SZ_OFFSET + 4, "offsetof(struct io_uring_getevents_arg, pad)");
        offset("IoUringAbi.GETEVENTS_ARG_TS_OFFSET", IoUringAbi.GETEVENTS_ARG_TS_OFFSET, "io_uring_getevents_arg", "ts");
        size("IoUringAbi.TIMESPEC_SIZE", IoUringAbi.TIMESPEC_SIZE, "__kernel_timespec");
        offset("IoUringAbi.TIMESPEC_SEC_OFFSET", IoUringAbi.TIMESPEC_SEC_OFFSET, "__kernel_timespec", "tv_sec");
        offset("IoUringAbi.TIMESPEC_NSEC_OFFSET", IoUringAbi.TIMESPEC_NSEC_OFFSET, "__kernel_timespec", "tv_nsec");
        size("IoUringAbi.IOVEC_SIZE", IoUringAbi.IOVEC_SIZE, "iovec");
        offset("IoUringAbi.IOVEC_BASE_OFFSET", IoUringAbi.IOVEC_BASE_OFFSET, "iovec", "iov_base");
        offset("IoUringAbi.IOVEC_LEN_OFFSET", IoUringAbi.IOVEC_LEN_OFFSET, "iovec", "iov_len");

        // struct io_uring_files_update, written inline by IoUring.updateFile (offset 0, resv 4, fds 8; 16 bytes)
        size("files_update size", 16, "io_uring_files_update");
        offset("files_update.offset", 0, "io_uring_files_update", "offset");
        offset("files_update.resv", 4, "io_uring_files_update", "resv");
        offset("files_update.fds", 8, "io_uring_files_update", "fds");

        // struct io_uring_probe and io_uring_probe_op
        size("IoUringAbi.PROBE_SIZE", IoUringAbi.PROBE_SIZE, "io_uring_probe");
        offset("IoUringAbi.PROBE_LAST_OP_OFFSET", IoUringAbi.PROBE_LAST_OP_OFFSET, "io_uring_probe", "last_op");
        offset("IoUringAbi.PROBE_OPS_LEN_OFFSET", IoUringAbi.PROBE_OPS_LEN_OFFSET, "io_uring_probe", "ops_len");
        row("probe.ops (== PROBE_SIZE)", IoUringAbi.PROBE_SIZE, "offsetof(struct io_uring_probe, ops)");
        size("IoUringAbi.PROBE_OP_SIZE", IoUringAbi.PROBE_OP_SIZE, "io_uring_probe_op");
        offset("IoUringAbi.PROBE_OP_FLAGS_OFFSET", IoUringAbi.PROBE_OP_FLAGS_OFFSET, "io_uring_probe_op", "flags");
        constant("IoUringAbi", "IO_URING_OP_SUPPORTED", IoUringAbi.IO_URING_OP_SUPPORTED);

        // struct stat (glibc x86_64, bits/struct_stat.h)
        size("Stat.SIZE", Stat.SIZE, "stat");
        offset("Stat.ST_MODE_OFFSET", Stat.ST_MODE_OFFSET, "stat", "st_mode");
        offset("Stat.ST_RDEV_OFFSET", Stat.ST_RDEV_OFFSET, "stat", "st_rdev");
        offset("Stat.ST_SIZE_OFFSET", Stat.ST_SIZE_OFFSET, "stat", "st_size");
        offset("Stat.ST_BLKSIZE_OFFSET", Stat.ST_BLKSIZE_OFFSET, "stat", "st_blksize");
        offset("Stat.ST_BLOCKS_OFFSET", Stat.ST_BLOCKS_OFFSET, "stat", "st_blocks");
        row("sizeof(st_mode)", 4, "sizeof(((struct stat *) 0)->st_mode)");
        row("sizeof(st_size)", 8, "sizeof(((struct stat *) 0)->st_size)");
        row("sizeof(st_rdev)", 8, "sizeof(((struct stat *) 0)->st_rdev)");
        constant("Stat", "S_IFMT", Stat.S_IFMT);
        constant("Stat", "S_IFREG", Stat.S_IFREG);
        constant("Stat", "S_IFBLK", Stat.S_IFBLK);

        // io_uring constants
        String a = "IoUringAbi";
        constant(a, "IORING_SETUP_IOPOLL", IoUringAbi.IORING_SETUP_IOPOLL);
        constant(a, "IORING_SETUP_SQPOLL", IoUringAbi.IORING_SETUP_SQPOLL);
        constant(a, "IORING_SETUP_CQSIZE", IoUringAbi.IORING_SETUP_CQSIZE);
        constant(a, "IORING_SETUP_CLAMP", IoUringAbi.IORING_SETUP_CLAMP);
        constant(a, "IORING_SETUP_SUBMIT_ALL", IoUringAbi.IORING_SETUP_SUBMIT_ALL);
        constant(a, "IORING_SETUP_COOP_TASKRUN", IoUringAbi.IORING_SETUP_COOP_TASKRUN);
        constant(a, "IORING_SETUP_TASKRUN_FLAG", IoUringAbi.IORING_SETUP_TASKRUN_FLAG);
        constant(a, "IORING_SETUP_SINGLE_ISSUER", IoUringAbi.IORING_SETUP_SINGLE_ISSUER);
        constant(a, "IORING_SETUP_DEFER_TASKRUN", IoUringAbi.IORING_SETUP_DEFER_TASKRUN);
        constant(a, "IORING_FEAT_SINGLE_MMAP", IoUringAbi.IORING_FEAT_SINGLE_MMAP);
        constant(a, "IORING_FEAT_NODROP", IoUringAbi.IORING_FEAT_NODROP);
        constant(a, "IORING_FEAT_SUBMIT_STABLE", IoUringAbi.IORING_FEAT_SUBMIT_STABLE);
        constant(a, "IORING_FEAT_FAST_POLL", IoUringAbi.IORING_FEAT_FAST_POLL);
        constant(a, "IORING_FEAT_EXT_ARG", IoUringAbi.IORING_FEAT_EXT_ARG);
        constant(a, "IORING_OFF_SQ_RING", IoUringAbi.IORING_OFF_SQ_RING);
        constant(a, "IORING_OFF_CQ_RING", IoUringAbi.IORING_OFF_CQ_RING);
        constant(a, "IORING_OFF_SQES", IoUringAbi.IORING_OFF_SQES);
        constant(a, "IORING_SQ_NEED_WAKEUP", IoUringAbi.IORING_SQ_NEED_WAKEUP);
        constant(a, "IORING_SQ_CQ_OVERFLOW", IoUringAbi.IORING_SQ_CQ_OVERFLOW);
        constant(a, "IORING_SQ_TASKRUN", IoUringAbi.IORING_SQ_TASKRUN);
        constant(a, "IORING_ENTER_GETEVENTS", IoUringAbi.IORING_ENTER_GETEVENTS);
        constant(a, "IORING_ENTER_EXT_ARG", IoUringAbi.IORING_ENTER_EXT_ARG);
        constant(a, "IORING_ENTER_REGISTERED_RING", IoUringAbi.IORING_ENTER_REGISTERED_RING);
        constant(a, "IORING_REGISTER_BUFFERS", IoUringAbi.IORING_REGISTER_BUFFERS);
        constant(a, "IORING_UNREGISTER_BUFFERS", IoUringAbi.IORING_UNREGISTER_BUFFERS);
        constant(a, "IORING_REGISTER_FILES", IoUringAbi.IORING_REGISTER_FILES);
        constant(a, "IORING_UNREGISTER_FILES", IoUringAbi.IORING_UNREGISTER_FILES);
        constant(a, "IORING_REGISTER_FILES_UPDATE", IoUringAbi.IORING_REGISTER_FILES_UPDATE);
        constant(a, "IORING_REGISTER_PROBE", IoUringAbi.IORING_REGISTER_PROBE);
        constant(a, "IOSQE_FIXED_FILE", IoUringAbi.IOSQE_FIXED_FILE);
        constant(a, "IOSQE_IO_LINK", IoUringAbi.IOSQE_IO_LINK);
        constant(a, "IOSQE_ASYNC", IoUringAbi.IOSQE_ASYNC);
        constant(a, "IORING_REGISTER_PBUF_RING", IoUringAbi.IORING_REGISTER_PBUF_RING);
        constant(a, "IORING_REGISTER_RING_FDS", IoUringAbi.IORING_REGISTER_RING_FDS);
        constant(a, "IORING_UNREGISTER_RING_FDS", IoUringAbi.IORING_UNREGISTER_RING_FDS);
        constant(a, "IORING_UNREGISTER_PBUF_RING", IoUringAbi.IORING_UNREGISTER_PBUF_RING);
        constant(a, "IOSQE_BUFFER_SELECT", IoUringAbi.IOSQE_BUFFER_SELECT);
        constant(a, "IORING_CQE_F_BUFFER", IoUringAbi.IORING_CQE_F_BUFFER);
        constant(a, "IORING_CQE_F_MORE", IoUringAbi.IORING_CQE_F_MORE);
        constant(a, "IORING_CQE_F_SOCK_NONEMPTY", IoUringAbi.IORING_CQE_F_SOCK_NONEMPTY);
        constant(a, "IORING_CQE_BUFFER_SHIFT", IoUringAbi.IORING_CQE_BUFFER_SHIFT);
        constant(a, "IORING_RECVSEND_POLL_FIRST", IoUringAbi.IORING_RECVSEND_POLL_FIRST);
        constant(a, "IORING_RECV_MULTISHOT", IoUringAbi.IORING_RECV_MULTISHOT);
        constant(a, "IORING_ACCEPT_MULTISHOT", IoUringAbi.IORING_ACCEPT_MULTISHOT);
        constant(a, "IORING_OP_SENDMSG", IoUringAbi.IORING_OP_SENDMSG);
        constant(a, "IORING_OP_ACCEPT", IoUringAbi.IORING_OP_ACCEPT);
        constant(a, "IORING_OP_ASYNC_CANCEL", IoUringAbi.IORING_OP_ASYNC_CANCEL);
        constant(a, "IORING_OP_SEND", IoUringAbi.IORING_OP_SEND);
        constant(a, "IORING_OP_RECV", IoUringAbi.IORING_OP_RECV);
        constant(a, "IORING_OP_NOP", IoUringAbi.IORING_OP_NOP);
        constant(a, "IORING_OP_READV", IoUringAbi.IORING_OP_READV);
        constant(a, "IORING_OP_WRITEV", IoUringAbi.IORING_OP_WRITEV);
        constant(a, "IORING_OP_FSYNC", IoUringAbi.IORING_OP_FSYNC);
        constant(a, "IORING_OP_READ_FIXED", IoUringAbi.IORING_OP_READ_FIXED);
        constant(a, "IORING_OP_WRITE_FIXED", IoUringAbi.IORING_OP_WRITE_FIXED);
        constant(a, "IORING_OP_POLL_ADD", IoUringAbi.IORING_OP_POLL_ADD);
        constant(a, "IORING_OP_TIMEOUT", IoUringAbi.IORING_OP_TIMEOUT);
        constant(a, "IORING_OP_FALLOCATE", IoUringAbi.IORING_OP_FALLOCATE);
        constant(a, "IORING_OP_READ", IoUringAbi.IORING_OP_READ);
        constant(a, "IORING_OP_WRITE", IoUringAbi.IORING_OP_WRITE);
        // IORING_OP_LAST_KNOWN is ours (see NOT_IN_HEADERS); the kernel's IORING_OP_LAST must not exceed it + 1.
        row("IORING_OP_LAST <= IORING_OP_LAST_KNOWN + 1", 1, "IORING_OP_LAST <= " + (IoUringAbi.IORING_OP_LAST_KNOWN + 1));
        constant(a, "IORING_FSYNC_DATASYNC", IoUringAbi.IORING_FSYNC_DATASYNC);
        constant(a, "RWF_DSYNC", IoUringAbi.RWF_DSYNC);

        // libc constants
        String l = "Libc";
        constant(l, "O_RDONLY", Libc.O_RDONLY);
        constant(l, "O_WRONLY", Libc.O_WRONLY);
        constant(l, "O_RDWR", Libc.O_RDWR);
        constant(l, "O_CREAT", Libc.O_CREAT);
        constant(l, "O_EXCL", Libc.O_EXCL);
        constant(l, "O_TRUNC", Libc.O_TRUNC);
        constant(l, "O_DIRECT", Libc.O_DIRECT);
        constant(l, "O_CLOEXEC", Libc.O_CLOEXEC);
        constant(l, "PROT_READ", Libc.PROT_READ);
        constant(l, "PROT_WRITE", Libc.PROT_WRITE);
        constant(l, "MAP_SHARED", Libc.MAP_SHARED);
        constant(l, "MAP_PRIVATE", Libc.MAP_PRIVATE);
        constant(l, "MAP_ANONYMOUS", Libc.MAP_ANONYMOUS);
        constant(l, "MAP_POPULATE", Libc.MAP_POPULATE);
        row("Libc.MAP_FAILED", Libc.MAP_FAILED, "(long long) (intptr_t) MAP_FAILED");
        constant(l, "MADV_DONTNEED", Libc.MADV_DONTNEED);
        constant(l, "MADV_DONTFORK", Libc.MADV_DONTFORK);
        constant(l, "MADV_HUGEPAGE", Libc.MADV_HUGEPAGE);
        constant(l, "FALLOC_FL_KEEP_SIZE", Libc.FALLOC_FL_KEEP_SIZE);
        constant(l, "FALLOC_FL_PUNCH_HOLE", Libc.FALLOC_FL_PUNCH_HOLE);
        constant(l, "FALLOC_FL_ZERO_RANGE", Libc.FALLOC_FL_ZERO_RANGE);
        constant(l, "BLKGETSIZE64", Libc.BLKGETSIZE64);
        constant(l, "BLKSSZGET", Libc.BLKSSZGET);
        constant(l, "BLKPBSZGET", Libc.BLKPBSZGET);
        constant(l, "EFD_CLOEXEC", Libc.EFD_CLOEXEC);
        constant(l, "EFD_NONBLOCK", Libc.EFD_NONBLOCK);
        constant(l, "MFD_CLOEXEC", Libc.MFD_CLOEXEC);
        constant(l, "MFD_ALLOW_SEALING", Libc.MFD_ALLOW_SEALING);
        row("Libc.SYS_IO_URING_SETUP", Libc.SYS_IO_URING_SETUP, "SYS_io_uring_setup");
        row("Libc.SYS_IO_URING_ENTER", Libc.SYS_IO_URING_ENTER, "SYS_io_uring_enter");
        row("Libc.SYS_IO_URING_REGISTER", Libc.SYS_IO_URING_REGISTER, "SYS_io_uring_register");

        // poll(2) and struct pollfd (poll.h)
        constant(l, "POLLIN", Libc.POLLIN);
        constant(l, "POLLOUT", Libc.POLLOUT);
        constant(l, "POLLERR", Libc.POLLERR);
        constant(l, "POLLHUP", Libc.POLLHUP);
        constant(l, "POLLNVAL", Libc.POLLNVAL);
        size("Libc.POLLFD_SIZE", Libc.POLLFD_SIZE, "pollfd");
        offset("Libc.POLLFD_FD_OFFSET", Libc.POLLFD_FD_OFFSET, "pollfd", "fd");
        offset("Libc.POLLFD_EVENTS_OFFSET", Libc.POLLFD_EVENTS_OFFSET, "pollfd", "events");
        offset("Libc.POLLFD_REVENTS_OFFSET", Libc.POLLFD_REVENTS_OFFSET, "pollfd", "revents");
        row("sizeof(pollfd.events)", 2, "sizeof(((struct pollfd *) 0)->events)");
        row("sizeof(nfds_t)", 8, "sizeof(nfds_t)");

        // struct sockaddr_un (sys/un.h)
        size("SocketAbi.SOCKADDR_UN_SIZE", SocketAbi.SOCKADDR_UN_SIZE, "sockaddr_un");
        offset("SocketAbi.SUN_FAMILY_OFFSET", SocketAbi.SUN_FAMILY_OFFSET, "sockaddr_un", "sun_family");
        offset("SocketAbi.SUN_PATH_OFFSET", SocketAbi.SUN_PATH_OFFSET, "sockaddr_un", "sun_path");
        row("SocketAbi.SUN_PATH_SIZE", SocketAbi.SUN_PATH_SIZE, "sizeof(((struct sockaddr_un *) 0)->sun_path)");
        row("sizeof(sun_family)", 2, "sizeof(((struct sockaddr_un *) 0)->sun_family)");

        // struct sockaddr_in, sockaddr_in6, sockaddr_storage (netinet/in.h, bits/socket.h)
        size("SocketAbi.SOCKADDR_IN_SIZE", SocketAbi.SOCKADDR_IN_SIZE, "sockaddr_in");
        offset("SocketAbi.SIN_FAMILY_OFFSET", SocketAbi.SIN_FAMILY_OFFSET, "sockaddr_in", "sin_family");
        offset("SocketAbi.SIN_PORT_OFFSET", SocketAbi.SIN_PORT_OFFSET, "sockaddr_in", "sin_port");
        offset("SocketAbi.SIN_ADDR_OFFSET", SocketAbi.SIN_ADDR_OFFSET, "sockaddr_in", "sin_addr");
        row("SocketAbi.IN_ADDR_SIZE", SocketAbi.IN_ADDR_SIZE, "sizeof(struct in_addr)");
        row("sizeof(sin_port)", 2, "sizeof(((struct sockaddr_in *) 0)->sin_port)");
        row("sizeof(sin_family)", 2, "sizeof(((struct sockaddr_in *) 0)->sin_family)");
        size("SocketAbi.SOCKADDR_IN6_SIZE", SocketAbi.SOCKADDR_IN6_SIZE, "sockaddr_in6");
        offset("SocketAbi.SIN6_FAMILY_OFFSET", SocketAbi.SIN6_FAMILY_OFFSET, "sockaddr_in6", "sin6_family");
        offset("SocketAbi.SIN6_PORT_OFFSET", SocketAbi.SIN6_PORT_OFFSET, "sockaddr_in6", "sin6_port");
        offset("SocketAbi.SIN6_FLOWINFO_OFFSET", SocketAbi.SIN6_FLOWINFO_OFFSET, "sockaddr_in6", "sin6_flowinfo");
        offset("SocketAbi.SIN6_ADDR_OFFSET", SocketAbi.SIN6_ADDR_OFFSET, "sockaddr_in6", "sin6_addr");
        offset("SocketAbi.SIN6_SCOPE_ID_OFFSET", SocketAbi.SIN6_SCOPE_ID_OFFSET, "sockaddr_in6", "sin6_scope_id");
        row("SocketAbi.IN6_ADDR_SIZE", SocketAbi.IN6_ADDR_SIZE, "sizeof(struct in6_addr)");
        size("SocketAbi.SOCKADDR_STORAGE_SIZE", SocketAbi.SOCKADDR_STORAGE_SIZE, "sockaddr_storage");
        // TcpSocket reads the port at SIN_PORT_OFFSET for both families.
        row("sin6_port == sin_port offset", SocketAbi.SIN_PORT_OFFSET, "offsetof(struct sockaddr_in6, sin6_port)");

        // struct msghdr (bits/socket.h)
        size("SocketAbi.MSGHDR_SIZE", SocketAbi.MSGHDR_SIZE, "msghdr");
        offset("SocketAbi.MSG_NAME_OFFSET", SocketAbi.MSG_NAME_OFFSET, "msghdr", "msg_name");
        offset("SocketAbi.MSG_NAMELEN_OFFSET", SocketAbi.MSG_NAMELEN_OFFSET, "msghdr", "msg_namelen");
        offset("SocketAbi.MSG_IOV_OFFSET", SocketAbi.MSG_IOV_OFFSET, "msghdr", "msg_iov");
        offset("SocketAbi.MSG_IOVLEN_OFFSET", SocketAbi.MSG_IOVLEN_OFFSET, "msghdr", "msg_iovlen");
        offset("SocketAbi.MSG_CONTROL_OFFSET", SocketAbi.MSG_CONTROL_OFFSET, "msghdr", "msg_control");
        offset("SocketAbi.MSG_CONTROLLEN_OFFSET", SocketAbi.MSG_CONTROLLEN_OFFSET, "msghdr", "msg_controllen");
        offset("SocketAbi.MSG_FLAGS_OFFSET", SocketAbi.MSG_FLAGS_OFFSET, "msghdr", "msg_flags");
        // UnixSocket writes msg_namelen and msg_flags as 4 bytes, msg_iovlen and msg_controllen as 8.
        row("sizeof(msg_namelen)", 4, "sizeof(((struct msghdr *) 0)->msg_namelen)");
        row("sizeof(msg_iovlen)", 8, "sizeof(((struct msghdr *) 0)->msg_iovlen)");
        row("sizeof(msg_controllen)", 8, "sizeof(((struct msghdr *) 0)->msg_controllen)");
        row("sizeof(msg_flags)", 4, "sizeof(((struct msghdr *) 0)->msg_flags)");

        // struct cmsghdr and the CMSG_* macros (bits/socket.h)
        size("SocketAbi.CMSGHDR_SIZE", SocketAbi.CMSGHDR_SIZE, "cmsghdr");
        offset("SocketAbi.CMSG_LEN_OFFSET", SocketAbi.CMSG_LEN_OFFSET, "cmsghdr", "cmsg_len");
        offset("SocketAbi.CMSG_LEVEL_OFFSET", SocketAbi.CMSG_LEVEL_OFFSET, "cmsghdr", "cmsg_level");
        offset("SocketAbi.CMSG_TYPE_OFFSET", SocketAbi.CMSG_TYPE_OFFSET, "cmsghdr", "cmsg_type");
        row("sizeof(cmsg_len)", 8, "sizeof(((struct cmsghdr *) 0)->cmsg_len)");
        row("SocketAbi.CMSG_DATA_OFFSET", SocketAbi.CMSG_DATA_OFFSET, "CMSG_LEN(0)");
        row("CMSG_DATA(c) - c", SocketAbi.CMSG_DATA_OFFSET,
                "({ struct cmsghdr c; (char *) CMSG_DATA(&c) - (char *) &c; })");
        row("SocketAbi.CMSG_SPACE_8_FDS", SocketAbi.CMSG_SPACE_8_FDS, "CMSG_SPACE(8 * sizeof(int))");
        row("SocketAbi.FD_SIZE", SocketAbi.FD_SIZE, "sizeof(int)");
        for (int n : new int[] {0, 1, 3, 4, 7, 8, 9, 13, 16, 253}) {
            long dataBytes = (long) n * SocketAbi.FD_SIZE;
            row("SocketAbi.cmsgLen(" + n + " fds)", SocketAbi.cmsgLen(dataBytes), "CMSG_LEN(" + n + " * sizeof(int))");
            row("SocketAbi.cmsgSpace(" + n + " fds)", SocketAbi.cmsgSpace(dataBytes), "CMSG_SPACE(" + n + " * sizeof(int))");
        }
        for (int n : new int[] {0, 1, 7, 8, 9, 15, 16, 17}) {
            row("SocketAbi.cmsgAlign(" + n + ")", SocketAbi.cmsgAlign(n), "CMSG_ALIGN(" + n + ")");
        }

        // socket constants (bits/socket.h, bits/socket_type.h, sys/socket.h)
        String s = "SocketAbi";
        constant(s, "AF_UNIX", SocketAbi.AF_UNIX);
        constant(s, "AF_INET", SocketAbi.AF_INET);
        constant(s, "AF_INET6", SocketAbi.AF_INET6);
        constant(s, "SO_REUSEADDR", SocketAbi.SO_REUSEADDR);
        constant(s, "SO_KEEPALIVE", SocketAbi.SO_KEEPALIVE);
        constant(s, "SO_RCVTIMEO", SocketAbi.SO_RCVTIMEO);
        constant(s, "SO_SNDTIMEO", SocketAbi.SO_SNDTIMEO);
        size("SocketAbi.TIMEVAL_BYTES", SocketAbi.TIMEVAL_BYTES, "timeval");
        constant(s, "IPPROTO_TCP", SocketAbi.IPPROTO_TCP);
        constant(s, "TCP_NODELAY", SocketAbi.TCP_NODELAY);
        constant(s, "MSG_WAITALL", SocketAbi.MSG_WAITALL);
        constant(s, "SOCK_STREAM", SocketAbi.SOCK_STREAM);
        constant(s, "SOCK_CLOEXEC", SocketAbi.SOCK_CLOEXEC);
        constant(s, "SOCK_NONBLOCK", SocketAbi.SOCK_NONBLOCK);
        constant(s, "SOL_SOCKET", SocketAbi.SOL_SOCKET);
        constant(s, "SCM_RIGHTS", SocketAbi.SCM_RIGHTS);
        constant(s, "MSG_CTRUNC", SocketAbi.MSG_CTRUNC);
        constant(s, "MSG_DONTWAIT", SocketAbi.MSG_DONTWAIT);
        constant(s, "MSG_NOSIGNAL", SocketAbi.MSG_NOSIGNAL);
        constant(s, "MSG_CMSG_CLOEXEC", SocketAbi.MSG_CMSG_CLOEXEC);
        constant(s, "SHUT_RD", SocketAbi.SHUT_RD);
        constant(s, "SHUT_WR", SocketAbi.SHUT_WR);
        constant(s, "SHUT_RDWR", SocketAbi.SHUT_RDWR);

        // errno values (asm-generic/errno-base.h, errno.h)
        String e = "Errno";
        constant(e, "EPERM", Errno.EPERM);
        constant(e, "ENOENT", Errno.ENOENT);
        constant(e, "EINTR", Errno.EINTR);
        constant(e, "EIO", Errno.EIO);
        constant(e, "ENXIO", Errno.ENXIO);
        constant(e, "EBADF", Errno.EBADF);
        constant(e, "EAGAIN", Errno.EAGAIN);
        constant(e, "ENOMEM", Errno.ENOMEM);
        constant(e, "EACCES", Errno.EACCES);
        constant(e, "EFAULT", Errno.EFAULT);
        constant(e, "EBUSY", Errno.EBUSY);
        constant(e, "EEXIST", Errno.EEXIST);
        constant(e, "ENODEV", Errno.ENODEV);
        constant(e, "ENOTDIR", Errno.ENOTDIR);
        constant(e, "EISDIR", Errno.EISDIR);
        constant(e, "EINVAL", Errno.EINVAL);
        constant(e, "ENFILE", Errno.ENFILE);
        constant(e, "EMFILE", Errno.EMFILE);
        constant(e, "ENOTTY", Errno.ENOTTY);
        constant(e, "EFBIG", Errno.EFBIG);
        constant(e, "ENOSPC", Errno.ENOSPC);
        constant(e, "ESPIPE", Errno.ESPIPE);
        constant(e, "EROFS", Errno.EROFS);
        constant(e, "EPIPE", Errno.EPIPE);
        constant(e, "ERANGE", Errno.ERANGE);
        constant(e, "ENOSYS", Errno.ENOSYS);
        constant(e, "EOPNOTSUPP", Errno.EOPNOTSUPP);
        constant(e, "ETIME", Errno.ETIME);
        constant(e, "ECANCELED", Errno.ECANCELED);
        constant(e, "ETIMEDOUT", Errno.ETIMEDOUT);
        constant(e, "EINPROGRESS", Errno.EINPROGRESS);
        constant(e, "EHOSTUNREACH", Errno.EHOSTUNREACH);
        constant(e, "ENETUNREACH", Errno.ENETUNREACH);
        constant(e, "ENAMETOOLONG", Errno.ENAMETOOLONG);
        constant(e, "ENOTSOCK", Errno.ENOTSOCK);
        constant(e, "EMSGSIZE", Errno.EMSGSIZE);
        constant(e, "EADDRINUSE", Errno.EADDRINUSE);
        constant(e, "ECONNRESET", Errno.ECONNRESET);
        constant(e, "ENOTCONN", Errno.ENOTCONN);
        constant(e, "ECONNREFUSED", Errno.ECONNREFUSED);
        constant(e, "ENOBUFS", Errno.ENOBUFS);
        constant(e, "EAFNOSUPPORT", Errno.EAFNOSUPPORT);
        constant(e, "EADDRNOTAVAIL", Errno.EADDRNOTAVAIL);
    }

    private static final String HEADERS = """
            #define _GNU_SOURCE
            #include <stddef.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <errno.h>
            #include <fcntl.h>
            #include <sys/mman.h>
            #include <sys/stat.h>
            #include <sys/uio.h>
            #include <sys/socket.h>
            #include <sys/time.h>
            #include <sys/un.h>
            #include <netinet/in.h>
            #include <netinet/tcp.h>
            #include <poll.h>
            #include <sys/eventfd.h>
            #include <sys/syscall.h>
            #include <linux/fs.h>
            #include <linux/falloc.h>
            #include <linux/io_uring.h>

            #define P(name, expr) printf("%s %lld\\n", name, (long long) (expr))

            int main(void) {
            """;

    @BeforeAll
    static void compileAndRun() throws Exception {
        Path dir = buildDirectory().resolve("struct-layout");
        Files.createDirectories(dir);
        StringBuilder c = new StringBuilder(HEADERS);
        for (Row r : ROWS) c.append("    P(\"").append(r.name()).append("\", ").append(r.cExpression()).append(");\n");
        c.append("    return 0;\n}\n");
        Path source = dir.resolve("layout.c");
        Path binary = dir.resolve("layout");
        Files.writeString(source, c);
        String gccOut = run(dir, "gcc", "-std=gnu11", "-Wall", "-Werror", "-o", binary.toString(), source.toString());
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : run(dir, binary.toString()).split("\n")) {
            if (line.isBlank()) continue;
            int space = line.lastIndexOf(' ');
            values.put(line.substring(0, space), Long.parseLong(line.substring(space + 1)));
        }
        assertEquals(ROWS.size(), values.size(), "one line per row from " + binary + " (gcc said: " + gccOut + ")");
        cValues = values;
    }

    /** target/ of this module: the parent of target/test-classes. */
    private static Path buildDirectory() throws URISyntaxException {
        Path testClasses = Path.of(StructLayoutTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return testClasses.getParent();
    }

    private static String run(Path dir, String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            fail("cannot run " + command[0] + " (" + e.getMessage() + "): StructLayoutTest needs gcc and the kernel "
                    + "headers; run ./basalt test once (it installs them) or apt-get install gcc linux-libc-dev");
            throw e;
        }
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command[0] + " did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + text);
        return text;
    }

    @Test
    void everyRowMatchesTheHeaders() {
        List<String> mismatches = new ArrayList<>();
        for (Row r : ROWS) {
            Long c = cValues.get(r.name());
            if (c == null || c != r.javaValue()) {
                mismatches.add(r.name() + ": Java " + r.javaValue() + " (0x" + Long.toHexString(r.javaValue())
                        + "), C " + r.cExpression() + " = " + c + (c == null ? "" : " (0x" + Long.toHexString(c) + ")"));
            }
        }
        assertTrue(mismatches.isEmpty(), "ABI mismatches with the installed headers:\n  " + String.join("\n  ", mismatches));
    }

    /** A public constant added to a mirrored class without a row here fails, so the table stays complete. */
    @Test
    void everyConstantIsInTheTable() {
        Set<String> named = new HashSet<>();
        for (Row r : ROWS) named.add(r.name());
        List<String> missing = new ArrayList<>();
        for (Class<?> k : List.of(IoUringAbi.class, Stat.class, Libc.class, Errno.class, SocketAbi.class, UnixSocket.class)) {
            for (Field f : k.getDeclaredFields()) {
                int m = f.getModifiers();
                if (!Modifier.isPublic(m) || !Modifier.isStatic(m) || !Modifier.isFinal(m) || !f.getType().isPrimitive()) continue;
                String name = k.getSimpleName() + "." + f.getName();
                if (!named.contains(name) && !NOT_IN_HEADERS.containsKey(name)) missing.add(name);
            }
        }
        assertTrue(missing.isEmpty(), "constants with no row in StructLayoutTest (add one, or list it in NOT_IN_HEADERS "
                + "with the reason): " + missing);
    }
}
