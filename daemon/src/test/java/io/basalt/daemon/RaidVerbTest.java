package io.basalt.daemon;

import io.basalt.daemon.json.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The table `basalt raid status` prints for a raid_status result. */
class RaidVerbTest {
    @Test
    void aRebuildingVolumeShowsItsMembersAndProgress() {
        List<?> status = (List<?>) Json.parse("""
                [{"name":"vol0","level":5,"layout":"left-symmetric","chunk_kib":512,"size_bytes":3221225472,"state":"degraded","events":9,
                  "members":[{"role":0,"drive":"d0","state":"active"},{"role":1,"drive":"d4","state":"rebuilding","recovery_offset_bytes":536870912},
                             {"role":2,"drive":null,"state":"missing"},{"role":null,"drive":"d5","state":"spare"}],
                  "sync":{"action":"rebuild","percent":50.0,"done_bytes":536870912,"total_bytes":1073741824,"rate_mib_s":180.5,
                          "eta_seconds":3,"mismatch_sectors":0,"max_mib_s":200,"units_in_flight":4}}]""");
        String table = RaidVerb.format(status);
        assertEquals("""
                vol0  raid5 left-symmetric chunk 512 KiB, 3.0 GiB, degraded, events 9
                  ROLE  DRIVE            STATE       REBUILT
                  0     d0               active     \s
                  1     d4               rebuilding  512.0 MiB
                  2     (none)           missing    \s
                  -     d5               spare      \s
                  sync: rebuild 50.0% (512.0 MiB of 1.0 GiB) at 180.5 MiB/s, eta 3 s, limit 200 MiB/s
                """, table);
    }

    @Test
    void anIdleVolumeShowsItsLastCheck() {
        List<?> status = (List<?>) Json.parse("""
                [{"name":"m","level":1,"layout":"none","chunk_kib":0,"size_bytes":1048576,"state":"clean","events":2,
                  "members":[{"role":0,"drive":"a","state":"active"},{"role":1,"drive":"b","state":"active"}],
                  "sync":{"action":"idle","percent":100.0,"done_bytes":1048576,"total_bytes":1048576,"rate_mib_s":900.0,"eta_seconds":0,
                          "mismatch_sectors":16,"last_action":"check","last_state":"done","last_error":null,"max_mib_s":200,"units_in_flight":4}}]""");
        String table = RaidVerb.format(status);
        assertTrue(table.startsWith("m  raid1, 1.0 MiB, clean, events 2"), table);
        assertTrue(table.contains("sync: idle (last check: done, 16 mismatched sectors), limit 200 MiB/s"), table);
        assertEquals("no RAID volumes\n", RaidVerb.format(List.of()));
        assertEquals(2, Main.run(new String[] {"raid", "frobnicate"}), "unknown sub-command: usage");
    }
}
