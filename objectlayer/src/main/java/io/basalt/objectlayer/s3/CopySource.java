package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.ObjectStore;
import io.basalt.objectlayer.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The source of CopyObject and UploadPartCopy: {@code x-amz-copy-source} (bucket/key, URL-encoded, an optional
 * leading '/'), its conditions ({@code x-amz-copy-source-if-match}, {@code -if-none-match}, {@code
 * -if-modified-since}, {@code -if-unmodified-since}: 412 PreconditionFailed when one does not hold, with S3's pairing
 * rules) and, for UploadPartCopy, {@code x-amz-copy-source-range: bytes=first-last}.
 */
record CopySource(String bucket, String key) {
    static final String HEADER = "x-amz-copy-source";
    /** CopyObject and UploadPartCopy move the data in pieces this size. */
    static final int COPY_CHUNK_BYTES = 1 << 20;
    private static final String RANGE_UNIT = "bytes=";

    static CopySource parse(S3Request r) throws S3Error {
        String source = r.header(HEADER);
        if (source.indexOf('?') >= 0) {
            throw S3Error.notImplemented("x-amz-copy-source with a versionId");
        }
        String decoded = S3Request.percentDecode(source.startsWith("/") ? source.substring(1) : source);
        int slash = decoded.indexOf('/');
        if (slash <= 0 || slash == decoded.length() - 1) {
            throw S3Error.invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
        }
        return new CopySource(decoded.substring(0, slash), decoded.substring(slash + 1));
    }

    /**
     * S3's rules (CopyObject): if-match true with if-unmodified-since false proceeds; if-none-match false with
     * if-modified-since true fails; otherwise each given condition must hold.
     */
    static void checkConditions(S3Request r, ObjectStore.ObjectInfo source) throws S3Error {
        String etag = ObjectOperations.quote(source.etag());
        long modifiedSeconds = source.lastModifiedMs() / 1000;
        String ifMatch = r.header("x-amz-copy-source-if-match");
        String ifNoneMatch = r.header("x-amz-copy-source-if-none-match");
        Long unmodifiedSince = ObjectOperations.Conditions.seconds(r.header("x-amz-copy-source-if-unmodified-since"));
        Long modifiedSince = ObjectOperations.Conditions.seconds(r.header("x-amz-copy-source-if-modified-since"));
        boolean ok = true;
        if (ifMatch != null) {
            ok = ObjectOperations.Conditions.matches(ifMatch, etag);
        } else if (unmodifiedSince != null) {
            ok = modifiedSeconds <= unmodifiedSince;
        }
        if (ifNoneMatch != null) {
            ok &= !ObjectOperations.Conditions.matches(ifNoneMatch, etag);
        } else if (modifiedSince != null) {
            ok &= modifiedSeconds > modifiedSince;
        }
        if (!ok) {
            throw preconditionFailed();
        }
    }

    static S3Error preconditionFailed() {
        return new S3Error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
    }

    /** {offsetBytes, lengthBytes} of {@code x-amz-copy-source-range}, or the whole source when absent. */
    static long[] range(S3Request r, long sizeBytes) throws S3Error {
        String header = r.header("x-amz-copy-source-range");
        if (header == null) {
            return new long[] {0, sizeBytes};
        }
        String spec = header.trim();
        int dash = spec.indexOf('-');
        try {
            if (!spec.startsWith(RANGE_UNIT) || dash < 0) {
                throw new NumberFormatException(spec);
            }
            long first = Long.parseLong(spec.substring(RANGE_UNIT.length(), dash).trim());
            long last = Long.parseLong(spec.substring(dash + 1).trim());
            if (first < 0 || last < first || last >= sizeBytes) {
                throw S3Error.invalidArgument("Range specified is not valid for source object of size: " + sizeBytes);
            }
            return new long[] {first, last - first + 1};
        } catch (NumberFormatException e) {
            throw S3Error.invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last "
                    + "where first and last are the zero-based offsets of the first and last bytes to copy");
        }
    }

    /** Copies {@code lengthBytes} from {@code offsetBytes} of the reader into the writer and commits it. */
    static ObjectStore.ObjectInfo copy(ObjectStore.ObjectReader reader, long offsetBytes, long lengthBytes,
                                       ObjectStore.ObjectWriter writer) throws StoreException, IOException {
        try (writer) {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(COPY_CHUNK_BYTES, Math.max(lengthBytes, 1)));
            long doneBytes = 0;
            while (doneBytes < lengthBytes) {
                buf.clear().limit((int) Math.min(buf.capacity(), lengthBytes - doneBytes));
                int n = reader.read(offsetBytes + doneBytes, buf);
                if (n < 0) {
                    throw new IOException("the source object ended before its size");
                }
                buf.flip();
                writer.write(buf);
                doneBytes += n;
            }
            return writer.commit();
        }
    }
}
