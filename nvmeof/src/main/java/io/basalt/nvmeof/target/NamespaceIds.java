package io.basalt.nvmeof.target;

import io.basalt.shims.Check;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

/**
 * The identifiers of a namespace (NVMe base 2.0 section 4.5.2): an NGUID and a UUID, and an optional EUI-64.
 * They must stay the same for the life of the namespace, across restarts, so the daemon persists them and hands
 * them back; {@link #random()} makes fresh ones for a new namespace.
 */
public record NamespaceIds(byte[] nguid, UUID uuid, byte[] eui64) {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final int NGUID_BYTES = 16;
    private static final int EUI64_BYTES = 8;

    public NamespaceIds {
        Check.that(nguid != null && nguid.length == NGUID_BYTES, "NGUID is 16 bytes");
        Check.that(uuid != null, "UUID given");
        Check.that(eui64 == null || eui64.length == EUI64_BYTES, "EUI-64 is 8 bytes");
        Check.that(!allZero(nguid), "NGUID not all zeroes (zero means none)");
        nguid = nguid.clone();
        eui64 = eui64 == null ? null : eui64.clone();
    }

    /** Fresh random identifiers: a version-4 UUID and a random NGUID, no EUI-64. */
    public static NamespaceIds random() {
        byte[] nguid = new byte[NGUID_BYTES];
        do {
            RANDOM.nextBytes(nguid);
        } while (allZero(nguid));
        return new NamespaceIds(nguid, UUID.randomUUID(), null);
    }

    /** From their text forms (32 hex digits, a UUID string, 16 hex digits or null), as persisted. */
    public static NamespaceIds parse(String nguidHex, String uuid, String eui64Hex) {
        return new NamespaceIds(HexFormat.of().parseHex(nguidHex), UUID.fromString(uuid),
                eui64Hex == null ? null : HexFormat.of().parseHex(eui64Hex));
    }

    public String nguidHex() {
        return HexFormat.of().formatHex(nguid);
    }

    /** The UUID's 16 bytes in network order, as the descriptor list carries it. */
    public byte[] uuidBytes() {
        return ByteBuffer.allocate(16).putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits()).array();
    }

    @Override
    public byte[] nguid() {
        return nguid.clone();
    }

    @Override
    public byte[] eui64() {
        return eui64 == null ? null : eui64.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NamespaceIds other && Arrays.equals(nguid, other.nguid) && uuid.equals(other.uuid)
                && Arrays.equals(eui64, other.eui64);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(nguid) * 31 + uuid.hashCode();
    }

    @Override
    public String toString() {
        return "NamespaceIds[nguid=" + nguidHex() + ", uuid=" + uuid + (eui64 == null ? "" : ", eui64=" + HexFormat.of().formatHex(eui64)) + "]";
    }

    private static boolean allZero(byte[] bytes) {
        for (byte b : bytes) if (b != 0) return false;
        return true;
    }
}
