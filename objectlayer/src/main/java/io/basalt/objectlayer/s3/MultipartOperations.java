package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.Multipart;
import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Multipart uploads over the store's {@link Multipart}: CreateMultipartUpload (POST ?uploads), UploadPart and
 * UploadPartCopy (PUT ?partNumber&uploadId), ListParts (GET ?uploadId), CompleteMultipartUpload (POST ?uploadId),
 * AbortMultipartUpload (DELETE ?uploadId) and ListMultipartUploads (GET on the bucket ?uploads).
 */
final class MultipartOperations {
    /** ListParts and ListMultipartUploads answer at most 1000 entries a page, as S3 does. */
    static final int PAGE_MAX = 1000;
    /** CompleteMultipartUpload's body: 10,000 parts of about 120 bytes each fit well within this. */
    static final int COMPLETE_BODY_BYTES_MAX = 4 << 20;
    private static final String OWNER = "basalt";
    /** A Complete still running after this long starts its 200 and sends a space this often (clients wait 60 s). */
    static final long KEEP_ALIVE_INTERVAL_MS_DEFAULT = 5000;
    private static final byte[] XML_DECLARATION = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE_SPACE = {' '};
    /** Tests shorten it to see the spaces on a small upload. */
    static volatile long keepAliveIntervalMs = KEEP_ALIVE_INTERVAL_MS_DEFAULT;

    private final S3Service service;

    MultipartOperations(S3Service service) {
        this.service = service;
    }

    private Multipart multipart() throws S3Error {
        Multipart m = service.store.multipart();
        if (m == null) {
            throw S3Error.notImplemented("multipart upload on this store");
        }
        return m;
    }

    void route(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        String uploadId = r.query.get("uploadId");
        switch (r.method) {
            case "POST" -> {
                if (uploadId != null) {
                    complete(x, r, auth, uploadId);
                } else {
                    create(x, r, auth);
                }
            }
            case "PUT" -> {
                if (uploadId == null) {
                    throw S3Error.invalidRequest("UploadPart needs an uploadId");
                }
                if (r.header(CopySource.HEADER) != null) {
                    uploadPartCopy(x, r, auth, uploadId);
                } else {
                    uploadPart(x, r, auth, uploadId);
                }
            }
            case "GET" -> {
                if (uploadId == null) {
                    throw S3Error.invalidRequest("ListParts needs an uploadId");
                }
                listParts(x, r, uploadId);
            }
            case "DELETE" -> {
                if (uploadId == null) {
                    throw S3Error.invalidRequest("AbortMultipartUpload needs an uploadId");
                }
                multipart().abort(r.bucket, r.key, uploadId);
                x.sendFull(HttpResponseStatus.NO_CONTENT, x.headers(), new byte[0], true);
            }
            default -> throw S3Error.methodNotAllowed();
        }
    }

    private void create(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, S3Connection.ClientGone {
        service.requireBucket(r.bucket);
        ObjectStore.PutOptions options = new ObjectStore.PutOptions(ObjectOperations.contentType(r),
                ObjectOperations.userMetadata(r), null).withTags(Tagging.fromHeader(r));
        x.readBody(new RequestBody(r, auth, data -> data.position(data.limit())));
        Multipart.Upload upload = multipart().create(r.bucket, r.key, options);
        x.sendXml(HttpResponseStatus.OK, new S3Xml("InitiateMultipartUploadResult", true).element("Bucket", r.bucket)
                .element("Key", r.key).element("UploadId", upload.uploadId()).finish());
    }

    private static int partNumber(S3Request r) throws S3Error {
        try {
            int n = Integer.parseInt(r.query.getOrDefault("partNumber", ""));
            if (n >= 1 && n <= Multipart.PART_NUMBER_MAX) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw S3Error.invalidArgument("Part number must be an integer between 1 and " + Multipart.PART_NUMBER_MAX
                + ", inclusive");
    }

    private static S3Error tooLarge() {
        return new S3Error("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size");
    }

    private void uploadPart(Exchange x, S3Request r, Authenticator.Result auth, String uploadId)
            throws S3Error, StoreException, S3Connection.ClientGone {
        int partNumber = partNumber(r);
        long[] receivedBytes = {0};
        ObjectStore.ObjectInfo info;
        try (ObjectStore.ObjectWriter writer = multipart().uploadPart(r.bucket, r.key, uploadId, partNumber,
                ObjectOperations.contentMd5(r))) {
            RequestBody body = new RequestBody(r, auth, data -> {
                receivedBytes[0] += data.remaining();
                if (receivedBytes[0] > Multipart.PART_BYTES_MAX) {
                    throw tooLarge();
                }
                try {
                    writer.write(data);
                } catch (StoreException e) {
                    throw S3Error.of(e);
                }
            });
            if (body.expectedBytes() > Multipart.PART_BYTES_MAX) {
                throw tooLarge(); // before 100 Continue: the client need not send it
            }
            x.readBody(body);
            info = writer.commit();
        }
        HttpHeaders h = x.headers();
        h.set(HttpHeaderNames.ETAG, ObjectOperations.quote(info.etag()));
        x.sendFull(HttpResponseStatus.OK, h, new byte[0], true);
    }

    private void uploadPartCopy(Exchange x, S3Request r, Authenticator.Result auth, String uploadId)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        int partNumber = partNumber(r);
        CopySource source = CopySource.parse(r);
        service.requireBucket(r.bucket);
        x.readBody(new RequestBody(r, auth, data -> data.position(data.limit())));
        ObjectStore.ObjectInfo info;
        try (ObjectStore.ObjectReader reader = service.store.open(source.bucket(), source.key())) {
            ObjectStore.ObjectInfo src = reader.info();
            CopySource.checkConditions(r, src);
            long[] range = CopySource.range(r, src.sizeBytes());
            if (range[1] > Multipart.PART_BYTES_MAX) {
                throw tooLarge();
            }
            info = CopySource.copy(reader, range[0], range[1],
                    multipart().uploadPart(r.bucket, r.key, uploadId, partNumber, null));
        }
        x.sendXml(HttpResponseStatus.OK, new S3Xml("CopyPartResult", true)
                .element("LastModified", S3Xml.isoMillis(info.lastModifiedMs()))
                .element("ETag", ObjectOperations.quote(info.etag())).finish());
    }

    private void listParts(Exchange x, S3Request r, String uploadId) throws S3Error, StoreException {
        int maxParts = count(r, "max-parts");
        int marker = count(r, "part-number-marker");
        List<Multipart.Part> parts = multipart().listParts(r.bucket, r.key, uploadId, marker, maxParts + 1);
        boolean truncated = parts.size() > maxParts;
        List<Multipart.Part> page = truncated ? parts.subList(0, maxParts) : parts;
        S3Xml xml = new S3Xml("ListPartsResult", true).element("Bucket", r.bucket).element("Key", r.key)
                .element("UploadId", uploadId);
        owner(xml, "Initiator");
        owner(xml, "Owner");
        xml.element("StorageClass", "STANDARD").element("PartNumberMarker", marker)
                .element("NextPartNumberMarker", page.isEmpty() ? null : page.getLast().partNumber())
                .element("MaxParts", maxParts).element("IsTruncated", truncated);
        for (Multipart.Part p : page) {
            xml.start("Part").element("PartNumber", p.partNumber())
                    .element("LastModified", S3Xml.isoMillis(p.lastModifiedMs()))
                    .element("ETag", ObjectOperations.quote(p.etag())).element("Size", p.sizeBytes()).end();
        }
        x.sendXml(HttpResponseStatus.OK, xml.finish());
    }

    private static void owner(S3Xml xml, String element) {
        xml.start(element).element("ID", OWNER).element("DisplayName", OWNER).end();
    }

    /** max-parts, max-uploads (default and cap 1000), part-number-marker (default 0): non-negative integers. */
    private static int count(S3Request r, String name) throws S3Error {
        boolean isMax = name.startsWith("max-");
        String value = r.query.get(name);
        if (value == null || value.isEmpty()) {
            return isMax ? PAGE_MAX : 0;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 0) {
                return isMax ? Math.min(n, PAGE_MAX) : n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw S3Error.invalidArgument("Provided " + name + " not an integer or within integer range");
    }

    private void complete(Exchange x, S3Request r, Authenticator.Result auth, String uploadId)
            throws S3Error, StoreException, S3Connection.ClientGone {
        service.requireBucket(r.bucket);
        List<Multipart.PartRef> parts = parseComplete(S3Service.readSmallBody(x, r, auth, COMPLETE_BODY_BYTES_MAX));
        ObjectStore.Condition condition = ObjectOperations.putCondition(r);
        Multipart multipart = multipart();
        FutureTask<ObjectStore.ObjectInfo> task = new FutureTask<>(
                () -> multipart.complete(r.bucket, r.key, uploadId, parts, condition));
        Thread.ofVirtual().name("s3-complete-" + uploadId).start(task);
        long intervalMs = keepAliveIntervalMs;
        boolean streaming = intervalMs <= 0; // 0 (tests): the keep-alive form at once, whatever the timing
        if (streaming) startKeepAlive(x);
        ObjectStore.ObjectInfo info;
        try {
            while (true) {
                try {
                    info = task.get(Math.max(1, intervalMs), TimeUnit.MILLISECONDS);
                    break;
                } catch (TimeoutException e) {
                    // S3's way to keep a long Complete's connection alive: a 200 at once, then spaces
                    if (!streaming) {
                        startKeepAlive(x);
                        streaming = true;
                    }
                    x.sendChunk(KEEP_ALIVE_SPACE, false);
                }
            }
        } catch (ExecutionException e) {
            failed(x, r, e.getCause(), streaming);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new S3Connection.ClientGone();
        }
        byte[] xml = new S3Xml("CompleteMultipartUploadResult", true)
                .element("Location", "/" + r.bucket + "/" + SigV4.uriEncode(r.key, true)).element("Bucket", r.bucket)
                .element("Key", r.key).element("ETag", ObjectOperations.quote(info.etag())).finish();
        if (streaming) {
            x.sendChunk(withoutDeclaration(xml), true);
        } else {
            x.sendXml(HttpResponseStatus.OK, xml);
        }
    }

    /** The 200 of a Complete answered in S3's keep-alive form: chunked, the XML declaration first. */
    private static void startKeepAlive(Exchange x) {
        HttpHeaders h = x.headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, "application/xml");
        x.startChunked(h);
        x.sendChunk(XML_DECLARATION, false);
    }

    /** A failed Complete: its error as usual, or, once the 200 is sent, as an {@code <Error>} body ending it. */
    private static void failed(Exchange x, S3Request r, Throwable cause, boolean streaming) throws S3Error, StoreException {
        S3Error error = cause instanceof StoreException se ? S3Error.of(se)
                : cause instanceof S3Error s3 ? s3
                : new S3Error("InternalError", 500, "We encountered an internal error. Please try again.");
        if (!streaming) {
            if (cause instanceof StoreException se) {
                throw se;
            }
            throw error;
        }
        x.sendChunk(withoutDeclaration(S3Xml.error(error.code(), error.getMessage(), r.resource(), x.requestId)), true);
    }

    /** The document after its XML declaration, which went first (before the spaces). */
    private static byte[] withoutDeclaration(byte[] xml) {
        String text = new String(xml, StandardCharsets.UTF_8);
        int end = text.startsWith("<?xml") ? text.indexOf("?>") + 2 : 0;
        return text.substring(end).getBytes(StandardCharsets.UTF_8);
    }

    /** {@code <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"..."</ETag></Part>...}. */
    static List<Multipart.PartRef> parseComplete(byte[] body) throws S3Error {
        List<String[]> elements = S3Xml.elements(body);
        if (!"CompleteMultipartUpload".equals(elements.getLast()[0])) {
            throw S3Error.malformedXml();
        }
        List<Multipart.PartRef> parts = new ArrayList<>();
        String number = null;
        String etag = null;
        for (String[] e : elements) {
            switch (e[0]) {
                case "PartNumber" -> number = e[1].trim();
                case "ETag" -> etag = ObjectOperations.unquote(e[1].trim());
                case "Part" -> {
                    if (number == null || etag == null || parts.size() == Multipart.PART_NUMBER_MAX) {
                        throw S3Error.malformedXml();
                    }
                    try {
                        parts.add(new Multipart.PartRef(Integer.parseInt(number), etag));
                    } catch (NumberFormatException ex) {
                        throw S3Error.malformedXml();
                    }
                    number = null;
                    etag = null;
                }
                default -> {
                    // CompleteMultipartUpload, and the checksums S3 also accepts per part (not kept)
                }
            }
        }
        if (parts.isEmpty()) {
            throw S3Error.malformedXml();
        }
        return parts;
    }

    /** ListMultipartUploads: by key then upload id (initiation order), after key-marker / upload-id-marker. */
    void listUploads(Exchange x, S3Request r) throws S3Error, StoreException {
        if (r.query.get("delimiter") != null && !r.query.get("delimiter").isEmpty()) {
            throw S3Error.notImplemented("ListMultipartUploads with a delimiter");
        }
        String prefix = r.query.getOrDefault("prefix", "");
        String keyMarker = r.query.get("key-marker");
        String uploadIdMarker = keyMarker == null ? null : r.query.get("upload-id-marker");
        int maxUploads = count(r, "max-uploads");
        boolean url = "url".equals(r.query.get("encoding-type"));
        List<Multipart.Upload> uploads = multipart().list(r.bucket, prefix, keyMarker, uploadIdMarker, maxUploads + 1);
        boolean truncated = uploads.size() > maxUploads;
        List<Multipart.Upload> page = truncated ? uploads.subList(0, maxUploads) : uploads;
        S3Xml xml = new S3Xml("ListMultipartUploadsResult", true).element("Bucket", r.bucket)
                .element("KeyMarker", encode(keyMarker == null ? "" : keyMarker, url))
                .element("UploadIdMarker", uploadIdMarker == null ? "" : uploadIdMarker)
                .element("NextKeyMarker", truncated ? encode(page.getLast().key(), url) : null)
                .element("NextUploadIdMarker", truncated ? page.getLast().uploadId() : null)
                .element("Prefix", encode(prefix, url)).element("MaxUploads", maxUploads)
                .element("EncodingType", url ? "url" : null).element("IsTruncated", truncated);
        for (Multipart.Upload u : page) {
            xml.start("Upload").element("Key", encode(u.key(), url)).element("UploadId", u.uploadId());
            owner(xml, "Initiator");
            owner(xml, "Owner");
            xml.element("StorageClass", "STANDARD").element("Initiated", S3Xml.isoMillis(u.initiatedMs())).end();
        }
        x.sendXml(HttpResponseStatus.OK, xml.finish());
    }

    private static String encode(String s, boolean url) {
        return url ? SigV4.uriEncode(s, true) : s;
    }
}
