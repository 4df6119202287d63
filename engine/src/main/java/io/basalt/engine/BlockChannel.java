package io.basalt.engine;

import java.lang.foreign.MemorySegment;

/**
 * The submitting side of a {@link BlockDevice} for one reactor. All methods run on the owning reactor's
 * thread.
 *
 * <p>Each submit method returns {@code true} when the request was accepted: its completion will arrive
 * exactly once, on this reactor, after the method returned (never inside it). It returns {@code false}
 * when the channel has no room (queue depth reached): nothing happened, no completion will come, retry
 * after some completions. Every other problem (bad range, misaligned buffer, device error) is reported
 * through the completion's status, never as an exception.
 *
 * <p>Buffers must be native segments aligned to the logical block size, their total length exactly
 * {@code blockCount x logicalBlockBytes}. They must stay valid until the completion.
 */
public interface BlockChannel extends AutoCloseable {
    BlockDevice device();

    boolean read(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion);

    boolean write(long lba, int blockCount, MemorySegment buffer, long tag, IoCompletion completion);

    boolean readv(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion);

    /** As {@link #writev(long, int, IoVector, int, long, IoCompletion)} without flags. */
    default boolean writev(long lba, int blockCount, IoVector buffers, long tag, IoCompletion completion) {
        return writev(lba, blockCount, buffers, 0, tag, completion);
    }

    /**
     * {@link #writev} flag: the written blocks are durable when the write completes OK, without a FLUSH (NVMe and
     * SCSI FUA; io_uring's RWF_DSYNC on an O_DIRECT block device sends REQ_FUA). Earlier writes are not promised
     * durable by it. A device without a FUA write of its own (a RAID volume, a cache model) performs it as the
     * write followed by a FLUSH, which is stronger.
     */
    int WRITE_FUA = 1;
    /** The flags {@link #writev(long, int, IoVector, int, long, IoCompletion)} knows; others get INVALID. */
    int WRITE_FLAGS_KNOWN = WRITE_FUA;

    /** A vectored write with {@code flags} (0 or {@link #WRITE_FUA}); unknown flags complete with {@link Status#INVALID}. */
    boolean writev(long lba, int blockCount, IoVector buffers, int flags, long tag, IoCompletion completion);

    /** Makes every write completed before this call durable. */
    boolean flush(long tag, IoCompletion completion);

    /** Hints that the blocks are unused; they read back as zeroes or as their old data afterwards. */
    boolean discard(long lba, long blockCount, long tag, IoCompletion completion);

    /** Sets the blocks to zeroes (deallocating them where the backend can). */
    boolean writeZeroes(long lba, long blockCount, long tag, IoCompletion completion);

    /** Requests accepted and not yet completed. */
    int inFlight();

    /** Most requests this channel accepts at once. */
    int queueDepthMax();

    /** Closes the channel; requests in flight still complete. Idempotent. */
    @Override
    void close();
}
