package io.basalt.objectlayer.s3;

import java.time.Clock;
import java.time.Duration;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Checks a request's SigV4 signature, from the Authorization header or a presigned URL's query, against the
 * configured access keys; says what the body must then satisfy ({@link Result#payloadHash}).
 */
final class Authenticator {
    /** S3 refuses a request whose time is more than 15 minutes from its own clock. */
    static final Duration SKEW_MAX = Duration.ofMinutes(15);
    /** A presigned URL is valid for at most seven days. */
    static final long PRESIGN_EXPIRES_MAX_SECONDS = 7L * 24 * 3600;
    static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final int AMZ_DATE_LENGTH = "yyyyMMddTHHmmssZ".length();
    /** Signing keys kept; past it the cache starts over (a key is one day's, per access key). */
    static final int SIGNING_KEYS_MAX = 1024;
    private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final List<String> PAYLOAD_MODES = List.of(SigV4.UNSIGNED_PAYLOAD, SigV4.STREAMING_SIGNED,
            SigV4.STREAMING_SIGNED_TRAILER, SigV4.STREAMING_UNSIGNED_TRAILER, "STREAMING-UNSIGNED-PAYLOAD");

    /**
     * @param payloadHash what x-amz-content-sha256 claims: a hex SHA-256, or one of SigV4's payload modes
     * @param signingKey  null for an anonymous request
     */
    record Result(String accessKey, String payloadHash, byte[] signingKey, String scope, String amzDate,
                  String seedSignature) {}

    private final Map<String, String> secrets;
    private final String region;
    private final boolean allowAnonymous;
    private final Clock clock;
    /** "accessKey/yyyyMMdd" to its signing key: the four chained HMACs are the same all day (region is fixed). */
    private final Map<String, byte[]> signingKeys = new ConcurrentHashMap<>();

    Authenticator(Map<String, String> secrets, String region, boolean allowAnonymous, Clock clock) {
        this.secrets = Map.copyOf(secrets);
        this.region = region;
        this.allowAnonymous = allowAnonymous;
        this.clock = clock;
    }

    Result authenticate(S3Request r) throws S3Error {
        String authorization = r.header("authorization");
        if (authorization != null && authorization.startsWith(SigV4.ALGORITHM + " ")) {
            return fromHeader(r, authorization.substring(SigV4.ALGORITHM.length() + 1));
        }
        if (authorization != null) {
            throw S3Error.invalidRequest("The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.");
        }
        if (r.has("X-Amz-Algorithm") || r.has("X-Amz-Signature")) {
            return fromQuery(r);
        }
        if (!allowAnonymous) {
            throw S3Error.accessDenied("Access Denied");
        }
        return new Result(null, payloadHash(r, SigV4.UNSIGNED_PAYLOAD), null, null, null, null);
    }

    private Result fromHeader(S3Request r, String fields) throws S3Error {
        Map<String, String> parts = new HashMap<>();
        for (String field : fields.split(",")) {
            int eq = field.indexOf('=');
            if (eq > 0) {
                parts.put(field.substring(0, eq).trim(), field.substring(eq + 1).trim());
            }
        }
        String credential = parts.get("Credential");
        String signed = parts.get("SignedHeaders");
        String signature = parts.get("Signature");
        if (credential == null || signed == null || signature == null) {
            throw malformed("The authorization header is malformed; it must hold Credential, SignedHeaders and Signature.");
        }
        String amzDate = r.header("x-amz-date");
        if (amzDate == null && r.header("date") != null) {
            amzDate = fromHttpDate(r.header("date"));
        }
        if (amzDate == null) {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header");
        }
        Instant when = parseAmzDate(amzDate);
        if (Duration.between(when, clock.instant()).abs().compareTo(SKEW_MAX) > 0) {
            throw new S3Error("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.");
        }
        String payloadHash = payloadHash(r, null);
        if (payloadHash == null) {
            throw S3Error.invalidRequest("Missing required header for this request: x-amz-content-sha256");
        }
        return verify(r, credential, signed, signature, amzDate, payloadHash, null);
    }

    private Result fromQuery(S3Request r) throws S3Error {
        String algorithm = r.query.get("X-Amz-Algorithm");
        String credential = r.query.get("X-Amz-Credential");
        String amzDate = r.query.get("X-Amz-Date");
        String expires = r.query.get("X-Amz-Expires");
        String signed = r.query.get("X-Amz-SignedHeaders");
        String signature = r.query.get("X-Amz-Signature");
        if (!SigV4.ALGORITHM.equals(algorithm) || credential == null || amzDate == null || expires == null
                || signed == null || signature == null) {
            throw new S3Error("AuthorizationQueryParametersError", 400,
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.");
        }
        long expiresSeconds;
        try {
            expiresSeconds = Long.parseLong(expires);
        } catch (NumberFormatException e) {
            throw new S3Error("AuthorizationQueryParametersError", 400, "X-Amz-Expires should be a number");
        }
        if (expiresSeconds < 1 || expiresSeconds > PRESIGN_EXPIRES_MAX_SECONDS) {
            throw new S3Error("AuthorizationQueryParametersError", 400,
                    "X-Amz-Expires must be between 1 and 604800 seconds");
        }
        Instant when = parseAmzDate(amzDate);
        Instant now = clock.instant();
        if (now.isAfter(when.plusSeconds(expiresSeconds))) {
            throw S3Error.accessDenied("Request has expired");
        }
        if (when.isAfter(now.plus(SKEW_MAX))) {
            throw S3Error.accessDenied("Request is not valid yet");
        }
        return verify(r, credential, signed, signature, amzDate, SigV4.UNSIGNED_PAYLOAD, "X-Amz-Signature");
    }

    private Result verify(S3Request r, String credential, String signed, String signature, String amzDate,
                          String payloadHash, String skipParam) throws S3Error {
        String[] scopeParts = credential.split("/");
        if (scopeParts.length != 5 || !SigV4.SERVICE.equals(scopeParts[3]) || !SigV4.TERMINATOR.equals(scopeParts[4])) {
            throw malformed("The credential is malformed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
        }
        if (!region.equals(scopeParts[2])) {
            throw malformed("The authorization header is malformed; the region '" + scopeParts[2]
                    + "' is wrong; expecting '" + region + "'");
        }
        if (!amzDate.startsWith(scopeParts[1])) {
            throw S3Error.signatureMismatch();
        }
        String secret = secrets.get(scopeParts[0]);
        if (secret == null) {
            throw new S3Error("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records.");
        }
        List<String> signedHeaders = Arrays.asList(signed.toLowerCase(Locale.ROOT).split(";"));
        if (!signedHeaders.contains("host")) {
            throw malformed("SignedHeaders must include host");
        }
        Map<String, List<String>> headerValues = new HashMap<>();
        for (String name : signedHeaders) {
            headerValues.put(name, r.headers.getAll(name));
        }
        String canonical = SigV4.canonicalRequest(r.method, SigV4.uriEncode(r.path, true),
                SigV4.canonicalQuery(r.params, skipParam), headerValues, signedHeaders, payloadHash);
        String scope = SigV4.scope(scopeParts[1], region);
        byte[] key = signingKey(scopeParts[0], secret, scopeParts[1]);
        String expected = SigV4.sign(key, SigV4.stringToSign(amzDate, scope, canonical));
        if (!SigV4.sameSignature(expected, signature)) {
            throw S3Error.signatureMismatch();
        }
        return new Result(scopeParts[0], payloadHash, key, scope, amzDate, signature);
    }

    /**
     * The signing key of this access key on this date, computed once and shared: callers only read it (the aws-chunked
     * decoder signs with it). Bounded by {@link #SIGNING_KEYS_MAX}, cleared when full (only recomputing is lost).
     */
    byte[] signingKey(String accessKey, String secret, String date) {
        String id = accessKey + "/" + date;
        byte[] key = signingKeys.get(id);
        if (key == null) {
            key = SigV4.signingKey(secret, date, region);
            if (signingKeys.size() >= SIGNING_KEYS_MAX) signingKeys.clear();
            signingKeys.put(id, key);
        }
        return key;
    }

    /** The x-amz-content-sha256 header checked for form, or {@code absent} when the request has none. */
    private static String payloadHash(S3Request r, String absent) throws S3Error {
        String value = r.header("x-amz-content-sha256");
        if (value == null) {
            return absent;
        }
        if (!HEX_SHA256.matcher(value).matches() && !PAYLOAD_MODES.contains(value)) {
            throw S3Error.invalidArgument("x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-..., or a valid sha256 value.");
        }
        return value;
    }

    /** yyyyMMdd'T'HHmmss'Z' ({@link #AMZ_DATE}), parsed by hand: the formatter was 1% of a GET's CPU. */
    static Instant parseAmzDate(String amzDate) throws S3Error {
        if (amzDate.length() != AMZ_DATE_LENGTH || amzDate.charAt(8) != 'T' || amzDate.charAt(15) != 'Z') {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header");
        }
        try {
            LocalDateTime t = LocalDateTime.of(digits(amzDate, 0, 4), digits(amzDate, 4, 6), digits(amzDate, 6, 8),
                    digits(amzDate, 9, 11), digits(amzDate, 11, 13), digits(amzDate, 13, 15));
            return t.toInstant(ZoneOffset.UTC);
        } catch (DateTimeException | NumberFormatException e) {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header");
        }
    }

    /** The decimal number in s[from, to), digits only (no sign). */
    private static int digits(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') throw new NumberFormatException("not a digit: " + c);
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static String fromHttpDate(String date) throws S3Error {
        try {
            return AMZ_DATE.format(ZonedDateTime.parse(date, DateTimeFormatter.RFC_1123_DATE_TIME));
        } catch (DateTimeParseException e) {
            throw S3Error.accessDenied("AWS authentication requires a valid Date or x-amz-date header");
        }
    }

    private static S3Error malformed(String message) {
        return new S3Error("AuthorizationHeaderMalformed", 400, message);
    }
}
