package io.basalt.daemon.rpc;

/**
 * One JSON-RPC method. Runs on a connection thread (several may run at once); returns the result as
 * JSON-ready Java values (maps, lists, strings, numbers, booleans). Throws {@link RpcException} for an error
 * the caller should see; an {@link IllegalArgumentException} also becomes "invalid params" with its message.
 */
@FunctionalInterface
public interface RpcMethod {
    Object call(RpcParams params) throws RpcException;
}
