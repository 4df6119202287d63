package io.basalt.objectlayer.s3;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;
import java.util.zip.Checksum;

/**
 * The additional checksums S3 accepts on a PUT (x-amz-checksum-ALGORITHM, as a header or an aws-chunked trailer):
 * the value is the base64 of the big-endian checksum bytes.
 */
final class BodyChecksum {
    enum Algorithm { CRC32, CRC32C, CRC64NVME, SHA1, SHA256 }

    private static final String HEADER_PREFIX = "x-amz-checksum-";

    final Algorithm algorithm;
    private final Checksum crc;
    private final int crcBytes;
    private final MessageDigest digest;

    private BodyChecksum(Algorithm algorithm) {
        this.algorithm = algorithm;
        switch (algorithm) {
            case CRC32 -> { crc = new CRC32(); crcBytes = 4; digest = null; }
            case CRC32C -> { crc = new CRC32C(); crcBytes = 4; digest = null; }
            case CRC64NVME -> { crc = new Crc64Nvme(); crcBytes = 8; digest = null; }
            case SHA1 -> { crc = null; crcBytes = 0; digest = messageDigest("SHA-1"); }
            default -> { crc = null; crcBytes = 0; digest = messageDigest("SHA-256"); }
        }
    }

    /** The checksum an x-amz-checksum-* header or trailer name asks for; null for any other name. */
    static BodyChecksum forHeader(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (!n.startsWith(HEADER_PREFIX)) {
            return null;
        }
        for (Algorithm a : Algorithm.values()) {
            if (n.equals(HEADER_PREFIX + a.name().toLowerCase(Locale.ROOT))) {
                return new BodyChecksum(a);
            }
        }
        return null;
    }

    static String headerName(Algorithm a) {
        return HEADER_PREFIX + a.name().toLowerCase(Locale.ROOT);
    }

    void update(ByteBuffer data) {
        if (crc != null) {
            crc.update(data);
        } else {
            digest.update(data);
        }
    }

    String base64() {
        if (crc == null) {
            return Base64.getEncoder().encodeToString(digest.digest());
        }
        long v = crc.getValue();
        byte[] out = new byte[crcBytes];
        for (int i = 0; i < crcBytes; i++) {
            out[i] = (byte) (v >>> 8 * (crcBytes - 1 - i));
        }
        return Base64.getEncoder().encodeToString(out);
    }

    private static MessageDigest messageDigest(String name) {
        try {
            return MessageDigest.getInstance(name);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(name + " is part of every JDK", e);
        }
    }
}
