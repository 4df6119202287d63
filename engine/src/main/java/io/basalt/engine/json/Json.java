package io.basalt.engine.json;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * JSON (RFC 8259) for the control plane, without dependencies. Values map to Java as:
 * object: {@code LinkedHashMap<String,Object>} (key order kept, duplicate keys refused), array:
 * {@code ArrayList<Object>}, string: {@code String}, integer: {@code Long}, other number: {@code Double},
 * {@code true}/{@code false}: {@code Boolean}, {@code null}: {@link #NULL} (so that "absent" and "null"
 * differ in a map).
 *
 * <p>Input comes from unix-socket peers and files, so it is hostile: every parse has a nesting depth and a
 * length limit, and every error names the line and column.
 */
public final class Json {
    private Json() {}

    /** The JSON {@code null} value. */
    public enum Null {
        NULL;

        @Override public String toString() { return "null"; }
    }

    public static final Null NULL = Null.NULL;

    public static final int DEPTH_MAX_DEFAULT = 64;
    public static final int LENGTH_MAX_DEFAULT = 1 << 20;

    /** Parses one JSON value with the default limits (depth 64, 1 Mi characters). */
    public static Object parse(String text) {
        return parse(text, DEPTH_MAX_DEFAULT, LENGTH_MAX_DEFAULT);
    }

    public static Object parse(String text, int depthMax, int lengthMax) {
        return new JsonParser(text, depthMax, lengthMax).parseDocument();
    }

    /**
     * Parses UTF-8 bytes; malformed UTF-8 is a {@link JsonException}, never a silent replacement character.
     * {@code lengthMaxBytes} bounds the input before any decoding work is done.
     */
    public static Object parseUtf8(byte[] bytes, int offset, int length, int depthMax, int lengthMaxBytes) {
        if (length > lengthMaxBytes) {
            throw new JsonException("JSON text of " + length + " bytes is over the limit of " + lengthMaxBytes, 0);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new JsonException("input is not valid UTF-8", 0);
        }
        // Never more characters than bytes, so the byte limit also bounds the parser.
        return parse(text, depthMax, Math.max(lengthMaxBytes, 1));
    }

    /** Compact text: no spaces, one line. */
    public static String write(Object value) {
        return JsonWriter.write(value, false);
    }

    /** Indented text (two spaces), for people. */
    public static String writePretty(Object value) {
        return JsonWriter.write(value, true);
    }
}
