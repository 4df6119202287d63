package io.basalt.qemu;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What came back from one guest run. The guest's /init prints markers on the serial console and leaves QEMU
 * through isa-debug-exit, which makes QEMU exit with {@code (status << 1) | 1}. QEMU itself also exits with 1 when
 * it fails to start, so the status is taken from the {@code BASALT-EXIT rc=N} marker and checked against the exit
 * code. The console begins with SeaBIOS escape sequences: markers are found anywhere in a line, never by diffing.
 * <pre>
 *   BASALT-BOOT kernel=... cpus=N     /init is running
 *   BASALT-RESULT key=value ...       one or more results from the test script (the last value of a key wins)
 *   BASALT-EXIT rc=N                  the script's exit status
 * </pre>
 */
public final class GuestResult {
    /** The status when the guest never reported one (QEMU failed to start, kernel panic, timeout). */
    public static final int NO_STATUS = -1;
    private static final Pattern EXIT = Pattern.compile("BASALT-EXIT rc=(\\d+)");
    private static final Pattern PAIR = Pattern.compile("([A-Za-z0-9_.:-]+)=(\\S*)");
    private static final int TAIL_LINES = 40;

    private final int qemuExitCode;
    private final int status;
    private final boolean booted;
    private final String console;
    private final String qemuLog;
    private final Map<String, String> markers;
    private final List<Map<String, String>> resultLines;
    private final Duration elapsed;

    public GuestResult(int qemuExitCode, String console, String qemuLog, Duration elapsed) {
        this.qemuExitCode = qemuExitCode;
        this.console = console;
        this.qemuLog = qemuLog;
        this.elapsed = elapsed;
        Map<String, String> all = new LinkedHashMap<>();
        List<Map<String, String>> lines = new ArrayList<>();
        int reported = NO_STATUS;
        boolean sawBoot = false;
        for (String raw : console.split("\n")) {
            String line = raw.replace("\r", "");
            if (line.contains("BASALT-BOOT")) sawBoot = true;
            Matcher exit = EXIT.matcher(line);
            if (exit.find()) reported = Integer.parseInt(exit.group(1));
            int at = line.indexOf("BASALT-RESULT");
            if (at >= 0) {
                Map<String, String> pairs = parsePairs(line.substring(at + "BASALT-RESULT".length()));
                lines.add(Collections.unmodifiableMap(pairs));
                all.putAll(pairs);
            }
        }
        this.booted = sawBoot;
        this.markers = Collections.unmodifiableMap(all);
        this.resultLines = Collections.unmodifiableList(lines);
        this.status = consistent(reported, qemuExitCode) ? reported : NO_STATUS;
    }

    static Map<String, String> parsePairs(String text) {
        Map<String, String> pairs = new LinkedHashMap<>();
        Matcher m = PAIR.matcher(text);
        while (m.find()) pairs.put(m.group(1), m.group(2));
        return pairs;
    }

    /** isa-debug-exit carries one byte: statuses above 127 arrive as 127. */
    private static boolean consistent(int reported, int qemuExitCode) {
        if (reported == NO_STATUS) return false;
        return qemuExitCode == ((Math.min(reported, 127) << 1) | 1);
    }

    /** The test script's exit status, or {@link #NO_STATUS} when the guest did not reach the end of /init. */
    public int status() {
        return status;
    }

    public boolean succeeded() {
        return status == 0;
    }

    public int qemuExitCode() {
        return qemuExitCode;
    }

    /** Whether /init started (BASALT-BOOT seen): false means QEMU, the firmware or the kernel failed first. */
    public boolean booted() {
        return booted;
    }

    public String console() {
        return console;
    }

    /** QEMU's own stdout and stderr (start-up errors, vhost-user disconnects). */
    public String qemuLog() {
        return qemuLog;
    }

    public Duration elapsed() {
        return elapsed;
    }

    /** Every key=value from all BASALT-RESULT lines; a key reported twice keeps its last value. */
    public Map<String, String> markers() {
        return markers;
    }

    /** The BASALT-RESULT lines in order, each as its key=value pairs (for scripts that report one line per job). */
    public List<Map<String, String>> resultLines() {
        return resultLines;
    }

    /** A marker's value; a missing one fails with the console tail, so the reason is in the test report. */
    public String marker(String key) {
        String v = markers.get(key);
        if (v == null) throw new AssertionError("guest reported no BASALT-RESULT " + key + "=...\n" + describe());
        return v;
    }

    public long markerLong(String key) {
        return Long.parseLong(marker(key));
    }

    public double markerDouble(String key) {
        return Double.parseDouble(marker(key));
    }

    public GuestResult assertSuccess() {
        if (!succeeded()) throw new AssertionError("guest test failed: " + describe());
        return this;
    }

    public String consoleTail(int lineCount) {
        String[] lines = console.replace("\r", "").split("\n");
        int from = Math.max(0, lines.length - lineCount);
        return String.join("\n", java.util.Arrays.copyOfRange(lines, from, lines.length));
    }

    /** Status, exit code, the console's last lines and QEMU's log: what a failure message should show. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(status == NO_STATUS ? "no status from the guest" : "status " + status)
                .append(" (QEMU exit code ").append(qemuExitCode)
                .append(booted ? "" : ", /init never started").append(", ")
                .append(elapsed.toMillis()).append(" ms)\n--- console (last ").append(TAIL_LINES).append(" lines) ---\n")
                .append(consoleTail(TAIL_LINES));
        if (!qemuLog.isBlank()) sb.append("\n--- QEMU log ---\n").append(qemuLog.strip());
        return sb.toString();
    }

    @Override
    public String toString() {
        return "GuestResult[status=" + status + ", qemuExit=" + qemuExitCode + ", elapsed=" + elapsed.toMillis()
                + " ms, markers=" + markers + "]";
    }
}
