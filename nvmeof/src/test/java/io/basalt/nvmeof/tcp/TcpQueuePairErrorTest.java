package io.basalt.nvmeof.tcp;

import io.basalt.nvmeof.tcp.ControllerPdus.Pdu;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every way a host can break the protocol, and what the transport answers. */
class TcpQueuePairErrorTest {
    private static final int KIB = 1024;

    /** The connection ended with exactly one C2HTermReq of {@code fes} (and {@code fei}), closed gracefully. */
    private static Pdu assertTerminated(Session s, int fes, long fei) {
        List<Pdu> pdus = s.sent();
        Pdu term = pdus.getLast();
        assertEquals(PduFlyweight.TYPE_C2H_TERM_REQ, term.type());
        assertEquals(TermReqPdu.BYTES, term.hlen());
        assertFalse(term.has(PduFlyweight.FLAG_HDGST), "termination requests are never digested");
        assertEquals(fes, term.u16(TermReqPdu.FES_OFFSET), "FES");
        assertEquals(fei, term.u32(TermReqPdu.FEI_OFFSET), "FEI");
        assertTrue(term.plen() <= TermReqPdu.BYTES + TermReqPdu.ERROR_DATA_BYTES_MAX);
        assertTrue(s.queuePair.isClosed());
        assertEquals(1, s.sink.closeCalls);
        assertFalse(s.sink.closedNow, "closed after the C2HTermReq is sent");
        assertEquals(1, s.handler.disconnected);
        assertEquals(0, s.queuePair.buffersInUse());
        int executed = s.handler.executed.size();
        s.deliver(s.host.capsule(HostPdus.read(99, 4096), new byte[0]));  // ignored from now on
        assertEquals(executed, s.handler.executed.size());
        assertEquals(0, s.sink.taken().length);
        return term;
    }

    private static byte[] withByte(byte[] pdu, int offset, int value) {
        byte[] copy = pdu.clone();
        copy[offset] = (byte) value;
        return copy;
    }

    private static byte[] withU32(byte[] pdu, int offset, int value) {
        byte[] copy = pdu.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }

    @Test
    void theFirstPduMustBeIcReq() {
        Session s = new Session();
        s.deliver(s.host.capsule(HostPdus.read(1, 4096), new byte[0]));
        Pdu term = assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.TYPE_OFFSET);
        assertEquals(PduFlyweight.TYPE_CAPSULE_CMD, term.bytes()[TermReqPdu.BYTES], "the offending header follows");
        assertEquals(0, s.handler.executed.size());
    }

    @Test
    void aSecondIcReqIsASequenceError() {
        Session s = new Session();
        s.negotiate(0);
        s.deliver(HostPdus.icReq(0, 0, 0));
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.TYPE_OFFSET);
    }

    @Test
    void icReqWithAnotherPfvOrHpdaIsRefused() {
        Session s = new Session();
        s.deliver(HostPdus.icReq(1, 0, 0));
        assertTerminated(s, TermReqPdu.FES_UNSUPPORTED_PARAMETER, IcReqPdu.PFV_OFFSET);
        s = new Session();
        s.deliver(HostPdus.icReq(0, 32, 0));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, IcReqPdu.HPDA_OFFSET);
        s = new Session();
        s.deliver(withU32(HostPdus.icReq(0, 0, 0), PduFlyweight.PLEN_OFFSET, 129));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PLEN_OFFSET);
    }

    @Test
    void unknownOrControllerPduTypesAreInvalid() {
        for (int type : new int[] {PduFlyweight.TYPE_IC_RESP, PduFlyweight.TYPE_C2H_TERM_REQ, PduFlyweight.TYPE_CAPSULE_RESP,
                PduFlyweight.TYPE_C2H_DATA, 0x08, PduFlyweight.TYPE_R2T, 0x0a, 0xff}) {
            Session s = new Session();
            s.connect(1, 31, 0);
            s.deliver(withByte(s.host.capsule(HostPdus.read(1, 4096), new byte[0]), 0, type));
            assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.TYPE_OFFSET);
        }
    }

    @Test
    void hlenMustMatchTheType() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(withByte(s.host.capsule(HostPdus.read(1, 4096), new byte[0]), PduFlyweight.HLEN_OFFSET, 24));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.HLEN_OFFSET);
    }

    @Test
    void plenBelowTheHeaderIsInvalid() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(withU32(s.host.capsule(HostPdus.read(1, 4096), new byte[0]), PduFlyweight.PLEN_OFFSET, 71));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PLEN_OFFSET);
    }

    @Test
    void inCapsuleDataBeyondTheLimitExceedsTheDataLimit() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(s.host.capsule(HostPdus.write(1, 16 * KIB, true), new byte[16 * KIB]));
        assertTerminated(s, TermReqPdu.FES_DATA_TRANSFER_LIMIT_EXCEEDED, PduFlyweight.PLEN_OFFSET);
        s = new Session();
        s.connect(1, 31, 0);
        s.deliver(withU32(s.host.capsule(HostPdus.read(1, 4096), new byte[0]), PduFlyweight.PLEN_OFFSET, -1));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PDO_OFFSET);  // no PDO: no data
    }

    @Test
    void pdoInsideTheHeaderIsInvalid() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(withByte(s.host.capsule(HostPdus.write(1, 4096, true), new byte[4096]), PduFlyweight.PDO_OFFSET, 64));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PDO_OFFSET);
    }

    @Test
    void headerDigestErrorTerminates() {
        Session s = new Session();
        s.host.headerDigest = true;
        s.connect(1, 31, 0);
        byte[] capsule = s.host.capsule(HostPdus.read(1, 4096), new byte[0]);
        capsule[CapsuleCmdPdu.BYTES] ^= 1;
        s.deliver(capsule);
        assertTerminated(s, TermReqPdu.FES_HEADER_DIGEST_ERROR, 0);
        assertEquals(1, s.handler.executed.size(), "only Connect ran");
    }

    @Test
    void headerDigestFlagMustMatchTheNegotiation() {
        Session s = new Session();
        s.host.headerDigest = true;
        s.connect(1, 31, 0);
        s.host.headerDigest = false;
        s.deliver(s.host.capsule(HostPdus.read(1, 4096), new byte[0]));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.FLAGS_OFFSET);
    }

    @Test
    void inCapsuleDataDigestErrorFailsOnlyThatCommand() {
        Session s = new Session();
        s.host.dataDigest = true;
        s.connect(1, 31, 0);
        byte[] capsule = s.host.capsule(HostPdus.write(1, 4096, true), HostPdus.pattern(4096, 1));
        capsule[capsule.length - 1] ^= 0x40;
        s.deliver(capsule);
        Pdu resp = s.only();
        assertEquals(CommandTable.STATUS_TRANSIENT_TRANSPORT_ERROR, resp.status());
        assertEquals(1, s.handler.executed.size(), "the command never ran");
        assertEquals(1, s.queuePair.dataDigestErrors());
        s.deliver(s.host.capsule(HostPdus.write(2, 4096, true), HostPdus.pattern(4096, 2)));
        assertEquals(0, s.only().status());
        assertFalse(s.queuePair.isClosed());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void h2cDataDigestErrorFailsTheCommandAtTheEndOfItsR2t() {
        Session s = new Session();
        s.host.dataDigest = true;
        s.connect(1, 31, 0);
        s.deliver(s.host.capsule(HostPdus.write(1, 256 * KIB, false), new byte[0]));
        Pdu r2t = s.only();
        int ttag = r2t.u16(R2tPdu.TTAG_OFFSET);
        byte[] bad = s.host.h2cData(1, ttag, 0, HostPdus.pattern(64 * KIB, 1), false);
        bad[bad.length - 2] ^= 1;
        s.deliver(bad);
        assertEquals(0, s.sink.taken().length, "nothing until the R2T is done");
        s.deliver(s.host.h2cData(1, ttag, 64 * KIB, HostPdus.pattern(64 * KIB, 2), true));
        Pdu resp = s.only();
        assertEquals(PduFlyweight.TYPE_CAPSULE_RESP, resp.type(), "no second R2T");
        assertEquals(CommandTable.STATUS_TRANSIENT_TRANSPORT_ERROR, resp.status());
        assertEquals(1, s.handler.executed.size());
        assertFalse(s.queuePair.isClosed());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    /** A write of 256 KiB waiting for its first R2T's data; returns the TTAG. */
    private static int pendingWrite(Session s) {
        s.connect(1, 31, 0);
        s.deliver(s.host.capsule(HostPdus.write(7, 256 * KIB, false), new byte[0]));
        return s.only().u16(R2tPdu.TTAG_OFFSET);
    }

    @Test
    void h2cDataWithAnUnknownTtagOrCid() {
        Session s = new Session();
        int ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag + 1, 0, new byte[4096], false));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.TTAG_OFFSET);
        s = new Session();
        ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, 60000, 0, new byte[4096], false));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.TTAG_OFFSET);
        s = new Session();
        ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(8, ttag, 0, new byte[4096], false));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.CCCID_OFFSET);
    }

    @Test
    void h2cDataBeyondTheCommandIsOutOfRange() {
        Session s = new Session();
        int ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 256 * KIB, new byte[4096], true));
        assertTerminated(s, TermReqPdu.FES_DATA_TRANSFER_OUT_OF_RANGE, DataPdu.DATAO_OFFSET);
        s = new Session();
        ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[128 * KIB + 4], true));  // more than MAXH2CDATA
        assertTerminated(s, TermReqPdu.FES_DATA_TRANSFER_LIMIT_EXCEEDED, PduFlyweight.PLEN_OFFSET);
    }

    @Test
    void h2cDataBeyondItsR2tIsOutOfRange() {
        Session s = new Session(new TcpConfig(128, 64 * KIB, 128 * KIB, 1024 * KIB, 8192, 32L << 20));
        int ttag = pendingWrite(s);  // R2T of 64 KiB
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[32 * KIB], false));
        s.deliver(s.host.h2cData(7, ttag, 32 * KIB, new byte[64 * KIB], true));
        assertTerminated(s, TermReqPdu.FES_DATA_TRANSFER_OUT_OF_RANGE, DataPdu.DATAL_OFFSET);
    }

    @Test
    void h2cDataOutOfOrderIsASequenceError() {
        Session s = new Session();
        int ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 4096, new byte[4096], false));
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, DataPdu.DATAO_OFFSET);
        s = new Session();
        ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[4096], false));
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[4096], false));  // replayed
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, DataPdu.DATAO_OFFSET);
    }

    @Test
    void lastFlagMustMarkTheEndOfTheR2t() {
        Session s = new Session();
        int ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[4096], true));
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.FLAGS_OFFSET);
        s = new Session();
        ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[128 * KIB], false));
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, PduFlyweight.FLAGS_OFFSET);
    }

    @Test
    void h2cDataBeforeItsR2tOrWithoutDataIsRefused() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(s.host.h2cData(1, 0, 0, new byte[4096], true));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, DataPdu.TTAG_OFFSET);
        s = new Session();
        int ttag = pendingWrite(s);
        s.deliver(s.host.h2cData(7, ttag, 0, new byte[0], true));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.PLEN_OFFSET);
    }

    @Test
    void moreCommandsThanTheQueueHoldsCloses() {
        Session s = new Session();
        s.connect(1, 3, 0);  // four entries
        s.handler.autoComplete = false;
        for (int cid = 0; cid < 4; cid++) s.deliver(s.host.capsule(HostPdus.read(cid, 4096), new byte[0]));
        assertFalse(s.queuePair.isClosed());
        s.deliver(s.host.capsule(HostPdus.read(4, 4096), new byte[0]));
        assertTerminated(s, TermReqPdu.FES_PDU_SEQUENCE_ERROR, CapsuleCmdPdu.SQE_OFFSET + Sqe.CID_OFFSET);
    }

    @Test
    void aCidStillInFlightCloses() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.handler.autoComplete = false;
        s.deliver(s.host.capsule(HostPdus.read(5, 4096), new byte[0]));
        s.deliver(s.host.capsule(HostPdus.read(5, 4096), new byte[0]));
        assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, CapsuleCmdPdu.SQE_OFFSET + Sqe.CID_OFFSET);
    }

    @Test
    void aCidMayBeReusedOnceAnsweredEvenBeforeTheSinkReportsItSent() {
        Session s = new Session();
        s.connect(1, 3, 0);
        s.sink.deferAcks = true;
        for (int round = 0; round < 10; round++) s.deliver(s.host.capsule(HostPdus.read(5, 4096), new byte[0]));
        assertFalse(s.queuePair.isClosed());
        s.sink.ackUntilQuiet();
        assertEquals(20, s.sent().size());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void badSglsFailTheCommandNotTheConnection() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(s.host.capsule(HostPdus.sqe(HostPdus.OPCODE_READ, 1, 4096, Sqe.SGL_IN_CAPSULE), new byte[0]));
        assertEquals(CommandTable.STATUS_SGL_DATA_LENGTH_INVALID, s.only().status());
        s.deliver(s.host.capsule(HostPdus.sqe(HostPdus.OPCODE_READ, 2, 4096, 0x00), new byte[0]));
        assertEquals(CommandTable.STATUS_SGL_DESCRIPTOR_TYPE_INVALID, s.only().status());
        s.deliver(s.host.capsule(HostPdus.read(3, 4096), new byte[4096]));  // in-capsule data for a read
        assertEquals(CommandTable.STATUS_INVALID_FIELD, s.only().status());
        s.deliver(s.host.capsule(HostPdus.write(4, 8192, true), new byte[4096]));  // SGL longer than the data
        assertEquals(CommandTable.STATUS_SGL_DATA_LENGTH_INVALID, s.only().status());
        s.deliver(s.host.capsule(HostPdus.sqe(0x03, 5, 4096, Sqe.SGL_TRANSPORT_DATA_BLOCK), new byte[0]));
        assertEquals(CommandTable.STATUS_INVALID_FIELD, s.only().status(), "bidirectional");
        assertEquals(1, s.handler.executed.size());
        assertFalse(s.queuePair.isClosed());
        assertEquals(0, s.queuePair.buffersInUse());
    }

    @Test
    void h2cTermReqClosesAtOnceWithoutAnswer() {
        Session s = new Session();
        s.connect(1, 31, 0);
        s.deliver(HostPdus.h2cTermReq(TermReqPdu.FES_HEADER_DIGEST_ERROR));
        assertTrue(s.queuePair.isClosed());
        assertEquals(0, s.sink.taken().length);
        assertEquals(1, s.handler.disconnected);
    }

    @Test
    void fatalErrorAfterBytesAtATimeCopiesTheHeaderReceived() {
        Session s = new Session();
        s.fragmentBytes = 1;
        s.connect(1, 31, 0);
        byte[] bad = withByte(s.host.capsule(HostPdus.read(1, 4096), new byte[0]), PduFlyweight.HLEN_OFFSET, 73);
        s.deliver(bad);
        Pdu term = assertTerminated(s, TermReqPdu.FES_INVALID_PDU_HEADER_FIELD, PduFlyweight.HLEN_OFFSET);
        assertEquals(TermReqPdu.BYTES + 8, term.plen());
        assertArrayEquals(Arrays.copyOf(bad, 8), Arrays.copyOfRange(term.bytes(), TermReqPdu.BYTES, TermReqPdu.BYTES + 8));
    }
}
