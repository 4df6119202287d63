package io.basalt.raid.array;

/**
 * What happened to the arrays, for a listener that keeps state of its own (the daemon persists its
 * configuration on changes no RPC made: a member failed on I/O, a spare took over, a rebuild finished).
 * Every change is told, whoever made it. Calls come in order on one thread of the array layer
 * ("basalt-raid-events"), never on a reactor and never under the array layer's lock: a listener may block
 * briefly and may call the {@link RaidArrays} API. Each carries the array's (volume's) name.
 */
public interface ArrayEvents {
    /** No listener. */
    ArrayEvents NONE = new ArrayEvents() {};

    /** An array was created or assembled ({@code origin} "created" or "assembled") and takes I/O. */
    default void arrayStarted(String array, String origin) {}

    /** An array was stopped (raid_stop): its superblocks are clean and its drives released. */
    default void arrayStopped(String array) {}

    /** A member went faulty ({@code byRequest}: raid_fail_member; otherwise I/O or a metadata write failed it). */
    default void memberFailed(String array, String drive, boolean byRequest) {}

    /** A drive joined the array: as a spare, or straight into a missing or faulty role (it rebuilds). */
    default void memberAdded(String array, String drive, boolean asSpare) {}

    /** A spare or faulty member left the array (raid_remove_member): the drive is free again. */
    default void memberRemoved(String array, String drive) {}

    /** A spare took over role {@code role} after a failure and rebuilds it. */
    default void sparePromoted(String array, String drive, int role) {}

    /** A sync job ended: {@code action} rebuild, resync, check or repair; {@code state} done, stopped or failed. */
    default void syncFinished(String array, String action, String state) {}
}
