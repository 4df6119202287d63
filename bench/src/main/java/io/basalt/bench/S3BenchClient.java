package io.basalt.bench;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The bench's S3 client side: a SigV4 signer (header form with {@code UNSIGNED-PAYLOAD}, and presigned GET URLs) and
 * a blocking HTTP/1.1 connection that PUTs a body from memory. Written on a plain socket rather than the JDK's
 * HttpClient so the client spends as little CPU as it can on the shared cores: a header, the body in one write, the
 * response head read and its body skipped.
 */
final class S3BenchClient {
    static final String REGION = "us-east-1";
    static final String UNSIGNED = "UNSIGNED-PAYLOAD";
    /** Presigned URLs stay valid this long (S3 allows up to 7 days): longer than any bench run. */
    static final int PRESIGN_SECONDS = 86_400;
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final int RESPONSE_HEAD_BYTES_MAX = 16 << 10;

    private S3BenchClient() {}

    /** An access key and where it is used: {@code host} is the Host header, {@code 127.0.0.1:PORT}. */
    record Signer(String accessKey, String secretKey, String host) {
        /** The Authorization, x-amz-date and x-amz-content-sha256 headers of a request without query, CRLF-terminated. */
        String headers(String method, String path, Instant now) {
            String amzDate = AMZ_DATE.format(now);
            String day = amzDate.substring(0, 8);
            String signed = "host;x-amz-content-sha256;x-amz-date";
            String canonical = method + "\n" + path + "\n\nhost:" + host + "\nx-amz-content-sha256:" + UNSIGNED
                    + "\nx-amz-date:" + amzDate + "\n\n" + signed + "\n" + UNSIGNED;
            String signature = sign(day, amzDate, canonical);
            return "x-amz-date: " + amzDate + "\r\nx-amz-content-sha256: " + UNSIGNED + "\r\nAuthorization: AWS4-HMAC-SHA256 Credential="
                    + accessKey + "/" + scope(day) + ", SignedHeaders=" + signed + ", Signature=" + signature + "\r\n";
        }

        /** A presigned GET of {@code path} (already URI-safe): path and query, for any server that ignores the query. */
        String presignGet(String path, Instant now) {
            String amzDate = AMZ_DATE.format(now);
            String day = amzDate.substring(0, 8);
            String query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + accessKey + "%2F" + scope(day).replace("/", "%2F")
                    + "&X-Amz-Date=" + amzDate + "&X-Amz-Expires=" + PRESIGN_SECONDS + "&X-Amz-SignedHeaders=host";
            String canonical = "GET\n" + path + "\n" + query + "\nhost:" + host + "\n\nhost\n" + UNSIGNED;
            return path + "?" + query + "&X-Amz-Signature=" + sign(day, amzDate, canonical);
        }

        private static String scope(String day) {
            return day + "/" + REGION + "/s3/aws4_request";
        }

        private String sign(String day, String amzDate, String canonical) {
            try {
                String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope(day) + "\n"
                        + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(utf8(canonical)));
                byte[] k = hmac(utf8("AWS4" + secretKey), day);
                k = hmac(hmac(hmac(k, REGION), "s3"), "aws4_request");
                return HexFormat.of().formatHex(hmac(k, toSign));
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("SigV4 needs SHA-256 and HmacSHA256", e);
            }
        }

        private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(utf8(data));
        }

        private static byte[] utf8(String s) {
            return s.getBytes(StandardCharsets.UTF_8);
        }
    }

    /** One keep-alive connection; one thread uses it. Reconnects when the server closed it. */
    static final class Connection implements AutoCloseable {
        private final String hostName;
        private final int port;
        private final Signer signer;
        private Socket socket;
        private OutputStream out;
        private InputStream in;

        Connection(String hostName, int port, Signer signer) {
            this.hostName = hostName;
            this.port = port;
            this.signer = signer;
        }

        /** PUTs {@code body} (may be empty) at {@code path}; the HTTP status. */
        int put(String path, byte[] body) throws IOException {
            if (socket == null) connect();
            String head = "PUT " + path + " HTTP/1.1\r\nHost: " + signer.host() + "\r\nContent-Length: " + body.length + "\r\n"
                    + signer.headers("PUT", path, Instant.now()) + "\r\n";
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            return readResponse();
        }

        private void connect() throws IOException {
            socket = new Socket(hostName, port);
            socket.setTcpNoDelay(true);
            out = socket.getOutputStream();
            in = new BufferedInputStream(socket.getInputStream(), 64 << 10);
        }

        /** Reads the status line and headers, skips the body; closes when the server said so. */
        private int readResponse() throws IOException {
            StringBuilder head = new StringBuilder();
            while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
                int b = in.read();
                if (b < 0) throw new IOException("the server closed the connection before answering");
                if (head.length() > RESPONSE_HEAD_BYTES_MAX) throw new IOException("response head over " + RESPONSE_HEAD_BYTES_MAX + " bytes");
                head.append((char) b);
            }
            String text = head.toString();
            int status = Integer.parseInt(text.substring(9, 12));
            String lower = text.toLowerCase(Locale.ROOT);
            long length = headerLong(lower, "\r\ncontent-length:");
            for (long skipped = 0; skipped < length; skipped++) {
                if (in.read() < 0) throw new IOException("the response body ended early");
            }
            if (lower.contains("\r\nconnection: close")) close();
            return status;
        }

        private static long headerLong(String lowerHead, String name) {
            int at = lowerHead.indexOf(name);
            if (at < 0) return 0;
            int end = lowerHead.indexOf("\r\n", at + name.length());
            return Long.parseLong(lowerHead.substring(at + name.length(), end).trim());
        }

        @Override
        public void close() {
            if (socket == null) return;
            try {
                socket.close();
            } catch (IOException e) {
                // closing a client socket: nothing to keep
            }
            socket = null;
        }
    }
}
