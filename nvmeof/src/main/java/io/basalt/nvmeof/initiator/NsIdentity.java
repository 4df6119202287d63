package io.basalt.nvmeof.initiator;

import io.basalt.nvmeof.nvme.IdentifyNamespace;
import io.basalt.nvmeof.nvme.NamespaceDescriptors;
import io.basalt.nvmeof.nvme.NvmeStatus;
import io.basalt.nvmeof.nvme.Opcodes;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * A namespace's identity as text ("nguid=... eui64=... uuid=..."): NGUID and EUI-64 from Identify Namespace, the
 * UUID (and NGUID/EUI-64, when Identify Namespace has zeroes) from the Namespace Identification Descriptor list.
 * Identifiers the target does not give are left out; a reconnect must find the same text.
 */
final class NsIdentity {
    private static final int EUI64_OFFSET = 120;
    private static final int EUI64_BYTES = 8;
    private static final int DESCRIPTOR_LIST_BYTES = 4096;
    private static final int DESCRIPTOR_HEADER_BYTES = 4;
    private static final int NIDT_EUI64 = 1;

    private NsIdentity() {}

    /** {@code identifyNs} holds the namespace's Identify data; the descriptor list is fetched here (optional). */
    static String read(SyncQueue admin, int nsid, MemorySegment identifyNs) {
        String nguid = hexUnlessZero(identifyNs, IdentifyNamespace.NGUID_OFFSET, NamespaceDescriptors.NGUID_BYTES);
        String eui64 = hexUnlessZero(identifyNs, EUI64_OFFSET, EUI64_BYTES);
        String uuid = null;
        MemorySegment list = Arena.ofAuto().allocate(DESCRIPTOR_LIST_BYTES, 4096);
        if (admin.admin(Opcodes.ADMIN_IDENTIFY, nsid, Opcodes.CNS_NAMESPACE_DESCRIPTORS, 0, list) == NvmeStatus.SUCCESS) {
            int at = 0;
            while (at + DESCRIPTOR_HEADER_BYTES <= DESCRIPTOR_LIST_BYTES) {
                int type = Sqe.u8(list, at);
                int length = Sqe.u8(list, at + 1);
                if (type == 0 || length == 0 || at + DESCRIPTOR_HEADER_BYTES + length > DESCRIPTOR_LIST_BYTES) break;
                String value = hexUnlessZero(list, at + DESCRIPTOR_HEADER_BYTES, length);
                if (type == NamespaceDescriptors.NIDT_NGUID && nguid == null) nguid = value;
                if (type == NIDT_EUI64 && eui64 == null) eui64 = value;
                if (type == NamespaceDescriptors.NIDT_UUID) uuid = value;
                at += DESCRIPTOR_HEADER_BYTES + length;
            }
        }
        StringBuilder text = new StringBuilder();
        if (nguid != null) text.append("NGUID ").append(nguid);
        if (eui64 != null) text.append(text.isEmpty() ? "" : ", ").append("EUI-64 ").append(eui64);
        if (uuid != null) text.append(text.isEmpty() ? "" : ", ").append("UUID ").append(uuid);
        return text.isEmpty() ? "no identifiers" : text.toString();
    }

    private static String hexUnlessZero(MemorySegment from, long offset, int bytes) {
        byte[] b = from.asSlice(offset, bytes).toArray(ValueLayout.JAVA_BYTE);
        for (byte x : b) {
            if (x != 0) return HexFormat.of().formatHex(b);
        }
        return null;
    }
}
