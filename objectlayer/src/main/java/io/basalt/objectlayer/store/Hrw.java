package io.basalt.objectlayer.store;

import io.basalt.shims.Check;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Highest-random-weight (rendezvous) placement of (bucket, key) over mountpaths, weighted by capacity: each mountpath
 * scores {@code -weight / ln(u)} with {@code u} in (0, 1) drawn from xxhash64, and the highest score wins (weighted
 * rendezvous hashing, Schindelhauer and Schomaker 2005; AIStore places by HRW too). Adding a mountpath moves only the
 * keys it now wins (about its share of the total weight); removing one moves only its keys. Scores depend on the
 * mountpaths' persisted ids, not their order or paths, so placement survives restarts and remounts (docs/objects.md,
 * "Placement").
 *
 * <p>The key is hashed once, {@code k = xxhash64(bucket 0x00 key)} (bucket names hold no NUL), and each mountpath's
 * draw is {@code xxhash64(id k)} over the two 64-bit values little-endian: one short hash per mountpath.
 */
public final class Hrw {
    /** 2^-52: u is built from 52 bits so that (2^52 - 1) + 0.5 is exact in a double and u stays below 1. */
    private static final double UNIT_52 = 0x1.0p-52;
    private static final int KEPT_BITS_SHIFT = 12;

    private final long[] ids;
    private final double[] weights;

    /** @param weights  positive, e.g. capacities in GiB; only their ratios matter */
    public Hrw(long[] ids, double[] weights) {
        Check.that(ids.length > 0 && ids.length == weights.length, "one weight per mountpath, at least one", ids.length);
        for (double w : weights) Check.that(w > 0 && Double.isFinite(w), "weights are positive");
        this.ids = ids.clone();
        this.weights = weights.clone();
    }

    public int size() {
        return ids.length;
    }

    /** The index (into the constructor's arrays) of the mountpath that holds (bucket, key). */
    public int select(String bucket, String key) {
        long keyHash = keyHash(bucket, key);
        ByteBuffer pair = ByteBuffer.allocate(2 * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < ids.length; i++) {
            pair.clear();
            pair.putLong(ids[i]).putLong(keyHash).flip();
            double score = score(new Xxhash64().update(pair).digest(), weights[i]);
            if (score > bestScore) {
                bestScore = score;
                best = i;
            }
        }
        return best;
    }

    static long keyHash(String bucket, String key) {
        Xxhash64 h = new Xxhash64();
        h.update(ByteBuffer.wrap(bucket.getBytes(StandardCharsets.UTF_8)));
        h.update(ByteBuffer.wrap(new byte[] {0}));
        h.update(ByteBuffer.wrap(key.getBytes(StandardCharsets.UTF_8)));
        return h.digest();
    }

    /** u = (top 52 bits + 0.5) / 2^52 lies strictly inside (0, 1), so ln(u) < 0 and the score is finite and positive. */
    static double score(long draw, double weight) {
        double u = ((draw >>> KEPT_BITS_SHIFT) + 0.5) * UNIT_52;
        return -weight / Math.log(u);
    }
}
