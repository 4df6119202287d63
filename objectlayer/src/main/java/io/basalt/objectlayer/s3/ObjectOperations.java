package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** PutObject, GetObject, HeadObject, DeleteObject, CopyObject and DeleteObjects over the {@link ObjectStore}. */
final class ObjectOperations {
    static final String META_PREFIX = "x-amz-meta-";
    /** S3 limits the user metadata (names and values, UTF-8) to 2 KiB. */
    static final int USER_METADATA_BYTES_MAX = 2048;
    /** CopyObject moves the data in pieces this size. */
    static final int COPY_CHUNK_BYTES = 1 << 20;

    private final S3Service service;
    private final ObjectStore store;

    ObjectOperations(S3Service service) {
        this.service = service;
        this.store = service.store;
    }

    void route(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        switch (r.method) {
            case "GET", "HEAD" -> get(x, r);
            case "PUT" -> {
                if (r.header("x-amz-copy-source") != null) {
                    copy(x, r, auth);
                } else {
                    put(x, r, auth);
                }
            }
            case "DELETE" -> {
                store.delete(r.bucket, r.key);
                x.sendFull(HttpResponseStatus.NO_CONTENT, x.headers(), new byte[0], true);
            }
            case "POST" -> throw S3Error.notImplemented("POST on an object (multipart upload, restore, select)");
            default -> throw S3Error.methodNotAllowed();
        }
    }

    private void put(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, S3Connection.ClientGone {
        // Known failures are answered before 100 Continue, so the client does not send a body for nothing.
        service.requireBucket(r.bucket);
        ObjectStore.PutOptions options = new ObjectStore.PutOptions(contentType(r), userMetadata(r), contentMd5(r));
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
        h.set(HttpHeaderNames.LAST_MODIFIED, Exchange.HTTP_DATE.format(java.time.Instant.ofEpochMilli(info.lastModifiedMs())));
        h.set(HttpHeaderNames.CONTENT_TYPE, info.contentType());
        h.set(HttpHeaderNames.ACCEPT_RANGES, "bytes");
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
        String source = r.header("x-amz-copy-source");
        int q = source.indexOf('?');
        if (q >= 0) {
            throw S3Error.notImplemented("x-amz-copy-source with a versionId");
        }
        String decoded = S3Request.percentDecode(source.startsWith("/") ? source.substring(1) : source);
        int slash = decoded.indexOf('/');
        if (slash <= 0 || slash == decoded.length() - 1) {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        }
        String srcBucket = decoded.substring(0, slash);
        String srcKey = decoded.substring(slash + 1);
        String directive = r.header("x-amz-metadata-directive");
        boolean replace = "REPLACE".equals(directive);
        if (directive != null && !replace && !"COPY".equals(directive)) {
            throw S3Error.invalidArgument("Unknown metadata directive.");
        }
        if (!replace && srcBucket.equals(r.bucket) && srcKey.equals(r.key)) {
            throw S3Error.invalidRequest("This copy request is illegal because it is trying to copy an object to itself "
                    + "without changing the object's metadata, storage class, website redirect location or encryption attributes.");
        }
        service.requireBucket(r.bucket);
        x.readBody(new RequestBody(r, auth, data -> data.position(data.limit())));
        ObjectStore.ObjectInfo info;
        try (ObjectStore.ObjectReader reader = store.open(srcBucket, srcKey)) {
            ObjectStore.ObjectInfo src = reader.info();
            ObjectStore.PutOptions options = replace
                    ? new ObjectStore.PutOptions(contentType(r), userMetadata(r), null)
                    : new ObjectStore.PutOptions(src.contentType(), src.userMetadata(), null);
            info = copyData(reader, src.sizeBytes(), store.create(r.bucket, r.key, options));
        }
        x.sendXml(HttpResponseStatus.OK, new S3Xml("CopyObjectResult", true)
                .element("LastModified", S3Xml.isoMillis(info.lastModifiedMs())).element("ETag", quote(info.etag())).finish());
    }

    private static ObjectStore.ObjectInfo copyData(ObjectStore.ObjectReader reader, long sizeBytes,
                                                   ObjectStore.ObjectWriter writer) throws StoreException, IOException {
        try (writer) {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(COPY_CHUNK_BYTES, Math.max(sizeBytes, 1)));
            long positionBytes = 0;
            while (positionBytes < sizeBytes) {
                buf.clear();
                int n = reader.read(positionBytes, buf);
                if (n < 0) {
                    throw new IOException("the source object ended before its size");
                }
                buf.flip();
                writer.write(buf);
                positionBytes += n;
            }
            return writer.commit();
        }
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

    private static String contentType(S3Request r) {
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

    private static byte[] contentMd5(S3Request r) throws S3Error {
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

        private static boolean matches(String header, String etag) {
            for (String tag : header.split(",")) {
                String t = tag.trim();
                if (t.equals("*") || t.equals(etag) || ("\"" + t + "\"").equals(etag)) {
                    return true;
                }
            }
            return false;
        }

        private static Long seconds(String httpDate) {
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
