package io.basalt.objectlayer.s3;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Map;

/**
 * A request body as it streams in: decodes aws-chunked, hands the data on, and at the end checks what the request
 * promised about it (x-amz-content-sha256, an x-amz-checksum-* header or trailer, x-amz-decoded-content-length,
 * Content-Length). Nothing the data went into may become visible before {@link #finish} returns.
 */
final class RequestBody {
    private final AwsChunkedDecoder.Sink sink;
    private final AwsChunkedDecoder chunked;
    private final boolean signedTrailer;
    private final MessageDigest sha256;
    private final String expectedSha256;
    private final long expectedBytes;
    private BodyChecksum checksum;
    private String expectedChecksum;
    private long dataBytes;

    RequestBody(S3Request r, Authenticator.Result auth, AwsChunkedDecoder.Sink out) throws S3Error {
        String payload = auth.payloadHash();
        String encoding = r.header("content-encoding");
        boolean awsChunked = payload.startsWith("STREAMING-")
                || encoding != null && encoding.toLowerCase(Locale.ROOT).contains("aws-chunked");
        this.sink = data -> {
            dataBytes += data.remaining();
            if (checksum != null) {
                checksum.update(data.duplicate());
            }
            out.write(data);
        };
        boolean signed = payload.equals(SigV4.STREAMING_SIGNED) || payload.equals(SigV4.STREAMING_SIGNED_TRAILER);
        if (signed && auth.signingKey() == null) {
            throw S3Error.invalidRequest("Signed aws-chunked bodies need a signed request");
        }
        this.signedTrailer = payload.equals(SigV4.STREAMING_SIGNED_TRAILER);
        this.chunked = awsChunked ? new AwsChunkedDecoder(auth, signed, sink) : null;
        boolean hexHash = payload.length() == SigV4.EMPTY_SHA256.length() && !payload.startsWith("STREAMING-");
        this.expectedSha256 = hexHash ? payload : null;
        this.sha256 = hexHash ? SigV4.sha256() : null;
        this.expectedBytes = expectedLength(r, awsChunked);
        String trailer = r.header("x-amz-trailer");
        if (trailer != null) {
            checksum = BodyChecksum.forHeader(trailer.trim());
            if (checksum == null || !awsChunked) {
                throw S3Error.invalidRequest("Unsupported x-amz-trailer: " + trailer);
            }
        } else {
            checksumFromHeaders(r);
        }
    }

    private void checksumFromHeaders(S3Request r) throws S3Error {
        for (Map.Entry<String, String> h : r.headers) {
            BodyChecksum c = BodyChecksum.forHeader(h.getKey());
            if (c != null) {
                if (checksum != null) {
                    throw S3Error.invalidRequest("Expecting a single x-amz-checksum- header");
                }
                checksum = c;
                expectedChecksum = h.getValue().trim();
            }
        }
    }

    private static long expectedLength(S3Request r, boolean awsChunked) throws S3Error {
        String value = awsChunked ? r.header("x-amz-decoded-content-length") : r.header("content-length");
        if (value == null) {
            return -1;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n < 0) {
                throw S3Error.invalidArgument("A negative content length");
            }
            return n;
        } catch (NumberFormatException e) {
            throw S3Error.invalidArgument("A content length that is not a number");
        }
    }

    /** The object's size when the request states it, else -1 (HTTP chunked without a decoded length). */
    long expectedBytes() {
        return expectedBytes;
    }

    void accept(ByteBuffer raw) throws S3Error {
        if (sha256 != null) {
            sha256.update(raw.duplicate());
        }
        if (chunked != null) {
            chunked.feed(raw);
        } else {
            sink.write(raw);
        }
    }

    void finish() throws S3Error {
        if (chunked != null) {
            Map<String, String> trailers = chunked.finish();
            if (checksum != null) {
                expectedChecksum = trailers.get(BodyChecksum.headerName(checksum.algorithm));
                if (expectedChecksum == null) {
                    throw S3Error.incompleteBody("The x-amz-trailer checksum was announced but not sent.");
                }
                if (signedTrailer && !chunked.trailerVerified()) {
                    throw S3Error.signatureMismatch();
                }
            }
        }
        if (expectedBytes >= 0 && dataBytes != expectedBytes) {
            throw S3Error.incompleteBody("You did not provide the number of bytes specified by the Content-Length HTTP header.");
        }
        if (sha256 != null && !SigV4.hex(sha256.digest()).equals(expectedSha256)) {
            throw new S3Error("XAmzContentSHA256Mismatch", 400,
                    "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        if (checksum != null && !checksum.base64().equals(expectedChecksum)) {
            throw new S3Error("BadDigest", 400, "The " + checksum.algorithm + " you specified did not match the calculated checksum.");
        }
    }
}
