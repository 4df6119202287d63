package io.basalt.daemon;

/** The version reported by daemon_status and help. */
public final class Version {
    private Version() {}

    public static final String TEXT = "0.1.0-SNAPSHOT";
}
