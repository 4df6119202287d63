package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.ByteSink;
import io.basalt.nvmeof.QueueHandler;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The steady path allocates nothing per command: 4 KiB writes (in-capsule and by R2T) and reads. */
class TcpAllocationTest {
    private static final int COMMANDS = 20_000;

    /** Acknowledges every send at once and keeps nothing. */
    private static final class DiscardSink implements ByteSink {
        long bytes;

        @Override
        public boolean send(MemorySegment segment, long token, Sent done) {
            bytes += segment.byteSize();
            done.sent(token, 0);
            return true;
        }

        @Override
        public void close(boolean now) {}
    }

    /** Answers at once; remembers the R2T-ready state only through the transport. */
    private static final class ImmediateHandler implements QueueHandler {
        long executed;

        @Override
        public void execute(MemorySegment sqe, MemorySegment data, long tag, Responses responses) {
            executed++;
            responses.complete(tag, (sqe.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0) & 3) == 2 ? data.byteSize() : 0, 0, 0, 0);
        }

        @Override
        public boolean sqFlowControlDisabled() {
            return false;
        }

        @Override
        public void disconnected() {}
    }

    private static MemorySegment offHeap(Arena arena, byte[] bytes) {
        MemorySegment segment = arena.allocate(bytes.length);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, segment, 0, bytes.length);
        return segment;
    }

    @Test
    void steadyCommandsAllocateNothing() {
        ImmediateHandler handler = new ImmediateHandler();
        TcpQueuePair queuePair = new TcpQueuePair(handler, new DiscardSink(), TcpConfig.DEFAULT);
        HostPdus host = new HostPdus();
        host.headerDigest = true;
        host.dataDigest = true;
        try (Arena arena = Arena.ofConfined()) {
            queuePair.onBytes(offHeap(arena, host.icReq(0)));
            queuePair.onBytes(offHeap(arena, host.capsule(HostPdus.connect(0, 1, 127, 0), new byte[1024])));
            MemorySegment write = offHeap(arena, host.capsule(HostPdus.write(1, 4096, true), new byte[4096]));
            MemorySegment read = offHeap(arena, host.capsule(HostPdus.read(2, 4096), new byte[0]));
            MemorySegment r2tWrite = offHeap(arena, host.capsule(HostPdus.write(3, 4096, false), new byte[0]));
            MemorySegment h2cData = offHeap(arena, host.h2cData(3, 0, 0, new byte[4096], true));  // slot 0 is free again
            Runnable round = () -> {
                queuePair.onBytes(write);
                queuePair.onBytes(read);
                queuePair.onBytes(r2tWrite);
                queuePair.onBytes(h2cData);
            };
            for (int i = 0; i < COMMANDS; i++) round.run();  // warm up: pools filled, code compiled
            com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < COMMANDS; i++) round.run();
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            assertTrue(allocated / (3.0 * COMMANDS) < 8, "bytes allocated per command: " + allocated / (3.0 * COMMANDS));
        }
        assertEquals(1 + 2L * 3 * COMMANDS, handler.executed);
        assertEquals(0, queuePair.buffersInUse());
    }
}
