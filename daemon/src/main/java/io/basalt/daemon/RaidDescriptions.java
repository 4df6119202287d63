package io.basalt.daemon;

import io.basalt.raid.array.ArrayStatus;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON of {@code raid_status} and of the results that describe an array (docs/rpc.md), from the array layer's snapshot. */
final class RaidDescriptions {
    private RaidDescriptions() {}

    /** @param usedBy who holds the volume (an export), or null */
    static Map<String, Object> describe(ArrayStatus a, String usedBy) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", a.name());
        m.put("level", (long) a.level().mdLevel);
        m.put("layout", a.layoutName());
        m.put("chunk_kib", a.chunkKib());
        m.put("raid_disks", (long) a.raidDisks());
        List<Object> members = new ArrayList<>();
        for (ArrayStatus.Member member : a.members()) {
            Map<String, Object> mm = new LinkedHashMap<>();
            mm.put("role", member.role() == null ? null : (long) member.role());
            mm.put("drive", member.drive());
            mm.put("state", member.state());
            if (member.recoveryOffsetBytes() != null) mm.put("recovery_offset_bytes", member.recoveryOffsetBytes());
            members.add(mm);
        }
        m.put("members", members);
        m.put("degraded", a.degraded());
        m.put("state", a.state());
        m.put("block_size", (long) a.blockBytes());
        m.put("block_count", a.blockCount());
        m.put("size_bytes", a.sizeBytes());
        m.put("data_offset_bytes", a.dataOffsetBytes());
        m.put("events", a.events());
        m.put("consistency", a.consistency().wireName());
        if (a.bitmap() != null) m.put("bitmap", bitmap(a.bitmap()));
        if (a.recovery() != null) m.put("recovery", a.recovery());
        m.put("uuid", a.uuid());
        m.put("origin", a.origin());
        m.put("used_by", usedBy);
        m.put("describe", a.describe());
        m.put("sync", sync(a.sync()));
        return m;
    }

    private static Map<String, Object> bitmap(ArrayStatus.Bitmap b) {
        Map<String, Object> bitmap = new LinkedHashMap<>();
        bitmap.put("chunk_kib", b.chunkKib());
        bitmap.put("regions", b.regions());
        bitmap.put("dirty_regions", b.dirtyRegions());
        bitmap.putAll(b.counters());
        bitmap.put("resynced_at_assembly", b.resyncedAtAssembly());
        if (b.lastError() != null) bitmap.put("last_error", b.lastError());
        return bitmap;
    }

    static Map<String, Object> sync(ArrayStatus.Sync s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("action", s.action());
        m.put("percent", s.percent());
        m.put("done_bytes", s.doneBytes());
        m.put("total_bytes", s.totalBytes());
        m.put("rate_mib_s", s.rateMiBs());
        m.put("eta_seconds", s.etaSeconds());
        m.put("mismatch_sectors", s.mismatchSectors());
        m.put("last_action", s.lastAction());
        m.put("last_state", s.lastState());
        m.put("last_error", s.lastError());
        m.put("max_mib_s", s.maxMiBs());
        m.put("units_in_flight", (long) s.unitsInFlight());
        return m;
    }
}
