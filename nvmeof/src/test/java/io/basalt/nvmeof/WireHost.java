package io.basalt.nvmeof;

import io.basalt.nvmeof.tcp.CapsuleCmdPdu;
import io.basalt.nvmeof.tcp.CapsuleRespPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.IcReqPdu;
import io.basalt.nvmeof.tcp.IcRespPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;
import io.basalt.nvmeof.tcp.R2tPdu;
import io.basalt.nvmeof.tcp.Sqe;
import io.basalt.nvmeof.tcp.TermReqPdu;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A blocking NVMe/TCP host over java.net.Socket, for tests against a real listener: ICReq/ICResp, command
 * capsules with in-capsule data or R2T/H2CData, C2HData and CapsuleResp, with or without digests, laid out as the
 * Linux initiator (drivers/nvme/host/tcp.c) sends them. One command at a time.
 */
final class WireHost implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    static final int PSDT_SGL = 0x40;

    /** One PDU as received, digests checked. */
    record Pdu(byte[] bytes) {
        int type() { return bytes[PduFlyweight.TYPE_OFFSET] & 0xff; }
        boolean has(int flag) { return (bytes[PduFlyweight.FLAGS_OFFSET] & flag) != 0; }
        int hlen() { return bytes[PduFlyweight.HLEN_OFFSET] & 0xff; }
        int pdo() { return bytes[PduFlyweight.PDO_OFFSET] & 0xff; }
        ByteBuffer le() { return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN); }
        int u16(int offset) { return le().getShort(offset) & 0xffff; }
        int u32(int offset) { return le().getInt(offset); }

        byte[] data() {
            return Arrays.copyOfRange(bytes, pdo(), bytes.length - (has(PduFlyweight.FLAG_DDGST) ? PduFlyweight.DIGEST_BYTES : 0));
        }
    }

    /** A command's answer: the CQE fields (status without the phase bit) and the data read. */
    record Completion(int status, int dw0, int dw1, int sqhd, int sqid, int cid, byte[] data) {}

    final Socket socket;
    final boolean headerDigest;
    final boolean dataDigest;
    final int maxH2cDataBytes;
    private final DataInputStream in;
    private final OutputStream out;
    private int nextCid = 1;

    private WireHost(Socket socket, boolean headerDigest, boolean dataDigest, int maxH2cDataBytes) throws IOException {
        this.socket = socket;
        this.headerDigest = headerDigest;
        this.dataDigest = dataDigest;
        this.maxH2cDataBytes = maxH2cDataBytes;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static Socket socket(int port) throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
        s.setSoTimeout((int) TIMEOUT.toMillis());
        s.setTcpNoDelay(true);
        return s;
    }

    /** Connects and negotiates: ICReq (PFV 0, HPDA 0, the digests asked for), ICResp checked. */
    static WireHost connect(int port, boolean headerDigest, boolean dataDigest) throws IOException {
        Socket s = socket(port);
        s.getOutputStream().write(icReq(headerDigest, dataDigest));
        Pdu resp = read(new DataInputStream(s.getInputStream()), false, false);
        assertEquals(PduFlyweight.TYPE_IC_RESP, resp.type(), "ICResp");
        assertEquals(IcRespPdu.BYTES, resp.bytes().length, "ICResp plen");
        assertEquals(0, resp.u16(IcRespPdu.PFV_OFFSET), "PFV");
        int digest = resp.bytes()[IcRespPdu.DIGEST_OFFSET];
        assertEquals(digestBits(headerDigest, dataDigest), digest, "digests echoed");
        int maxH2c = resp.u32(IcRespPdu.MAXH2CDATA_OFFSET);
        assertTrue(maxH2c >= IcRespPdu.MAXH2CDATA_MIN && maxH2c % 4 == 0, "MAXH2CDATA " + maxH2c);
        return new WireHost(s, headerDigest, dataDigest, maxH2c);
    }

    /** A host over a socket whose ICReq/ICResp exchange the caller did. */
    static WireHost over(Socket s, boolean headerDigest, boolean dataDigest, int maxH2cDataBytes) throws IOException {
        return new WireHost(s, headerDigest, dataDigest, maxH2cDataBytes);
    }

    static int digestBits(boolean headerDigest, boolean dataDigest) {
        return (headerDigest ? IcReqPdu.DIGEST_HEADER : 0) | (dataDigest ? IcReqPdu.DIGEST_DATA : 0);
    }

    static byte[] icReq(boolean headerDigest, boolean dataDigest) {
        ByteBuffer b = le(IcReqPdu.BYTES);
        b.put(PduFlyweight.TYPE_OFFSET, (byte) PduFlyweight.TYPE_IC_REQ).put(PduFlyweight.HLEN_OFFSET, (byte) IcReqPdu.BYTES)
                .putInt(PduFlyweight.PLEN_OFFSET, IcReqPdu.BYTES);
        b.put(IcReqPdu.DIGEST_OFFSET, (byte) digestBits(headerDigest, dataDigest));
        return b.array();
    }

    // ------------------------------------------------------------------ commands

    /** Runs a command without data. */
    Completion run(byte[] sqe) throws IOException {
        return run(sqe, null, 0, Integer.MAX_VALUE);
    }

    /** Runs a command writing {@code data}: in the capsule when it fits {@code inCapsuleBytesMax}, else through R2T. */
    Completion write(byte[] sqe, byte[] data, int inCapsuleBytesMax) throws IOException {
        return run(sqe, data, 0, inCapsuleBytesMax);
    }

    /** Runs a command reading {@code bytes}. */
    Completion read(byte[] sqe, int bytes) throws IOException {
        return run(sqe, null, bytes, 0);
    }

    private Completion run(byte[] sqe, byte[] writeData, int readBytes, int inCapsuleBytesMax) throws IOException {
        int cid = nextCid;
        nextCid = (nextCid + 1) & 0xFFFF;
        ByteBuffer s = ByteBuffer.wrap(sqe.clone()).order(ByteOrder.LITTLE_ENDIAN);
        s.put(Sqe.FLAGS_OFFSET, (byte) PSDT_SGL).putShort(Sqe.CID_OFFSET, (short) cid);
        boolean inCapsule = writeData != null && writeData.length <= inCapsuleBytesMax;
        long sglLength = writeData != null ? writeData.length : readBytes;
        s.putLong(Sqe.SGL_ADDRESS_OFFSET, 0).putInt(Sqe.SGL_LENGTH_OFFSET, (int) sglLength);
        s.put(Sqe.SGL_TYPE_OFFSET, (byte) (inCapsule ? Sqe.SGL_IN_CAPSULE : Sqe.SGL_TRANSPORT_DATA_BLOCK));
        send(pdu(PduFlyweight.TYPE_CAPSULE_CMD, CapsuleCmdPdu.BYTES, 0, Arrays.copyOfRange(s.array(), 0, Sqe.BYTES),
                inCapsule ? writeData : new byte[0]));
        byte[] readData = new byte[readBytes];
        while (true) {
            Pdu p = readPdu();
            switch (p.type()) {
                case PduFlyweight.TYPE_R2T -> answerR2t(p, cid, writeData);
                case PduFlyweight.TYPE_C2H_DATA -> {
                    assertEquals(cid, p.u16(DataPdu.CCCID_OFFSET), "C2HData CCCID");
                    byte[] d = p.data();
                    int offset = p.u32(DataPdu.DATAO_OFFSET);
                    assertEquals(d.length, p.u32(DataPdu.DATAL_OFFSET), "DATAL");
                    System.arraycopy(d, 0, readData, offset, d.length);
                    if (p.has(PduFlyweight.FLAG_DATA_SUCCESS)) return new Completion(0, 0, 0, 0, 0, cid, readData);
                }
                case PduFlyweight.TYPE_CAPSULE_RESP -> {
                    assertEquals(cid, p.u16(CapsuleRespPdu.CID_OFFSET), "response CID");
                    return new Completion(p.u16(CapsuleRespPdu.STATUS_OFFSET) >>> 1, p.u32(CapsuleRespPdu.DW0_OFFSET),
                            p.u32(CapsuleRespPdu.DW1_OFFSET), p.u16(CapsuleRespPdu.SQHD_OFFSET),
                            p.u16(CapsuleRespPdu.SQID_OFFSET), cid, readData);
                }
                case PduFlyweight.TYPE_C2H_TERM_REQ -> fail("C2HTermReq FES " + p.u16(TermReqPdu.FES_OFFSET));
                default -> fail("unexpected PDU type " + p.type());
            }
        }
    }

    /** H2CData for one R2T: PDUs of at most MAXH2CDATA, LAST_PDU on the last. */
    private void answerR2t(Pdu r2t, int cid, byte[] writeData) throws IOException {
        assertEquals(cid, r2t.u16(R2tPdu.CCCID_OFFSET), "R2T CCCID");
        assertTrue(writeData != null, "R2T for a command with data to send");
        int ttag = r2t.u16(R2tPdu.TTAG_OFFSET);
        int offset = r2t.u32(R2tPdu.R2TO_OFFSET);
        int length = r2t.u32(R2tPdu.R2TL_OFFSET);
        assertTrue(length > 0 && length <= maxH2cDataBytes && offset + length <= writeData.length, "R2T within the data");
        for (int done = 0; done < length; ) {
            int chunk = Math.min(maxH2cDataBytes, length - done);
            send(h2cData(cid, ttag, offset + done, Arrays.copyOfRange(writeData, offset + done, offset + done + chunk),
                    done + chunk == length));
            done += chunk;
        }
    }

    byte[] h2cData(int cid, int ttag, int offset, byte[] data, boolean last) {
        ByteBuffer fields = le(DataPdu.BYTES - PduFlyweight.COMMON_HEADER_BYTES);
        fields.putShort(DataPdu.CCCID_OFFSET - 8, (short) cid).putShort(DataPdu.TTAG_OFFSET - 8, (short) ttag)
                .putInt(DataPdu.DATAO_OFFSET - 8, offset).putInt(DataPdu.DATAL_OFFSET - 8, data.length);
        return pdu(PduFlyweight.TYPE_H2C_DATA, DataPdu.BYTES, last ? PduFlyweight.FLAG_DATA_LAST : 0, fields.array(), data);
    }

    /** A PDU: the common header, {@code body} (the rest of the header), digests as negotiated, data right after. */
    byte[] pdu(int type, int hlen, int flags, byte[] body, byte[] data) {
        int hd = headerDigest ? PduFlyweight.DIGEST_BYTES : 0;
        int dd = dataDigest && data.length > 0 ? PduFlyweight.DIGEST_BYTES : 0;
        int pdo = data.length > 0 ? hlen + hd : 0;
        int plen = hlen + hd + data.length + dd;
        ByteBuffer b = le(plen);
        int allFlags = flags | (hd > 0 ? PduFlyweight.FLAG_HDGST : 0) | (dd > 0 ? PduFlyweight.FLAG_DDGST : 0);
        b.put(0, (byte) type).put(1, (byte) allFlags).put(2, (byte) hlen).put(3, (byte) pdo).putInt(4, plen);
        b.put(PduFlyweight.COMMON_HEADER_BYTES, body);
        if (hd > 0) b.putInt(hlen, crc32c(b.array(), 0, hlen));
        if (data.length > 0) b.put(pdo, data);
        if (dd > 0) b.putInt(pdo + data.length, crc32c(data, 0, data.length));
        return b.array();
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    Pdu readPdu() throws IOException {
        return read(in, headerDigest, dataDigest);
    }

    /** Reads one PDU, checking its header and data digests when they were negotiated. */
    static Pdu read(DataInputStream in, boolean headerDigest, boolean dataDigest) throws IOException {
        byte[] common = new byte[PduFlyweight.COMMON_HEADER_BYTES];
        in.readFully(common);
        int plen = ByteBuffer.wrap(common).order(ByteOrder.LITTLE_ENDIAN).getInt(PduFlyweight.PLEN_OFFSET);
        assertTrue(plen >= PduFlyweight.COMMON_HEADER_BYTES && plen <= (4 << 20), "plen " + plen);
        byte[] bytes = Arrays.copyOf(common, plen);
        in.readFully(bytes, common.length, plen - common.length);
        Pdu p = new Pdu(bytes);
        boolean digestsApply = p.type() != PduFlyweight.TYPE_IC_RESP && p.type() != PduFlyweight.TYPE_C2H_TERM_REQ;
        if (digestsApply) {
            assertEquals(headerDigest, p.has(PduFlyweight.FLAG_HDGST), "HDGST flag as negotiated");
            if (headerDigest) assertEquals(crc32c(bytes, 0, p.hlen()), p.u32(p.hlen()), "header digest");
            if (p.has(PduFlyweight.FLAG_DDGST)) {
                assertTrue(dataDigest, "DDGST only when negotiated");
                byte[] d = p.data();
                assertEquals(crc32c(d, 0, d.length), p.u32(plen - PduFlyweight.DIGEST_BYTES), "data digest");
            }
        }
        return p;
    }

    /** True when the target closed the connection: the next read sees end of stream (or a reset). */
    boolean closedByTarget() {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // a reset
        }
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
