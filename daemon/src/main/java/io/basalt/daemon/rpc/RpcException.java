package io.basalt.daemon.rpc;

/** A JSON-RPC 2.0 error object: code, message and optional data (section 5.1 of the specification). */
public final class RpcException extends Exception {
    public static final int PARSE_ERROR = -32700;
    public static final int INVALID_REQUEST = -32600;
    public static final int METHOD_NOT_FOUND = -32601;
    public static final int INVALID_PARAMS = -32602;
    public static final int INTERNAL_ERROR = -32603;

    private final int code;

    public RpcException(int code, String message) {
        super(message, null, false, false); // an expected outcome: no stack trace to fill
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static RpcException invalidParams(String message) {
        return new RpcException(INVALID_PARAMS, message);
    }
}
