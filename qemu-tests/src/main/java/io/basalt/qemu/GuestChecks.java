package io.basalt.qemu;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Several named checks in one guest boot: a TCG boot costs seconds, a check often less. Each check is a shell
 * fragment run in its own subshell, so its {@code set -e} or {@code exit N} ends that check only and the next one still
 * runs; its status and console lines come back as a {@link GuestCheck} ({@link GuestResult#check(String)}), and a
 * failed check fails with its own console lines, not those of whatever ran after it.
 * <pre>{@code
 * String script = new GuestChecks()
 *         .add("data", "set -e\nfio ... /dev/vda ...\necho BASALT-RESULT verify=ok")
 *         .add("queues", "echo \"BASALT-RESULT mq=$(ls /sys/block/vdb/mq | wc -l)\"")
 *         .script();
 * GuestResult r = Guest.builder(image)...script(script).run();
 * r.check("data").assertSuccess().marker("verify");
 * }</pre>
 * On the console: {@code BASALT-CHECK-BEGIN name up=S}, the check's output, {@code BASALT-CHECK-END name rc=N up=S}
 * (S: the guest's uptime in seconds).
 */
public final class GuestChecks {
    static final String BEGIN = "BASALT-CHECK-BEGIN";
    static final String END = "BASALT-CHECK-END";
    /** The guest's uptime in seconds (two decimals) at the markers: how long each check took, from the console. */
    private static final String UPTIME = "$(cut -d' ' -f1 /proc/uptime)";

    private final Map<String, String> checks = new LinkedHashMap<>();
    private String prologue = "";
    private String epilogue = "";

    /** Shell run before the first check, in the script's own shell (functions, variables, module loads). */
    public GuestChecks prologue(String shell) {
        this.prologue = Objects.requireNonNull(shell);
        return this;
    }

    /** Shell run after the last check (e.g. {@code reboot -f} or {@code exit 42}). */
    public GuestChecks epilogue(String shell) {
        this.epilogue = Objects.requireNonNull(shell);
        return this;
    }

    /** Adds a check; names are unique, letters, digits, '-' and '_' (they appear in console markers). */
    public GuestChecks add(String name, String shell) {
        if (!name.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("check name: " + name);
        if (checks.putIfAbsent(name, Objects.requireNonNull(shell)) != null) throw new IllegalArgumentException("duplicate check " + name);
        return this;
    }

    /** The script: prologue, each check between its markers, epilogue. */
    public String script() {
        StringBuilder sb = new StringBuilder(prologue).append('\n');
        checks.forEach((name, shell) -> sb.append(fragment(name, shell)));
        return sb.append(epilogue).append('\n').toString();
    }

    /** One check alone (for a script that places its checks itself, e.g. around a reboot). */
    public static String fragment(String name, String shell) {
        return "echo \"" + BEGIN + " " + name + " up=" + UPTIME + "\"\n(\n" + shell.strip() + "\n)\nrc=$?; echo \"" + END + " "
                + name + " rc=$rc up=" + UPTIME + "\"\n";
    }
}
