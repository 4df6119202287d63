package io.basalt.objectlayer.s3;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 as S3 applies it (AWS S3 API reference, "Authenticating Requests (AWS Signature Version
 * 4)"): the canonical request, the string to sign, the signing key and the chunk signatures of aws-chunked bodies.
 * Pure functions; {@link Authenticator} decides what a request carries and checks it.
 */
final class SigV4 {
    static final String ALGORITHM = "AWS4-HMAC-SHA256";
    static final String SERVICE = "s3";
    static final String TERMINATOR = "aws4_request";
    static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
    static final String STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    static final String STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
    static final String STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    /** SHA-256 of no bytes: the payload hash of a bodiless request, and part of every chunk's string to sign. */
    static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static final HexFormat HEX = HexFormat.of();

    private SigV4() {}

    /** One query parameter, decoded. */
    record Param(String name, String value) {}

    /**
     * S3's URI encoding: unreserved characters (A-Z a-z 0-9 - . _ ~) as they are, every other UTF-8 byte as %XX in
     * upper-case hex; '/' kept only when {@code keepSlash} (object key paths). S3 encodes the path once (no double
     * encoding, unlike the other services).
     */
    static String uriEncode(String s, boolean keepSlash) {
        StringBuilder out = new StringBuilder(s.length() + 16);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            boolean unreserved = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
                    || c == '-' || c == '.' || c == '_' || c == '~';
            if (unreserved || keepSlash && c == '/') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** Query parameters sorted by encoded name, then encoded value; {@code skip} (the presigned signature) left out. */
    static String canonicalQuery(List<Param> params, String skip) {
        List<String> encoded = new ArrayList<>(params.size());
        for (Param p : params) {
            if (!p.name().equals(skip)) {
                encoded.add(uriEncode(p.name(), false) + "=" + uriEncode(p.value(), false));
            }
        }
        // Sorting "name=value" strings orders by name then value because '=' sorts below every encoded character.
        encoded.sort(null);
        return String.join("&", encoded);
    }

    /** A header value as SigV4 canonicalises it: trimmed, runs of spaces made one. */
    static String canonicalHeaderValue(String value) {
        String trimmed = value.trim();
        return trimmed.contains("  ") ? trimmed.replaceAll(" +", " ") : trimmed; // a regex only when there is a run
    }

    /**
     * @param headers signed header name (lower case) to its values in arrival order
     * @param signedHeaders the names, lower case, sorted, as in SignedHeaders
     */
    static String canonicalRequest(String method, String canonicalUri, String canonicalQuery,
                                   Map<String, List<String>> headers, List<String> signedHeaders, String payloadHash) {
        StringBuilder sb = new StringBuilder(512);
        sb.append(method).append('\n').append(canonicalUri).append('\n').append(canonicalQuery).append('\n');
        for (String name : signedHeaders) {
            List<String> values = headers.getOrDefault(name, List.of());
            List<String> canonical = new ArrayList<>(values.size());
            for (String v : values) {
                canonical.add(canonicalHeaderValue(v));
            }
            sb.append(name).append(':').append(String.join(",", canonical)).append('\n');
        }
        sb.append('\n').append(String.join(";", signedHeaders)).append('\n').append(payloadHash);
        return sb.toString();
    }

    static String scope(String date, String region) {
        return date + "/" + region + "/" + SERVICE + "/" + TERMINATOR;
    }

    static String stringToSign(String amzDate, String scope, String canonicalRequest) {
        return ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
    }

    /** A chunk's string to sign: the previous signature chains the chunks (sigv4-streaming). */
    static String chunkStringToSign(String amzDate, String scope, String previousSignature, String chunkSha256Hex) {
        return ALGORITHM + "-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n" + EMPTY_SHA256 + "\n"
                + chunkSha256Hex;
    }

    /** The trailer's string to sign (sigv4-streaming-trailers): over the trailing headers, each "name:value\n". */
    static String trailerStringToSign(String amzDate, String scope, String previousSignature, String trailerSha256Hex) {
        return ALGORITHM + "-TRAILER\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n" + trailerSha256Hex;
    }

    static byte[] signingKey(String secret, String date, String region) {
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
        k = hmac(k, region);
        k = hmac(k, SERVICE);
        return hmac(k, TERMINATOR);
    }

    static String sign(byte[] signingKey, String stringToSign) {
        return HEX.formatHex(hmac(signingKey, stringToSign));
    }

    static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = (Mac) HMAC_PROTOTYPE.clone();
            mac.init(new SecretKeySpec(key, HMAC_SHA256));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException | CloneNotSupportedException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    static MessageDigest sha256() {
        try {
            return (MessageDigest) SHA256_PROTOTYPE.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's SHA-256 clones", e);
        }
    }

    /**
     * Instances to clone, never used themselves: a clone skips the provider search of getInstance and, for the Mac
     * (initialised once, so its provider is chosen), of init (together 2% of a GET's CPU). Clones only read these.
     */
    private static final String HMAC_SHA256 = "HmacSHA256";
    private static final Mac HMAC_PROTOTYPE;
    private static final MessageDigest SHA256_PROTOTYPE;

    static {
        try {
            HMAC_PROTOTYPE = Mac.getInstance(HMAC_SHA256);
            HMAC_PROTOTYPE.init(new SecretKeySpec(new byte[32], HMAC_SHA256));
            SHA256_PROTOTYPE = MessageDigest.getInstance("SHA-256");
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static String sha256Hex(byte[] data) {
        return HEX.formatHex(sha256().digest(data));
    }

    static String hex(byte[] data) {
        return HEX.formatHex(data);
    }

    /** Compares signatures in time independent of where they differ. */
    static boolean sameSignature(String expected, String given) {
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII), given.getBytes(StandardCharsets.US_ASCII));
    }
}
