package io.basalt.objectlayer.store;

import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Bucket-name rules and the escaping of object keys into file names (docs/objects.md, "Layout on disk"; decision 36).
 *
 * <p>A key is split at '/' into segments; every segment but the last names a directory, the last a file. A segment is
 * written as its UTF-8 bytes with these escaped as %XX (upper-case hex): '%', bytes below 0x20, 0x7F, every byte of
 * 0x80 and above (the JVM maps file names through the locale's charset, lossy under the C locale, so the layout keeps
 * to ASCII) and a leading '.' (so "." and ".." are never path steps and no object is a hidden file). An empty segment
 * is "%_". A directory's name gets the suffix "%d", so key "a" (file "a") and key "a/b" (directory "a%d", file "b")
 * coexist. A name whose escaped form exceeds {@link #PLAIN_NAME_BYTES_MAX} becomes its first escaped bytes, "%h" and
 * the xxhash64 of the segment in hex; the whole segment is then kept in the object's metadata (a file) or in the
 * directory's ".segment" file. None of "%_", "%d", "%h", "%m" can come out of escaping (escaping always writes '%'
 * and two upper-case hex digits), and names starting with '.' are the store's own.
 */
public final class Names {
    /** S3: keys are at most 1024 bytes of UTF-8. */
    public static final int KEY_BYTES_MAX = 1024;
    /** Longest escaped name stored as is; with a 2-byte suffix it stays under the 255 bytes of ext4, XFS, btrfs. */
    static final int PLAIN_NAME_BYTES_MAX = 240;
    /** Escaped bytes kept in front of a hashed name, so `ls` still shows what it is. */
    private static final int HASHED_PREFIX_BYTES = 160;
    static final String DIR_SUFFIX = "%d";
    static final String SIDECAR_SUFFIX = "%m";
    static final String EMPTY_SEGMENT = "%_";
    static final String HASH_MARK = "%h";
    private static final int BUCKET_NAME_MIN = 3;
    private static final int BUCKET_NAME_MAX = 63;
    private static final Pattern BUCKET_NAME = Pattern.compile("[a-z0-9][a-z0-9.-]*[a-z0-9]");
    private static final Pattern IPV4 = Pattern.compile("\\d+\\.\\d+\\.\\d+\\.\\d+");
    private static final HexFormat HEX_UPPER = HexFormat.of().withUpperCase();

    private Names() {}

    /** S3's rules for new buckets: 3-63 of lower-case letters, digits, '.', '-'; no "..", ".-", "-."; not an IP. */
    public static void checkBucket(String bucket) throws StoreException {
        if (bucket == null || bucket.length() < BUCKET_NAME_MIN || bucket.length() > BUCKET_NAME_MAX
                || !BUCKET_NAME.matcher(bucket).matches() || bucket.contains("..") || bucket.contains(".-")
                || bucket.contains("-.") || IPV4.matcher(bucket).matches()) {
            throw new StoreException(Code.INVALID_BUCKET_NAME, "The specified bucket is not valid: " + bucket);
        }
    }

    /** The key's UTF-8 bytes: KeyTooLongError past 1024, InvalidArgument when empty or not valid Unicode. */
    public static byte[] keyBytes(String key) throws StoreException {
        if (key == null || key.isEmpty()) throw new StoreException(Code.INVALID_ARGUMENT, "an object key is required");
        CharsetEncoder encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer encoded;
        try {
            encoded = encoder.encode(CharBuffer.wrap(key));
        } catch (CharacterCodingException e) {
            throw new StoreException(Code.INVALID_ARGUMENT, "the object key is not valid UTF-8", e);
        }
        if (encoded.remaining() > KEY_BYTES_MAX) {
            throw new StoreException(Code.KEY_TOO_LONG, "Your key is too long: " + encoded.remaining() + " bytes");
        }
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        return bytes;
    }

    /** The segments between '/' (an empty key part yields an empty segment: "a//b", "dir/"). */
    public static List<byte[]> segments(byte[] key) {
        List<byte[]> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= key.length; i++) {
            if (i == key.length || key[i] == '/') {
                byte[] segment = new byte[i - start];
                System.arraycopy(key, start, segment, 0, segment.length);
                out.add(segment);
                start = i + 1;
            }
        }
        return out;
    }

    public static String fileName(byte[] segment) {
        return name(segment);
    }

    public static String dirName(byte[] segment) {
        return name(segment) + DIR_SUFFIX;
    }

    public static String sidecarName(String fileName) {
        return fileName + SIDECAR_SUFFIX;
    }

    private static String name(byte[] segment) {
        if (segment.length == 0) return EMPTY_SEGMENT;
        String escaped = escape(segment);
        if (escaped.length() <= PLAIN_NAME_BYTES_MAX) return escaped;
        int cut = HASHED_PREFIX_BYTES;
        // never cut inside a %XX triple
        if (escaped.charAt(cut - 1) == '%') cut -= 1;
        if (escaped.charAt(cut - 2) == '%') cut -= 2;
        return escaped.substring(0, cut) + HASH_MARK + String.format("%016x", Xxhash64.hash(segment));
    }

    static String escape(byte[] segment) {
        StringBuilder out = new StringBuilder(segment.length + 8);
        for (int i = 0; i < segment.length; i++) {
            int b = segment[i] & 0xFF;
            boolean escapeIt = b < 0x20 || b >= 0x7F || b == '%' || (i == 0 && b == '.');
            if (escapeIt) {
                out.append('%').append(HEX_UPPER.toHexDigits((byte) b));
            } else {
                out.append((char) b);
            }
        }
        return out.toString();
    }

    /** What a directory entry is. */
    public enum Kind { FILE, DIR, OTHER }

    /**
     * @param segment  the decoded segment; null for a hashed name (read it from the metadata or ".segment")
     */
    public record Entry(Kind kind, byte[] segment) {}

    private static final Entry OTHER = new Entry(Kind.OTHER, null);

    /** Decodes a name found on disk; names this class would not have written (ours or foreign) are OTHER. */
    public static Entry decode(String name) {
        if (name.isEmpty() || name.charAt(0) == '.' || name.endsWith(SIDECAR_SUFFIX)) return OTHER;
        boolean dir = name.endsWith(DIR_SUFFIX);
        String base = dir ? name.substring(0, name.length() - DIR_SUFFIX.length()) : name;
        Kind kind = dir ? Kind.DIR : Kind.FILE;
        if (base.equals(EMPTY_SEGMENT)) return new Entry(kind, new byte[0]);
        int hashAt = base.indexOf(HASH_MARK);
        if (hashAt >= 0) {
            return base.length() == hashAt + HASH_MARK.length() + 2 * Long.BYTES ? new Entry(kind, null) : OTHER;
        }
        byte[] segment = unescape(base);
        if (segment == null || !escape(segment).equals(base) || base.length() > PLAIN_NAME_BYTES_MAX) return OTHER;
        return new Entry(kind, segment);
    }

    private static byte[] unescape(String base) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(base.length());
        for (int i = 0; i < base.length(); i++) {
            char c = base.charAt(i);
            if (c == '%') {
                if (i + 2 >= base.length()) return null;
                if (!HexFormat.isHexDigit(base.charAt(i + 1)) || !HexFormat.isHexDigit(base.charAt(i + 2))) return null;
                out.write(HexFormat.fromHexDigits(base, i + 1, i + 3));
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                return null;
            }
        }
        return out.toByteArray();
    }
}
