package io.basalt.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;
import picocli.CommandLine.ParseResult;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The command line as users meet it: every verb of the tree (walked recursively, so verbs added later are
 * covered without touching this test) answers --help with its usage and exit 0, accepts every option its usage
 * names (with a plausible value), names an unknown option in its error with exit 2, and answers --version.
 * Parsing only: nothing is started, so serve's options are tried as safely as rpc's.
 */
class CliOptionsTest {
    private static final String NONEXISTENT = "/nonexistent/basalt-cli-test";

    /** Every command below the root (and the root), as the words that reach it. */
    static Stream<Arguments> commands() {
        List<Arguments> all = new ArrayList<>();
        walk(BasaltCommand.commandLine(), new ArrayList<>(), (path, command) -> all.add(Arguments.of(path)));
        return all.stream();
    }

    /** Every (command, option) pair of the tree. */
    static Stream<Arguments> options() {
        List<Arguments> all = new ArrayList<>();
        walk(BasaltCommand.commandLine(), new ArrayList<>(), (path, command) -> {
            for (OptionSpec option : command.getCommandSpec().options()) all.add(Arguments.of(path, option.longestName()));
        });
        return all.stream();
    }

    private interface Visitor {
        void visit(List<String> path, CommandLine command);
    }

    private static void walk(CommandLine command, List<String> path, Visitor visitor) {
        visitor.visit(List.copyOf(path), command);
        for (var sub : command.getSubcommands().entrySet()) {
            if (sub.getValue().getParent() != command || !sub.getKey().equals(sub.getValue().getCommandName())) continue; // aliases
            path.add(sub.getKey());
            walk(sub.getValue(), path, visitor);
            path.removeLast();
        }
    }

    /** The command the words reach, in a fresh tree. */
    private static CommandLine reach(CommandLine root, List<String> path) {
        CommandLine c = root;
        for (String word : path) c = c.getSubcommands().get(word);
        return c;
    }

    /** A pass-through verb hands its arguments to a parser of its own (bench, until it is converted). */
    private static boolean passThrough(CommandLine command) {
        return command.isStopAtUnmatched() && command.getCommandSpec().options().isEmpty();
    }

    private record Run(int exitCode, String out, String err) {}

    /**
     * Runs the words through a fresh tree, picocli's and System's streams captured. System's first: picocli's
     * default execution strategy remembers System.out as it was when the tree was made, and prefers it.
     */
    private static Run run(List<String> words) {
        PrintStream realOut = System.out;
        PrintStream realErr = System.err;
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        ByteArrayOutputStream sysErr = new ByteArrayOutputStream();
        System.setOut(new PrintStream(sysOut, true));
        System.setErr(new PrintStream(sysErr, true));
        try {
            CommandLine root = BasaltCommand.commandLineFor(words.toArray(String[]::new)); // as Main runs them
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            root.setOut(new PrintWriter(out, true));
            root.setErr(new PrintWriter(err, true));
            int exitCode = root.execute(words.toArray(String[]::new));
            return new Run(exitCode, out + sysOut.toString(), err + sysErr.toString());
        } finally {
            System.setOut(realOut);
            System.setErr(realErr);
        }
    }

    private static List<String> words(List<String> path, String... more) {
        List<String> w = new ArrayList<>(path);
        w.addAll(List.of(more));
        return w;
    }

    @ParameterizedTest(name = "basalt {0} --help")
    @MethodSource("commands")
    void helpExitsZeroAndPrintsTheUsage(List<String> path) {
        Run r = run(words(path, "--help"));
        assertEquals(0, r.exitCode(), "basalt " + path + " --help: " + r.err());
        String expected = String.join(" ", words(List.of("basalt"), path.toArray(String[]::new)));
        assertTrue(r.out().toLowerCase().contains("usage: " + expected), "no usage of '" + expected + "' in: " + r.out());
    }

    @ParameterizedTest(name = "basalt {0} {1}")
    @MethodSource("options")
    void everyOptionInTheUsageIsAccepted(List<String> path, String optionName) {
        CommandLine root = BasaltCommand.commandLine();
        CommandLine command = reach(root, path);
        OptionSpec option = command.getCommandSpec().findOption(optionName);
        assertTrue(command.getUsageMessage().contains(optionName) || option.hidden(), optionName + " is not in the usage");
        List<String> args = words(path, optionName);
        args.addAll(plausibleValues(option));
        args.addAll(requiredPositionals(command.getCommandSpec()));
        ParseResult parsed = assertDoesNotThrow(() -> root.parseArgs(args.toArray(String[]::new)), "basalt " + args);
        while (parsed.hasSubcommand()) parsed = parsed.subcommand();
        assertTrue(parsed.hasMatchedOption(optionName), optionName + " was not taken as the option in " + args);
    }

    /** The other way round: every option the printed help lists (its option lines) parses as an option. */
    @ParameterizedTest(name = "basalt {0}: options in --help")
    @MethodSource("commands")
    void everyOptionTheHelpTextListsParses(List<String> path) {
        CommandLine command = reach(BasaltCommand.commandLine(), path);
        if (passThrough(command)) return; // its usage is its own parser's, see the bench test
        Matcher m = OPTION_LINE.matcher(run(words(path, "--help")).out());
        int found = 0;
        while (m.find()) {
            found++;
            String name = m.group(1);
            OptionSpec option = command.getCommandSpec().findOption(name);
            assertNotNull(option, name + " is in the help of basalt " + path + " but not an option");
            List<String> args = words(path, name);
            args.addAll(plausibleValues(option));
            args.addAll(requiredPositionals(command.getCommandSpec()));
            CommandLine root = BasaltCommand.commandLine();
            assertDoesNotThrow(() -> root.parseArgs(args.toArray(String[]::new)), "basalt " + args);
        }
        assertTrue(found >= 1, "no option lines (not even --help) in the help of basalt " + path);
    }

    /** An option line of picocli's usage help: indented, an optional short name, then the long one. */
    private static final Pattern OPTION_LINE = Pattern.compile("(?m)^ {2,}(?:-\\w, )?(--[a-z][a-z0-9-]*)");

    @ParameterizedTest(name = "basalt {0} --no-such-option")
    @MethodSource("commands")
    void anUnknownOptionIsNamedWithExitTwo(List<String> path) {
        if (passThrough(reach(BasaltCommand.commandLine(), path))) return; // its own parser answers, see the bench test
        List<String> args = words(path, "--no-such-option");
        args.addAll(requiredPositionals(reach(BasaltCommand.commandLine(), path).getCommandSpec()));
        Run r = run(args);
        assertEquals(2, r.exitCode(), r.err());
        // "Unknown option", or from the help verb (which takes a verb's name) "Unknown subcommand".
        assertTrue(r.err().matches("(?s).*Unknown (option: |subcommand )'--no-such-option'.*"), r.err());
    }

    @ParameterizedTest(name = "basalt {0} --version")
    @MethodSource("commands")
    void versionWhereTheUsageOffersIt(List<String> path) {
        if (reach(BasaltCommand.commandLine(), path).getCommandSpec().findOption("--version") == null) return;
        Run r = run(words(path, "--version"));
        assertEquals(0, r.exitCode(), r.err());
        assertEquals(BasaltCommand.VERSION, r.out().strip());
    }

    @Test
    void theTreeHasTheVerbsTheDocsName() {
        CommandLine root = BasaltCommand.commandLine();
        for (String verb : List.of("serve", "rpc", "raid", "bench", "completion", "help")) {
            assertNotNull(root.getSubcommands().get(verb), verb);
        }
        assertNotNull(root.getSubcommands().get("raid").getSubcommands().get("status"));
    }

    @Test
    void aVerbAloneHasTheSameUsageAsInTheWholeTree() {
        for (BasaltCommand.Verb verb : BasaltCommand.Verb.values()) {
            CommandLine whole = BasaltCommand.commandLine().getSubcommands().get(verb.verbName);
            Object command = whole.getCommand();
            CommandLine.Command annotation = command.getClass().getAnnotation(CommandLine.Command.class);
            assertEquals(verb.verbName, annotation.name(), "the verb's registered name is its @Command name");
            CommandLine alone = BasaltCommand.commandLineFor(new String[] {verb.verbName}).getSubcommands().get(verb.verbName);
            assertEquals(whole.getUsageMessage(), alone.getUsageMessage(), verb.verbName);
        }
    }

    /** Values for options whose type is text but whose converter takes only some words (the bench's). */
    private static final java.util.Map<String, String> SAMPLE_VALUES = java.util.Map.of("--rw", "randread", "--idle", "busy");

    /** A value each option's type accepts: an option must not be refused for the test's own choice. */
    private static List<String> plausibleValues(OptionSpec option) {
        int count = option.arity().min();
        if (count == 0) return List.of();
        String value;
        Class<?> type = option.type();
        // A list option (--sizes 128k,10m) takes values of its element type.
        if (java.util.Collection.class.isAssignableFrom(type) && option.auxiliaryTypes().length > 0) type = option.auxiliaryTypes()[0];
        if (SAMPLE_VALUES.containsKey(option.longestName())) value = SAMPLE_VALUES.get(option.longestName());
        else if (type == int.class || type == Integer.class || type == long.class || type == Long.class) value = "2";
        else if (type == Path.class) value = NONEXISTENT;
        else if (option.completionCandidates() != null && option.completionCandidates().iterator().hasNext()) {
            value = option.completionCandidates().iterator().next();
        } else value = "x";
        List<String> values = new ArrayList<>();
        for (int i = 0; i < count; i++) values.add(value);
        return values;
    }

    private static List<String> requiredPositionals(CommandSpec spec) {
        List<String> values = new ArrayList<>();
        for (PositionalParamSpec p : spec.positionalParameters()) {
            for (int i = 0; i < p.arity().min(); i++) values.add("drive_list");
        }
        return values;
    }

    // --- the verbs' own rules, beyond what the walk covers ---

    @Test
    void serveValueErrorsNameTheOption() {
        Run missing = run(List.of("serve", "--reactors"));
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("--reactors"), missing.err());
        Run notANumber = run(List.of("serve", "--reactors", "many"));
        assertEquals(2, notANumber.exitCode());
        assertTrue(notANumber.err().contains("--reactors") && notANumber.err().contains("many"), notANumber.err());
        Run writebackAlone = run(List.of("serve", "--config-writeback"));
        assertEquals(2, writebackAlone.exitCode());
        assertTrue(writebackAlone.err().contains("--config-writeback needs --config"), writebackAlone.err());
    }

    @Test
    void serveOptionsKeepTheirMeaning() {
        Daemon.Options defaults = ServeCommand.parse();
        assertEquals(Path.of("basalt-data"), defaults.dataDir());
        assertEquals("sleep", defaults.idle());
        assertNull(defaults.configFile());
        Daemon.Options o = ServeCommand.parse("--config", "c.json", "--config-writeback", "--data-dir", "d", "--reactors", "3", "--idle", "busy");
        assertEquals(new Daemon.Options(Path.of("d"), Path.of("c.json"), 3, "busy", true), o);
        assertEquals(Path.of("e"), ServeCommand.parse("--data-dir=e").dataDir(), "--option=value works too");
    }

    /** rpc's picocli-free path (RpcCommand.plain) takes what picocli takes the same way, and leaves the rest to it. */
    @Test
    void thePlainRpcPathAgreesWithPicocliOnEveryFormItTakes() {
        List<List<String>> forms = List.of(
                List.of("drive_list"), List.of("drive_list", "{}"), List.of("--data-dir", "dd", "drive_list"),
                List.of("--data-dir=dd", "drive_list", "{\"a\":1}"), List.of("drive_list", "--socket", "s.sock"),
                List.of("--socket=s.sock", "--data-dir", "dd", "m", "[]"), List.of("m", "[1]", "--data-dir=x"),
                List.of("--data-dir"), List.of("--data-dir", "a", "--data-dir", "b", "m"), List.of("--socket="),
                List.of("m", "p", "extra"), List.of(), List.of("--help"), List.of("-h", "m"), List.of("-V"),
                List.of("--", "m"), List.of("@args.txt"), List.of("--bogus", "m"), List.of("m", "-1"));
        int plainCount = 0;
        for (List<String> form : forms) {
            List<String> args = new ArrayList<>(List.of("rpc"));
            args.addAll(form);
            RpcCommand plain = RpcCommand.plain(args.toArray(String[]::new));
            if (plain == null) continue;
            plainCount++;
            RpcCommand parsed = new RpcCommand();
            new CommandLine(parsed).parseArgs(form.toArray(String[]::new));
            assertEquals(parsed.daemon.socketPath(), plain.daemon.socketPath(), form.toString());
            assertEquals(parsed.method, plain.method, form.toString());
            assertEquals(parsed.paramsText, plain.paramsText, form.toString());
        }
        assertEquals(7, plainCount, "the plain forms above");
        // A new rpc option must be taught to RpcCommand.plain (or it would be taken for an unknown one there).
        Set<String> names = new TreeSet<>();
        for (CommandLine.Model.OptionSpec o : new CommandLine(new RpcCommand()).getCommandSpec().options()) names.addAll(List.of(o.names()));
        assertEquals(new TreeSet<>(List.of("--data-dir", "--help", "--socket", "--version", "-V", "-h")), names);
    }

    @Test
    void clientVerbsFindTheDaemonBySocketOrDataDir() {
        RpcCommand rpc = new RpcCommand();
        new CommandLine(rpc).parseArgs("--data-dir", "dd", "drive_list", "{}");
        assertEquals(Path.of("dd", Daemon.SOCKET_NAME), rpc.daemon.socketPath());
        assertEquals("drive_list", rpc.method);
        assertEquals("{}", rpc.paramsText);
        new CommandLine(rpc = new RpcCommand()).parseArgs("drive_list");
        assertEquals(Path.of("basalt-data", Daemon.SOCKET_NAME), rpc.daemon.socketPath());
        new CommandLine(rpc = new RpcCommand()).parseArgs("--data-dir", "dd", "--socket", "s.sock", "drive_list");
        assertEquals(Path.of("s.sock"), rpc.daemon.socketPath(), "--socket wins");

        for (List<String> words : List.of(List.of("raid", "--socket", "s.sock", "status"), List.of("raid", "status", "--socket", "s.sock"))) {
            CommandLine root = BasaltCommand.commandLine();
            root.parseArgs(words.toArray(String[]::new));
            RaidVerb.Status status = root.getSubcommands().get("raid").getSubcommands().get("status").getCommand();
            assertEquals(Path.of("s.sock"), status.address().socketPath(), words.toString());
        }
    }

    @Test
    void clientVerbExitCodes() {
        assertEquals(1, run(List.of("rpc", "--socket", NONEXISTENT, "drive_list")).exitCode(), "no daemon: failure");
        assertEquals(1, run(List.of("raid", "--socket", NONEXISTENT, "status")).exitCode(), "no daemon: failure");
        assertEquals(2, run(List.of("rpc", "--socket", NONEXISTENT, "drive_list", "{broken")).exitCode(), "bad JSON: usage");
        assertEquals(2, run(List.of("rpc", "drive_list", "{}", "extra")).exitCode(), "too many arguments: usage");
        Run noMethod = run(List.of("rpc"));
        assertEquals(2, noMethod.exitCode());
        assertTrue(noMethod.err().contains("METHOD"), noMethod.err());
        Run noSubVerb = run(List.of("raid"));
        assertEquals(2, noSubVerb.exitCode());
        assertTrue(noSubVerb.err().contains("status"), noSubVerb.err());
        assertEquals(2, run(List.of()).exitCode(), "no verb: usage");
        assertEquals(2, run(List.of("frobnicate")).exitCode(), "unknown verb: usage");
    }

    @Test
    void helpVerbShowsAVerbsUsage() {
        Run r = run(List.of("help", "serve"));
        assertEquals(0, r.exitCode());
        assertTrue(r.out().contains("Usage: basalt serve") && r.out().contains("--config-writeback"), r.out());
    }

    @Test
    void completionPrintsABashScriptWithEveryVerbAndOption() {
        Run r = run(List.of("completion"));
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("complete -F _complete_basalt") , r.out());
        for (String word : List.of("serve", "rpc", "raid", "status", "bench", "--config-writeback", "--data-dir", "--socket", "--idle")) {
            assertTrue(r.out().contains(word), "completion lacks " + word);
        }
    }

    @Test
    void benchIsTheBenchModulesCommandTree() {
        CommandLine bench = BasaltCommand.commandLine().getSubcommands().get("bench");
        assertInstanceOf(io.basalt.bench.BenchCommand.class, bench.getCommand());
        for (String sub : List.of("raid", "vhost", "ppl-cost", "objects")) assertNotNull(bench.getSubcommands().get(sub), "bench " + sub);
        Run help = run(List.of("bench", "--help"));
        assertEquals(0, help.exitCode(), help.err());
        assertTrue(help.out().contains("--target"), help.out());
    }
}
