package io.basalt.daemon.json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import io.basalt.shims.Check;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The control plane's JSON (RFC 8259), all through Jackson: RPC requests and replies, the config file, the saved
 * state, the CLI's output. Values map to Java as: object: {@code LinkedHashMap<String,Object>} (key order kept,
 * duplicate keys refused), array: {@code ArrayList<Object>}, string: {@code String}, integer: {@code Long} (one
 * that does not fit in 64 bits is refused), other number: {@code Double}, {@code true}/{@code false}:
 * {@code Boolean}, {@code null}: {@link #NULL} (so that "absent" and "null" differ in a map).
 *
 * <p>Input comes from unix-socket peers and files, so it is hostile: every parse runs under explicit
 * {@link StreamReadConstraints} (nesting depth, document, string, name and number length), input must be UTF-8,
 * and every error names the line and column.
 */
public final class Json {
    private Json() {}

    /** The JSON {@code null} value. */
    public enum Null {
        NULL;

        @Override public String toString() { return "null"; }
    }

    public static final Null NULL = Null.NULL;

    /** Nesting depth of every document read (docs/rpc.md). */
    public static final int DEPTH_MAX_DEFAULT = 64;
    /** One RPC message, or a JSON argument given on the command line: 1 MiB. */
    public static final int LENGTH_MAX_DEFAULT = 1 << 20;
    /** A number's digits: a 64-bit integer has at most 20, a double in Java's form at most 24. */
    public static final int NUMBER_LENGTH_MAX = 100;
    /** An object key: Basalt's are short words; fio's and config keys too. */
    public static final int NAME_LENGTH_MAX = 4096;

    /** One factory per set of limits in use (messages, config files, replies): a handful, made once each. */
    private static final Map<Limits, JsonFactory> FACTORIES = new ConcurrentHashMap<>();
    private static final DefaultPrettyPrinter PRETTY = prettyPrinter();

    private record Limits(int depthMax, int lengthMax) {}

    /** The reading constraints for documents of at most {@code lengthMax} bytes (or characters). */
    public static StreamReadConstraints constraints(int depthMax, int lengthMax) {
        Check.positive(depthMax, "JSON depth limit");
        Check.positive(lengthMax, "JSON length limit");
        return StreamReadConstraints.builder()
                .maxNestingDepth(depthMax)
                .maxDocumentLength(lengthMax)
                .maxStringLength(lengthMax)
                .maxNameLength(Math.min(NAME_LENGTH_MAX, lengthMax))
                .maxNumberLength(NUMBER_LENGTH_MAX)
                .build();
    }

    static JsonFactory factory(int depthMax, int lengthMax) {
        return FACTORIES.computeIfAbsent(new Limits(depthMax, lengthMax), limits -> JsonFactory.builder()
                .streamReadConstraints(constraints(limits.depthMax(), limits.lengthMax()))
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build());
    }

    /** Parses one JSON value with the default limits (depth 64, 1 Mi characters). */
    public static Object parse(String text) {
        return parse(text, DEPTH_MAX_DEFAULT, LENGTH_MAX_DEFAULT);
    }

    /** Parses one JSON value of at most {@code lengthMax} characters; nothing but whitespace may follow it. */
    public static Object parse(String text, int depthMax, int lengthMax) {
        if (text == null) throw new JsonException("no JSON text (null)");
        if (text.length() > lengthMax) {
            throw new JsonException("JSON text of " + text.length() + " characters is over the limit of " + lengthMax);
        }
        try (JsonParser parser = factory(depthMax, lengthMax).createParser(text)) {
            return JsonReader.readDocument(parser);
        } catch (JsonProcessingException e) {
            throw JsonException.from(e);
        } catch (IOException e) {
            throw new JsonException("cannot read JSON text: " + e.getMessage()); // a String source never fails
        }
    }

    /**
     * Parses UTF-8 bytes; malformed UTF-8 is a {@link JsonException}, never a silent replacement character, and no
     * other encoding is guessed. {@code lengthMaxBytes} bounds the input before any decoding work is done.
     */
    public static Object parseUtf8(byte[] bytes, int offset, int length, int depthMax, int lengthMaxBytes) {
        if (length > lengthMaxBytes) {
            throw new JsonException("JSON text of " + length + " bytes is over the limit of " + lengthMaxBytes);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, offset, length))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new JsonException("input is not valid UTF-8");
        }
        // Never more characters than bytes, so the byte limit also bounds the parser.
        return parse(text, depthMax, Math.max(lengthMaxBytes, 1));
    }

    /** Compact text: no spaces, one line. */
    public static String write(Object value) {
        return write(null, value);
    }

    /** Indented text (two spaces, {@code "key": value}, one array element a line), for people. */
    public static String writePretty(Object value) {
        return write(PRETTY, value);
    }

    /**
     * Writes maps, lists, strings, numbers, booleans and {@link #NULL} through Jackson's streaming generator (no
     * ObjectMapper: building one costs a short-lived client verb about 50 ms, see docs/decisions.md 25). A value
     * JSON cannot hold (NaN, infinity, any other type) is a programmer error, refused rather than written as a
     * string; a cycle stops at the generator's nesting limit.
     */
    private static String write(DefaultPrettyPrinter printer, Object value) {
        StringWriter text = new StringWriter();
        try (JsonGenerator out = factory(DEPTH_MAX_DEFAULT, LENGTH_MAX_DEFAULT).createGenerator(text)) {
            if (printer != null) out.setPrettyPrinter(new DefaultPrettyPrinter(printer));
            writeValue(out, value);
        } catch (JsonProcessingException e) {
            throw new JsonException("cannot write JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new JsonException("cannot write JSON: " + e.getMessage()); // a StringWriter never fails
        }
        return text.toString();
    }

    // instanceof, not a pattern switch: its bootstrap spins method handles, about 10 ms of a client verb's start.
    private static void writeValue(JsonGenerator out, Object value) throws IOException {
        if (value == null || value instanceof Null) {
            out.writeNull();
        } else if (value instanceof String s) {
            out.writeString(s);
        } else if (value instanceof Boolean b) {
            out.writeBoolean(b);
        } else if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
            out.writeNumber(((Number) value).longValue());
        } else if (value instanceof BigInteger bi) {
            out.writeNumber(bi);
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (!Double.isFinite(d)) throw new JsonException("JSON has no " + value);
            if (value instanceof Float f) out.writeNumber(f); else out.writeNumber(d);
        } else if (value instanceof Map<?, ?> map) {
            out.writeStartObject();
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.writeFieldName(String.valueOf(e.getKey()));
                writeValue(out, e.getValue());
            }
            out.writeEndObject();
        } else if (value instanceof Iterable<?> list) {
            out.writeStartArray();
            for (Object element : list) writeValue(out, element);
            out.writeEndArray();
        } else {
            throw new JsonException("JSON has no value of type " + value.getClass().getName());
        }
    }

    private static DefaultPrettyPrinter prettyPrinter() {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        Separators separators = Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                .withObjectEmptySeparator("")
                .withArrayEmptySeparator("");
        return new DefaultPrettyPrinter(separators).withObjectIndenter(indenter).withArrayIndenter(indenter);
    }
}
