package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.tcp.ControllerPdus.Pdu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The transport's normal paths, against a fake controller and an in-memory sink. */
class TcpQueuePairTest {
    private static final int KIB = 1024;

    @Test
    void icReqWithoutDigestsGetsIcResp() {
        Session s = new Session();
        s.deliver(HostPdus.icReq(0, 0, 0));
        Pdu resp = s.only();
        assertEquals(PduFlyweight.TYPE_IC_RESP, resp.type());
        assertEquals(IcRespPdu.BYTES, resp.hlen());
        assertEquals(IcRespPdu.BYTES, resp.plen());
        assertEquals(0, resp.pdo());
        assertEquals(0, resp.u16(IcRespPdu.PFV_OFFSET));
        assertEquals(0, resp.bytes()[IcRespPdu.CPDA_OFFSET]);
        assertEquals(0, resp.bytes()[IcRespPdu.DIGEST_OFFSET]);
        long maxH2cData = resp.u32(IcRespPdu.MAXH2CDATA_OFFSET);
        assertEquals(128 * KIB, maxH2cData);
        assertTrue(maxH2cData >= 4096 && maxH2cData % 4 == 0);
        assertFalse(s.queuePair.headerDigest() || s.queuePair.dataDigest());
        assertFalse(s.queuePair.isClosed());
    }

    @Test
    void icReqWithDigestsTurnsThemOnBothWays() {
        Session s = new Session();
        s.host.headerDigest = true;
        s.host.dataDigest = true;
        s.deliver(s.host.icReq(0));
        Pdu resp = s.only();
        assertEquals(IcReqPdu.DIGEST_HEADER | IcReqPdu.DIGEST_DATA, resp.bytes()[IcRespPdu.DIGEST_OFFSET]);
        assertTrue(s.queuePair.headerDigest() && s.queuePair.dataDigest());
        s.deliver(s.host.capsule(HostPdus.connect(7, 0, 31, 0), HostPdus.pattern(1024, 1)));
        s.deliver(s.host.capsule(HostPdus.read(8, 8 * KIB), new byte[0]));
        List<Pdu> pdus = s.sent();  // ControllerPdus checks every digest
        assertEquals(List.of(PduFlyweight.TYPE_CAPSULE_RESP, PduFlyweight.TYPE_C2H_DATA, PduFlyweight.TYPE_CAPSULE_RESP),
                pdus.stream().map(Pdu::type).toList());
        for (Pdu p : pdus) assertTrue(p.has(PduFlyweight.FLAG_HDGST), "header digest on every PDU");
        assertTrue(pdus.get(1).has(PduFlyweight.FLAG_DDGST));
        assertEquals(DataPdu.BYTES + 4, pdus.get(1).pdo());
        assertArrayEquals(HostPdus.pattern(8 * KIB, 8), pdus.get(1).data());
        assertArrayEquals(HostPdus.pattern(1024, 1), s.handler.executed.getFirst().data());
    }

    @Test
    void adminConnectCarriesItsDataInCapsule() {
        Session s = new Session();
        s.negotiate(0);
        byte[] connectData = HostPdus.pattern(1024, 3);
        s.deliver(s.host.capsule(HostPdus.connect(0x2a, 0, 31, 0), connectData));
        FakeHandler.Executed e = s.handler.executed.getFirst();
        assertEquals(Sqe.OPCODE_FABRICS, e.opcode());
        assertArrayEquals(connectData, e.data());
        assertEquals(0, e.dataAddress() % 4096, "data buffers are 4 KiB aligned");
        Pdu resp = s.only();
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, resp.type());
        assertEquals(CapsuleRespPdu.BYTES, resp.plen());
        assertEquals(0x2a, resp.cid());
        assertEquals(0, resp.status());
        assertEquals(0, resp.bytes()[CapsuleRespPdu.STATUS_OFFSET] & 1, "phase 0");
        assertEquals(0x1234, resp.u32(CapsuleRespPdu.DW0_OFFSET));
        assertEquals(0, resp.u16(CapsuleRespPdu.SQID_OFFSET));
        assertEquals(1, resp.u16(CapsuleRespPdu.SQHD_OFFSET), "SQ head after one command of 32");
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void adminQueueTakesEightKibInCapsuleWhateverTheIoLimit() {
        Session s = new Session(new TcpConfig(128, 128 * KIB, 128 * KIB, 1024 * KIB, 0, 32L << 20));
        s.connect(0, 31, 0);
        byte[] data = HostPdus.pattern(8 * KIB, 4);
        s.deliver(s.host.capsule(HostPdus.sqe(0x09, 1, 8 * KIB, Sqe.SGL_IN_CAPSULE), data));  // Set Features
        assertArrayEquals(data, s.handler.executed.get(1).data());
        assertEquals(0, s.only().status());
    }

    @Test
    void writeInCapsuleOnAnIoQueue() {
        Session s = new Session();
        s.connect(1, 127, 0);
        byte[] data = HostPdus.pattern(4096, 5);
        s.deliver(s.host.capsule(HostPdus.write(9, 4096, true), data));
        FakeHandler.Executed e = s.handler.executed.get(1);
        assertArrayEquals(data, e.data());
        Pdu resp = s.only();
        assertEquals(9, resp.cid());
        assertEquals(1, resp.u16(CapsuleRespPdu.SQID_OFFSET));
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, -1})
    void largeWriteTakesSeveralR2tsEachAnsweredInPieces(int fragmentBytes) {
        Session s = new Session();
        s.fragmentBytes = fragmentBytes;
        s.host.dataDigest = true;
        s.connect(1, 127, 0);
        int total = 512 * KIB + 4096;  // five R2Ts: four of MAXH2CDATA and a short one
        byte[] data = HostPdus.pattern(total, 6);
        s.deliver(s.host.capsule(HostPdus.write(5, total, false), new byte[0]));
        int offset = 0;
        int r2ts = 0;
        while (offset < total) {
            Pdu r2t = s.only();
            assertEquals(PduFlyweight.TYPE_R2T, r2t.type());
            assertEquals(5, r2t.u16(R2tPdu.CCCID_OFFSET));
            assertEquals(offset, r2t.u32(R2tPdu.R2TO_OFFSET));
            long length = r2t.u32(R2tPdu.R2TL_OFFSET);
            assertTrue(length <= 128 * KIB);
            int ttag = r2t.u16(R2tPdu.TTAG_OFFSET);
            for (int piece = 0; piece < length; piece += 32 * KIB) {  // the newer Linux host splits at its own size
                int n = (int) Math.min(32 * KIB, length - piece);
                boolean last = piece + n == length;
                s.deliver(s.host.h2cData(5, ttag, offset + piece, Arrays.copyOfRange(data, offset + piece, offset + piece + n), last));
            }
            offset += (int) length;
            r2ts++;
        }
        assertEquals(5, r2ts);
        assertArrayEquals(data, s.handler.executed.get(1).data());
        assertEquals(0, s.only().status());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void paddedDataAfterTheHeaderIsSkipped() {
        Session s = new Session();
        s.host.headerDigest = true;
        s.host.dataDigest = true;
        s.connect(1, 127, 0);
        s.host.padBytes = 24;
        s.fragmentBytes = -1;
        byte[] data = HostPdus.pattern(4096, 12);
        s.deliver(s.host.capsule(HostPdus.write(1, data.length, true), data));
        assertArrayEquals(data, s.handler.executed.get(1).data());
        assertEquals(0, s.only().status());
        s.deliver(s.host.capsule(HostPdus.write(2, data.length, false), new byte[0]));
        s.deliver(s.host.h2cData(2, s.only().u16(R2tPdu.TTAG_OFFSET), 0, data, true));
        assertArrayEquals(data, s.handler.executed.get(2).data());
        assertEquals(0, s.only().status());
    }

    @Test
    void theNextR2tWaitsUntilTheSinkHasSentThePreviousOne() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.sink.deferAcks = true;
        byte[] data = HostPdus.pattern(256 * KIB, 13);
        s.deliver(s.host.capsule(HostPdus.write(4, data.length, false), new byte[0]));
        Pdu first = s.only();
        s.deliver(s.host.h2cData(4, first.u16(R2tPdu.TTAG_OFFSET), 0, Arrays.copyOf(data, 128 * KIB), true));
        assertEquals(0, s.sink.taken().length, "the first R2T's memory is still the sink's");
        s.sink.ackAll();
        Pdu second = s.only();
        assertEquals(128 * KIB, second.u32(R2tPdu.R2TO_OFFSET));
        s.deliver(s.host.h2cData(4, second.u16(R2tPdu.TTAG_OFFSET), 128 * KIB, Arrays.copyOfRange(data, 128 * KIB, data.length), true));
        assertArrayEquals(data, s.handler.executed.get(1).data());
        s.sink.ackUntilQuiet();
        assertEquals(0, s.only().status());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void oneH2cDataForAWholeR2tAsOlderHostsSend() {
        Session s = new Session();
        s.connect(1, 127, 0);
        byte[] data = HostPdus.pattern(64 * KIB, 7);
        s.deliver(s.host.capsule(HostPdus.write(3, data.length, false), new byte[0]));
        Pdu r2t = s.only();
        assertEquals(64 * KIB, r2t.u32(R2tPdu.R2TL_OFFSET));
        s.deliver(s.host.h2cData(3, r2t.u16(R2tPdu.TTAG_OFFSET), 0, data, true));
        assertArrayEquals(data, s.handler.executed.get(1).data());
        assertEquals(0, s.only().status());
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 7, 31})
    void readIsSplitIntoC2hDataThenAResponse(int hpda) {
        Session s = new Session();
        s.host.headerDigest = hpda == 7;
        s.host.dataDigest = hpda == 7;
        s.negotiate(hpda);
        int total = 300 * KIB;
        s.deliver(s.host.capsule(HostPdus.read(11, total), new byte[0]));
        List<Pdu> pdus = s.sent();
        assertEquals(4, pdus.size());
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        int alignBytes = (hpda + 1) * 4;
        for (int i = 0; i < 3; i++) {
            Pdu c2h = pdus.get(i);
            assertEquals(PduFlyweight.TYPE_C2H_DATA, c2h.type());
            assertEquals(0, c2h.pdo() % alignBytes, "PDO honours HPDA");
            assertTrue(c2h.pdo() >= DataPdu.BYTES);
            assertEquals(11, c2h.u16(DataPdu.CCCID_OFFSET));
            assertEquals(all.size(), c2h.u32(DataPdu.DATAO_OFFSET));
            assertEquals(c2h.data().length, c2h.u32(DataPdu.DATAL_OFFSET));
            assertEquals(i == 2, c2h.has(PduFlyweight.FLAG_DATA_LAST));
            assertFalse(c2h.has(PduFlyweight.FLAG_DATA_SUCCESS));
            all.writeBytes(c2h.data());
        }
        assertArrayEquals(HostPdus.pattern(total, 11), all.toByteArray());
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, pdus.get(3).type());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void successFlagReplacesTheResponseOnlyWithFlowControlOffAndStatusZero() {
        Session s = new Session();
        s.connect(1, 127, 0x04);
        s.handler.flowControlDisabled = true;
        s.deliver(s.host.capsule(HostPdus.read(1, 4096), new byte[0]));
        Pdu only = s.only();
        assertEquals(PduFlyweight.TYPE_C2H_DATA, only.type());
        assertTrue(only.has(PduFlyweight.FLAG_DATA_LAST) && only.has(PduFlyweight.FLAG_DATA_SUCCESS));

        s.handler.status = 0x0281;  // Unrecovered Read Error (media errors, SCT 2)
        s.deliver(s.host.capsule(HostPdus.read(2, 4096), new byte[0]));
        List<Pdu> pdus = s.sent();
        assertFalse(pdus.getFirst().has(PduFlyweight.FLAG_DATA_SUCCESS));
        assertEquals(0x0281, pdus.get(1).status());

        s.handler.status = 0;
        s.handler.flowControlDisabled = false;
        s.deliver(s.host.capsule(HostPdus.read(3, 4096), new byte[0]));
        pdus = s.sent();
        assertFalse(pdus.getFirst().has(PduFlyweight.FLAG_DATA_SUCCESS));
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, pdus.get(1).type());
    }

    @Test
    void aShortReadSendsOnlyWhatTheHandlerFilled() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.handler.readDataOverride = 100;
        s.deliver(s.host.capsule(HostPdus.sqe(HostPdus.OPCODE_IDENTIFY, 4, 4096, Sqe.SGL_TRANSPORT_DATA_BLOCK), new byte[0]));
        List<Pdu> pdus = s.sent();
        assertEquals(100, pdus.getFirst().data().length);
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, pdus.get(1).type());
    }

    @Test
    void aCommandWithoutDataGetsNoBuffer() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.deliver(s.host.capsule(HostPdus.sqe(HostPdus.OPCODE_FLUSH, 6, 0, Sqe.SGL_TRANSPORT_DATA_BLOCK), new byte[0]));
        assertNull(s.handler.executed.get(1).data());
        assertEquals(6, s.only().cid());
    }

    @Test
    void wholeSessionOneByteAtATimeWithDigests() {
        Session s = new Session();
        s.fragmentBytes = 1;
        s.host.headerDigest = true;
        s.host.dataDigest = true;
        s.connect(1, 15, 0);
        byte[] small = HostPdus.pattern(8 * KIB, 1);
        s.deliver(s.host.capsule(HostPdus.write(1, small.length, true), small));
        s.deliver(s.host.capsule(HostPdus.write(2, 12 * KIB, false), new byte[0]));
        List<Pdu> pdus = s.sent();
        assertEquals(0, pdus.get(0).status());
        Pdu r2t = pdus.get(1);
        byte[] big = HostPdus.pattern(12 * KIB, 2);
        s.deliver(s.host.h2cData(2, r2t.u16(R2tPdu.TTAG_OFFSET), 0, big, true));
        s.deliver(s.host.capsule(HostPdus.read(3, 8 * KIB), new byte[0]));
        pdus = s.sent();
        assertEquals(List.of(PduFlyweight.TYPE_CAPSULE_RESP, PduFlyweight.TYPE_C2H_DATA, PduFlyweight.TYPE_CAPSULE_RESP),
                pdus.stream().map(Pdu::type).toList());
        assertArrayEquals(small, s.handler.executed.get(1).data());
        assertArrayEquals(big, s.handler.executed.get(2).data());
        assertArrayEquals(HostPdus.pattern(8 * KIB, 3), pdus.get(1).data());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void answersLaterAndSendsLaterKeepOrderAndFreeEverything() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.handler.autoComplete = false;
        s.sink.deferAcks = true;
        for (int cid = 1; cid <= 20; cid++) s.deliver(s.host.capsule(HostPdus.read(cid, 16 * KIB), new byte[0]));
        assertEquals(20, s.queuePair.commandsActive());
        s.handler.answer(s.handler.pending.removeFirst());  // its PDUs sit in the sink, unacknowledged
        s.sink.refuseNext = 1;  // the sink is full: everything after waits in the transport, in order
        s.handler.answerPending();
        assertEquals(0, s.queuePair.commandsActive());
        assertTrue(s.queuePair.buffersInUse() > 0, "read buffers are held until their C2HData is sent");
        s.sink.ackUntilQuiet();
        List<Pdu> pdus = s.sent();
        assertEquals(40, pdus.size());
        for (int cid = 1; cid <= 20; cid++) {
            assertArrayEquals(HostPdus.pattern(16 * KIB, cid), pdus.get(2 * (cid - 1)).data());
            assertEquals(cid, pdus.get(2 * cid - 1).cid());
        }
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void steadyStateReusesBuffers() {
        Session s = new Session();
        s.connect(1, 127, 0);
        for (int i = 0; i < 2000; i++) {
            int cid = i & 0xff;
            if (i % 2 == 0) s.deliver(s.host.capsule(HostPdus.write(cid, 4096, true), HostPdus.pattern(4096, i)));
            else s.deliver(s.host.capsule(HostPdus.read(cid, 4096), new byte[0]));
            s.sink.taken();
        }
        assertTrue(s.queuePair.bufferAllocations() <= 2, "allocations: " + s.queuePair.bufferAllocations());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void commandsBeyondTheBufferLimitWaitForABuffer() {
        Session s = new Session(new TcpConfig(128, 128 * KIB, 128 * KIB, 1024 * KIB, 8192, 2048 * KIB));
        s.connect(1, 127, 0);
        s.handler.autoComplete = false;
        for (int cid = 1; cid <= 3; cid++) s.deliver(s.host.capsule(HostPdus.read(cid, 1024 * KIB), new byte[0]));
        assertEquals(3, s.handler.executed.size(), "Connect and two reads executed; the third waits");
        s.handler.answerPending();
        assertEquals(4, s.handler.executed.size(), "the third read got a freed buffer");
        s.handler.answerPending();
        assertEquals(0, s.queuePair.buffersInUse());
        assertEquals(0, s.queuePair.commandsActive());
    }

    @Test
    void aCommandLargerThanTheLimitFailsWithoutData() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.deliver(s.host.capsule(HostPdus.read(1, 2048 * KIB), new byte[0]));
        assertEquals(CommandTable.STATUS_SGL_DATA_LENGTH_INVALID, s.only().status());
        assertEquals(1, s.handler.executed.size());
    }

    @Test
    void peerCloseTellsTheHandlerOnceAndReturnsBuffers() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.handler.autoComplete = false;
        s.deliver(s.host.capsule(HostPdus.read(1, 64 * KIB), new byte[0]));
        s.deliver(s.host.capsule(HostPdus.write(2, 64 * KIB, false), new byte[0]));
        assertEquals(2, s.queuePair.buffersInUse());
        s.queuePair.connectionClosed();
        s.queuePair.connectionClosed();
        assertEquals(1, s.handler.disconnected);
        assertEquals(0, s.queuePair.buffersInUse());
        assertTrue(s.queuePair.isClosed());
        s.handler.answerPending();  // too late: ignored
        s.deliver(s.host.capsule(HostPdus.read(3, 4096), new byte[0]));
        assertEquals(2, s.handler.executed.size(), "nothing runs after the close");
    }

    @Test
    void handlerCloseSendsWhatIsQueuedThenCloses() {
        Session s = new Session();
        s.connect(1, 127, 0);
        s.handler.responses.close("keep alive expired");
        assertTrue(s.queuePair.isClosed());
        assertEquals(1, s.sink.closeCalls);
        assertFalse(s.sink.closedNow);
        assertEquals(1, s.handler.disconnected);
    }
}
