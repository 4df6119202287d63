package io.basalt.raid.array;

import io.basalt.engine.BlockDevice;

import java.util.List;

/**
 * Where arrays get their member drives, and where their volumes are named: the daemon implements it over its
 * drive registry (one namespace of drives and volumes, one set of claims), tests over a map of memory drives.
 * A member, a spare, and the volume's registration all belong to the array's holder name
 * ({@link RaidArrays#holderOf}). Called by the array layer under its lock: never call back into it.
 * Errors are {@link IllegalArgumentException}s whose message says what is wrong, without the parameter name.
 */
public interface MemberSource {
    /** The device of drive {@code drive}; throws when there is none. */
    BlockDevice device(String drive);

    /** Claims every named drive for {@code holder}, all or none (only drives, no volumes). */
    void claim(List<String> drives, String holder);

    /** Gives a drive back (a no-op unless {@code holder} holds it). */
    void release(String drive, String holder);

    /** The drives no one holds, in creation order: what assembly scans for md superblocks. */
    List<String> unclaimedDrives();

    /** Checks that a volume could be named {@code name} (valid and free), registering nothing. */
    void checkVolumeName(String name);

    /** Registers a started array's volume under its name (the daemon exports it from there). */
    void addVolume(String name, String description, BlockDevice volume);

    /** Forgets a volume before it stops; throws while something (an export) still uses it. */
    void removeVolume(String name);
}
