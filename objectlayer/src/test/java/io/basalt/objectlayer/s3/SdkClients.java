package io.basalt.objectlayer.s3;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/** AWS SDK for Java v2 clients of a test server: path-style, the test key, us-east-1, its default checksums. */
final class SdkClients {
    private SdkClients() {}

    /** The headers of every request the client sent (after signing), in order. */
    static final class SentHeaders implements ExecutionInterceptor {
        final List<Map<String, List<String>>> sent = new CopyOnWriteArrayList<>();

        @Override
        public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
            SdkHttpRequest r = context.httpRequest();
            sent.add(r.headers());
        }

        String last(String header) {
            Map<String, List<String>> h = sent.getLast();
            for (var e : h.entrySet()) {
                if (e.getKey().equalsIgnoreCase(header)) return String.join(",", e.getValue());
            }
            return null;
        }
    }

    static S3Client client(int port, String secret, SentHeaders sent) {
        var b = S3Client.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + port))
                .forcePathStyle(true)
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(CliHarness.ACCESS_KEY, secret)))
                .overrideConfiguration(c -> {
                    c.apiCallTimeout(Duration.ofSeconds(CliHarness.CLIENT_TIMEOUT_SECONDS));
                    if (sent != null) c.addExecutionInterceptor(sent);
                });
        return b.build();
    }

    static S3Presigner presigner(int port) {
        return S3Presigner.builder()
                .endpointOverride(URI.create("http://127.0.0.1:" + port))
                .region(Region.US_EAST_1)
                .serviceConfiguration(S3Configuration.builder().pathStyleAccessEnabled(true).build())
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(CliHarness.ACCESS_KEY, CliHarness.SECRET)))
                .build();
    }
}
