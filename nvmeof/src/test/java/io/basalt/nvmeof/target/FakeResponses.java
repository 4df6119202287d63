package io.basalt.nvmeof.target;

import io.basalt.nvmeof.QueueHandler;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The transport's side of a queue in tests: records completions by tag and close requests. */
final class FakeResponses implements QueueHandler.Responses {
    record Completion(long tag, long dataBytes, int dw0, int dw1, int status) {}

    final Map<Long, Completion> completions = new LinkedHashMap<>();
    final List<String> closes = new ArrayList<>();
    int duplicateCompletions;

    @Override
    public void complete(long tag, long dataBytes, int dw0, int dw1, int status) {
        if (completions.put(tag, new Completion(tag, dataBytes, dw0, dw1, status)) != null) duplicateCompletions++;
    }

    @Override
    public void close(String reason) {
        closes.add(reason);
    }
}
