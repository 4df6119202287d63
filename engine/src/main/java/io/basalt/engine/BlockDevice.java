package io.basalt.engine;

/**
 * A block device: a drive backend, a RAID volume, or a wrapper. The one API every exporter sees.
 *
 * <p>I/O goes through {@link BlockChannel}s, one per reactor thread that uses the device (as SPDK's
 * io_channel): a channel is owned by that reactor and touched by no other thread, so the data path takes
 * no locks. {@link #openChannel} is called on the reactor's own thread.
 */
public interface BlockDevice extends AutoCloseable {
    /** The name the control plane knows this device by. */
    String name();

    Geometry geometry();

    /** Opens a channel owned by {@code reactor}. Must be called on that reactor's thread. */
    BlockChannel openChannel(Reactor reactor);

    /**
     * Releases the device. Channels must be closed first (their reactors close them); a request submitted
     * afterwards completes with {@link Status#DEVICE_GONE}. Idempotent.
     */
    @Override
    void close();

    /** A short description for listings, such as "uring:/data/d0 (O_DIRECT)". */
    String describe();
}
