package io.basalt.objectlayer.s3;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One S3 request's head, parsed: method, bucket and key (path-style {@code /bucket/key} or virtual-host-style
 * {@code Host: bucket.<baseDomain>}), the decoded query parameters and the headers.
 */
final class S3Request {
    final String method;
    /** The decoded path as the client addressed it (with the bucket for path-style): what SigV4 canonicalises. */
    final String path;
    final List<SigV4.Param> params;
    final Map<String, String> query;
    final HttpHeaders headers;
    /** Null for the service (ListBuckets). */
    final String bucket;
    /** Null for a bucket request; may be empty only when the path ends right after "bucket/". */
    final String key;
    final String requestId;

    private S3Request(String method, String path, List<SigV4.Param> params, HttpHeaders headers, String bucket,
                      String key, String requestId) {
        this.method = method;
        this.path = path;
        this.params = params;
        Map<String, String> q = new LinkedHashMap<>();
        for (SigV4.Param p : params) {
            q.putIfAbsent(p.name(), p.value());
        }
        this.query = q;
        this.headers = headers;
        this.bucket = bucket;
        this.key = key;
        this.requestId = requestId;
    }

    static S3Request parse(HttpRequest request, String baseDomain, String requestId) throws S3Error {
        String uri = request.uri();
        int q = uri.indexOf('?');
        String rawPath = q < 0 ? uri : uri.substring(0, q);
        if (!rawPath.startsWith("/")) {
            throw S3Error.invalidRequest("The request URI must be a path");
        }
        String path = percentDecode(rawPath);
        List<SigV4.Param> params = q < 0 ? List.of() : parseQuery(uri.substring(q + 1));
        String hostBucket = hostBucket(request.headers().get(HttpHeaderNames.HOST), baseDomain);
        String bucket;
        String key;
        if (hostBucket != null) {
            bucket = hostBucket;
            key = path.length() > 1 ? path.substring(1) : null;
        } else {
            int slash = path.indexOf('/', 1);
            String first = slash < 0 ? path.substring(1) : path.substring(1, slash);
            bucket = first.isEmpty() ? null : first;
            key = slash < 0 || slash == path.length() - 1 ? null : path.substring(slash + 1);
        }
        return new S3Request(request.method().name(), path, params, request.headers(), bucket, key, requestId);
    }

    /** The bucket a virtual-host-style Host names ({@code bucket.baseDomain[:port]}), else null. */
    static String hostBucket(String host, String baseDomain) {
        if (host == null || baseDomain == null || baseDomain.isEmpty()) {
            return null;
        }
        String h = host.toLowerCase(Locale.ROOT);
        int colon = h.lastIndexOf(':');
        if (colon >= 0 && h.indexOf(']') < colon) {
            h = h.substring(0, colon);
        }
        String suffix = "." + baseDomain.toLowerCase(Locale.ROOT);
        if (h.length() > suffix.length() && h.endsWith(suffix)) {
            return h.substring(0, h.length() - suffix.length());
        }
        return null;
    }

    /** {@code a=1&b&c=%20}: names and values percent-decoded; '+' stays '+' (SigV4 clients encode a space as %20). */
    static List<SigV4.Param> parseQuery(String raw) throws S3Error {
        List<SigV4.Param> out = new ArrayList<>();
        for (String part : raw.split("&")) {
            if (part.isEmpty()) {
                continue;
            }
            int eq = part.indexOf('=');
            String name = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "" : part.substring(eq + 1);
            out.add(new SigV4.Param(percentDecode(name), percentDecode(value)));
        }
        return out;
    }

    static String percentDecode(String s) throws S3Error {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
                int lo = hi >= 0 ? Character.digit(s.charAt(i + 2), 16) : -1;
                if (lo < 0) {
                    throw S3Error.invalidArgument("Invalid percent-encoding in the request URI");
                }
                out.write(hi << 4 | lo);
                i += 2;
            } else if (c < 0x80) {
                out.write(c);
            } else {
                // A raw non-ASCII character (clients should encode it): kept whole, surrogate pairs included.
                int end = Character.isHighSurrogate(c) && i + 1 < s.length() ? i + 2 : i + 1;
                byte[] b = s.substring(i, end).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
                i = end - 1;
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    String header(CharSequence name) {
        return headers.get(name);
    }

    boolean has(String param) {
        return query.containsKey(param);
    }

    /** The resource for error bodies: /bucket/key. */
    String resource() {
        return path;
    }
}
