package io.basalt.raid.volume;

import java.util.Locale;

/**
 * md's consistency policy: how a volume keeps its copies or parity in step across an unclean stop. The one
 * enum for {@code raid_create}, {@code raid_status}, the array layer and the bench volume specs; its wire name
 * is md's ({@code --consistency-policy}).
 */
public enum Consistency {
    /** raid0: no redundancy, nothing to keep consistent. */
    NONE("none"),
    /** Nothing on the data path: an unclean stop means a full background resync (md without a bitmap). */
    RESYNC("resync"),
    /** md's internal write-intent bitmap: an unclean stop resyncs only the regions marked dirty. */
    BITMAP("bitmap"),
    /** raid5: md's partial parity log, written before each stripe update, replayed at assembly. */
    PPL("ppl");

    private final String wireName;

    Consistency(String wireName) {
        this.wireName = wireName;
    }

    /** The name in RPC parameters and results, and md's policy name. */
    public String wireName() {
        return wireName;
    }

    /** The policy named {@code text} (case-insensitive), or null when none is. */
    public static Consistency fromWireName(String text) {
        for (Consistency c : values()) if (c.wireName.equals(text.toLowerCase(Locale.ROOT))) return c;
        return null;
    }
}
