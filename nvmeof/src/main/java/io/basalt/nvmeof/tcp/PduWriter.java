package io.basalt.nvmeof.tcp;

import io.basalt.shims.Check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Builds the PDUs a controller sends, in memory it owns that stays put until the sink reports it sent: per
 * command slot, one header area per C2HData PDU (header, header digest, padding up to PDO), one data digest
 * per C2HData PDU, one CapsuleResp and one R2T; plus one ICResp and one C2HTermReq per connection. The slices
 * are cut once, after ICReq fixes the digests and HPDA, so building a PDU allocates nothing.
 */
final class PduWriter {
    /** PDO of a C2HData is at most 128: HPDA (0..31 dwords, 0's based) aligns to at most 128 bytes. */
    private static final int C2H_HEADER_STRIDE = 128;
    private static final int DIGEST_STRIDE = 8;
    private static final int SHORT_PDU_STRIDE = 32;  // CapsuleResp / R2T: 24 bytes + header digest
    private static final int TERM_BYTES = TermReqPdu.BYTES + TermReqPdu.ERROR_DATA_BYTES_MAX;

    private final int slots;
    private final int c2hPdus;
    private final MemorySegment area;
    private final ByteBuffer areaBytes;
    private final long digestBase;
    private final long shortBase;
    private final long icRespBase;
    private final long termBase;
    private final CRC32C crc = new CRC32C();
    private final DataPdu dataPdu = new DataPdu();
    private final CapsuleRespPdu respPdu = new CapsuleRespPdu();
    private final R2tPdu r2tPdu = new R2tPdu();
    private final IcRespPdu icRespPdu = new IcRespPdu();
    private final TermReqPdu termPdu = new TermReqPdu();

    private boolean headerDigest;
    private boolean dataDigest;
    private int c2hPdo;
    private MemorySegment[] c2hHeaders;
    private MemorySegment[] dataDigests;
    private MemorySegment[] responses;
    private MemorySegment[] r2ts;

    PduWriter(int slots, int c2hPdus) {
        this.slots = Check.positive(slots, "slots");
        this.c2hPdus = Check.positive(c2hPdus, "c2hPdus");
        long c2hBytes = (long) slots * c2hPdus * C2H_HEADER_STRIDE;
        this.digestBase = c2hBytes;
        this.shortBase = digestBase + (long) slots * c2hPdus * DIGEST_STRIDE;
        this.icRespBase = shortBase + (long) slots * 2 * SHORT_PDU_STRIDE;
        this.termBase = icRespBase + IcRespPdu.BYTES;
        this.area = Arena.ofAuto().allocate(termBase + TERM_BYTES, 64);
        this.areaBytes = area.asByteBuffer();
    }

    /** Fixes the digests and the host's PDU data alignment (from ICReq) and cuts the per-slot PDU slices. */
    void negotiate(boolean headerDigest, boolean dataDigest, int hpda) {
        this.headerDigest = headerDigest;
        this.dataDigest = dataDigest;
        int alignBytes = (hpda + 1) * 4;
        int headerBytes = DataPdu.BYTES + digestBytes(headerDigest);
        this.c2hPdo = (headerBytes + alignBytes - 1) / alignBytes * alignBytes;
        Check.that(c2hPdo <= C2H_HEADER_STRIDE, "C2HData PDO fits its area", c2hPdo);
        int shortBytes = CapsuleRespPdu.BYTES + digestBytes(headerDigest);
        c2hHeaders = new MemorySegment[slots * c2hPdus];
        dataDigests = new MemorySegment[slots * c2hPdus];
        responses = new MemorySegment[slots];
        r2ts = new MemorySegment[slots];
        for (int i = 0; i < slots * c2hPdus; i++) {
            c2hHeaders[i] = area.asSlice((long) i * C2H_HEADER_STRIDE, c2hPdo);
            dataDigests[i] = area.asSlice(digestBase + (long) i * DIGEST_STRIDE, PduFlyweight.DIGEST_BYTES);
        }
        for (int s = 0; s < slots; s++) {
            responses[s] = area.asSlice(shortBase + (long) s * 2 * SHORT_PDU_STRIDE, shortBytes);
            r2ts[s] = area.asSlice(shortBase + ((long) s * 2 + 1) * SHORT_PDU_STRIDE, shortBytes);
        }
    }

    private static int digestBytes(boolean on) {
        return on ? PduFlyweight.DIGEST_BYTES : 0;
    }

    MemorySegment icResp(int digest, int maxH2cDataBytes) {
        MemorySegment pdu = area.asSlice(icRespBase, IcRespPdu.BYTES);
        pdu.fill((byte) 0);
        icRespPdu.wrap(pdu);
        icRespPdu.header(PduFlyweight.TYPE_IC_RESP, 0, IcRespPdu.BYTES, 0, IcRespPdu.BYTES);
        icRespPdu.pfv(IcReqPdu.PFV_1_0);
        icRespPdu.cpda(0);
        icRespPdu.digest(digest);
        icRespPdu.maxH2cData(maxH2cDataBytes);
        return pdu;
    }

    /** A C2HTermReq carrying {@code offending} (the header of the PDU in error, cut to the allowed size). */
    MemorySegment termReq(int fes, long fei, MemorySegment offending) {
        long copyBytes = Math.min(offending.byteSize(), TermReqPdu.ERROR_DATA_BYTES_MAX);
        MemorySegment pdu = area.asSlice(termBase, TermReqPdu.BYTES + copyBytes);
        pdu.fill((byte) 0);
        termPdu.wrap(pdu);
        termPdu.header(PduFlyweight.TYPE_C2H_TERM_REQ, 0, TermReqPdu.BYTES, 0, pdu.byteSize());
        termPdu.fes(fes);
        termPdu.fei(fei);
        MemorySegment.copy(offending, 0, pdu, TermReqPdu.BYTES, copyBytes);
        return pdu;
    }

    MemorySegment r2t(int slot, int cid, int ttag, long offsetBytes, long lengthBytes) {
        MemorySegment pdu = r2ts[slot];
        r2tPdu.wrap(pdu);
        r2tPdu.header(PduFlyweight.TYPE_R2T, headerDigestFlag(), R2tPdu.BYTES, 0, pdu.byteSize());
        r2tPdu.fields(cid, ttag, offsetBytes, lengthBytes);
        sealHeader(pdu, R2tPdu.BYTES);
        return pdu;
    }

    MemorySegment response(int slot, int cid, int dw0, int dw1, int sqhd, int sqid, int status) {
        MemorySegment pdu = responses[slot];
        respPdu.wrap(pdu);
        respPdu.header(PduFlyweight.TYPE_CAPSULE_RESP, headerDigestFlag(), CapsuleRespPdu.BYTES, 0, pdu.byteSize());
        respPdu.cqe(dw0, dw1, sqhd, sqid, cid, status);
        sealHeader(pdu, CapsuleRespPdu.BYTES);
        return pdu;
    }

    /** The header (with digest and padding) of the {@code index}th C2HData PDU of a command. */
    MemorySegment c2hHeader(int slot, int index, int cid, long offsetBytes, long lengthBytes, int dataFlags) {
        MemorySegment pdu = c2hHeaders[slot * c2hPdus + index];
        dataPdu.wrap(pdu);
        int flags = dataFlags | headerDigestFlag() | (dataDigest ? PduFlyweight.FLAG_DDGST : 0);
        long plen = c2hPdo + lengthBytes + digestBytes(dataDigest);
        dataPdu.header(PduFlyweight.TYPE_C2H_DATA, flags, DataPdu.BYTES, c2hPdo, plen);
        dataPdu.fields(cid, 0, offsetBytes, lengthBytes);
        sealHeader(pdu, DataPdu.BYTES);
        return pdu;
    }

    /** The data digest of a C2HData PDU's data: bytes [offset, offset + length) of {@code data}. */
    MemorySegment c2hDigest(int slot, int index, ByteBuffer data, long offsetBytes, long lengthBytes) {
        MemorySegment digest = dataDigests[slot * c2hPdus + index];
        digest.set(PduFlyweight.U32, 0, crc32c(data, offsetBytes, lengthBytes));
        return digest;
    }

    boolean dataDigest() {
        return dataDigest;
    }

    private int headerDigestFlag() {
        return headerDigest ? PduFlyweight.FLAG_HDGST : 0;
    }

    /**
     * Writes the header digest after the {@code hlen} header bytes. The padding up to a C2HData's PDO stays zero:
     * the area is zeroed when allocated and nothing else writes there.
     */
    private void sealHeader(MemorySegment pdu, int hlen) {
        if (!headerDigest) return;
        long base = pdu.address() - area.address();
        pdu.set(PduFlyweight.U32, hlen, crc32c(areaBytes, base, hlen));
    }

    /** CRC32C of bytes [offset, offset + length) of {@code bytes}, without allocating. */
    int crc32c(ByteBuffer bytes, long offsetBytes, long lengthBytes) {
        crc.reset();
        bytes.limit((int) (offsetBytes + lengthBytes)).position((int) offsetBytes);
        crc.update(bytes);
        bytes.clear();
        return (int) crc.getValue();
    }
}
