package io.basalt.objectlayer.s3;

/** The Range header of a GET (RFC 9110 section 14.1.2), as S3 reads it: one range of bytes. */
final class ByteRange {
    private static final String UNIT = "bytes=";

    private ByteRange() {}

    /**
     * {@code bytes=a-b}, {@code bytes=a-}, {@code bytes=-n}: the {offsetBytes, lengthBytes} to send, clamped to the
     * object; null to send the whole object (no header, a malformed one, or several ranges, which S3 ignores);
     * InvalidRange (416) when the range lies wholly past the end.
     */
    static long[] parse(String header, long sizeBytes) throws S3Error {
        if (header == null || !header.startsWith(UNIT) || header.indexOf(',') >= 0) {
            return null;
        }
        String spec = header.substring(UNIT.length()).trim();
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            String first = spec.substring(0, dash).trim();
            String last = spec.substring(dash + 1).trim();
            if (first.isEmpty()) {
                long suffixBytes = Long.parseLong(last);
                if (suffixBytes <= 0 || sizeBytes == 0) {
                    throw invalid();
                }
                long n = Math.min(suffixBytes, sizeBytes);
                return new long[] {sizeBytes - n, n};
            }
            long start = Long.parseLong(first);
            long end = last.isEmpty() ? sizeBytes - 1 : Long.parseLong(last);
            if (start < 0 || !last.isEmpty() && end < start) {
                return null;
            }
            if (start >= sizeBytes) {
                throw invalid();
            }
            end = Math.min(end, sizeBytes - 1);
            return new long[] {start, end - start + 1};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static S3Error invalid() {
        return new S3Error("InvalidRange", 416, "The requested range is not satisfiable");
    }
}
