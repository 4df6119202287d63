package io.basalt.daemon.rpc;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MessageFramerTest {
    /**
     * Feeds the text in pieces of {@code step} bytes and returns what the framer cut out of it: each value's text,
     * or the name of the refusal.
     */
    private static List<String> frame(String text, int step, int valueBytesMax) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        MessageFramer framer = new MessageFramer(64, valueBytesMax);
        List<String> values = new ArrayList<>();
        int scanned = 0;
        for (int available = Math.min(step, bytes.length); ; available = Math.min(available + step, bytes.length)) {
            while (true) {
                MessageFramer.Result result = framer.scan(bytes, scanned, available);
                scanned = framer.position();
                if (result == MessageFramer.Result.INCOMPLETE) break;
                values.add(result == MessageFramer.Result.VALUE
                        ? new String(bytes, framer.valueStart(), scanned - framer.valueStart(), StandardCharsets.UTF_8)
                        : result.name());
            }
            assertEquals(available, scanned);
            if (available == bytes.length) return values;
        }
    }

    private static List<String> frame(String text, int step) {
        return frame(text, step, 1 << 20);
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
    void deepNestingIsRefusedEarlyAndTheLineSkipped() {
        String text = "[".repeat(100) + "]".repeat(100) + "[1]\n[2]\n";
        for (int step : new int[] {1, 7, text.length()}) {
            assertEquals(List.of("TOO_DEEP", "[2]"), frame(text, step), "step " + step);
        }
        String inString = "[\"" + "[".repeat(100) + "\"]";
        assertEquals(List.of(inString), frame(inString, 5), "brackets inside strings do not count");
    }

    @Test
    void aValueOverTheLimitIsRefusedWhenItPassesItNotWhenItEnds() {
        String big = "{\"s\":\"" + "x".repeat(100) + "\"}";
        assertEquals(List.of(big), frame(big, 9, big.length()), "exactly at the limit");
        byte[] bytes = (big + " [1]\n[2]\n").getBytes(StandardCharsets.US_ASCII);
        MessageFramer framer = new MessageFramer(64, big.length() - 1);
        assertEquals(MessageFramer.Result.TOO_LARGE, framer.scan(bytes, 0, bytes.length));
        assertEquals(big.length(), framer.position(), "refused at the first byte past the limit");
        assertEquals(List.of("TOO_LARGE", "[2]"), frame(big + " [1]\n[2]\n", 3, big.length() - 1), "the rest of the line goes too");
        assertEquals(List.of("TOO_LARGE", "7"), frame("123456789\n7\n", 2, 5), "a top-level token counts as well");
    }

    @Test
    void aRawControlCharacterInAStringEndsTheMessageAtThatLine() {
        // A peer that forgot a closing quote: the newline inside the "string" is where its next message starts.
        String text = "{\"method\":\"drive_list\n{\"id\":2}\n";
        assertEquals(List.of("CONTROL_CHARACTER", "{\"id\":2}"), frame(text, 4));
        assertEquals(List.of("CONTROL_CHARACTER", "[1]"), frame("\"tab\there\" x\n[1]", 1));
        assertEquals(List.of("{\"a\":\"\\n é\"}"), frame("{\"a\":\"\\n é\"}", 1), "escapes and UTF-8 are fine");
    }

    @Test
    void skipLineDropsTheRestOfTheLineOnly() {
        byte[] bytes = "{\"a\":} junk [9]\n[1]".getBytes(StandardCharsets.US_ASCII);
        MessageFramer framer = new MessageFramer(64, 1024);
        assertEquals(MessageFramer.Result.VALUE, framer.scan(bytes, 0, bytes.length));
        framer.skipLine(); // what the connection does when the value does not parse
        assertTrue(framer.nothingToKeep());
        assertEquals(MessageFramer.Result.VALUE, framer.scan(bytes, framer.position(), bytes.length));
        assertEquals("[1]", new String(bytes, framer.valueStart(), framer.position() - framer.valueStart(), StandardCharsets.US_ASCII));
    }
}
