package io.basalt.shims;

/** A failed system call on the control path (set-up, open, register): carries the errno. */
public final class NativeException extends RuntimeException {
    private final int errno;

    public NativeException(String what, long negativeErrno) {
        super(what + " failed: " + Errno.name(negativeErrno));
        this.errno = (int) Math.abs(negativeErrno);
    }

    public NativeException(String what, long negativeErrno, String hint) {
        super(what + " failed: " + Errno.name(negativeErrno) + ". " + hint);
        this.errno = (int) Math.abs(negativeErrno);
    }

    public int errno() {
        return errno;
    }

    /** Returns {@code result} when non-negative, else throws with the errno. */
    public static long check(long result, String what) {
        if (result < 0) throw new NativeException(what, result);
        return result;
    }

    public static int check(int result, String what) {
        if (result < 0) throw new NativeException(what, result);
        return result;
    }
}
