package io.basalt.nvmeof.nvme;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Namespace Identification Descriptor list, Identify CNS 03h, 4096 bytes (NVMe base 2.0 figure 278; Linux
 * {@code struct nvme_ns_id_desc}): descriptors of a 4-byte header (NIDT, NIDL, 2 reserved) and NIDL bytes of
 * identifier, ended by a zero NIDT.
 */
public final class NamespaceDescriptors {
    private NamespaceDescriptors() {}

    public static final int SIZE = 4096;
    public static final int HEADER_BYTES = 4;
    public static final int NIDT_OFFSET = 0;
    public static final int NIDL_OFFSET = 1;
    public static final int NIDT_EUI64 = 1;
    public static final int NIDT_NGUID = 2;
    public static final int NIDT_UUID = 3;
    public static final int NIDT_CSI = 4;
    public static final int EUI64_BYTES = 8;
    public static final int NGUID_BYTES = 16;
    public static final int UUID_BYTES = 16;
    public static final int CSI_BYTES = 1;

    /** Writes the list: EUI-64 when given, NGUID, UUID and the NVM command set identifier. */
    public static void write(MemorySegment out, byte[] eui64, byte[] nguid, byte[] uuid) {
        out.asSlice(0, SIZE).fill((byte) 0);
        long at = 0;
        if (eui64 != null) at = put(out, at, NIDT_EUI64, eui64);
        at = put(out, at, NIDT_NGUID, nguid);
        at = put(out, at, NIDT_UUID, uuid);
        put(out, at, NIDT_CSI, new byte[] {(byte) Opcodes.CSI_NVM});
    }

    private static long put(MemorySegment out, long at, int type, byte[] id) {
        Sqe.putU8(out, at + NIDT_OFFSET, type);
        Sqe.putU8(out, at + NIDL_OFFSET, id.length);
        MemorySegment.copy(id, 0, out, ValueLayout.JAVA_BYTE, at + HEADER_BYTES, id.length);
        return at + HEADER_BYTES + id.length;
    }
}
