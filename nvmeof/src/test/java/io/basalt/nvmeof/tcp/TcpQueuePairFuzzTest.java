package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.QueueHandler;
import io.basalt.nvmeof.tcp.ControllerPdus.Pdu;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile hosts: sessions of valid, mutated and random PDUs (truncated, oversized lengths, bad types, digest
 * lies, H2CData out of order, beyond the command or for unknown tags), delivered in random fragments, with a
 * controller that answers now or later and a sink that acknowledges late or refuses. Whatever arrives: no
 * exception escapes, what is sent parses (lengths, digests), a fatal error ends with one C2HTermReq and one
 * graceful close, and once the connection is gone the handler heard it once and every buffer is back.
 */
class TcpQueuePairFuzzTest {
    private static final int PDUS_MIN = 100_000;
    private static final int STEPS_PER_SESSION_MAX = 300;
    private static final TcpConfig CONFIG = new TcpConfig(16, 16 * 1024, 8 * 1024, 64 * 1024, 8192, 256 * 1024);

    /** A controller that answers each command now or later, with random data counts and statuses. */
    private static final class RandomHandler implements QueueHandler {
        final Random random;
        final List<long[]> pending = new ArrayList<>();  // tag, dataBytes
        Responses responses;
        int disconnected;
        boolean flowControlDisabled;

        RandomHandler(Random random) {
            this.random = random;
        }

        @Override
        public void execute(MemorySegment sqe, MemorySegment data, long tag, Responses responses) {
            this.responses = responses;
            long dataBytes = data.byteSize() == 0 ? 0 : random.nextInt(4) == 0 ? random.nextLong(data.byteSize() + 1) : data.byteSize();
            if (random.nextBoolean()) answer(tag, dataBytes);
            else pending.add(new long[] {tag, dataBytes});
        }

        void answer(long tag, long dataBytes) {
            responses.complete(tag, dataBytes, 0, 0, random.nextInt(8) == 0 ? 0x0281 : 0);
        }

        void answerSome() {
            for (int i = pending.size() - 1; i >= 0; i--) {
                if (random.nextInt(3) == 0) {
                    long[] p = pending.remove(i);
                    answer(p[0], p[1]);
                }
            }
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

    private record R2t(int cid, int ttag, long end, long[] next) {}

    private static final class FuzzSession {
        final Random random;
        final RandomHandler handler;
        final MemorySink sink = new MemorySink();
        final HostPdus host = new HostPdus();
        final TcpQueuePair queuePair;
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final List<R2t> r2ts = new ArrayList<>();
        int parsedBytes;
        final StringBuilder types = new StringBuilder();
        Pdu lastPdu;
        int cid;
        long pdus;
        long r2tCount;

        FuzzSession(long seed) {
            random = new Random(seed);
            handler = new RandomHandler(random);
            handler.flowControlDisabled = random.nextBoolean();
            sink.deferAcks = random.nextBoolean();
            queuePair = new TcpQueuePair(handler, sink, CONFIG);
            host.headerDigest = random.nextBoolean();
            host.dataDigest = random.nextBoolean();
        }

        void run() {
            deliver(random.nextInt(20) == 0 ? mutate(host.icReq(random.nextInt(32))) : host.icReq(random.nextInt(4) == 0 ? random.nextInt(32) : 0));
            deliver(host.capsule(HostPdus.connect(cid++, random.nextInt(2), 15, random.nextBoolean() ? 4 : 0), new byte[1024]));
            int steps = 1 + random.nextInt(STEPS_PER_SESSION_MAX);
            for (int step = 0; step < steps && !queuePair.isClosed(); step++) {
                byte[] pdu = nextPdu();
                deliver(random.nextInt(30) == 0 ? mutate(pdu) : pdu);
                if (random.nextInt(4) == 0) handler.answerSome();
                if (random.nextInt(3) == 0) sink.ackAll();
                if (random.nextInt(50) == 0) sink.refuseNext = 1 + random.nextInt(3);
            }
            finish();
        }

        byte[] nextPdu() {
            int dice = random.nextInt(1000);
            if (!r2ts.isEmpty() && dice < 350) return h2cData();
            if (!r2ts.isEmpty() && dice < 370) return badH2cData();
            if (dice < 550) {
                int bytes = random.nextInt(3) == 0 ? 0 : 1 + random.nextInt(32 * 1024);
                return host.capsule(HostPdus.read(cid++ & 0xffff, bytes), new byte[0]);
            }
            if (dice < 700) {
                int bytes = random.nextInt(8193);
                return host.capsule(HostPdus.write(cid++ & 0xffff, bytes, true), new byte[bytes]);
            }
            if (dice < 850) return host.capsule(HostPdus.write(cid++ & 0xffff, 1 + random.nextInt(64 * 1024), false), new byte[0]);
            if (dice < 930) {
                byte[] sqe = HostPdus.sqe(random.nextInt(256), cid++ & 0xffff, random.nextInt(80 * 1024), random.nextInt(256));
                return host.capsule(sqe, new byte[random.nextInt(3) == 0 ? 16 : 0]);
            }
            if (dice < 945) return h2cDataAnywhere();
            if (dice < 985) return host.capsule(HostPdus.sqe(HostPdus.OPCODE_FLUSH, cid++ & 0xffff, 0, 0), new byte[0]);
            if (dice < 987) return HostPdus.h2cTermReq(1);
            return garbage();
        }

        /** An H2CData for an outstanding R2T that breaks one rule: offset, range, length, LAST, CID. */
        byte[] badH2cData() {
            R2t r2t = r2ts.get(random.nextInt(r2ts.size()));
            long offset = r2t.next()[0];
            int length = (int) Math.min(r2t.end() - offset, 1 + random.nextInt(16 * 1024));
            boolean last = offset + length == r2t.end();
            return switch (random.nextInt(5)) {
                case 0 -> host.h2cData(r2t.cid(), r2t.ttag(), offset + 4, new byte[length], last);
                case 1 -> host.h2cData(r2t.cid(), r2t.ttag(), r2t.end() + random.nextInt(100_000), new byte[length], last);
                case 2 -> host.h2cData(r2t.cid(), r2t.ttag(), offset, new byte[(int) (r2t.end() - offset) + 4], true);
                case 3 -> host.h2cData(r2t.cid(), r2t.ttag(), offset, new byte[length], !last);
                default -> host.h2cData(r2t.cid() ^ 1, r2t.ttag(), offset, new byte[length], last);
            };
        }

        /** The next piece of an outstanding R2T, as a host would send it (the piece size is the host's choice). */
        byte[] h2cData() {
            R2t r2t = r2ts.get(random.nextInt(r2ts.size()));
            long offset = r2t.next()[0];
            int length = (int) Math.min(r2t.end() - offset, 1 + random.nextInt(16 * 1024));
            r2t.next()[0] += length;
            if (r2t.next()[0] == r2t.end()) r2ts.remove(r2t);
            return host.h2cData(r2t.cid(), r2t.ttag(), offset, new byte[length], offset + length == r2t.end());
        }

        byte[] h2cDataAnywhere() {
            int length = random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(20 * 1024);
            return host.h2cData(random.nextInt(40), random.nextInt(40), random.nextInt(70 * 1024), new byte[length], random.nextBoolean());
        }

        byte[] garbage() {
            byte[] junk = new byte[random.nextInt(200)];
            random.nextBytes(junk);
            return junk;
        }

        byte[] mutate(byte[] pdu) {
            if (pdu.length < PduFlyweight.COMMON_HEADER_BYTES) return pdu;  // garbage already
            byte[] m = pdu.clone();
            ByteBuffer le = ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN);
            switch (random.nextInt(9)) {
                case 0 -> m[random.nextInt(Math.min(m.length, 80))] ^= (byte) (1 << random.nextInt(8));
                case 1 -> m[0] = (byte) random.nextInt(16);
                case 2 -> m[2] = (byte) random.nextInt(256);
                case 3 -> le.putInt(4, random.nextBoolean() ? random.nextInt() : m.length + random.nextInt(64) - 32);
                case 4 -> m = Arrays.copyOf(m, random.nextInt(m.length + 1));  // truncated
                case 5 -> m = Arrays.copyOf(m, m.length + 1 + random.nextInt(100));  // trailing junk
                case 6 -> m[m.length - 1] ^= 0x5a;  // a data (or header) digest lie
                case 7 -> m[3] = (byte) random.nextInt(256);  // PDO
                default -> m[1] = (byte) random.nextInt(16);  // flags
            }
            return m;
        }

        void deliver(byte[] bytes) {
            pdus++;
            int at = 0;
            while (at < bytes.length) {
                int n = switch (random.nextInt(4)) {
                    case 0 -> 1;
                    case 1 -> 1 + random.nextInt(16);
                    default -> bytes.length - at;
                };
                n = Math.min(n, bytes.length - at);
                if (random.nextBoolean()) {
                    queuePair.onBytes(MemorySegment.ofArray(Arrays.copyOfRange(bytes, at, at + n)));
                } else {
                    try (Arena arena = Arena.ofConfined()) {  // off-heap, exactly the received bytes
                        MemorySegment segment = arena.allocate(n);
                        MemorySegment.copy(MemorySegment.ofArray(bytes), at, segment, 0, n);
                        queuePair.onBytes(segment);
                    }
                }
                at += n;
            }
            collect();
        }

        /** Parses what the controller sent so far; R2Ts become work for the host. */
        void collect() {
            received.writeBytes(sink.taken());
            byte[] all = received.toByteArray();
            while (all.length - parsedBytes >= 8) {
                int plen = ByteBuffer.wrap(all, parsedBytes + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
                if (all.length - parsedBytes < plen) break;
                Pdu pdu = ControllerPdus.parse(Arrays.copyOfRange(all, parsedBytes, parsedBytes + plen)).getFirst();
                if (pdu.type() == PduFlyweight.TYPE_R2T) {
                    r2tCount++;
                    long offset = pdu.u32(R2tPdu.R2TO_OFFSET);
                    r2ts.add(new R2t(pdu.u16(R2tPdu.CCCID_OFFSET), pdu.u16(R2tPdu.TTAG_OFFSET),
                            offset + pdu.u32(R2tPdu.R2TL_OFFSET), new long[] {offset}));
                }
                lastPdu = pdu;
                types.append(pdu.type()).append(pdu.type() == PduFlyweight.TYPE_C2H_TERM_REQ ? "!" : "").append(' ');
                parsedBytes += plen;
            }
        }

        void finish() {
            sink.ackUntilQuiet();
            collect();
            assertEquals(received.size(), parsedBytes, "the controller sent whole PDUs only");
            boolean fatal = queuePair.lastFatalErrorStatus() != 0;
            if (fatal) {
                assertEquals(PduFlyweight.TYPE_C2H_TERM_REQ, lastPdu.type(), "a fatal error ends with C2HTermReq: " + types);
                assertEquals(queuePair.lastFatalErrorStatus(), lastPdu.u16(TermReqPdu.FES_OFFSET));
                assertEquals(1, sink.closeCalls, "one graceful close after it");
                assertFalse(sink.closedNow);
                assertFalse(sink.sendAfterClose, "nothing sent after the close");
            }
            if (!queuePair.isClosed()) queuePair.connectionClosed();
            handler.answerSome();  // late answers after the end are ignored
            assertEquals(1, handler.disconnected);
            assertEquals(0, queuePair.buffersInUse(), "every buffer back");
            assertEquals(0, queuePair.commandsActive());
        }
    }

    @Test
    void hostileHostsNeverBreakTheTransport() {
        long pdus = 0;
        long fatal = 0;
        long executed = 0;
        long digestErrors = 0;
        long r2tWrites = 0;
        long[] fesCounts = new long[8];
        for (long seed = 1; pdus < PDUS_MIN; seed++) {
            FuzzSession session = new FuzzSession(seed);
            try {
                session.run();
            } catch (RuntimeException | AssertionError e) {
                throw new AssertionError("seed " + seed + ": " + e, e);
            }
            pdus += session.pdus;
            executed += session.queuePair.commandsExecuted();
            if (session.queuePair.lastFatalErrorStatus() != 0) fatal++;
            fesCounts[session.queuePair.lastFatalErrorStatus()]++;
            digestErrors += session.queuePair.dataDigestErrors();
            r2tWrites += session.r2tCount;
        }
        assertTrue(pdus >= PDUS_MIN);
        for (int fes = TermReqPdu.FES_INVALID_PDU_HEADER_FIELD; fes <= TermReqPdu.FES_DATA_TRANSFER_LIMIT_EXCEEDED; fes++) {
            assertTrue(fesCounts[fes] > 0, "sessions ended with FES " + fes + ": " + Arrays.toString(fesCounts));
        }
        assertTrue(fesCounts[0] > 100, "sessions that ran to their end: " + fesCounts[0]);
        assertTrue(digestErrors > 0, "data digest errors survived: " + digestErrors);
        assertTrue(r2tWrites > 1000, "R2Ts answered: " + r2tWrites);
        assertTrue(fatal > 100, "sessions ended by a fatal error: " + fatal);
        assertTrue(executed > 10_000, "commands executed: " + executed);
    }
}
