package io.basalt.engine.net;

import io.basalt.shims.Check;

/**
 * Limits of the socket side on one reactor, fixed at start-up (docs/nvmeof.md, "Sockets on io_uring").
 *
 * @param recvBufferBytes  size of each provided receive buffer (a multiple of 4 KiB): the most one RECV completion
 *                         delivers
 * @param recvBufferCount  buffers in the reactor's provided-buffer ring (a power of two, at most 32768), shared by
 *                         all its connections; they only need to cover the receives that complete between two reaps,
 *                         since each is recycled as soon as its bytes are delivered
 * @param sendQueueEntries sends a connection holds before {@link TcpConnection#send} says no (a power of two)
 * @param sendBatchMax     queued sends gathered into one SENDMSG (its iovec count, at most IOV_MAX 1024)
 * @param connectionsMax   connections one reactor owns at once
 * @param multishot        multishot RECV and ACCEPT (Linux 6.0 / 5.19); false: one-shot requests re-armed after
 *                         each completion (also the fallback when the kernel refuses multishot)
 * @param sendWaitAll      MSG_WAITALL on SENDMSG: the kernel itself finishes a send the socket had no room for;
 *                         false: a partial send completes and the connection resubmits the rest (tests use it to
 *                         exercise that path)
 */
public record TcpConfig(int recvBufferBytes, int recvBufferCount, int sendQueueEntries, int sendBatchMax,
                        int connectionsMax, boolean multishot, boolean sendWaitAll) {
    /** IOV_MAX (limits.h): the most iovecs one sendmsg takes. */
    public static final int IOV_MAX = 1024;

    public TcpConfig {
        Check.that(recvBufferBytes > 0 && recvBufferBytes % 4096 == 0, "recvBufferBytes a multiple of 4 KiB", recvBufferBytes);
        Check.powerOfTwo(recvBufferCount, "recvBufferCount");
        Check.that(recvBufferCount <= RecvBufferRing.ENTRIES_MAX, "recvBufferCount at most 32768", recvBufferCount);
        Check.powerOfTwo(sendQueueEntries, "sendQueueEntries");
        Check.that(sendBatchMax >= 1 && sendBatchMax <= IOV_MAX, "sendBatchMax in [1, IOV_MAX]", sendBatchMax);
        Check.positive(connectionsMax, "connectionsMax");
    }

    /** 128 buffers of 32 KiB (4 MiB per reactor), 128 queued sends batched 64 at a time, 4096 connections. */
    public static TcpConfig defaults() {
        return new TcpConfig(32 * 1024, 128, 128, 64, 4096, true, true);
    }

    public TcpConfig withRecvBuffers(int bufferBytes, int bufferCount) {
        return new TcpConfig(bufferBytes, bufferCount, sendQueueEntries, sendBatchMax, connectionsMax, multishot, sendWaitAll);
    }

    public TcpConfig withSendQueue(int entries, int batchMax) {
        return new TcpConfig(recvBufferBytes, recvBufferCount, entries, batchMax, connectionsMax, multishot, sendWaitAll);
    }

    public TcpConfig withSendWaitAll(boolean on) {
        return new TcpConfig(recvBufferBytes, recvBufferCount, sendQueueEntries, sendBatchMax, connectionsMax, multishot, on);
    }

    public TcpConfig withMultishot(boolean on) {
        return new TcpConfig(recvBufferBytes, recvBufferCount, sendQueueEntries, sendBatchMax, connectionsMax, on, sendWaitAll);
    }
}
