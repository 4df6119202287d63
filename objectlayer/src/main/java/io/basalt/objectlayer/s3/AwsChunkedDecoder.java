package io.basalt.objectlayer.s3;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decodes an {@code aws-chunked} body (S3 API reference, sigv4-streaming and sigv4-streaming-trailers) as it
 * arrives, in pieces of any size:
 * <pre>
 *   hex-size [;chunk-signature=SIG] CRLF data CRLF   ... repeated ...
 *   0 [;chunk-signature=SIG] CRLF
 *   [name:value CRLF ...] [x-amz-trailer-signature:SIG CRLF]   (the trailer)
 *   CRLF
 * </pre>
 * With signed chunks each chunk's signature chains from the previous one (the seed is the request's signature) and
 * is checked when the chunk ends; the data is handed on before that, so the caller must not make an object visible
 * until {@link #finish} returns.
 */
final class AwsChunkedDecoder {
    /** A chunk header or trailer line longer than this is hostile. */
    static final int LINE_BYTES_MAX = 4096;
    /** Hex digits of a chunk size: 15 keep it below 2^60, far above any object. */
    static final int SIZE_DIGITS_MAX = 15;
    private static final String SIGNATURE_EXT = ";chunk-signature=";
    private static final String TRAILER_SIGNATURE = "x-amz-trailer-signature";

    interface Sink {
        void write(ByteBuffer data) throws S3Error;
    }

    private enum State { CHUNK_HEADER, CHUNK_DATA, CHUNK_CRLF, TRAILER, DONE }

    private final Authenticator.Result auth;
    private final boolean signed;
    private final Sink sink;
    private final StringBuilder line = new StringBuilder(128);
    private final Map<String, String> trailers = new LinkedHashMap<>();
    private final StringBuilder trailerCanonical = new StringBuilder();
    private MessageDigest chunkDigest;
    private State state = State.CHUNK_HEADER;
    private String previousSignature;
    private String chunkSignature;
    private long chunkRemainingBytes;
    private long decodedBytes;
    private int crlfSeen;
    private boolean trailerVerified;

    AwsChunkedDecoder(Authenticator.Result auth, boolean signed, Sink sink) {
        this.auth = auth;
        this.signed = signed;
        this.sink = sink;
        this.previousSignature = signed ? auth.seedSignature() : null;
        this.chunkDigest = signed ? SigV4.sha256() : null;
    }

    void feed(ByteBuffer in) throws S3Error {
        while (in.hasRemaining()) {
            switch (state) {
                case CHUNK_HEADER, TRAILER -> {
                    if (readLine(in)) {
                        if (state == State.CHUNK_HEADER) {
                            chunkHeader(line.toString());
                        } else {
                            trailerLine(line.toString());
                        }
                        line.setLength(0);
                    }
                }
                case CHUNK_DATA -> chunkData(in);
                case CHUNK_CRLF -> {
                    byte b = in.get();
                    if (b != (crlfSeen == 0 ? '\r' : '\n')) {
                        throw S3Error.incompleteBody("aws-chunked: a chunk's data must end with CRLF");
                    }
                    if (++crlfSeen == 2) {
                        state = State.CHUNK_HEADER;
                    }
                }
                default -> throw S3Error.incompleteBody("aws-chunked: bytes after the final chunk");
            }
        }
    }

    /** Checks that the body ended where it should; the trailing headers, lower-case names. */
    Map<String, String> finish() throws S3Error {
        if (state != State.DONE) {
            throw S3Error.incompleteBody("The request body ended before the final aws-chunked chunk.");
        }
        return trailers;
    }

    long decodedBytes() {
        return decodedBytes;
    }

    /** Accumulates a line; true when it ended (CRLF, or a bare LF, stripped). */
    private boolean readLine(ByteBuffer in) throws S3Error {
        while (in.hasRemaining()) {
            char c = (char) (in.get() & 0xff);
            if (c == '\n') {
                int last = line.length() - 1;
                if (last >= 0 && line.charAt(last) == '\r') {
                    line.setLength(last);
                }
                return true;
            }
            if (line.length() == LINE_BYTES_MAX) {
                throw S3Error.incompleteBody("aws-chunked: a chunk header or trailer line is too long");
            }
            line.append(c);
        }
        return false;
    }

    private void chunkHeader(String header) throws S3Error {
        int semi = header.indexOf(';');
        String hex = semi < 0 ? header : header.substring(0, semi);
        if (hex.isEmpty() || hex.length() > SIZE_DIGITS_MAX) {
            throw S3Error.incompleteBody("aws-chunked: bad chunk size");
        }
        try {
            chunkRemainingBytes = Long.parseLong(hex, 16);
        } catch (NumberFormatException e) {
            throw S3Error.incompleteBody("aws-chunked: bad chunk size");
        }
        if (signed) {
            if (semi < 0 || !header.startsWith(SIGNATURE_EXT, semi)) {
                throw S3Error.signatureMismatch();
            }
            chunkSignature = header.substring(semi + SIGNATURE_EXT.length());
        }
        if (chunkRemainingBytes == 0) {
            endChunk();
            state = State.TRAILER;
        } else {
            state = State.CHUNK_DATA;
        }
    }

    private void chunkData(ByteBuffer in) throws S3Error {
        int n = (int) Math.min(chunkRemainingBytes, in.remaining());
        ByteBuffer slice = in.slice(in.position(), n);
        in.position(in.position() + n);
        if (signed) {
            chunkDigest.update(slice.duplicate());
        }
        chunkRemainingBytes -= n;
        decodedBytes += n;
        sink.write(slice);
        if (chunkRemainingBytes == 0) {
            endChunk();
            crlfSeen = 0;
            state = State.CHUNK_CRLF;
        }
    }

    private void endChunk() throws S3Error {
        if (!signed) {
            return;
        }
        String toSign = SigV4.chunkStringToSign(auth.amzDate(), auth.scope(), previousSignature,
                SigV4.hex(chunkDigest.digest()));
        String expected = SigV4.sign(auth.signingKey(), toSign);
        if (!SigV4.sameSignature(expected, chunkSignature)) {
            throw S3Error.signatureMismatch();
        }
        previousSignature = expected;
    }

    private void trailerLine(String text) throws S3Error {
        if (text.isEmpty()) {
            state = State.DONE;
            return;
        }
        int colon = text.indexOf(':');
        if (colon <= 0) {
            throw S3Error.incompleteBody("aws-chunked: a malformed trailer line");
        }
        String name = text.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT);
        String value = text.substring(colon + 1).trim();
        if (!TRAILER_SIGNATURE.equals(name)) {
            trailers.put(name, value);
            trailerCanonical.append(name).append(':').append(value).append('\n');
            return;
        }
        if (!signed) {
            throw S3Error.invalidRequest("A trailer signature on an unsigned aws-chunked body");
        }
        String hash = SigV4.sha256Hex(trailerCanonical.toString().getBytes(StandardCharsets.UTF_8));
        String expected = SigV4.sign(auth.signingKey(),
                SigV4.trailerStringToSign(auth.amzDate(), auth.scope(), previousSignature, hash));
        if (!SigV4.sameSignature(expected, value)) {
            throw S3Error.signatureMismatch();
        }
        trailerVerified = true;
    }

    /** True once a trailer signature was present and right. */
    boolean trailerVerified() {
        return trailerVerified;
    }
}
