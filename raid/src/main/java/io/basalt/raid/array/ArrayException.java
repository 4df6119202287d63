package io.basalt.raid.array;

/**
 * An array operation refused or failed. The message says what, starting with the argument at fault where there
 * is one ({@code param 'members': ...}: the array API's argument names are the RPC's parameter names); the
 * caller adds the operation's name in front. Nothing was changed unless the kind is {@link Kind#INTERNAL} and the
 * message says so.
 */
public final class ArrayException extends Exception {
    public enum Kind {
        /** The request is wrong for the arrays or drives as they are (the caller's to fix). */
        INVALID,
        /** A level or layout the volume layer does not have yet. */
        NOT_SUPPORTED,
        /** Metadata I/O failed, or no reactor runs to do it. */
        INTERNAL
    }

    private final Kind kind;

    public ArrayException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public static ArrayException invalid(String message) {
        return new ArrayException(Kind.INVALID, message);
    }

    public static ArrayException internal(String message) {
        return new ArrayException(Kind.INTERNAL, message);
    }

    public Kind kind() {
        return kind;
    }
}
