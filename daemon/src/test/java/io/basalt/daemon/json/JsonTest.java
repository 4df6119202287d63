package io.basalt.daemon.json;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class JsonTest {
    @Test
    void parsesEveryKindOfValue() {
        Object v = Json.parse(" {\"s\": \"a\\\"b\\\\c\\n\\u00e9\\/\", \"i\": -42, \"d\": 1.5e3, \"t\": true, \"f\": false,"
                + " \"n\": null, \"a\": [1, [], {}], \"o\": {\"x\": 0}} ");
        Map<?, ?> m = assertInstanceOf(Map.class, v);
        assertEquals("a\"b\\c\né/", m.get("s"));
        assertEquals(-42L, m.get("i"));
        assertEquals(1500.0, m.get("d"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertSame(Json.NULL, m.get("n"));
        assertEquals(List.of(1L, List.of(), Map.of()), m.get("a"));
        assertEquals(Map.of("x", 0L), m.get("o"));
        assertEquals(List.of("s", "i", "d", "t", "f", "n", "a", "o"), new ArrayList<>(m.keySet()), "key order kept");
    }

    @Test
    void parsesTopLevelScalars() {
        assertEquals(0L, Json.parse("0"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals("x", Json.parse("\"x\""));
        assertSame(Json.NULL, Json.parse("null"));
        assertEquals(-0.25, Json.parse("-2.5E-1"));
        assertEquals("\uD83D\uDE00", Json.parse("\"\\ud83d\\ude00\""));
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "   ", "{", "}", "[", "[1,]", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{\"a\":1,}", "{,}",
            "'x'", "\"abc", "\"a\\x\"", "\"\\u12g4\"", "\"\\u12\"", "\"tab\there\"", "01", "-", "1.", ".5", "1e", "+1",
            "tru", "nul", "True", "NaN", "Infinity", "1 2", "{} {}", "[1]]", "{\"a\":1}x",
            "99999999999999999999", "1e400", "{\"a\":1,\"a\":2}", "\u0000", "[\"a\"\"b\"]",
    })
    void refusesMalformedInput(String text) {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(text));
        assertTrue(e.getMessage().startsWith("JSON error at line "), e.getMessage());
    }

    @Test
    void errorsNameLineAndColumn() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": 1,\n  \"b\": ?\n}"));
        assertTrue(e.getMessage().contains("line 3, column 8"), e.getMessage());
        assertTrue(e.getMessage().contains("'?'"), e.getMessage());
        JsonException dup = assertThrows(JsonException.class, () -> Json.parse("{\"k\":1,\"k\":2}"));
        assertTrue(dup.getMessage().contains("Duplicate field 'k'"), dup.getMessage());
        JsonException big = assertThrows(JsonException.class, () -> Json.parse("[1, 99999999999999999999]"));
        assertTrue(big.getMessage().contains("99999999999999999999 is outside the 64-bit range"), big.getMessage());
    }

    @Test
    void nestingDepthIsLimited() {
        assertNotNull(Json.parse("[".repeat(64) + "]".repeat(64)));
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("[".repeat(65) + "]".repeat(65)));
        assertTrue(e.getMessage().contains("nesting depth (65) exceeds the maximum allowed (64"), e.getMessage());
        // Far deeper than the stack would allow without a limit: still a clean error.
        assertThrows(JsonException.class, () -> Json.parse("{\"a\":".repeat(100_000)));
    }

    @Test
    void lengthIsLimited() {
        String big = "\"" + "x".repeat(100) + "\"";
        assertEquals(102, ((String) Json.parse(big, 64, 102)).length() + 2);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(big, 64, 101));
        assertTrue(e.getMessage().contains("over the limit"), e.getMessage());
        // Jackson's own limits, set explicitly (the length ones back up the check above).
        JsonException longNumber = assertThrows(JsonException.class, () -> Json.parse("0." + "1".repeat(200)));
        assertTrue(longNumber.getMessage().contains("Number value length"), longNumber.getMessage());
        assertEquals(100, Json.constraints(64, 1 << 20).getMaxNumberLength());
        assertEquals(1 << 20, Json.constraints(64, 1 << 20).getMaxDocumentLength());
        assertEquals(64, Json.constraints(64, 1 << 20).getMaxNestingDepth());
    }

    @Test
    void utf8IsCheckedNotReplaced() {
        byte[] ok = "{\"name\":\"é\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals(Map.of("name", "é"), Json.parseUtf8(ok, 0, ok.length, 64, 1024));
        byte[] bad = {'"', (byte) 0xC3, '"'};
        JsonException e = assertThrows(JsonException.class, () -> Json.parseUtf8(bad, 0, bad.length, 64, 1024));
        assertTrue(e.getMessage().contains("UTF-8"));
        assertThrows(JsonException.class, () -> Json.parseUtf8(ok, 0, ok.length, 64, 4));
        byte[] utf16 = "{\"a\":1}".getBytes(StandardCharsets.UTF_16LE);
        assertThrows(JsonException.class, () -> Json.parseUtf8(utf16, 0, utf16.length, 64, 1024), "UTF-16 is not guessed");
    }

    @Test
    void writesCompactAndPretty() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "q\"\\\n\u0001é");
        m.put("l", 7L);
        m.put("i", 3);
        m.put("d", 0.5);
        m.put("b", true);
        m.put("n", Json.NULL);
        m.put("j", null);
        m.put("a", List.of(1L, "x"));
        m.put("e", List.of());
        m.put("o", Map.of());
        String compact = Json.write(m);
        assertEquals("{\"s\":\"q\\\"\\\\\\n\\u0001é\",\"l\":7,\"i\":3,\"d\":0.5,\"b\":true,\"n\":null,\"j\":null,"
                + "\"a\":[1,\"x\"],\"e\":[],\"o\":{}}", compact);
        String pretty = Json.writePretty(Map.of("a", List.of(1L, 2L)));
        assertEquals("{\n  \"a\": [\n    1,\n    2\n  ]\n}", pretty);
    }

    @Test
    void writeThenParseRoundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", "tab\t\u2028\uD83D\uDE00 \u007f");
        m.put("big", Long.MIN_VALUE);
        m.put("real", 1.0E300);
        m.put("list", List.of(List.of(List.of(Boolean.FALSE))));
        Map<String, Object> back = new LinkedHashMap<>(Map.of("text", m.get("text")));
        assertEquals(back.get("text"), ((Map<?, ?>) Json.parse(Json.write(m))).get("text"));
        assertEquals(Json.parse(Json.write(m)), Json.parse(Json.writePretty(m)));
        assertEquals(m.get("real"), ((Map<?, ?>) Json.parse(Json.write(m))).get("real"));
    }

    @Test
    void writerRefusesWhatJsonCannotHold() {
        assertThrows(JsonException.class, () -> Json.write(Double.NaN));
        assertThrows(JsonException.class, () -> Json.write(Double.POSITIVE_INFINITY));
        assertThrows(JsonException.class, () -> Json.write(new Object()));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        assertThrows(JsonException.class, () -> Json.write(cycle));
    }
}
