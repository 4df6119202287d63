package io.basalt.shims;

/**
 * Always-on invariant checks (Java's {@code assert} is off by default). A failed check is a programmer
 * error: it throws {@link IllegalStateException} with the message, and callers do not catch it.
 */
public final class Check {
    private Check() {}

    public static void that(boolean condition, String message) {
        if (!condition) throw new IllegalStateException("invariant violated: " + message);
    }

    public static void that(boolean condition, String message, long value) {
        if (!condition) throw new IllegalStateException("invariant violated: " + message + " (" + value + ")");
    }

    public static int positive(int value, String name) {
        if (value <= 0) throw new IllegalArgumentException(name + " must be positive, was " + value);
        return value;
    }

    public static long positive(long value, String name) {
        if (value <= 0) throw new IllegalArgumentException(name + " must be positive, was " + value);
        return value;
    }

    public static int powerOfTwo(int value, String name) {
        if (value <= 0 || Integer.bitCount(value) != 1) {
            throw new IllegalArgumentException(name + " must be a power of two, was " + value);
        }
        return value;
    }
}
