package io.basalt.engine.json;

import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A recursive-descent parser over one string; the recursion is bounded by {@code depthMax}. */
final class JsonParser {
    private final String text;
    private final int depthMax;
    private int position;
    private int depth;

    JsonParser(String text, int depthMax, int lengthMax) {
        Check.that(depthMax > 0, "JSON depth limit positive", depthMax);
        Check.that(lengthMax > 0, "JSON length limit positive", lengthMax);
        if (text == null) throw new JsonException("no JSON text (null)", 0);
        if (text.length() > lengthMax) {
            throw new JsonException("JSON text of " + text.length() + " characters is over the limit of " + lengthMax, 0);
        }
        this.text = text;
        this.depthMax = depthMax;
    }

    Object parseDocument() {
        skipWhitespace();
        if (position == text.length()) throw error("empty input: expected a JSON value");
        Object value = parseValue();
        skipWhitespace();
        if (position != text.length()) throw error("unexpected " + describeHere() + " after the JSON value");
        Check.that(depth == 0, "JSON depth back to zero", depth);
        return value;
    }

    private Object parseValue() {
        if (position == text.length()) throw error("unexpected end of input: expected a value");
        char c = text.charAt(position);
        return switch (c) {
            case '{' -> parseObject();
            case '[' -> parseArray();
            case '"' -> parseString();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", Json.NULL);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield parseNumber();
                throw error("unexpected " + describeHere() + ": expected a value");
            }
        };
    }

    private Map<String, Object> parseObject() {
        enter();
        position++; // '{'
        Map<String, Object> map = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            position++;
            depth--;
            return map;
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') throw error("unexpected " + describeHere() + ": expected a string as object key");
            int keyOffset = position;
            String key = parseString();
            skipWhitespace();
            expect(':', "after object key");
            skipWhitespace();
            Object value = parseValue();
            if (map.putIfAbsent(key, value) != null) {
                throw errorAt("duplicate object key \"" + shorten(key) + "\"", keyOffset);
            }
            skipWhitespace();
            if (peek() == ',') {
                position++;
                continue;
            }
            expect('}', "to close the object (or ',' before the next member)");
            depth--;
            return map;
        }
    }

    private List<Object> parseArray() {
        enter();
        position++; // '['
        List<Object> list = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            position++;
            depth--;
            return list;
        }
        while (true) {
            skipWhitespace();
            list.add(parseValue());
            skipWhitespace();
            if (peek() == ',') {
                position++;
                continue;
            }
            expect(']', "to close the array (or ',' before the next element)");
            depth--;
            return list;
        }
    }

    private void enter() {
        depth++;
        if (depth > depthMax) throw error("nesting deeper than the limit of " + depthMax);
    }

    private String parseString() {
        int start = position;
        position++; // opening quote
        StringBuilder sb = null;
        int runStart = position;
        while (true) {
            if (position >= text.length()) throw errorAt("unterminated string", start);
            char c = text.charAt(position);
            if (c == '"') {
                String tail = text.substring(runStart, position);
                position++;
                return sb == null ? tail : sb.append(tail).toString();
            }
            if (c < 0x20) throw error("control character 0x" + Integer.toHexString(c) + " inside a string (escape it)");
            if (c == '\\') {
                if (sb == null) sb = new StringBuilder();
                sb.append(text, runStart, position);
                sb.append(parseEscape());
                runStart = position;
            } else {
                position++;
            }
        }
    }

    /** Reads one escape sequence starting at the backslash; leaves the position after it. */
    private char parseEscape() {
        position++; // backslash
        if (position >= text.length()) throw error("unterminated escape sequence");
        char e = text.charAt(position++);
        return switch (e) {
            case '"' -> '"';
            case '\\' -> '\\';
            case '/' -> '/';
            case 'b' -> '\b';
            case 'f' -> '\f';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'u' -> parseHex4();
            default -> throw errorAt("invalid escape '\\" + printable(e) + "'", position - 2);
        };
    }

    private char parseHex4() {
        if (position + 4 > text.length()) throw error("truncated \\u escape");
        int value = 0;
        for (int i = 0; i < 4; i++) {
            int digit = Character.digit(text.charAt(position + i), 16);
            if (digit < 0) throw errorAt("invalid hex digit in \\u escape", position + i);
            value = value * 16 + digit;
        }
        position += 4;
        return (char) value;
    }

    /** RFC 8259 section 6 grammar, checked by hand so that Long/Double parsing never sees anything else. */
    private Object parseNumber() {
        int start = position;
        boolean integer = true;
        if (peek() == '-') position++;
        if (peek() == '0') {
            position++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) position++;
        } else {
            throw error("invalid number: expected a digit");
        }
        if (peek() == '.') {
            integer = false;
            position++;
            if (!isDigit(peek())) throw error("invalid number: expected a digit after '.'");
            while (isDigit(peek())) position++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integer = false;
            position++;
            if (peek() == '+' || peek() == '-') position++;
            if (!isDigit(peek())) throw error("invalid number: expected a digit in the exponent");
            while (isDigit(peek())) position++;
        }
        String number = text.substring(start, position);
        // Not a ?: expression: with a Long and a Double arms it would unbox both and promote every integer to double.
        if (integer) return toLong(number, start);
        return toDouble(number, start);
    }

    private Long toLong(String number, int start) {
        try {
            return Long.parseLong(number);
        } catch (NumberFormatException e) {
            throw errorAt("integer " + shorten(number) + " is outside the 64-bit range", start);
        }
    }

    private Double toDouble(String number, int start) {
        double value = Double.parseDouble(number);
        if (Double.isInfinite(value)) throw errorAt("number " + shorten(number) + " is too large for a double", start);
        return value;
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, position)) throw error("unexpected " + describeHere() + ": expected a value");
        position += word.length();
        return value;
    }

    private void expect(char c, String why) {
        if (peek() != c) throw error("unexpected " + describeHere() + ": expected '" + c + "' " + why);
        position++;
    }

    private void skipWhitespace() {
        while (position < text.length()) {
            char c = text.charAt(position);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
            position++;
        }
    }

    /** The current character, or 0 at the end (0 is never valid outside a string, so it fails every test). */
    private char peek() {
        return position < text.length() ? text.charAt(position) : 0;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private String describeHere() {
        return position >= text.length() ? "end of input" : "character '" + printable(text.charAt(position)) + "'";
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c);
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    private JsonException error(String message) {
        return errorAt(message, position);
    }

    private JsonException errorAt(String message, int offset) {
        int line = 1;
        int lineStart = 0;
        int end = Math.min(offset, text.length());
        for (int i = 0; i < end; i++) {
            if (text.charAt(i) == '\n') {
                line++;
                lineStart = i + 1;
            }
        }
        return new JsonException("JSON error at line " + line + ", column " + (offset - lineStart + 1) + ": " + message, offset);
    }
}
