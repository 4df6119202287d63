package io.basalt.daemon.rpc;

import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The JSON-RPC rules without a socket. */
class RpcDispatcherTest {
    private final RpcDispatcher dispatcher = new RpcDispatcher(64)
            .register("echo", p -> p.asMap())
            .register("boom", p -> { throw new IllegalStateException("kaput"); })
            .register("refuse", p -> { throw new IllegalArgumentException("size must be even"); })
            .register("nothing", p -> null);

    private Map<?, ?> reply(String text) {
        return assertInstanceOf(Map.class, Json.parse(dispatcher.handleText(text)));
    }

    private static long code(Map<?, ?> reply) {
        return (Long) ((Map<?, ?>) reply.get("error")).get("code");
    }

    @Test
    void resultsCarryTheIdBack() {
        Map<?, ?> r = reply("{\"jsonrpc\":\"2.0\",\"id\":\"x-1\",\"method\":\"echo\",\"params\":{\"a\":[1]}}");
        assertEquals("x-1", r.get("id"));
        assertEquals(Map.of("a", List.of(1L)), r.get("result"));
        assertSame(Json.NULL, reply("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"nothing\"}").get("result"));
    }

    @Test
    void exceptionsInMethodsBecomeErrorsNotCrashes() {
        Map<?, ?> boom = reply("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"boom\"}");
        assertEquals(RpcException.INTERNAL_ERROR, code(boom));
        assertTrue(((Map<?, ?>) boom.get("error")).get("message").toString().contains("kaput"));
        Map<?, ?> refuse = reply("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"refuse\"}");
        assertEquals(RpcException.INVALID_PARAMS, code(refuse));
        assertEquals("refuse: size must be even", ((Map<?, ?>) refuse.get("error")).get("message"));
    }

    @Test
    void notificationsNeverGetAReply() {
        assertNull(dispatcher.handleText("{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}"));
        assertNull(dispatcher.handleText("{\"jsonrpc\":\"2.0\",\"method\":\"boom\"}"));
        assertNull(dispatcher.handleText("{\"jsonrpc\":\"2.0\",\"method\":\"missing\"}"));
        assertNull(dispatcher.handleText("[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]"));
    }

    @Test
    void protocolErrors() {
        assertEquals(RpcException.PARSE_ERROR, code(reply("{\"jsonrpc\"")));
        assertEquals(RpcException.INVALID_REQUEST, code(reply("[]")));
        assertEquals(RpcException.INVALID_REQUEST, code(reply("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"echo\"}")));
        assertEquals(RpcException.METHOD_NOT_FOUND, code(reply("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}")));
        Map<?, ?> positional = reply("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":[1]}");
        assertEquals(RpcException.INVALID_PARAMS, code(positional));
        String big = "[" + "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"},".repeat(RpcDispatcher.BATCH_MAX) + "1]";
        assertEquals(RpcException.INVALID_REQUEST, code(reply(big)));
    }

    @Test
    void methodsAreRegisteredOnce() {
        assertThrows(IllegalStateException.class, () -> dispatcher.register("echo", p -> null));
        assertThrows(IllegalStateException.class, () -> dispatcher.register("rpc.discover", p -> null));
        assertEquals(List.of("boom", "echo", "nothing", "refuse"), dispatcher.methodNames());
    }
}
