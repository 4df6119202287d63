package io.basalt.raid.array;

import io.basalt.raid.volume.Consistency;
import io.basalt.raid.volume.RaidLevel;
import io.basalt.shims.Check;

import java.util.List;

/**
 * A new array, as {@link RaidArrays#create} takes it: the caller has checked each value on its own (the level's
 * member count, a power-of-two chunk, a policy the level allows); what depends on the drives is checked there.
 *
 * @param members      drive names, one per role in role order
 * @param chunkSectors the chunk in 512-byte sectors (raid1: ignored by the volume, still written to md)
 */
public record CreateRequest(String name, RaidLevel level, List<String> members, long chunkSectors, Consistency consistency) {
    public CreateRequest {
        members = List.copyOf(members);
        Check.that(level.allows(consistency), "a consistency policy the level allows");
        Check.that(chunkSectors > 0, "a chunk", chunkSectors);
    }
}
