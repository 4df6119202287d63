package io.basalt.daemon;

/** The daemon cannot start; the message says why and what to do, and is all the user sees. */
public final class StartupException extends Exception {
    public StartupException(String message) {
        super(message);
    }

    public StartupException(String message, Throwable cause) {
        super(message, cause);
    }
}
