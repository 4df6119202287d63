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
    private static final Pattern CHECK_BEGIN = Pattern.compile(GuestChecks.BEGIN + " ([A-Za-z0-9_-]+)(?: up=([0-9.]+))?");
    private static final Pattern CHECK_END = Pattern.compile(GuestChecks.END + " ([A-Za-z0-9_-]+) rc=(\\d+)(?: up=([0-9.]+))?");
    private static final Pattern PAIR = Pattern.compile("([A-Za-z0-9_.:-]+)=(\\S*)");
    private static final int TAIL_LINES = 40;

    private final int qemuExitCode;
    private final int status;
    private final boolean booted;
    private final String console;
    private final String qemuLog;
    private final Map<String, String> markers;
    private final List<Map<String, String>> resultLines;
    private final Map<String, GuestCheck> checks;
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
        CheckLines open = null;
        Map<String, CheckLines> byName = new LinkedHashMap<>();
        for (String raw : console.split("\n")) {
            String line = raw.replace("\r", "");
            if (line.contains("BASALT-BOOT")) {
                sawBoot = true;
                open = null; // a reboot ends the check that was running (it keeps no status)
            }
            Matcher exit = EXIT.matcher(line);
            if (exit.find()) reported = Integer.parseInt(exit.group(1));
            Matcher begin = CHECK_BEGIN.matcher(line);
            if (begin.find()) {
                open = new CheckLines(); // a check run again (after a reboot) keeps its last run
                open.beginUptime = begin.group(2);
                byName.put(begin.group(1), open);
                continue;
            }
            Matcher end = CHECK_END.matcher(line);
            if (end.find() && open != null && byName.get(end.group(1)) == open) {
                open.status = Integer.parseInt(end.group(2));
                open.endUptime = end.group(3);
                open = null;
                continue;
            }
            if (open != null) open.lines.add(line);
            int at = line.indexOf("BASALT-RESULT");
            if (at >= 0) {
                Map<String, String> pairs = parsePairs(line.substring(at + "BASALT-RESULT".length()));
                lines.add(Collections.unmodifiableMap(pairs));
                all.putAll(pairs);
                if (open != null) {
                    open.resultLines.add(Collections.unmodifiableMap(pairs));
                    open.markers.putAll(pairs);
                }
            }
        }
        this.booted = sawBoot;
        this.markers = Collections.unmodifiableMap(all);
        this.resultLines = Collections.unmodifiableList(lines);
        this.status = consistent(reported, qemuExitCode) ? reported : NO_STATUS;
        Map<String, GuestCheck> found = new LinkedHashMap<>();
        byName.forEach((name, c) -> found.put(name, new GuestCheck(name, c.status, c.lines, c.markers, c.resultLines, c.seconds(), this)));
        this.checks = Collections.unmodifiableMap(found);
    }

    /** A check's lines while the console is parsed. */
    private static final class CheckLines {
        final List<String> lines = new ArrayList<>();
        final Map<String, String> markers = new LinkedHashMap<>();
        final List<Map<String, String>> resultLines = new ArrayList<>();
        int status = NO_STATUS;
        String beginUptime;
        String endUptime;

        double seconds() {
            return beginUptime == null || endUptime == null ? -1 : Double.parseDouble(endUptime) - Double.parseDouble(beginUptime);
        }
    }

    /**
     * A named check of a script made with {@link GuestChecks}. One that never started still comes back (status
     * {@link #NO_STATUS}, no lines), so asserting on it fails with the guest's console tail.
     */
    public GuestCheck check(String name) {
        GuestCheck c = checks.get(name);
        return c != null ? c : new GuestCheck(name, NO_STATUS, List.of(), Map.of(), List.of(), -1, this);
    }

    /** The checks the guest started, in console order. */
    public Map<String, GuestCheck> checks() {
        return checks;
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
        StringBuilder sb = new StringBuilder(summary());
        sb.append("\n--- console (last ").append(TAIL_LINES).append(" lines) ---\n").append(consoleTail(TAIL_LINES));
        if (!qemuLog.isBlank()) sb.append("\n--- QEMU log ---\n").append(qemuLog.strip());
        return sb.toString();
    }

    /** The status line of {@link #describe()}: status, QEMU's exit code, whether /init started, elapsed time. */
    public String summary() {
        return (status == NO_STATUS ? "no status from the guest" : "status " + status) + " (QEMU exit code " + qemuExitCode
                + (booted ? "" : ", /init never started") + ", " + elapsed.toMillis() + " ms)";
    }

    @Override
    public String toString() {
        return "GuestResult[status=" + status + ", qemuExit=" + qemuExitCode + ", elapsed=" + elapsed.toMillis()
                + " ms, markers=" + markers + "]";
    }
}
