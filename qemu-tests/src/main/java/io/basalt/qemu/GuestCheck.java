package io.basalt.qemu;

import java.util.List;
import java.util.Map;

/**
 * One named check of a guest that ran several ({@link GuestChecks}): its status, its own console lines and markers.
 * A check that never started or never finished (the guest died or timed out inside it) has status
 * {@link GuestResult#NO_STATUS}; its failure message then carries the whole guest's console tail as well.
 */
public final class GuestCheck {
    private static final int TAIL_LINES = 40;

    private final String name;
    private final int status;
    private final List<String> lines;
    private final Map<String, String> markers;
    private final List<Map<String, String>> resultLines;
    private final double seconds;
    private final GuestResult guest;

    GuestCheck(String name, int status, List<String> lines, Map<String, String> markers, List<Map<String, String>> resultLines,
               double seconds, GuestResult guest) {
        this.seconds = seconds;
        this.name = name;
        this.status = status;
        this.lines = List.copyOf(lines);
        this.markers = Map.copyOf(markers);
        this.resultLines = List.copyOf(resultLines);
        this.guest = guest;
    }

    public String name() {
        return name;
    }

    /** The check's exit status, or {@link GuestResult#NO_STATUS} when it did not start or finish. */
    public int status() {
        return status;
    }

    public boolean started() {
        return !lines.isEmpty() || status != GuestResult.NO_STATUS;
    }

    /** The check's own console lines (between its markers). */
    public String console() {
        return String.join("\n", lines);
    }

    /** The check's last {@code lineCount} console lines. */
    public String consoleTail(int lineCount) {
        return String.join("\n", lines.subList(Math.max(0, lines.size() - lineCount), lines.size()));
    }

    public Map<String, String> markers() {
        return markers;
    }

    public List<Map<String, String>> resultLines() {
        return resultLines;
    }

    /** How long the check ran, by the guest's clock (from its markers); -1 when it did not finish. */
    public double seconds() {
        return seconds;
    }

    public GuestResult guest() {
        return guest;
    }

    public GuestCheck assertSuccess() {
        if (status != 0) throw new AssertionError("guest check '" + name + "' failed: " + describe());
        return this;
    }

    /** A marker the check reported; a missing one fails with the check's console. */
    public String marker(String key) {
        String v = markers.get(key);
        if (v == null) throw new AssertionError("guest check '" + name + "' reported no BASALT-RESULT " + key + "=...\n" + describe());
        return v;
    }

    public long markerLong(String key) {
        return Long.parseLong(marker(key));
    }

    /** The check's status and console tail; when it did not finish, the whole guest's too (why it stopped). */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        if (status != GuestResult.NO_STATUS) sb.append("status ").append(status);
        else sb.append(lines.isEmpty() ? "never started" : "did not finish");
        sb.append("\n--- check '").append(name).append("' console (last ").append(TAIL_LINES).append(" lines) ---\n");
        sb.append(consoleTail(TAIL_LINES));
        sb.append("\n--- the guest: ").append(status == GuestResult.NO_STATUS ? guest.describe() : guest.summary());
        return sb.toString();
    }

    @Override
    public String toString() {
        return "GuestCheck[" + name + ", status=" + status + ", " + seconds + " s, markers=" + markers + "]";
    }
}
