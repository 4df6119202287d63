package io.basalt.objectlayer.s3;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs real S3 clients (the AWS CLI, python3 with boto3) against a test server, with credentials in the environment. */
final class CliHarness {
    static final String ACCESS_KEY = "basaltkey";
    static final String SECRET = "basaltsecret0123456789";
    static final long CLIENT_TIMEOUT_SECONDS = 120;

    record Result(int exit, String out, String err) {
        String all() {
            return out + err;
        }
    }

    private final Path dir;
    private final String endpoint;

    CliHarness(Path dir, int port) throws IOException {
        this.dir = dir;
        this.endpoint = "http://127.0.0.1:" + port;
        // Multipart starts at 8 MiB by default; these tests run over MemoryObjectStore, which has no multipart
        // uploads (MultipartCliTest sets its own config over a real store). AWS CLI v1 presigns with SigV2 unless
        // told s3v4, and only SigV4 is served.
        Files.writeString(dir.resolve("aws-config"), "[default]\nregion = us-east-1\ns3 =\n    multipart_threshold = 64MB\n"
                + "    signature_version = s3v4\n");
    }

    String endpoint() {
        return endpoint;
    }

    static boolean onPath(String tool) {
        try {
            Process p = new ProcessBuilder(tool, "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static boolean pythonHasBoto3() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import boto3").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** {@code aws --endpoint-url ... args}. */
    Result aws(String... args) throws IOException, InterruptedException {
        return awsWith(SECRET, args);
    }

    Result awsWith(String secret, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("aws", "--endpoint-url", endpoint));
        cmd.addAll(List.of(args));
        return run(cmd, secret);
    }

    Result python(String script) throws IOException, InterruptedException {
        return run(List.of("python3", "-c", script), SECRET);
    }

    private Result run(List<String> cmd, String secret) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        Map<String, String> env = pb.environment();
        env.put("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        env.put("AWS_SECRET_ACCESS_KEY", secret);
        env.put("AWS_DEFAULT_REGION", "us-east-1");
        env.put("AWS_CONFIG_FILE", dir.resolve("aws-config").toString());
        env.put("AWS_SHARED_CREDENTIALS_FILE", dir.resolve("no-credentials").toString());
        env.put("AWS_EC2_METADATA_DISABLED", "true");
        env.put("S3_ENDPOINT", endpoint);
        env.remove("AWS_PROFILE");
        env.remove("AWS_SESSION_TOKEN");
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(CLIENT_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("client timed out: " + cmd);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}
