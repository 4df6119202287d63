package io.basalt.nvmeof.tcp;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** One queue pair wired to a fake controller and an in-memory sink, driven as a host would. */
final class Session {
    final FakeHandler handler = new FakeHandler();
    final MemorySink sink = new MemorySink();
    final HostPdus host = new HostPdus();
    final TcpQueuePair queuePair;
    /** 0: whole PDUs; 1: one byte at a time; -1: random fragments. */
    int fragmentBytes;
    final Random random = new Random(42);

    Session(TcpConfig config) {
        queuePair = new TcpQueuePair(handler, sink, config);
    }

    Session() {
        this(TcpConfig.DEFAULT);
    }

    void deliver(byte[] bytes) {
        if (fragmentBytes == 0) {
            queuePair.onBytes(MemorySegment.ofArray(bytes));
            return;
        }
        int at = 0;
        while (at < bytes.length) {
            int n = fragmentBytes > 0 ? fragmentBytes : 1 + random.nextInt(Math.min(bytes.length - at, 200));
            n = Math.min(n, bytes.length - at);
            byte[] piece = java.util.Arrays.copyOfRange(bytes, at, at + n);
            queuePair.onBytes(MemorySegment.ofArray(piece));
            at += n;
        }
    }

    List<ControllerPdus.Pdu> sent() {
        return ControllerPdus.parse(sink.taken());
    }

    ControllerPdus.Pdu only() {
        List<ControllerPdus.Pdu> pdus = sent();
        assertEquals(1, pdus.size(), "one PDU sent");
        return pdus.getFirst();
    }

    /** ICReq with the host's digests, checked ICResp. */
    void negotiate(int hpda) {
        deliver(host.icReq(hpda));
        ControllerPdus.Pdu icResp = only();
        assertEquals(PduFlyweight.TYPE_IC_RESP, icResp.type());
    }

    /** ICReq and a Connect for queue {@code qid} of {@code sqsize + 1} entries, answered with success. */
    void connect(int qid, int sqsize, int cattr) {
        negotiate(0);
        deliver(host.capsule(HostPdus.connect(0, qid, sqsize, cattr), new byte[1024]));
        ControllerPdus.Pdu resp = only();
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, resp.type());
        assertEquals(0, resp.status());
    }
}
