package io.basalt.objectlayer.s3;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * HTTP dates (RFC 9110's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") written by hand, as {@link Exchange#HTTP_DATE}
 * writes them: every response carries a Date and every GET a Last-Modified, and the formatter was 1% of a GET's CPU.
 * The current second's text is kept (as nginx does): most responses in a second share it.
 */
final class HttpDates {
    private static final String[] DAYS = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
    private static final String[] MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
        "Nov", "Dec"};
    private static final int TEXT_LENGTH = "Sun, 06 Nov 1994 08:49:37 GMT".length();
    private static final long MS_PER_SECOND = 1000;

    private record Second(long epochSecond, String text) {}

    /** The last second {@link #now} wrote; replaced whole, so a reader sees a matching pair. */
    private static volatile Second current = new Second(Long.MIN_VALUE, "");

    private HttpDates() {}

    /** The Date header's value for the current time. */
    static String now() {
        long second = Math.floorDiv(System.currentTimeMillis(), MS_PER_SECOND);
        Second s = current;
        if (s.epochSecond != second) {
            s = new Second(second, format(second * MS_PER_SECOND));
            current = s;
        }
        return s.text;
    }

    /** The instant {@code epochMs} (to the second, rounded down) as an HTTP date. */
    static String format(long epochMs) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(Math.floorDiv(epochMs, MS_PER_SECOND), 0, ZoneOffset.UTC);
        StringBuilder sb = new StringBuilder(TEXT_LENGTH);
        sb.append(DAYS[t.getDayOfWeek().getValue() - 1]).append(", ");
        twoDigits(sb, t.getDayOfMonth()).append(' ').append(MONTHS[t.getMonthValue() - 1]).append(' ');
        int year = t.getYear();
        if (year >= 0 && year < 1000) sb.append(year < 10 ? "000" : year < 100 ? "00" : "0");
        sb.append(year).append(' ');
        twoDigits(sb, t.getHour()).append(':');
        twoDigits(sb, t.getMinute()).append(':');
        return twoDigits(sb, t.getSecond()).append(" GMT").toString();
    }

    private static StringBuilder twoDigits(StringBuilder sb, int n) {
        return sb.append((char) ('0' + n / 10)).append((char) ('0' + n % 10));
    }
}
