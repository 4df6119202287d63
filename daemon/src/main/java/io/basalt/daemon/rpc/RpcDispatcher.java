package io.basalt.daemon.rpc;

import io.basalt.daemon.json.Json;
import io.basalt.daemon.json.JsonException;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The method registry and the JSON-RPC 2.0 rules (https://www.jsonrpc.org/specification): turns one request
 * text into one response text, or none for a notification. Transport-free, so the socket server, the config
 * replay and tests share it. Thread-safe: methods are registered at start-up and then only read.
 */
public final class RpcDispatcher {
    public static final int BATCH_MAX = 128;

    private final Map<String, RpcMethod> methods = new ConcurrentHashMap<>();
    private final int depthMax;
    private volatile Consumer<String> callListener = method -> { };

    public RpcDispatcher(int depthMax) {
        Check.that(depthMax > 0, "JSON depth limit positive", depthMax);
        this.depthMax = depthMax;
    }

    public RpcDispatcher register(String name, RpcMethod method) {
        Check.that(method != null, "RPC method handler present");
        Check.that(!name.startsWith("rpc."), "names starting with 'rpc.' are reserved by JSON-RPC");
        Check.that(methods.putIfAbsent(name, method) == null, "RPC method '" + name + "' registered once");
        return this;
    }

    /**
     * Told the name of every method that ran, once it has answered (with a result or an error: a failed call may
     * have done part of its work); the daemon saves its state from here. Set at start-up. Must not block.
     */
    public void setCallListener(Consumer<String> listener) {
        Check.that(listener != null, "call listener present");
        callListener = listener;
    }

    public List<String> methodNames() {
        return methods.keySet().stream().sorted().toList();
    }

    /** Calls a method directly (config replay): the same checks and errors as over the socket. */
    public Object invoke(String method, Object params) throws RpcException {
        RpcMethod handler = methods.get(method);
        if (handler == null) throw new RpcException(RpcException.METHOD_NOT_FOUND, "Method not found: " + method);
        RpcParams p = toParams(method, params);
        try {
            return handler.call(p);
        } catch (IllegalArgumentException e) {
            throw RpcException.invalidParams(method + ": " + e.getMessage());
        } catch (RuntimeException e) {
            // A bug or an unexpected operating error: the caller gets its text, the daemon keeps serving.
            System.err.println("basalt: RPC " + method + " failed: " + e);
            throw new RpcException(RpcException.INTERNAL_ERROR, "Internal error in " + method + ": " + e);
        } finally {
            callListener.accept(method);
        }
    }

    private static RpcParams toParams(String method, Object params) throws RpcException {
        if (params == null) return RpcParams.empty(method);
        if (params instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked") Map<String, Object> named = (Map<String, Object>) m;
            return new RpcParams(method, named);
        }
        if (params instanceof List<?> l && l.isEmpty()) return RpcParams.empty(method);
        throw RpcException.invalidParams(method + ": params must be an object with named params, got " + RpcParams.typeOf(params));
    }

    /** Handles one complete message (a request, a notification or a batch); returns the reply or null. */
    public String handleText(String text) {
        Object message;
        try {
            message = Json.parse(text, depthMax, Json.LENGTH_MAX_DEFAULT);
        } catch (JsonException e) {
            return parseError(e);
        }
        return handleParsed(message);
    }

    public static String parseError(JsonException e) {
        return Json.write(error(Json.NULL, RpcException.PARSE_ERROR, "Parse error: " + e.getMessage()));
    }

    /** Handles one parsed message (a request, a notification or a batch); returns the reply or null. */
    public String handleParsed(Object message) {
        if (message instanceof List<?> batch) return handleBatch(batch);
        Map<String, Object> response = handleRequest(message);
        return response == null ? null : Json.write(response);
    }

    private String handleBatch(List<?> batch) {
        if (batch.isEmpty()) return Json.write(error(Json.NULL, RpcException.INVALID_REQUEST, "Invalid Request: empty batch"));
        if (batch.size() > BATCH_MAX) {
            return Json.write(error(Json.NULL, RpcException.INVALID_REQUEST, "Invalid Request: batch of " + batch.size() + " calls is over the limit of " + BATCH_MAX));
        }
        List<Object> responses = new ArrayList<>();
        for (Object request : batch) {
            Map<String, Object> response = handleRequest(request);
            if (response != null) responses.add(response);
        }
        return responses.isEmpty() ? null : Json.write(responses);
    }

    /** One request object; null when it is a valid notification (which gets no reply, even on error). */
    private Map<String, Object> handleRequest(Object message) {
        if (!(message instanceof Map<?, ?> request)) {
            return error(Json.NULL, RpcException.INVALID_REQUEST, "Invalid Request: expected an object, got " + RpcParams.typeOf(message));
        }
        Object id = request.containsKey("id") ? request.get("id") : null;
        if (id != null && !(id instanceof String || id instanceof Long || id instanceof Double || id instanceof Json.Null)) {
            return error(Json.NULL, RpcException.INVALID_REQUEST, "Invalid Request: 'id' must be a string, a number or null");
        }
        Object replyId = id == null ? Json.NULL : id;
        String problem = requestProblem(request);
        if (problem != null) return error(replyId, RpcException.INVALID_REQUEST, "Invalid Request: " + problem);
        String method = (String) request.get("method");
        try {
            Object result = invoke(method, request.get("params"));
            if (id == null) return null;
            Map<String, Object> response = new LinkedHashMap<>();
            response.put("jsonrpc", "2.0");
            response.put("id", replyId);
            response.put("result", result == null ? Json.NULL : result);
            return response;
        } catch (RpcException e) {
            return id == null ? null : error(replyId, e.code(), e.getMessage());
        }
    }

    private static String requestProblem(Map<?, ?> request) {
        if (!"2.0".equals(request.get("jsonrpc"))) return "'jsonrpc' must be \"2.0\"";
        if (!(request.get("method") instanceof String)) return "'method' must be a string";
        Object params = request.get("params");
        if (params != null && !(params instanceof Map || params instanceof List)) return "'params' must be an object or an array";
        return null;
    }

    public static Map<String, Object> error(Object id, int code, String message) {
        Map<String, Object> err = new LinkedHashMap<>();
        err.put("code", (long) code);
        err.put("message", message);
        Map<String, Object> response = new LinkedHashMap<>();
        response.put("jsonrpc", "2.0");
        response.put("id", id);
        response.put("error", err);
        return response;
    }
}
