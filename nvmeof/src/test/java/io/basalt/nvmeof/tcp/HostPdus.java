package io.basalt.nvmeof.tcp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/** Builds the PDUs a host sends, as the Linux initiator lays them out (drivers/nvme/host/tcp.c), for tests. */
final class HostPdus {
    boolean headerDigest;
    boolean dataDigest;
    /** Zero bytes between the header (and its digest) and the data, as a host with CPDA alignment might add. */
    int padBytes;

    static byte[] icReq(int pfv, int hpda, int digest) {
        ByteBuffer b = le(IcReqPdu.BYTES);
        b.put(0, (byte) PduFlyweight.TYPE_IC_REQ).put(2, (byte) IcReqPdu.BYTES).putInt(4, IcReqPdu.BYTES);
        b.putShort(8, (short) pfv).put(10, (byte) hpda).put(11, (byte) digest).putInt(12, 0);
        return b.array();
    }

    /** The ICReq that turns on what {@code this} says. */
    byte[] icReq(int hpda) {
        int digest = (headerDigest ? IcReqPdu.DIGEST_HEADER : 0) | (dataDigest ? IcReqPdu.DIGEST_DATA : 0);
        return icReq(0, hpda, digest);
    }

    byte[] capsule(byte[] sqe, byte[] data) {
        return pdu(PduFlyweight.TYPE_CAPSULE_CMD, CapsuleCmdPdu.BYTES, 0, sqe, data);
    }

    byte[] h2cData(int cid, int ttag, long offset, byte[] data, boolean last) {
        ByteBuffer fields = le(DataPdu.BYTES - 8);
        fields.putShort(0, (short) cid).putShort(2, (short) ttag).putInt(4, (int) offset).putInt(8, data.length);
        return pdu(PduFlyweight.TYPE_H2C_DATA, DataPdu.BYTES, last ? PduFlyweight.FLAG_DATA_LAST : 0, fields.array(), data);
    }

    static byte[] h2cTermReq(int fes) {
        ByteBuffer b = le(TermReqPdu.BYTES);
        b.put(0, (byte) PduFlyweight.TYPE_H2C_TERM_REQ).put(2, (byte) TermReqPdu.BYTES).putInt(4, TermReqPdu.BYTES);
        b.putShort(8, (short) fes);
        return b.array();
    }

    /** A PDU with the common header, {@code body} (the rest of the header), digests as negotiated, data at PDO. */
    byte[] pdu(int type, int hlen, int flags, byte[] body, byte[] data) {
        int hd = headerDigest ? 4 : 0;
        int dd = dataDigest && data.length > 0 ? 4 : 0;
        int pad = data.length > 0 ? padBytes : 0;
        int pdo = data.length > 0 ? hlen + hd + pad : 0;
        int plen = hlen + hd + pad + data.length + dd;
        ByteBuffer b = le(plen);
        int allFlags = flags | (hd > 0 ? PduFlyweight.FLAG_HDGST : 0) | (dd > 0 ? PduFlyweight.FLAG_DDGST : 0);
        b.put(0, (byte) type).put(1, (byte) allFlags).put(2, (byte) hlen).put(3, (byte) pdo).putInt(4, plen);
        b.put(8, body);
        if (hd > 0) b.putInt(hlen, crc32c(b.array(), 0, hlen));
        b.put(pdo, data);
        if (dd > 0) b.putInt(pdo + data.length, crc32c(data, 0, data.length));
        return b.array();
    }

    static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static int crc32c(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    // ---- submission queue entries ----

    static final int OPCODE_FLUSH = 0x00;
    static final int OPCODE_WRITE = 0x01;
    static final int OPCODE_READ = 0x02;
    static final int OPCODE_IDENTIFY = 0x06;
    static final int PSDT_SGL = 0x40;

    static byte[] sqe(int opcode, int cid, long sglLength, int sglType) {
        ByteBuffer b = le(Sqe.BYTES);
        b.put(0, (byte) opcode).put(1, (byte) PSDT_SGL).putShort(2, (short) cid).putInt(4, 1);
        b.putLong(24, 0).putInt(32, (int) sglLength).put(39, (byte) sglType);
        return b.array();
    }

    static byte[] write(int cid, long bytes, boolean inCapsule) {
        return sqe(OPCODE_WRITE, cid, bytes, inCapsule ? Sqe.SGL_IN_CAPSULE : Sqe.SGL_TRANSPORT_DATA_BLOCK);
    }

    static byte[] read(int cid, long bytes) {
        return sqe(OPCODE_READ, cid, bytes, Sqe.SGL_TRANSPORT_DATA_BLOCK);
    }

    /** Fabrics Connect (1024 bytes of data in-capsule, as Linux sends it); CATTR bit 2 disables SQ flow control. */
    static byte[] connect(int cid, int qid, int sqsize, int cattr) {
        ByteBuffer b = ByteBuffer.wrap(sqe(Sqe.OPCODE_FABRICS, cid, 1024, Sqe.SGL_IN_CAPSULE)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(4, (byte) Sqe.FCTYPE_CONNECT).put(5, (byte) 0).putShort(6, (short) 0);
        b.putShort(42, (short) qid).putShort(44, (short) sqsize).put(46, (byte) cattr).putInt(48, 5000);
        return b.array();
    }

    static byte[] pattern(int bytes, int seed) {
        byte[] data = new byte[bytes];
        for (int i = 0; i < bytes; i++) data[i] = (byte) (i * 31 + seed * 7 + (i >>> 8));
        return data;
    }
}
