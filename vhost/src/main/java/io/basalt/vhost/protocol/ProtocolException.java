package io.basalt.vhost.protocol;

/** A front-end broke the vhost-user protocol: the session that received it is closed, nothing else. */
public final class ProtocolException extends RuntimeException {
    public ProtocolException(String message) {
        super(message);
    }
}
