package org.apache.kafka.clients.producer.internals;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer for the driver's script and decision lines.
 *
 * <p>Reads objects, arrays, strings (with the common escapes), integers, booleans and null:
 * everything the scripts contain. Numbers are read as {@code long}; the scripts carry no
 * fractions. A malformed line raises {@link JsonException} with the position and what was
 * expected there.
 */
final class Json {
    /** A line that is not the JSON the driver expects. */
    static final class JsonException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    private final String text;
    private int position;

    private Json(String text) {
        this.text = text;
    }

    /** Parses one JSON object. */
    static Map<String, Object> parseObject(String line) {
        Json parser = new Json(line);
        parser.skipSpace();
        Object value = parser.value();
        parser.skipSpace();
        if (parser.position != line.length()) {
            throw new JsonException("unexpected text after the object at column " + (parser.position + 1));
        }
        if (!(value instanceof Map)) {
            throw new JsonException("expected a JSON object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> object = (Map<String, Object>) value;
        return object;
    }

    private Object value() {
        if (position >= text.length()) {
            throw expected("a value");
        }
        char c = text.charAt(position);
        switch (c) {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw expected("a value");
        }
    }

    private Map<String, Object> object() {
        Map<String, Object> map = new LinkedHashMap<>();
        position++;
        skipSpace();
        if (peek() == '}') {
            position++;
            return map;
        }
        while (true) {
            skipSpace();
            if (peek() != '"') {
                throw expected("a quoted key");
            }
            String key = string();
            skipSpace();
            if (peek() != ':') {
                throw expected("':'");
            }
            position++;
            skipSpace();
            map.put(key, value());
            skipSpace();
            char c = peek();
            position++;
            if (c == '}') {
                return map;
            }
            if (c != ',') {
                position--;
                throw expected("',' or '}'");
            }
        }
    }

    private List<Object> array() {
        List<Object> list = new ArrayList<>();
        position++;
        skipSpace();
        if (peek() == ']') {
            position++;
            return list;
        }
        while (true) {
            skipSpace();
            list.add(value());
            skipSpace();
            char c = peek();
            position++;
            if (c == ']') {
                return list;
            }
            if (c != ',') {
                position--;
                throw expected("',' or ']'");
            }
        }
    }

    private String string() {
        StringBuilder out = new StringBuilder();
        position++;
        while (position < text.length()) {
            char c = text.charAt(position++);
            if (c == '"') {
                return out.toString();
            }
            if (c == '\\') {
                if (position >= text.length()) {
                    break;
                }
                char e = text.charAt(position++);
                switch (e) {
                    case 'n': out.append('\n'); break;
                    case 't': out.append('\t'); break;
                    case 'r': out.append('\r'); break;
                    case 'u':
                        if (position + 4 > text.length()) {
                            throw expected("four hex digits");
                        }
                        out.append((char) Integer.parseInt(text.substring(position, position + 4), 16));
                        position += 4;
                        break;
                    default: out.append(e);
                }
            } else {
                out.append(c);
            }
        }
        throw expected("a closing '\"'");
    }

    private Long number() {
        int start = position;
        if (peek() == '-') {
            position++;
        }
        while (position < text.length() && Character.isDigit(text.charAt(position))) {
            position++;
        }
        if (position < text.length() && (text.charAt(position) == '.' || text.charAt(position) == 'e')) {
            throw expected("an integer");
        }
        try {
            return Long.parseLong(text.substring(start, position));
        } catch (NumberFormatException e) {
            position = start;
            throw expected("an integer that fits 64 bits");
        }
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, position)) {
            throw expected("a value");
        }
        position += word.length();
        return value;
    }

    private char peek() {
        return position < text.length() ? text.charAt(position) : '\0';
    }

    private void skipSpace() {
        while (position < text.length() && Character.isWhitespace(text.charAt(position))) {
            position++;
        }
    }

    private JsonException expected(String what) {
        return new JsonException("expected " + what + " at column " + (position + 1));
    }

    /** Appends {@code value} as a JSON string. */
    static void quote(StringBuilder out, String value) {
        out.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }
}
