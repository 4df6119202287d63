package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * ListObjectsV2 and ListObjects (v1): the store's listing, in UTF-8 byte order, grouped by delimiter into
 * CommonPrefixes and cut at max-keys. The continuation token is the base64url of the last key or common prefix
 * returned; a resumed listing skips the rest of that common prefix.
 */
final class Listings {
    static final int MAX_KEYS_DEFAULT = 1000;

    private Listings() {}

    /** A page: objects and common prefixes in order, and the last name returned when more follow (else null). */
    record Page(List<ObjectStore.ObjectInfo> objects, List<String> prefixes, String nextMarker) {}

    static void list(S3Service service, Exchange x, S3Request r) throws S3Error, StoreException {
        boolean v2 = "2".equals(r.query.get("list-type"));
        String prefix = r.query.getOrDefault("prefix", "");
        String delimiter = r.query.get("delimiter");
        if (delimiter != null && delimiter.isEmpty()) {
            delimiter = null;
        }
        int maxKeys = maxKeys(r.query.get("max-keys"));
        String encoding = r.query.get("encoding-type");
        if (encoding != null && !"url".equals(encoding)) {
            throw S3Error.invalidArgument("Invalid Encoding Method specified in Request");
        }
        String token = r.query.get("continuation-token");
        String after = v2 ? r.query.get("start-after") : r.query.get("marker");
        if (v2 && token != null) {
            after = decodeToken(token);
        }
        Page page = page(service.store, r.bucket, prefix, delimiter, after, maxKeys);
        Encoder enc = "url".equals(encoding) ? s -> SigV4.uriEncode(s, true) : s -> s;
        S3Xml xml = new S3Xml("ListBucketResult", true);
        xml.element("Name", r.bucket).element("Prefix", enc.apply(prefix));
        if (v2) {
            xml.element("StartAfter", r.query.containsKey("start-after") ? enc.apply(r.query.get("start-after")) : null)
                    .element("ContinuationToken", token)
                    .element("NextContinuationToken", page.nextMarker() == null ? null : encodeToken(page.nextMarker()))
                    .element("KeyCount", page.objects().size() + page.prefixes().size());
        } else {
            xml.element("Marker", enc.apply(r.query.getOrDefault("marker", "")))
                    .element("NextMarker", page.nextMarker() != null && delimiter != null ? enc.apply(page.nextMarker()) : null);
        }
        xml.element("MaxKeys", maxKeys).element("Delimiter", delimiter == null ? null : enc.apply(delimiter))
                .element("EncodingType", encoding).element("IsTruncated", page.nextMarker() != null);
        for (ObjectStore.ObjectInfo o : page.objects()) {
            xml.start("Contents").element("Key", enc.apply(o.key()))
                    .element("LastModified", S3Xml.isoMillis(o.lastModifiedMs()))
                    .element("ETag", ObjectOperations.quote(o.etag())).element("Size", o.sizeBytes());
            if (!v2) {
                xml.start("Owner").element("ID", "basalt").element("DisplayName", "basalt").end();
            }
            xml.element("StorageClass", "STANDARD").end();
        }
        for (String p : page.prefixes()) {
            xml.start("CommonPrefixes").element("Prefix", enc.apply(p)).end();
        }
        x.sendXml(HttpResponseStatus.OK, xml.finish());
    }

    /** One page of a listing; entries are objects and distinct common prefixes, at most {@code maxKeys} of them. */
    static Page page(ObjectStore store, String bucket, String prefix, String delimiter, String after, int maxKeys)
            throws StoreException {
        List<ObjectStore.ObjectInfo> objects = new ArrayList<>();
        List<String> prefixes = new ArrayList<>();
        // Resuming after a common prefix: the keys under it were rolled up already.
        String lastPrefix = delimiter != null && after != null && after.endsWith(delimiter) ? after : null;
        String lastName = null;
        boolean more = false;
        try (ObjectStore.Listing listing = store.list(bucket, prefix, after)) {
            while (listing.hasNext()) {
                ObjectStore.ObjectInfo o = listing.next();
                String common = commonPrefix(o.key(), prefix, delimiter);
                if (common != null && common.equals(lastPrefix)) {
                    continue;
                }
                if (objects.size() + prefixes.size() == maxKeys) {
                    more = true;
                    break;
                }
                if (common != null) {
                    prefixes.add(common);
                    lastPrefix = common;
                    lastName = common;
                } else {
                    objects.add(o);
                    lastName = o.key();
                }
            }
        }
        return new Page(objects, prefixes, more ? lastName : null);
    }

    /** The key's prefix through the first delimiter after {@code prefix}, or null when there is none. */
    static String commonPrefix(String key, String prefix, String delimiter) {
        if (delimiter == null) {
            return null;
        }
        int at = key.indexOf(delimiter, prefix.length());
        return at < 0 ? null : key.substring(0, at + delimiter.length());
    }

    private static int maxKeys(String value) throws S3Error {
        if (value == null) {
            return MAX_KEYS_DEFAULT;
        }
        try {
            int n = Integer.parseInt(value);
            if (n < 0) {
                throw S3Error.invalidArgument("max-keys must be a non-negative integer");
            }
            return Math.min(n, MAX_KEYS_DEFAULT);
        } catch (NumberFormatException e) {
            throw S3Error.invalidArgument("Provided max-keys not an integer or within integer range");
        }
    }

    static String encodeToken(String name) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(name.getBytes(StandardCharsets.UTF_8));
    }

    static String decodeToken(String token) throws S3Error {
        try {
            return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw S3Error.invalidArgument("The continuation token provided is incorrect");
        }
    }

    @FunctionalInterface
    private interface Encoder {
        String apply(String s);
    }
}
