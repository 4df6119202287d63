package io.basalt.daemon.json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.JsonParseException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds {@link Json}'s Java values from Jackson's token stream. Not through {@code ObjectMapper.readValue}: that
 * maps JSON null to Java null (so "absent" and "null" would look alike) and big integers to BigInteger, where the
 * control plane wants {@link Json#NULL} and a refusal. The recursion is bounded by the parser's nesting limit.
 */
final class JsonReader {
    private JsonReader() {}

    /** One value, then the end of the input (whitespace aside). */
    static Object readDocument(JsonParser parser) throws IOException {
        JsonToken first = parser.nextToken();
        if (first == null) throw new JsonParseException(parser, "empty input: expected a JSON value");
        Object value = readValue(parser, first);
        JsonToken after = parser.nextToken();
        if (after != null) throw new JsonParseException(parser, "unexpected " + after.asString() + " after the JSON value");
        return value;
    }

    private static Object readValue(JsonParser parser, JsonToken token) throws IOException {
        if (token == null) throw new JsonParseException(parser, "unexpected end of input: expected a value");
        return switch (token) {
            case START_OBJECT -> readObject(parser);
            case START_ARRAY -> readArray(parser);
            case VALUE_STRING -> parser.getText();
            case VALUE_NUMBER_INT -> readInteger(parser);
            case VALUE_NUMBER_FLOAT -> readReal(parser);
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> Json.NULL;
            default -> throw new JsonParseException(parser, "unexpected token " + token + ": expected a value");
        };
    }

    private static Map<String, Object> readObject(JsonParser parser) throws IOException {
        Map<String, Object> map = new LinkedHashMap<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
            String key = parser.currentName(); // t is FIELD_NAME: the parser checks the grammar and duplicates
            map.put(key, readValue(parser, parser.nextToken()));
        }
        return map;
    }

    private static List<Object> readArray(JsonParser parser) throws IOException {
        List<Object> list = new ArrayList<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
            list.add(readValue(parser, t));
        }
        return list;
    }

    private static Long readInteger(JsonParser parser) throws IOException {
        JsonParser.NumberType type = parser.getNumberType();
        if (type != JsonParser.NumberType.INT && type != JsonParser.NumberType.LONG) {
            throw new JsonParseException(parser, "integer " + shorten(parser.getText()) + " is outside the 64-bit range");
        }
        return parser.getLongValue();
    }

    private static Double readReal(JsonParser parser) throws IOException {
        double value = parser.getDoubleValue();
        if (Double.isInfinite(value)) {
            throw new JsonParseException(parser, "number " + shorten(parser.getText()) + " is too large for a double");
        }
        return value;
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
