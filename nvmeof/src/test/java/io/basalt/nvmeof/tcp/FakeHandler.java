package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.QueueHandler;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A controller stand-in: records each command (SQE and data copied), and answers at once unless
 * {@code autoComplete} is off. A read is answered with {@link #readData} bytes of a pattern seeded by its CID.
 */
final class FakeHandler implements QueueHandler {
    record Executed(byte[] sqe, byte[] data, long dataAddress, long dataSize, long tag, MemorySegment buffer) {
        int cid() { return (sqe[2] & 0xff) | (sqe[3] & 0xff) << 8; }
        int opcode() { return sqe[0] & 0xff; }
    }

    final List<Executed> executed = new ArrayList<>();
    final List<Executed> pending = new ArrayList<>();
    Responses responses;
    boolean autoComplete = true;
    boolean flowControlDisabled;
    int status;
    long readDataOverride = -1;
    int disconnected;

    @Override
    public void execute(MemorySegment sqe, MemorySegment data, long tag, Responses responses) {
        this.responses = responses;
        byte[] copy = data.equals(MemorySegment.NULL) ? null : data.toArray(ValueLayout.JAVA_BYTE);
        Executed e = new Executed(sqe.toArray(ValueLayout.JAVA_BYTE), copy, data.address(), data.byteSize(), tag, data);
        executed.add(e);
        if (autoComplete) answer(e);
        else pending.add(e);
    }

    long readData(Executed e) {
        return readDataOverride >= 0 ? Math.min(readDataOverride, e.dataSize()) : e.dataSize();
    }

    void answer(Executed e) {
        long dataBytes = 0;
        if ((e.opcode() & 0b11) == Sqe.DIRECTION_CONTROLLER_TO_HOST && e.dataSize() > 0) {
            dataBytes = readData(e);
            MemorySegment.copy(HostPdus.pattern((int) dataBytes, e.cid()), 0, e.buffer(), ValueLayout.JAVA_BYTE, 0,
                    (int) dataBytes);
        }
        responses.complete(e.tag(), dataBytes, 0x1234, 0, status);
    }

    void answerPending() {
        List<Executed> now = new ArrayList<>(pending);
        pending.clear();
        for (Executed e : now) answer(e);
    }

    @Override
    public boolean sqFlowControlDisabled() {
        return flowControlDisabled;
    }

    @Override
    public void disconnected() {
        disconnected++;
    }
}
