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
    private final String awsExecutable;
    private final String pythonExecutable;

    CliHarness(Path dir, int port) throws IOException {
        this(dir, port, "aws", "python3");
    }

    /** Runs the given executables for {@link #aws} and {@link #python} (a generation from awsClients/pythonClients). */
    CliHarness(Path dir, int port, String awsExecutable, String pythonExecutable) throws IOException {
        this.dir = dir;
        this.awsExecutable = awsExecutable;
        this.pythonExecutable = pythonExecutable;
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

    /**
     * One installed client generation: the executable, a label naming it and its version, and why it is absent (null
     * when present). Its toString is the parameterized test's name, so a skipped generation says why in its name.
     */
    record Client(String label, String executable, String absentReason) {
        boolean present() {
            return absentReason == null;
        }

        @Override
        public String toString() {
            return present() ? label : label + " - skipped: " + absentReason;
        }
    }

    /** Debian's AWS CLI v2 (package awscli, with its own botocore): the older generation, no checksum trailers. */
    static final String DEBIAN_AWS = "/usr/bin/aws";
    /** Debian's python3 with python3-boto3 (boto3 1.26): the older generation, no checksum trailers. */
    static final String DEBIAN_PYTHON = "/usr/bin/python3";

    /**
     * Two generations of the AWS CLI: the first `aws` on PATH that is not Debian's (pyenv's aws-cli 1.45 on the build
     * machine) and Debian's /usr/bin/aws. PATH is searched past /bin and /usr/bin because a JVM started by Maven may
     * have /bin first (JAVA_HOME/bin with an empty JAVA_HOME).
     */
    static List<Client> awsClients() {
        return List.of(newer("aws", DEBIAN_AWS, List.of("--version")),
                probe("Debian " + DEBIAN_AWS, DEBIAN_AWS, List.of("--version"), "the Debian package awscli is not installed"));
    }

    /** Two generations of boto3: the first python3 on PATH that is not Debian's (pyenv's) and Debian's /usr/bin/python3. */
    static List<Client> pythonClients() {
        List<String> versions = List.of("-c", "import boto3, botocore; print('boto3', boto3.__version__, "
                + "'botocore', botocore.__version__)");
        return List.of(newer("python3", DEBIAN_PYTHON, versions),
                probe("Debian " + DEBIAN_PYTHON, DEBIAN_PYTHON, versions, "the Debian package python3-boto3 is not installed"));
    }

    private static Client newer(String tool, String debian, List<String> versionArgs) {
        String label = tool + " on PATH other than " + debian;
        Path found = firstOnPath(tool, Path.of(debian));
        if (found == null) return new Client(label, tool, "none installed (pyenv's or pip's)");
        return probe(label + " " + found, found.toString(), versionArgs, "`" + found + " " + versionArgs.getFirst() + "` failed");
    }

    /** Runs {@code executable args} and labels the client with the first line it prints; absent if it fails. */
    static Client probe(String label, String executable, List<String> args, String absentReason) {
        List<String> cmd = new ArrayList<>(List.of(executable));
        cmd.addAll(args);
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
                String first = out.lines().findFirst().orElse("");
                return new Client(label + " (" + first + ")", executable, null);
            }
        } catch (IOException e) {
            // not installed
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new Client(label, executable, absentReason);
    }

    /** The first executable `tool` on PATH that is not the same file as {@code other} (null: any). */
    static Path firstOnPath(String tool, Path other) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, tool);
            if (Files.isRegularFile(p) && Files.isExecutable(p) && (other == null || !sameFile(p, other))) return p;
        }
        return null;
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.exists(b) && a.toRealPath().equals(b.toRealPath());
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether the python3 that {@link #CliHarness(Path, int)} runs imports boto3. */
    static boolean pythonHasBoto3() {
        return probe("python3", "python3", List.of("-c", "import boto3"), "absent").present();
    }

    static boolean onPath(String tool) {
        return firstOnPath(tool, null) != null && probe(tool, tool, List.of("--version"), "absent").present();
    }

    /** {@code aws --endpoint-url ... args}. */
    Result aws(String... args) throws IOException, InterruptedException {
        return awsWith(SECRET, args);
    }

    Result awsWith(String secret, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(awsExecutable, "--endpoint-url", endpoint));
        cmd.addAll(List.of(args));
        return run(cmd, secret);
    }

    Result python(String script) throws IOException, InterruptedException {
        return run(List.of(pythonExecutable, "-c", script), SECRET);
    }

    /** Any command, run in the harness's directory with the harness's credentials in the environment. */
    Result run(List<String> cmd, String secret) throws IOException, InterruptedException {
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
