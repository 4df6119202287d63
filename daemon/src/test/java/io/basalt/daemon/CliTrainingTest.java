package io.basalt.daemon;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The launcher's class-data archive is only as good as its training run: every step must answer as a user's would. */
class CliTrainingTest {
    @Test
    void everyTrainingStepAnswersAsExpected() throws Exception {
        assertEquals(0, CliTraining.train());
    }
}
