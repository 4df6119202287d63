package io.basalt.daemon;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code basalt completion}: a bash (and zsh) completion script made from the command tree itself. */
@Command(name = "completion", mixinStandardHelpOptions = true, version = BasaltCommand.VERSION,
        description = {"print a bash completion script", "Use it with:  source <(./basalt completion)"})
final class CompletionCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
        String script = AutoComplete.bash(spec.root().name(), spec.root().commandLine());
        spec.commandLine().getOut().print(script);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
