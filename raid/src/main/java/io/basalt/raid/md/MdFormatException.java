package io.basalt.raid.md;

/**
 * An md superblock or bitmap that Basalt refuses: read from a disk, so an operating error (the daemon lives
 * on and reports it), never a programmer error. {@link #reason()} lets callers and tests tell the cases apart
 * without parsing the message.
 */
public final class MdFormatException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        BAD_MAGIC,
        BAD_VERSION,
        BAD_CHECKSUM,
        MAX_DEV_TOO_LARGE,
        RESERVED_NOT_ZERO,
        UNSUPPORTED_FEATURE,
        UNSUPPORTED_LEVEL,
        UNSUPPORTED_LAYOUT,
        BAD_GEOMETRY,
        OFFSET_OUTSIDE_DEVICE,
        BAD_DEV_NUMBER,
        BITMAP_BAD_MAGIC,
        BITMAP_BAD_VERSION,
        BITMAP_BAD_CHUNK,
        BITMAP_UUID_MISMATCH,
        BITMAP_TOO_SMALL,
        BITMAP_BAD_FIELD,
        IO_ERROR,
    }

    private final Reason reason;

    public MdFormatException(Reason reason, String message) {
        super(reason + ": " + message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
