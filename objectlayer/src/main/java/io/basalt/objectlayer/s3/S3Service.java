package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Set;

/**
 * Routes an S3 request to its operation and answers it: authentication first, then the bucket operations here and
 * the object operations in {@link ObjectOperations}. Runs on the connection's virtual thread.
 */
final class S3Service {
    /** Subresources S3 has and Basalt does not serve yet (docs/objects.md, coverage): answered NotImplemented. */
    static final Set<String> UNSUPPORTED = Set.of("acl", "policy",
            "policyStatus", "versioning", "versions", "versionId", "lifecycle", "cors", "website", "logging",
            "notification", "replication", "encryption", "object-lock", "retention", "legal-hold", "torrent", "restore",
            "select", "accelerate", "requestPayment", "ownershipControls", "publicAccessBlock", "analytics", "metrics",
            "inventory", "intelligent-tiering", "attributes");
    /** The DeleteObjects body: 1000 keys of up to 1024 bytes, escaped, fit well within this. */
    static final int DELETE_BODY_BYTES_MAX = 8 << 20;

    final ObjectStore store;
    final String region;
    final String baseDomain;
    final Authenticator authenticator;
    private final ObjectOperations objects;
    private final MultipartOperations multipart;

    S3Service(ObjectStore store, String region, String baseDomain, Authenticator authenticator) {
        this.store = store;
        this.region = region;
        this.baseDomain = baseDomain;
        this.authenticator = authenticator;
        this.objects = new ObjectOperations(this);
        this.multipart = new MultipartOperations(this);
    }

    void handle(Exchange x) throws S3Connection.ClientGone {
        String resource = "/";
        try {
            S3Request r = S3Request.parse(x.http, baseDomain, x.requestId);
            resource = r.resource();
            Authenticator.Result auth = authenticator.authenticate(r);
            for (SigV4.Param p : r.params) {
                if (UNSUPPORTED.contains(p.name())) {
                    throw S3Error.notImplemented("?" + p.name());
                }
            }
            if (r.key == null && r.has("tagging")) {
                throw S3Error.notImplemented("?tagging on a bucket");
            }
            route(x, r, auth);
        } catch (S3Error e) {
            if (!x.responded()) {
                x.sendError(e, resource);
            }
        } catch (StoreException e) {
            if (!x.responded()) {
                x.sendError(S3Error.of(e), resource);
            }
        } catch (IOException | RuntimeException e) {
            if (!x.responded()) {
                x.sendError(new S3Error("InternalError", 500, "We encountered an internal error. Please try again."), resource);
            }
        }
    }

    private void route(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, IOException, S3Connection.ClientGone {
        if (r.bucket == null) {
            if (!"GET".equals(r.method)) {
                throw S3Error.methodNotAllowed();
            }
            listBuckets(x);
        } else if (r.key == null) {
            routeBucket(x, r, auth);
        } else {
            objects.route(x, r, auth);
        }
    }

    private void routeBucket(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, StoreException, S3Connection.ClientGone {
        switch (r.method) {
            case "GET" -> {
                if (r.has("location")) {
                    requireBucket(r.bucket);
                    // S3 answers an empty LocationConstraint for us-east-1.
                    x.sendXml(HttpResponseStatus.OK, new S3Xml("LocationConstraint", true).finishWithText(
                            "us-east-1".equals(region) ? "" : region));
                } else if (r.has("uploads")) {
                    multipart.listUploads(x, r);
                } else {
                    Listings.list(this, x, r);
                }
            }
            case "PUT" -> {
                discardBody(x, r, auth);
                store.createBucket(r.bucket);
                HttpHeaders h = x.headers();
                h.set("Location", "/" + r.bucket);
                x.sendFull(HttpResponseStatus.OK, h, new byte[0], true);
            }
            case "DELETE" -> {
                store.deleteBucket(r.bucket);
                x.sendFull(HttpResponseStatus.NO_CONTENT, x.headers(), new byte[0], true);
            }
            case "HEAD" -> {
                requireBucket(r.bucket);
                HttpHeaders h = x.headers();
                h.set("x-amz-bucket-region", region);
                x.sendFull(HttpResponseStatus.OK, h, new byte[0], true);
            }
            case "POST" -> {
                if (!r.has("delete")) {
                    throw S3Error.methodNotAllowed();
                }
                requireBucket(r.bucket);
                objects.deleteObjects(x, r, readSmallBody(x, r, auth, DELETE_BODY_BYTES_MAX));
            }
            default -> throw S3Error.methodNotAllowed();
        }
    }

    private void listBuckets(Exchange x) {
        S3Xml xml = new S3Xml("ListAllMyBucketsResult", true);
        xml.start("Owner").element("ID", "basalt").element("DisplayName", "basalt").end().start("Buckets");
        for (ObjectStore.BucketInfo b : store.listBuckets()) {
            xml.start("Bucket").element("Name", b.name()).element("CreationDate", S3Xml.isoMillis(b.createdMs())).end();
        }
        x.sendXml(HttpResponseStatus.OK, xml.end().finish());
    }

    void requireBucket(String bucket) throws S3Error {
        if (!store.bucketExists(bucket)) {
            throw noSuchBucket();
        }
    }

    static S3Error noSuchBucket() {
        return S3Error.of(new StoreException(StoreException.Code.NO_SUCH_BUCKET, "The specified bucket does not exist"));
    }

    /** Reads and checks a body the operation ignores (CreateBucket's optional configuration). */
    private static void discardBody(Exchange x, S3Request r, Authenticator.Result auth)
            throws S3Error, S3Connection.ClientGone {
        x.readBody(new RequestBody(r, auth, data -> data.position(data.limit())));
    }

    /** Reads and checks a small XML body into memory; EntityTooLarge past {@code maxBytes}. */
    static byte[] readSmallBody(Exchange x, S3Request r, Authenticator.Result auth, int maxBytes)
            throws S3Error, S3Connection.ClientGone {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        x.readBody(new RequestBody(r, auth, data -> {
            if (out.size() + data.remaining() > maxBytes) {
                throw new S3Error("EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size");
            }
            byte[] b = new byte[data.remaining()];
            data.get(b);
            out.write(b, 0, b.length);
        }));
        return out.toByteArray();
    }
}
