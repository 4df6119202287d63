package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Object tags: GetObjectTagging, PutObjectTagging, DeleteObjectTagging, and the x-amz-tagging header (URL-encoded
 * query form) of PutObject, CreateMultipartUpload and CopyObject. S3's limits: at most 10 tags, keys of 1 to 128
 * characters, values of up to 256, keys unique (InvalidTag otherwise). Tags live in the object's metadata record.
 */
final class Tagging {
    static final String HEADER = "x-amz-tagging";
    static final String COUNT_HEADER = "x-amz-tagging-count";
    static final int TAGS_MAX = 10;
    static final int KEY_CHARS_MAX = 128;
    static final int VALUE_CHARS_MAX = 256;
    /** Ten tags of the longest keys and values, escaped, fit well within this. */
    static final int BODY_BYTES_MAX = 64 << 10;

    private Tagging() {}

    static void route(S3Service service, Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, S3Connection.ClientGone {
        ObjectStore store = service.store;
        switch (r.method) {
            case "GET" -> {
                Map<String, String> tags = store.head(r.bucket, r.key).tags();
                S3Xml xml = new S3Xml("Tagging", true).start("TagSet");
                for (Map.Entry<String, String> t : tags.entrySet()) {
                    xml.start("Tag").element("Key", t.getKey()).element("Value", t.getValue()).end();
                }
                x.sendXml(HttpResponseStatus.OK, xml.end().finish());
            }
            case "PUT" -> {
                service.requireBucket(r.bucket);
                Map<String, String> tags = parseXml(S3Service.readSmallBody(x, r, auth, BODY_BYTES_MAX));
                store.setTags(r.bucket, r.key, tags);
                x.sendFull(HttpResponseStatus.OK, x.headers(), new byte[0], true);
            }
            case "DELETE" -> {
                store.setTags(r.bucket, r.key, Map.of());
                x.sendFull(HttpResponseStatus.NO_CONTENT, x.headers(), new byte[0], true);
            }
            default -> throw S3Error.methodNotAllowed();
        }
    }

    /** {@code <Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>...</TagSet></Tagging>}. */
    static Map<String, String> parseXml(byte[] body) throws S3Error {
        Map<String, String> tags = new LinkedHashMap<>();
        String key = null;
        String value = null;
        List<String[]> elements = S3Xml.elements(body);
        if (!"Tagging".equals(elements.getLast()[0])) {
            throw S3Error.malformedXml();
        }
        for (String[] e : elements) {
            switch (e[0]) {
                case "Key" -> key = e[1];
                case "Value" -> value = e[1];
                case "Tag" -> {
                    if (key == null) {
                        throw S3Error.malformedXml();
                    }
                    add(tags, key, value == null ? "" : value);
                    key = null;
                    value = null;
                }
                default -> {
                    // TagSet, Tagging
                }
            }
        }
        return check(tags);
    }

    /** The x-amz-tagging header: {@code k1=v1&k2=v2}, URL-encoded ('+' is a space); empty when absent. */
    static Map<String, String> fromHeader(S3Request r) throws S3Error {
        String header = r.header(HEADER);
        Map<String, String> tags = new LinkedHashMap<>();
        if (header == null || header.isEmpty()) {
            return tags;
        }
        for (String pair : header.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = S3Request.percentDecode((eq < 0 ? pair : pair.substring(0, eq)).replace('+', ' '));
            String v = eq < 0 ? "" : S3Request.percentDecode(pair.substring(eq + 1).replace('+', ' '));
            add(tags, k, v);
        }
        return check(tags);
    }

    private static void add(Map<String, String> tags, String key, String value) throws S3Error {
        if (tags.put(key, value) != null) {
            throw invalid("Cannot provide multiple Tags with the same key");
        }
    }

    private static Map<String, String> check(Map<String, String> tags) throws S3Error {
        if (tags.size() > TAGS_MAX) {
            throw invalid("Object tags cannot be greater than " + TAGS_MAX);
        }
        for (Map.Entry<String, String> t : tags.entrySet()) {
            if (t.getKey().isEmpty() || t.getKey().codePointCount(0, t.getKey().length()) > KEY_CHARS_MAX) {
                throw invalid("The TagKey you have provided is invalid");
            }
            if (t.getValue().codePointCount(0, t.getValue().length()) > VALUE_CHARS_MAX) {
                throw invalid("The TagValue you have provided is invalid");
            }
        }
        return tags;
    }

    private static S3Error invalid(String message) {
        return new S3Error("InvalidTag", 400, message);
    }

    /** The x-amz-tagging-count of GET and HEAD (absent when the object has no tags). */
    static String count(ObjectStore.ObjectInfo info) {
        return info.tags().isEmpty() ? null : String.valueOf(info.tags().size());
    }
}
