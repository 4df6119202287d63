package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * PutObject (conditional with If-None-Match: * or If-Match), GetObject, HeadObject, DeleteObject, CopyObject and
 * DeleteObjects over the {@link ObjectStore}; object tagging in {@link Tagging}, multipart uploads in
 * {@link MultipartOperations}.
 */
final class ObjectOperations {
    static final String META_PREFIX = "x-amz-meta-";
    /** S3 limits the user metadata (names and values, UTF-8) to 2 KiB. */
    static final int USER_METADATA_BYTES_MAX = 2048;

    private final S3Service service;
    private final ObjectStore store;
    private final MultipartOperations multipart;

    ObjectOperations(S3Service service) {
        this.service = service;
        this.store = service.store;
        this.multipart = new MultipartOperations(service);
    }

    void route(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        if (r.has("tagging")) {
            Tagging.route(service, x, r, auth);
            return;
        }
        if (r.has("uploadId") || r.has("uploads")) {
            multipart.route(x, r, auth);
            return;
        }
        if (r.has("partNumber")) {
            throw S3Error.notImplemented("?partNumber without an uploadId (GetObject of one part)");
        }
        switch (r.method) {
            case "GET", "HEAD" -> get(x, r);
            case "PUT" -> {
                if (r.header(CopySource.HEADER) != null) {
                    copy(x, r, auth);
                } else {
                    put(x, r, auth);
                }
            }
            case "DELETE" -> {
                store.delete(r.bucket, r.key);
                x.sendFull(HttpResponseStatus.NO_CONTENT, x.headers(), new byte[0], true);
            }
            case "POST" -> throw S3Error.notImplemented("POST on an object without ?uploads or ?uploadId (restore, select)");
            default -> throw S3Error.methodNotAllowed();
        }
    }

    private void put(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, S3Connection.ClientGone {
        // Known failures are answered before 100 Continue, so the client does not send a body for nothing.
        service.requireBucket(r.bucket);
        ObjectStore.PutOptions options = new ObjectStore.PutOptions(contentType(r), userMetadata(r), contentMd5(r))
                .withTags(Tagging.fromHeader(r)).withCondition(putCondition(r));
        ObjectStore.ObjectInfo info;
        try (ObjectStore.ObjectWriter writer = store.create(r.bucket, r.key, options)) {
            x.readBody(new RequestBody(r, auth, data -> {
                try {
                    writer.write(data);
                } catch (StoreException e) {
                    throw S3Error.of(e);
                }
            }));
            info = writer.commit();
        }
        HttpHeaders h = x.headers();
        h.set(HttpHeaderNames.ETAG, quote(info.etag()));
        x.sendFull(HttpResponseStatus.OK, h, new byte[0], true);
    }

    private void get(Exchange x, S3Request r) throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        try (ObjectStore.ObjectReader reader = store.open(r.bucket, r.key)) {
            ObjectStore.ObjectInfo info = reader.info();
            HttpHeaders h = objectHeaders(x, info);
            HttpResponseStatus precondition = Conditions.check(r, info);
            if (precondition != null) {
                if (precondition.code() == HttpResponseStatus.NOT_MODIFIED.code()) {
                    x.sendFull(precondition, h, new byte[0], true);
                    return;
                }
                throw new S3Error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
            }
            responseOverrides(r, h);
            long size = info.sizeBytes();
            long[] range = ByteRange.parse(r.header(HttpHeaderNames.RANGE), size);
            if (range == null) {
                sendBody(x, HttpResponseStatus.OK, h, reader, 0, size);
                return;
            }
            h.set(HttpHeaderNames.CONTENT_RANGE, "bytes " + range[0] + "-" + (range[0] + range[1] - 1) + "/" + size);
            sendBody(x, HttpResponseStatus.PARTIAL_CONTENT, h, reader, range[0], range[1]);
        }
    }

    private static void sendBody(Exchange x, HttpResponseStatus status, HttpHeaders h, ObjectStore.ObjectReader reader,
                                 long offsetBytes, long lengthBytes) throws IOException, S3Connection.ClientGone {
        if (x.isHead()) {
            h.set(HttpHeaderNames.CONTENT_LENGTH, lengthBytes);
            x.sendFull(status, h, new byte[0], true);
        } else {
            x.sendObject(status, h, reader, offsetBytes, lengthBytes);
        }
    }

    private static HttpHeaders objectHeaders(Exchange x, ObjectStore.ObjectInfo info) {
        HttpHeaders h = x.headers();
        h.set(HttpHeaderNames.ETAG, quote(info.etag()));
        h.set(HttpHeaderNames.LAST_MODIFIED, HttpDates.format(info.lastModifiedMs()));
        h.set(HttpHeaderNames.CONTENT_TYPE, info.contentType());
        h.set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
        if (Tagging.count(info) != null) {
            h.set(Tagging.COUNT_HEADER, Tagging.count(info));
        }
        for (Map.Entry<String, String> m : info.userMetadata().entrySet()) {
            h.set(META_PREFIX + m.getKey(), m.getValue());
        }
        return h;
    }

    /** GetObject's response-* query parameters (presigned downloads use them to set the headers). */
    private static void responseOverrides(S3Request r, HttpHeaders h) {
        String[][] names = {{"response-content-type", "Content-Type"}, {"response-content-language", "Content-Language"},
            {"response-expires", "Expires"}, {"response-cache-control", "Cache-Control"},
            {"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"}};
        for (String[] n : names) {
            String v = r.query.get(n[0]);
            if (v != null) {
                h.set(n[1], v);
            }
        }
    }

    private void copy(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        CopySource source = CopySource.parse(r);
        boolean replace = directive(r, "x-amz-metadata-directive");
        boolean replaceTags = directive(r, "x-amz-tagging-directive");
        if (!replace && !replaceTags && source.bucket().equals(r.bucket) && source.key().equals(r.key)) {
            throw S3Error.invalidRequest("This copy request is illegal because it is trying to copy an object to itself "
                    + "without changing the object's metadata, storage class, website redirect location or encryption attributes.");
        }
        service.requireBucket(r.bucket);
        Map<String, String> newTags = Tagging.fromHeader(r);
        x.readBody(new RequestBody(r, auth, data -> data.position(data.limit())));
        ObjectStore.ObjectInfo info;
        try (ObjectStore.ObjectReader reader = store.open(source.bucket(), source.key())) {
            ObjectStore.ObjectInfo src = reader.info();
            CopySource.checkConditions(r, src);
            ObjectStore.PutOptions options = (replace
                    ? new ObjectStore.PutOptions(contentType(r), userMetadata(r), null)
                    : new ObjectStore.PutOptions(src.contentType(), src.userMetadata(), null))
                    .withTags(replaceTags ? newTags : src.tags()).withCondition(putCondition(r));
            info = CopySource.copy(reader, 0, src.sizeBytes(), store.create(r.bucket, r.key, options));
        }
        x.sendXml(HttpResponseStatus.OK, new S3Xml("CopyObjectResult", true)
                .element("LastModified", S3Xml.isoMillis(info.lastModifiedMs())).element("ETag", quote(info.etag())).finish());
    }

    /** A COPY/REPLACE directive header: true for REPLACE, false for COPY or none; InvalidArgument otherwise. */
    private static boolean directive(S3Request r, String header) throws S3Error {
        String value = r.header(header);
        if (value == null || "COPY".equals(value)) {
            return false;
        }
        if (!"REPLACE".equals(value)) {
            throw S3Error.invalidArgument("Unknown " + header + ": " + value);
        }
        return true;
    }

    /**
     * A conditional PUT: If-None-Match: * (the key must not exist), If-Match (it must, with that ETag), checked by
     * the store at commit; null without either header.
     */
    static ObjectStore.Condition putCondition(S3Request r) throws S3Error {
        String ifNoneMatch = r.header(HttpHeaderNames.IF_NONE_MATCH);
        String ifMatch = r.header(HttpHeaderNames.IF_MATCH);
        if (ifNoneMatch == null && ifMatch == null) {
            return null;
        }
        if (ifNoneMatch != null && !"*".equals(ifNoneMatch.trim())) {
            throw S3Error.notImplemented("If-None-Match on a write other than *");
        }
        return new ObjectStore.Condition(ifNoneMatch != null, ifMatch == null ? null : unquote(ifMatch.trim()));
    }

    static String unquote(String etag) {
        return etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
                ? etag.substring(1, etag.length() - 1) : etag;
    }

    void deleteObjects(Exchange x, S3Request r, byte[] body) throws S3Error {
        S3Xml.DeleteRequest request = S3Xml.parseDelete(body);
        S3Xml xml = new S3Xml("DeleteResult", true);
        for (String key : request.keys()) {
            try {
                store.delete(r.bucket, key);
                if (!request.quiet()) {
                    xml.start("Deleted").element("Key", key).end();
                }
            } catch (StoreException e) {
                xml.start("Error").element("Key", key).element("Code", e.code().s3Code)
                        .element("Message", e.getMessage()).end();
            }
        }
        x.sendXml(HttpResponseStatus.OK, xml.finish());
    }

    static String contentType(S3Request r) {
        String type = r.header(HttpHeaderNames.CONTENT_TYPE);
        return type == null ? "binary/octet-stream" : type;
    }

    static Map<String, String> userMetadata(S3Request r) throws S3Error {
        Map<String, String> meta = new LinkedHashMap<>();
        int bytes = 0;
        for (Map.Entry<String, String> h : r.headers) {
            String name = h.getKey().toLowerCase(Locale.ROOT);
            if (name.startsWith(META_PREFIX)) {
                String key = name.substring(META_PREFIX.length());
                meta.merge(key, h.getValue(), (a, b) -> a + "," + b);
                bytes += key.length() + h.getValue().length();
            }
        }
        if (bytes > USER_METADATA_BYTES_MAX) {
            throw new S3Error("MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.");
        }
        return meta;
    }

    static byte[] contentMd5(S3Request r) throws S3Error {
        String md5 = r.header("content-md5");
        if (md5 == null) {
            return null;
        }
        try {
            byte[] raw = Base64.getDecoder().decode(md5.trim());
            if (raw.length == 16) {
                return raw;
            }
        } catch (IllegalArgumentException e) {
            // answered below
        }
        throw new S3Error("InvalidDigest", 400, "The Content-MD5 you specified was invalid.");
    }

    static String quote(String etag) {
        return "\"" + etag + "\"";
    }

    /** If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since on GET and HEAD (RFC 9110 section 13.2.2). */
    static final class Conditions {
        private Conditions() {}

        /** Null when the request may proceed, else 304 or 412. */
        static HttpResponseStatus check(S3Request r, ObjectStore.ObjectInfo info) {
            String etag = quote(info.etag());
            String ifMatch = r.header(HttpHeaderNames.IF_MATCH);
            if (ifMatch != null && !matches(ifMatch, etag)) {
                return HttpResponseStatus.PRECONDITION_FAILED;
            }
            long modifiedSeconds = info.lastModifiedMs() / 1000;
            Long unmodifiedSince = seconds(r.header(HttpHeaderNames.IF_UNMODIFIED_SINCE));
            if (ifMatch == null && unmodifiedSince != null && modifiedSeconds > unmodifiedSince) {
                return HttpResponseStatus.PRECONDITION_FAILED;
            }
            String ifNoneMatch = r.header(HttpHeaderNames.IF_NONE_MATCH);
            if (ifNoneMatch != null && matches(ifNoneMatch, etag)) {
                return HttpResponseStatus.NOT_MODIFIED;
            }
            Long modifiedSince = seconds(r.header(HttpHeaderNames.IF_MODIFIED_SINCE));
            if (ifNoneMatch == null && modifiedSince != null && modifiedSeconds <= modifiedSince) {
                return HttpResponseStatus.NOT_MODIFIED;
            }
            return null;
        }

        static boolean matches(String header, String etag) {
            for (String tag : header.split(",")) {
                String t = tag.trim();
                if (t.equals("*") || t.equals(etag) || ("\"" + t + "\"").equals(etag)) {
                    return true;
                }
            }
            return false;
        }

        static Long seconds(String httpDate) {
            if (httpDate == null) {
                return null;
            }
            try {
                return ZonedDateTime.parse(httpDate, DateTimeFormatter.RFC_1123_DATE_TIME).toEpochSecond();
            } catch (DateTimeParseException e) {
                return null;
            }
        }
    }
}
