package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.Sqe;
import io.basalt.nvmeof.tcp.CapsuleRespPdu;
import io.basalt.nvmeof.tcp.DataPdu;
import io.basalt.nvmeof.tcp.PduFlyweight;
import io.basalt.nvmeof.tcp.R2tPdu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Splits a queue's received byte stream into PDUs: gathers each header (up to PDO for C2HData) into its own
 * buffer, copies C2HData payload straight into the command's buffers, and hands responses and R2Ts to the channel.
 */
final class PduReader {
    private static final int HEADER_MAX_BYTES = 256;

    private final NvmeTcpChannel channel;
    private final MemorySegment header = Arena.ofAuto().allocate(HEADER_MAX_BYTES, 64);
    private int headerHave;
    private int headerNeed = PduFlyweight.COMMON_HEADER_BYTES;
    private long dataLeft;
    private long dataOffset;
    private int dataCid;
    private boolean dataSuccess;
    private long skipLeft;

    PduReader(NvmeTcpChannel channel) {
        this.channel = channel;
    }

    void consume(MemorySegment buffer, int lengthBytes) {
        int at = 0;
        while (at < lengthBytes) {
            if (skipLeft > 0) {
                int n = (int) Math.min(skipLeft, lengthBytes - at);
                skipLeft -= n;
                at += n;
                if (skipLeft == 0 && dataLeft == 0) endData();
            } else if (dataLeft > 0) {
                int n = (int) Math.min(dataLeft, lengthBytes - at);
                copyData(buffer, at, n);
                dataLeft -= n;
                at += n;
                if (dataLeft == 0 && skipLeft == 0) endData();
            } else {
                int n = Math.min(headerNeed - headerHave, lengthBytes - at);
                MemorySegment.copy(buffer, at, header, headerHave, n);
                headerHave += n;
                at += n;
                if (headerHave == headerNeed && !onHeader()) return;
            }
        }
    }

    /** True to go on reading; false after a protocol error closed the queue. */
    private boolean onHeader() {
        int type = u8(PduFlyweight.TYPE_OFFSET);
        int hlen = u8(PduFlyweight.HLEN_OFFSET);
        int pdo = u8(PduFlyweight.PDO_OFFSET);
        long plen = Integer.toUnsignedLong(Sqe.u32(header, PduFlyweight.PLEN_OFFSET));
        if (headerNeed == PduFlyweight.COMMON_HEADER_BYTES) {
            int need = type == PduFlyweight.TYPE_C2H_DATA ? Math.max(hlen, pdo) : hlen;
            if (need < PduFlyweight.COMMON_HEADER_BYTES || need > HEADER_MAX_BYTES || plen < need) {
                channel.protocolError("PDU type " + type + " with hlen " + hlen + ", pdo " + pdo + ", plen " + plen);
                return false;
            }
            if (need > headerNeed) {
                headerNeed = need;
                return true;
            }
        }
        headerHave = 0;
        headerNeed = PduFlyweight.COMMON_HEADER_BYTES;
        switch (type) {
            case PduFlyweight.TYPE_CAPSULE_RESP -> {
                skipLeft = plen - hlen;
                channel.complete(Sqe.u16(header, CapsuleRespPdu.CID_OFFSET), Sqe.u16(header, CapsuleRespPdu.STATUS_OFFSET) >>> 1);
            }
            case PduFlyweight.TYPE_R2T -> {
                skipLeft = plen - hlen;
                channel.onR2t(Sqe.u16(header, R2tPdu.CCCID_OFFSET), Sqe.u16(header, R2tPdu.TTAG_OFFSET),
                        Integer.toUnsignedLong(Sqe.u32(header, R2tPdu.R2TO_OFFSET)),
                        Integer.toUnsignedLong(Sqe.u32(header, R2tPdu.R2TL_OFFSET)));
            }
            case PduFlyweight.TYPE_C2H_DATA -> {
                return startData(hlen, pdo, plen);
            }
            default -> {
                channel.protocolError("unexpected PDU type " + type);
                return false;
            }
        }
        return true;
    }

    private boolean startData(int hlen, int pdo, long plen) {
        dataCid = Sqe.u16(header, DataPdu.CCCID_OFFSET);
        dataOffset = Integer.toUnsignedLong(Sqe.u32(header, DataPdu.DATAO_OFFSET));
        dataLeft = Integer.toUnsignedLong(Sqe.u32(header, DataPdu.DATAL_OFFSET));
        dataSuccess = (u8(PduFlyweight.FLAGS_OFFSET) & PduFlyweight.FLAG_DATA_SUCCESS) != 0;
        long start = Math.max(hlen, pdo);
        if (!channel.slots.busy(dataCid) || dataOffset + dataLeft > channel.slots.bytes(dataCid) || start + dataLeft > plen) {
            channel.protocolError("C2HData for CID " + dataCid + " outside its command");
            return false;
        }
        skipLeft = plen - start - dataLeft; // a data digest (not negotiated) would be here
        if (dataLeft == 0 && skipLeft == 0) endData();
        return true;
    }

    private void endData() {
        if (!dataSuccess) return;
        dataSuccess = false;
        channel.complete(dataCid, 0);
    }

    /** Copies n received bytes into the command's buffers at dataOffset. */
    private void copyData(MemorySegment from, int at, int n) {
        Slots slots = channel.slots;
        int count = slots.segmentCount(dataCid);
        long base = 0;
        for (int i = 0; i < count && n > 0; i++) {
            MemorySegment seg = slots.segment(dataCid, i);
            long size = seg.byteSize();
            if (dataOffset < base + size) {
                long into = dataOffset - base;
                int take = (int) Math.min(size - into, n);
                MemorySegment.copy(from, at, seg, into, take);
                at += take;
                n -= take;
                dataOffset += take;
            }
            base += size;
        }
    }

    private int u8(long offset) {
        return Byte.toUnsignedInt(header.get(ValueLayout.JAVA_BYTE, offset));
    }
}
