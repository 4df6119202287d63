package io.basalt.vhost.protocol;

import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Flyweight over one vhost-user message buffer (vhost-user.rst, "Message Specification"):
 *
 * <pre>
 *  0 request u32 | 4 flags u32 | 8 size u32 | 12 payload[size]
 *
 * payloads (offsets from the payload start):
 *  u64                 0 value u64
 *  vring state         0 index u32 | 4 num u32
 *  vring address       0 index u32 | 4 flags u32 | 8 desc u64 | 16 used u64 | 24 avail u64 | 32 log u64
 *  memory regions      0 count u32 | 4 padding u32 | 8 region[count] (32 bytes each)
 *  single region       0 padding u64 | 8 region
 *  region              0 guest address u64 | 8 size u64 | 16 user address u64 | 24 mmap offset u64
 *  config              0 offset u32 | 4 size u32 | 8 flags u32 | 12 payload[size]
 *  inflight            0 mmap size u64 | 8 mmap offset u64 | 16 num queues u16 | 18 queue size u16
 * </pre>
 * Native byte order is little-endian on every platform Basalt runs on; the layouts say so explicitly.
 */
public final class VhostUserMessage {
    public static final int HEADER_SIZE = 12;
    public static final int REQUEST_OFFSET = 0;
    public static final int FLAGS_OFFSET = 4;
    public static final int SIZE_OFFSET = 8;
    /** Largest payload accepted: GET_CONFIG's 12 + 256 bytes and SET_MEM_TABLE's 8 + 8 x 32 fit easily. */
    public static final int PAYLOAD_MAX = 4096;

    public static final int STATE_INDEX_OFFSET = 0, STATE_NUM_OFFSET = 4, STATE_SIZE = 8;
    public static final int ADDR_INDEX_OFFSET = 0, ADDR_FLAGS_OFFSET = 4, ADDR_DESC_OFFSET = 8, ADDR_USED_OFFSET = 16,
            ADDR_AVAIL_OFFSET = 24, ADDR_LOG_OFFSET = 32, ADDR_SIZE = 40;
    public static final int MEMORY_COUNT_OFFSET = 0, MEMORY_REGIONS_OFFSET = 8;
    public static final int SINGLE_REGION_OFFSET = 8, SINGLE_REGION_SIZE = 40;
    public static final int REGION_GUEST_ADDR_OFFSET = 0, REGION_SIZE_OFFSET = 8, REGION_USER_ADDR_OFFSET = 16,
            REGION_MMAP_OFFSET_OFFSET = 24, REGION_SIZE = 32;
    public static final int CONFIG_OFFSET_OFFSET = 0, CONFIG_SIZE_OFFSET = 4, CONFIG_FLAGS_OFFSET = 8,
            CONFIG_PAYLOAD_OFFSET = 12, CONFIG_PAYLOAD_MAX = 256;
    public static final int INFLIGHT_MMAP_SIZE_OFFSET = 0, INFLIGHT_MMAP_OFFSET_OFFSET = 8,
            INFLIGHT_NUM_QUEUES_OFFSET = 16, INFLIGHT_QUEUE_SIZE_OFFSET = 18, INFLIGHT_SIZE = 24;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment buffer;

    public VhostUserMessage(Arena arena) {
        this.buffer = arena.allocate(HEADER_SIZE + PAYLOAD_MAX, 8);
    }

    public MemorySegment buffer() { return buffer; }
    public MemorySegment header() { return buffer.asSlice(0, HEADER_SIZE); }
    public MemorySegment payload() { return buffer.asSlice(HEADER_SIZE, PAYLOAD_MAX); }

    public int request() { return buffer.get(U32, REQUEST_OFFSET); }
    public int flags() { return buffer.get(U32, FLAGS_OFFSET); }
    /** Payload size as sent: hostile until checked against {@link #PAYLOAD_MAX}. */
    public int size() { return buffer.get(U32, SIZE_OFFSET); }
    public boolean needsReply() { return (flags() & VhostUser.FLAG_NEED_REPLY) != 0; }

    /** Total bytes of header plus payload. */
    public int totalBytes() { return HEADER_SIZE + size(); }

    // ---------------------------------------------------------------- payload readers (offsets checked by size())

    public long u64(int offset) {
        checkWithin(offset, 8);
        return buffer.get(U64, HEADER_SIZE + offset);
    }

    public int u32(int offset) {
        checkWithin(offset, 4);
        return buffer.get(U32, HEADER_SIZE + offset);
    }

    public int u16(int offset) {
        checkWithin(offset, 2);
        return Short.toUnsignedInt(buffer.get(U16, HEADER_SIZE + offset));
    }

    public MemorySegment payloadSlice(int offset, int length) {
        checkWithin(offset, length);
        return buffer.asSlice(HEADER_SIZE + offset, length);
    }

    private void checkWithin(int offset, int length) {
        if (offset < 0 || length < 0 || offset + length > size()) {
            throw new ProtocolException(VhostUser.name(request()) + ": payload of " + size()
                    + " bytes is too short for a field at " + offset + " of " + length + " bytes");
        }
    }

    // ---------------------------------------------------------------- writers (replies)

    /** Starts a reply to {@code request} with {@code payloadSize} bytes of payload (zeroed). */
    public VhostUserMessage reply(int request, int payloadSize) {
        Check.that(payloadSize >= 0 && payloadSize <= PAYLOAD_MAX, "reply payload within the buffer", payloadSize);
        buffer.asSlice(0, HEADER_SIZE + payloadSize).fill((byte) 0);
        buffer.set(U32, REQUEST_OFFSET, request);
        buffer.set(U32, FLAGS_OFFSET, VhostUser.VERSION | VhostUser.FLAG_REPLY);
        buffer.set(U32, SIZE_OFFSET, payloadSize);
        return this;
    }

    /** Writes a request header (for the test front-end). */
    public VhostUserMessage request(int request, int flags, int payloadSize) {
        Check.that(payloadSize >= 0 && payloadSize <= PAYLOAD_MAX, "payload within the buffer", payloadSize);
        buffer.asSlice(HEADER_SIZE, payloadSize).fill((byte) 0);
        buffer.set(U32, REQUEST_OFFSET, request);
        buffer.set(U32, FLAGS_OFFSET, flags);
        buffer.set(U32, SIZE_OFFSET, payloadSize);
        return this;
    }

    public VhostUserMessage putU64(int offset, long value) {
        buffer.set(U64, HEADER_SIZE + offset, value);
        return this;
    }

    public VhostUserMessage putU32(int offset, int value) {
        buffer.set(U32, HEADER_SIZE + offset, value);
        return this;
    }

    public VhostUserMessage putU16(int offset, int value) {
        buffer.set(U16, HEADER_SIZE + offset, (short) value);
        return this;
    }

    public VhostUserMessage putBytes(int offset, MemorySegment source) {
        MemorySegment.copy(source, 0, buffer, HEADER_SIZE + offset, source.byteSize());
        return this;
    }
}
