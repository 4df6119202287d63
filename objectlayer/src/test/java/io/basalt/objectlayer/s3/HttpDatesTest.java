package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The hand-written HTTP dates against the JDK's formatter they replace. */
class HttpDatesTest {
    @Test
    void formatsAsTheFormatterDoes() {
        long[] fixed = {0, 784111777000L, 951782400000L /* 2000-02-29 */, 1767225599999L, 253402300799000L /* 9999 */,
            -1L, 1_000L * 86_400 * 365 * 5 + 123};
        for (long ms : fixed) {
            assertEquals(Exchange.HTTP_DATE.format(Instant.ofEpochMilli(ms)), HttpDates.format(ms), "ms " + ms);
        }
        SplittableRandom random = new SplittableRandom(14);
        for (int i = 0; i < 10_000; i++) {
            long ms = random.nextLong(0, 253402300799000L);
            assertEquals(Exchange.HTTP_DATE.format(Instant.ofEpochMilli(ms)), HttpDates.format(ms), "ms " + ms);
        }
        assertEquals("Sun, 06 Nov 1994 08:49:37 GMT", HttpDates.format(784111777000L));
    }

    @Test
    void nowIsTheCurrentSecond() {
        long before = System.currentTimeMillis() / 1000 * 1000;
        String now = HttpDates.now();
        long after = System.currentTimeMillis() / 1000 * 1000;
        assertEquals(true, now.equals(HttpDates.format(before)) || now.equals(HttpDates.format(after)), now);
    }
}
