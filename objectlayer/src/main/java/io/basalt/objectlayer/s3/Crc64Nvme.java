package io.basalt.objectlayer.s3;

import java.nio.ByteBuffer;
import java.util.zip.Checksum;

/**
 * CRC-64/NVME (NVM Express NVM Command Set spec, "64b CRC"; S3's x-amz-checksum-crc64nvme): polynomial
 * 0xAD93D23594C93659, reflected in and out, initial value and final XOR all ones. Table-driven, a byte at a time.
 */
final class Crc64Nvme implements Checksum {
    /** The polynomial bit-reversed, for the reflected (LSB-first) algorithm. */
    private static final long POLY_REFLECTED = 0x9A6C9329AC4BC9B5L;
    private static final long[] TABLE = table();

    private long crc = -1L;

    private static long[] table() {
        long[] t = new long[256];
        for (int i = 0; i < 256; i++) {
            long c = i;
            for (int bit = 0; bit < 8; bit++) {
                c = (c & 1) != 0 ? c >>> 1 ^ POLY_REFLECTED : c >>> 1;
            }
            t[i] = c;
        }
        return t;
    }

    @Override
    public void update(int b) {
        crc = TABLE[(int) (crc ^ b) & 0xff] ^ crc >>> 8;
    }

    @Override
    public void update(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            crc = TABLE[(int) (crc ^ b[i]) & 0xff] ^ crc >>> 8;
        }
    }

    @Override
    public void update(ByteBuffer buffer) {
        while (buffer.hasRemaining()) {
            crc = TABLE[(int) (crc ^ buffer.get()) & 0xff] ^ crc >>> 8;
        }
    }

    @Override
    public long getValue() {
        return ~crc;
    }

    @Override
    public void reset() {
        crc = -1L;
    }
}
