package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An object's metadata as stored in the user.basalt.meta xattr or the "%m" sidecar: UTF-8 text, one field a line,
 * "name value", values with '%', space, CR, LF and other control bytes escaped as %XX, so `getfattr -n
 * user.basalt.meta` or `cat` shows it (docs/objects.md, "Layout on disk"):
 * <pre>
 * basalt-meta 1
 * key photos/cat%20one.jpg
 * size 52133
 * etag 9e107d9d372bb6826bd81d3542a419d6
 * xxhash64 3a1f0c45d9e2b7aa
 * mtime 1767225600000
 * content-type image/jpeg
 * meta color blue          (one line per x-amz-meta-* entry)
 * tag project basalt       (one line per tag; records written before tags existed have none and still parse)
 * </pre>
 * A sidecar holds the current record, an empty line, and the one it replaced (see {@link DirectoryMountpath}).
 */
public record ObjectMeta(String key, long sizeBytes, String etag, long xxhash64, long lastModifiedMs,
                         String contentType, Map<String, String> userMetadata, Map<String, String> tags) {
    static final String MAGIC = "basalt-meta 1";
    private static final HexFormat HEX_UPPER = HexFormat.of().withUpperCase();

    /**
     * The metadata a PUT commits (shared by every mountpath's writer): BadDigest when the client sent a Content-MD5
     * and the data's MD5 differs ({@code md5} null: not computed, as for a completed multipart upload whose ETag the
     * options give).
     */
    public static ObjectMeta ofPut(String key, long sizeBytes, byte[] md5, long xxhash64, PutOptions options)
            throws StoreException {
        if (options.contentMd5() != null && !Arrays.equals(md5, options.contentMd5())) {
            throw new StoreException(Code.BAD_DIGEST, "The Content-MD5 you specified did not match what we received.");
        }
        return of(key, sizeBytes, md5 == null ? null : HexFormat.of().formatHex(md5), xxhash64, System.currentTimeMillis(),
                options);
    }

    /** Without tags. */
    public ObjectMeta(String key, long sizeBytes, String etag, long xxhash64, long lastModifiedMs, String contentType,
                      Map<String, String> userMetadata) {
        this(key, sizeBytes, etag, xxhash64, lastModifiedMs, contentType, userMetadata, Map.of());
    }

    /**
     * The record a PUT commits: the options' ETag when given (a completed multipart upload), else the data's MD5;
     * the options' content type, metadata and tags. Every mountpath kind's writer builds its record here.
     */
    public static ObjectMeta of(String key, long sizeBytes, String md5Hex, long xxhash64, long lastModifiedMs,
                                PutOptions options) {
        String etag = options.etag() != null ? options.etag() : md5Hex;
        return new ObjectMeta(key, sizeBytes, etag, xxhash64, lastModifiedMs, options.contentType(),
                options.userMetadata(), options.tags() == null ? Map.of() : options.tags());
    }

    public ObjectMeta withTags(Map<String, String> newTags) {
        return new ObjectMeta(key, sizeBytes, etag, xxhash64, lastModifiedMs, contentType, userMetadata, newTags);
    }

    public ObjectInfo info(String bucket) {
        return new ObjectInfo(bucket, key, sizeBytes, etag, xxhash64, lastModifiedMs, contentType, userMetadata, tags);
    }

    public String text() {
        StringBuilder out = new StringBuilder(256);
        out.append(MAGIC).append('\n');
        out.append("key ").append(escape(key)).append('\n');
        out.append("size ").append(sizeBytes).append('\n');
        out.append("etag ").append(escape(etag)).append('\n');
        out.append("xxhash64 ").append(String.format("%016x", xxhash64)).append('\n');
        out.append("mtime ").append(lastModifiedMs).append('\n');
        out.append("content-type ").append(escape(contentType)).append('\n');
        for (Map.Entry<String, String> e : userMetadata.entrySet()) {
            out.append("meta ").append(escape(e.getKey())).append(' ').append(escape(e.getValue())).append('\n');
        }
        for (Map.Entry<String, String> e : tags.entrySet()) {
            out.append("tag ").append(escape(e.getKey())).append(' ').append(escape(e.getValue())).append('\n');
        }
        return out.toString();
    }

    public byte[] bytes() {
        return text().getBytes(StandardCharsets.UTF_8);
    }

    /** The records in a stored text (one for an xattr, up to two for a sidecar); IllegalArgumentException if bad. */
    public static List<ObjectMeta> parseAll(byte[] stored) {
        String text = new String(stored, StandardCharsets.UTF_8);
        List<ObjectMeta> out = new ArrayList<>(2);
        for (String record : text.split("\n\n")) {
            if (!record.isBlank()) out.add(parse(record));
        }
        if (out.isEmpty()) throw new IllegalArgumentException("no metadata record");
        return out;
    }

    static ObjectMeta parse(String record) {
        String[] lines = record.split("\n");
        if (!lines[0].equals(MAGIC)) throw new IllegalArgumentException("not a basalt-meta 1 record");
        Map<String, String> fields = new LinkedHashMap<>();
        Map<String, String> user = new LinkedHashMap<>();
        Map<String, String> tags = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String[] parts = lines[i].split(" ", -1);
            if (parts[0].equals("meta") && parts.length == 3) {
                user.put(unescape(parts[1]), unescape(parts[2]));
            } else if (parts[0].equals("tag") && parts.length == 3) {
                tags.put(unescape(parts[1]), unescape(parts[2]));
            } else if (parts.length == 2) {
                fields.put(parts[0], unescape(parts[1]));
            } else {
                throw new IllegalArgumentException("bad metadata line: " + lines[i]);
            }
        }
        return new ObjectMeta(required(fields, "key"), Long.parseLong(required(fields, "size")),
                required(fields, "etag"), Long.parseUnsignedLong(required(fields, "xxhash64"), 16),
                Long.parseLong(required(fields, "mtime")), required(fields, "content-type"), Map.copyOf(user),
                Collections.unmodifiableMap(tags)); // tags keep the order they were given in
    }

    private static String required(Map<String, String> fields, String name) {
        String value = fields.get(name);
        if (value == null) throw new IllegalArgumentException("metadata without " + name);
        return value;
    }

    static String escape(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        boolean plain = true;
        for (byte b : bytes) plain &= (b & 0xFF) > ' ' && b != '%' && b != 0x7F;
        if (plain) return value;
        ByteArrayOutputStream raw = new ByteArrayOutputStream(bytes.length + 8);
        for (byte b : bytes) {
            int u = b & 0xFF;
            if (u <= ' ' || u == '%' || u == 0x7F) {
                raw.writeBytes(("%" + HEX_UPPER.toHexDigits(b)).getBytes(StandardCharsets.US_ASCII));
            } else {
                raw.write(u);
            }
        }
        return raw.toString(StandardCharsets.UTF_8);
    }

    static String unescape(String value) {
        if (value.indexOf('%') < 0) return value;
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream raw = new ByteArrayOutputStream(bytes.length);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '%' && i + 2 < bytes.length) {
                raw.write(HexFormat.fromHexDigits(new String(bytes, i + 1, 2, StandardCharsets.US_ASCII)));
                i += 2;
            } else {
                raw.write(bytes[i]);
            }
        }
        return raw.toString(StandardCharsets.UTF_8);
    }
}
