package io.basalt.engine;

/**
 * Receives the end of one request. Primitives only, so a completion allocates nothing: {@code tag} is the
 * caller's own number (a slot index, say), given back unchanged. Called on the reactor thread that owns the
 * channel, never from inside the submitting call.
 */
@FunctionalInterface
public interface IoCompletion {
    void complete(long tag, int status);
}
