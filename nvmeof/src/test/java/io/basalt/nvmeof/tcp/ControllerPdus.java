package io.basalt.nvmeof.tcp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Splits what the controller sent into PDUs, checking lengths and digests as the Linux host would. */
final class ControllerPdus {
    record Pdu(byte[] bytes) {
        int type() { return bytes[0] & 0xff; }
        int flags() { return bytes[1] & 0xff; }
        int hlen() { return bytes[2] & 0xff; }
        int pdo() { return bytes[3] & 0xff; }
        int plen() { return le().getInt(4); }
        int u16(int offset) { return le().getShort(offset) & 0xffff; }
        long u32(int offset) { return le().getInt(offset) & 0xffffffffL; }
        ByteBuffer le() { return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN); }
        boolean has(int flag) { return (flags() & flag) != 0; }

        byte[] data() {
            int end = bytes.length - (has(PduFlyweight.FLAG_DDGST) ? 4 : 0);
            return Arrays.copyOfRange(bytes, pdo(), end);
        }

        /** CQE status without the phase bit. */
        int status() { return u16(CapsuleRespPdu.STATUS_OFFSET) >>> 1; }
        int cid() { return u16(CapsuleRespPdu.CID_OFFSET); }
    }

    static List<Pdu> parse(byte[] stream) {
        List<Pdu> pdus = new ArrayList<>();
        int at = 0;
        while (at < stream.length) {
            assertTrue(stream.length - at >= 8, "a whole common header");
            int plen = ByteBuffer.wrap(stream, at + 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            assertTrue(plen >= 8 && at + plen <= stream.length, "plen " + plen + " within the stream");
            Pdu pdu = new Pdu(Arrays.copyOfRange(stream, at, at + plen));
            checkDigests(pdu);
            pdus.add(pdu);
            at += plen;
        }
        return pdus;
    }

    private static void checkDigests(Pdu pdu) {
        if (pdu.has(PduFlyweight.FLAG_HDGST)) {
            assertEquals(HostPdus.crc32c(pdu.bytes(), 0, pdu.hlen()), pdu.le().getInt(pdu.hlen()), "header digest");
        }
        if (pdu.has(PduFlyweight.FLAG_DDGST)) {
            byte[] data = pdu.data();
            assertEquals(HostPdus.crc32c(data, 0, data.length), pdu.le().getInt(pdu.plen() - 4), "data digest");
        }
    }
}
