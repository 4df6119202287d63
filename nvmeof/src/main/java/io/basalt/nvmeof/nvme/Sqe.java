package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Flyweight over a 64-byte submission queue entry (NVMe base 2.0, figure 88 "Common Command Format"; Linux
 * {@code struct nvme_common_command}). All fields little endian. Static accessors so that reading a command
 * allocates nothing.
 * <pre>
 *  0       1       2               4                               8
 *  +-------+-------+---------------+-------------------------------+
 *  |opcode | flags |  command id   |             nsid              |
 *  +-------+-------+---------------+-------------------------------+
 *  8: cdw2, 12: cdw3, 16: metadata pointer (8 bytes), 24: data pointer / SGL1 (16 bytes)
 *  40: cdw10  44: cdw11  48: cdw12  52: cdw13  56: cdw14  60: cdw15
 * </pre>
 */
public final class Sqe {
    private Sqe() {}

    public static final int SIZE = 64;
    public static final int OPCODE_OFFSET = 0;
    public static final int FLAGS_OFFSET = 1;
    public static final int COMMAND_ID_OFFSET = 2;
    public static final int NSID_OFFSET = 4;
    public static final int CDW2_OFFSET = 8;
    public static final int CDW3_OFFSET = 12;
    public static final int METADATA_OFFSET = 16;
    public static final int DPTR_OFFSET = 24;
    public static final int DPTR_BYTES = 16;
    public static final int CDW10_OFFSET = 40;
    public static final int CDW11_OFFSET = 44;
    public static final int CDW12_OFFSET = 48;
    public static final int CDW13_OFFSET = 52;
    public static final int CDW14_OFFSET = 56;
    public static final int CDW15_OFFSET = 60;

    /** The broadcast namespace id (all namespaces). */
    public static final int NSID_ALL = 0xFFFF_FFFF;

    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static int opcode(MemorySegment sqe) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, OPCODE_OFFSET));
    }

    public static int flags(MemorySegment sqe) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, FLAGS_OFFSET));
    }

    public static int commandId(MemorySegment sqe) {
        return Short.toUnsignedInt(sqe.get(U16, COMMAND_ID_OFFSET));
    }

    public static int nsid(MemorySegment sqe) {
        return sqe.get(U32, NSID_OFFSET);
    }

    /** Command dword {@code n} (2..15) as an unsigned-in-spirit int. */
    public static int cdw(MemorySegment sqe, int n) {
        return sqe.get(U32, dwordOffset(n));
    }

    public static int dwordOffset(int n) {
        if (n < 2 || n > 15) throw new IllegalArgumentException("command dword " + n + " is not in 2..15");
        return n * Integer.BYTES;
    }

    public static int u8(MemorySegment sqe, long offset) {
        return Byte.toUnsignedInt(sqe.get(ValueLayout.JAVA_BYTE, offset));
    }

    public static int u16(MemorySegment sqe, long offset) {
        return Short.toUnsignedInt(sqe.get(U16, offset));
    }

    public static int u32(MemorySegment sqe, long offset) {
        return sqe.get(U32, offset);
    }

    public static long u64(MemorySegment sqe, long offset) {
        return sqe.get(U64, offset);
    }

    // ---------------------------------------------------------------- writers (tests, the transport's own use)

    public static void putU8(MemorySegment sqe, long offset, int value) {
        sqe.set(ValueLayout.JAVA_BYTE, offset, (byte) value);
    }

    public static void putU16(MemorySegment sqe, long offset, int value) {
        sqe.set(U16, offset, (short) value);
    }

    public static void putU32(MemorySegment sqe, long offset, int value) {
        sqe.set(U32, offset, value);
    }

    public static void putU64(MemorySegment sqe, long offset, long value) {
        sqe.set(U64, offset, value);
    }
}
