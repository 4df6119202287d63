package io.basalt.qemu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds what guest tests need on the host and builds the guest once per JVM (the build script caches it across
 * runs). A missing piece is an error that names it and the fix, never a silent skip: {@code ./basalt test}
 * installs everything (scripts/install-deps.sh).
 */
public final class GuestTools {
    static final String QEMU = "qemu-system-x86_64";
    static final String STORAGE_DAEMON = "qemu-storage-daemon";
    private static final String FIX = "run ./basalt test (it installs what is missing) or scripts/install-deps.sh";
    private static final long BUILD_TIMEOUT_SECONDS = 900;

    private static GuestImage image;
    private static long buildMillis = -1;

    private GuestTools() {}

    /** The repository root: -Dbasalt.home, else the first parent of the working directory holding the build script. */
    public static Path repoRoot() {
        String home = System.getProperty("basalt.home");
        if (home != null) return Path.of(home).toAbsolutePath().normalize();
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("qemu-tests/guest/build-guest.sh"))) return p;
        }
        throw new IllegalStateException("cannot find the Basalt repository (qemu-tests/guest/build-guest.sh) above "
                + Path.of("").toAbsolutePath() + "; set -Dbasalt.home");
    }

    public static Path buildScript() {
        return repoRoot().resolve("qemu-tests/guest/build-guest.sh");
    }

    /** The guest cache folder: $BASALT_GUEST_CACHE or <repo>/.build/guest (outside git, see .gitignore). */
    public static Path cacheDir() {
        String env = System.getenv("BASALT_GUEST_CACHE");
        return env != null && !env.isBlank() ? Path.of(env) : repoRoot().resolve(".build/guest");
    }

    /** An executable on $PATH or in the usual system folders. */
    public static Optional<Path> findExecutable(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"));
        for (String d : dirs) {
            if (d.isEmpty()) continue;
            Path p = Path.of(d, name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    public static Path qemu() {
        return require(QEMU, "package qemu-system-x86");
    }

    public static Path storageDaemon() {
        return require(STORAGE_DAEMON, "package qemu-system-common, pulled in by qemu-system-x86");
    }

    private static Path require(String name, String from) {
        return findExecutable(name).orElseThrow(() -> new IllegalStateException(
                "guest tests need " + name + " (" + from + "), which is not installed: " + FIX));
    }

    /** Every prerequisite that is missing, each with where it comes from; empty when guests can run. */
    public static List<String> missing() {
        List<String> out = new ArrayList<>();
        Map<String, String> tools = new HashMap<>();
        tools.put(QEMU, "qemu-system-x86");
        tools.put(STORAGE_DAEMON, "qemu-system-common");
        tools.put("busybox", "busybox-static");
        tools.put("fio", "fio");
        tools.put("nvme", "nvme-cli");
        tools.put("mdadm", "mdadm");
        tools.put("depmod", "kmod");
        tools.put("cpio", "cpio");
        tools.put("apt-get", "apt (a Debian host)");
        tools.forEach((tool, pkg) -> {
            if (findExecutable(tool).isEmpty()) out.add(tool + " (Debian package " + pkg + ")");
        });
        out.sort(null);
        return out;
    }

    /**
     * The guest kernel and initramfs, built on first use in this JVM (about 7 s cold, well under 1 s cached).
     * Throws IllegalStateException naming what is missing: call it from a test (or @BeforeAll) so the test fails.
     */
    public static synchronized GuestImage guest() {
        if (image != null) return image;
        List<String> missing = missing();
        if (!missing.isEmpty()) {
            throw new IllegalStateException("QEMU guest tests cannot run, missing: " + String.join(", ", missing) + ". " + FIX);
        }
        long start = System.nanoTime();
        image = build();
        buildMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        return image;
    }

    /** How long {@link #guest()} took in this JVM (the cached case is a check of the cache), or -1 before. */
    public static synchronized long buildMillis() {
        return buildMillis;
    }

    private static GuestImage build() {
        Path script = buildScript();
        Path log;
        try {
            Files.createDirectories(cacheDir());
            log = cacheDir().resolve("build.log");
            Process p = new ProcessBuilder("bash", script.toString(), cacheDir().toString())
                    .redirectErrorStream(false)
                    .redirectError(log.toFile())
                    .start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(BUILD_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("guest build timed out after " + BUILD_TIMEOUT_SECONDS + " s; log: " + log);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("guest build failed (" + script + ", exit " + p.exitValue() + "):\n"
                        + Files.readString(log, StandardCharsets.UTF_8).strip());
            }
            Map<String, String> kv = new HashMap<>();
            for (String line : out.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) kv.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
            if (!kv.containsKey("kernel") || !kv.containsKey("initrd")) {
                throw new IllegalStateException("guest build printed no kernel=/initrd= lines:\n" + out);
            }
            return new GuestImage(kv.getOrDefault("kver", "?"), Path.of(kv.get("kernel")), Path.of(kv.get("initrd")));
        } catch (IOException e) {
            throw new IllegalStateException("guest build could not run " + script + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the guest", e);
        }
    }
}
