package io.basalt.nvmeof.tcp;

import io.basalt.shims.Check;

/**
 * The limits of one NVMe/TCP queue pair. The controller must report matching values: MDTS covering
 * {@code dataBytesMax}, IOCCSZ = {@link #ioccsz()}, and a queue size no larger than {@code commandsMax}.
 *
 * @param commandsMax          commands a queue pair has in flight at most (also bounded by the SQSIZE its
 *                             Connect asked for); one more is a fatal error
 * @param maxH2cDataBytes      MAXH2CDATA sent in ICResp and the largest R2T issued: a multiple of 4, >= 4096
 * @param c2hDataBytes         the most data one C2HData PDU carries (a read is split at this size)
 * @param dataBytesMax         the most data one command moves; a larger SGL fails the command
 * @param ioInCapsuleBytesMax  in-capsule data accepted on an I/O queue (the admin queue takes 8 KiB always)
 * @param bufferBytesMax       data buffer bytes a queue pair holds at most; a command waits for a buffer beyond
 */
public record TcpConfig(int commandsMax, int maxH2cDataBytes, int c2hDataBytes, int dataBytesMax,
                        int ioInCapsuleBytesMax, long bufferBytesMax) {
    /** Linux sends up to 8 KiB in a command capsule on the admin queue whatever IOCCSZ says (NVME_TCP_ADMIN_CCSZ). */
    public static final int ADMIN_IN_CAPSULE_BYTES = 8192;
    /** The largest transfer tag: TTAG is 16 bits, and this transport uses slot numbers as tags. */
    public static final int COMMANDS_LIMIT = 4096;

    public static final TcpConfig DEFAULT = new TcpConfig(128, 128 * 1024, 128 * 1024, 1024 * 1024, 8192, 32L << 20);

    public TcpConfig {
        Check.positive(commandsMax, "commandsMax");
        Check.that(commandsMax <= COMMANDS_LIMIT, "commandsMax <= " + COMMANDS_LIMIT, commandsMax);
        Check.that(maxH2cDataBytes >= IcRespPdu.MAXH2CDATA_MIN && maxH2cDataBytes % 4 == 0,
                "MAXH2CDATA is a multiple of 4 and at least 4096", maxH2cDataBytes);
        Check.positive(c2hDataBytes, "c2hDataBytes");
        Check.positive(dataBytesMax, "dataBytesMax");
        Check.that(ioInCapsuleBytesMax >= 0 && ioInCapsuleBytesMax <= dataBytesMax,
                "ioInCapsuleBytesMax within dataBytesMax", ioInCapsuleBytesMax);
        Check.that(ADMIN_IN_CAPSULE_BYTES <= dataBytesMax, "dataBytesMax holds an admin capsule", dataBytesMax);
        Check.that(bufferBytesMax >= 2L * DataBufferPool.classBytes(dataBytesMax),
                "bufferBytesMax holds two of the largest buffers", bufferBytesMax);
    }

    /** IOCCSZ for Identify Controller: the I/O command capsule size in 16-byte units (SQE plus in-capsule data). */
    public int ioccsz() {
        return (Sqe.BYTES + ioInCapsuleBytesMax) / 16;
    }

    /** C2HData PDUs one command's data needs at most. */
    int c2hPdusMax() {
        return (dataBytesMax + c2hDataBytes - 1) / c2hDataBytes;
    }
}
