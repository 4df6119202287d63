package io.basalt.engine.json;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class JsonFramerTest {
    /** Feeds the text in pieces of {@code step} bytes and returns the values cut out of it. */
    private static List<String> frame(String text, int step) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        JsonFramer framer = new JsonFramer(64);
        List<String> values = new ArrayList<>();
        int scanned = 0;
        for (int available = Math.min(step, bytes.length); ; available = Math.min(available + step, bytes.length)) {
            while (true) {
                int end = framer.scan(bytes, scanned, available);
                if (end < 0) {
                    assertEquals(JsonFramer.INCOMPLETE, end);
                    scanned = available;
                    break;
                }
                values.add(new String(bytes, framer.valueStart(), end - framer.valueStart(), StandardCharsets.UTF_8));
                framer.reset();
                scanned = end;
            }
            if (available == bytes.length) return values;
        }
    }

    @Test
    void cutsConcatenatedAndLineDelimitedValues() {
        String text = "{\"a\":\"}{\\\"\"}{\"b\":[1,{\"c\":2}]}\n[3]\n  \"str\\\"}\" 42\n";
        List<String> expected = List.of("{\"a\":\"}{\\\"\"}", "{\"b\":[1,{\"c\":2}]}", "[3]", "\"str\\\"}\"", "42");
        for (int step = 1; step <= text.length(); step++) {
            assertEquals(expected, frame(text, step), "step " + step);
        }
    }

    @Test
    void anUnfinishedValueStaysIncomplete() {
        assertEquals(List.of(), frame("{\"method\": \"drive_list\", \"params\": {", 3));
        assertEquals(List.of(), frame("   \n\t", 1));
    }

    @Test
    void deepNestingIsRefusedEarly() {
        byte[] deep = "[".repeat(65).getBytes(StandardCharsets.US_ASCII);
        assertEquals(JsonFramer.TOO_DEEP, new JsonFramer(64).scan(deep, 0, deep.length));
        byte[] inString = ("[\"" + "[".repeat(100) + "\"]").getBytes(StandardCharsets.US_ASCII);
        assertEquals(inString.length, new JsonFramer(64).scan(inString, 0, inString.length), "brackets inside strings do not count");
    }
}
