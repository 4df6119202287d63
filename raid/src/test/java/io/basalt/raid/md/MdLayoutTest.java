package io.basalt.raid.md;

import io.basalt.engine.fixtures.GccLayout;
import io.basalt.engine.fixtures.GccLayout.Row;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every offset, size and constant of {@link MdSuperblock} against {@code <linux/raid/md_p.h>} as gcc sees it,
 * and of {@link MdBitmap} against {@code bitmap_super_t} as drivers/md/md-bitmap.h defines it (the struct is not
 * in the uapi headers, so the test declares it from the kernel's definition, field for field). The same pattern
 * as native-shims' StructLayoutTest: a C program prints "name value" lines, compared with the Java values.
 * gcc is required; a missing compiler fails, it never skips.
 */
class MdLayoutTest {
    private static final List<Row> ROWS = new ArrayList<>();

    private static void sb(String field, long javaValue) {
        ROWS.add(new Row("sb." + field, javaValue, "offsetof(struct mdp_superblock_1, " + field + ")"));
    }

    private static void bm(String field, long javaValue) {
        ROWS.add(new Row("bitmap." + field, javaValue, "offsetof(bitmap_super_t, " + field + ")"));
    }

    private static void ppl(String field, long javaValue) {
        ROWS.add(new Row("ppl_header." + field, javaValue, "offsetof(struct ppl_header, " + field + ")"));
    }

    private static void pplEntry(String field, long javaValue) {
        ROWS.add(new Row("ppl_header_entry." + field, javaValue, "offsetof(struct ppl_header_entry, " + field + ")"));
    }

    private static void constant(String name, long javaValue) {
        ROWS.add(new Row(name, javaValue, name));
    }

    static {
        ROWS.add(new Row("sizeof(mdp_superblock_1)", MdSuperblock.SIZE, "sizeof(struct mdp_superblock_1)"));
        sb("magic", MdSuperblock.MAGIC_OFFSET);
        sb("major_version", MdSuperblock.MAJOR_VERSION_OFFSET);
        sb("feature_map", MdSuperblock.FEATURE_MAP_OFFSET);
        sb("pad0", MdSuperblock.PAD0_OFFSET);
        sb("set_uuid", MdSuperblock.SET_UUID_OFFSET);
        ROWS.add(new Row("sizeof(set_uuid)", MdSuperblock.UUID_BYTES, "sizeof(((struct mdp_superblock_1 *) 0)->set_uuid)"));
        sb("set_name", MdSuperblock.SET_NAME_OFFSET);
        ROWS.add(new Row("sizeof(set_name)", MdSuperblock.SET_NAME_BYTES, "sizeof(((struct mdp_superblock_1 *) 0)->set_name)"));
        sb("ctime", MdSuperblock.CTIME_OFFSET);
        sb("level", MdSuperblock.LEVEL_OFFSET);
        sb("layout", MdSuperblock.LAYOUT_OFFSET);
        sb("size", MdSuperblock.SIZE_OFFSET);
        sb("chunksize", MdSuperblock.CHUNKSIZE_OFFSET);
        sb("raid_disks", MdSuperblock.RAID_DISKS_OFFSET);
        sb("bitmap_offset", MdSuperblock.BITMAP_OFFSET_OFFSET);
        sb("new_level", MdSuperblock.NEW_LEVEL_OFFSET);
        sb("reshape_position", MdSuperblock.RESHAPE_POSITION_OFFSET);
        sb("delta_disks", MdSuperblock.DELTA_DISKS_OFFSET);
        sb("new_layout", MdSuperblock.NEW_LAYOUT_OFFSET);
        sb("new_chunk", MdSuperblock.NEW_CHUNK_OFFSET);
        sb("new_offset", MdSuperblock.NEW_OFFSET_OFFSET);
        sb("data_offset", MdSuperblock.DATA_OFFSET_OFFSET);
        sb("data_size", MdSuperblock.DATA_SIZE_OFFSET);
        sb("super_offset", MdSuperblock.SUPER_OFFSET_OFFSET);
        sb("recovery_offset", MdSuperblock.RECOVERY_OFFSET_OFFSET);
        sb("dev_number", MdSuperblock.DEV_NUMBER_OFFSET);
        sb("cnt_corrected_read", MdSuperblock.CNT_CORRECTED_READ_OFFSET);
        sb("device_uuid", MdSuperblock.DEVICE_UUID_OFFSET);
        sb("devflags", MdSuperblock.DEVFLAGS_OFFSET);
        sb("bblog_shift", MdSuperblock.BBLOG_SHIFT_OFFSET);
        sb("bblog_size", MdSuperblock.BBLOG_SIZE_OFFSET);
        sb("bblog_offset", MdSuperblock.BBLOG_OFFSET_OFFSET);
        sb("utime", MdSuperblock.UTIME_OFFSET);
        sb("events", MdSuperblock.EVENTS_OFFSET);
        sb("resync_offset", MdSuperblock.RESYNC_OFFSET_OFFSET);
        sb("sb_csum", MdSuperblock.SB_CSUM_OFFSET);
        sb("max_dev", MdSuperblock.MAX_DEV_OFFSET);
        sb("pad3", MdSuperblock.PAD3_OFFSET);
        ROWS.add(new Row("sizeof(pad3)", MdSuperblock.PAD3_BYTES, "sizeof(((struct mdp_superblock_1 *) 0)->pad3)"));
        sb("dev_roles", MdSuperblock.DEV_ROLES_OFFSET);
        constant("MD_SB_MAGIC", MdSuperblock.MD_SB_MAGIC & 0xffff_ffffL);
        constant("WriteMostly1", MdSuperblock.DEVFLAG_WRITE_MOSTLY);
        constant("FailFast1", MdSuperblock.DEVFLAG_FAIL_FAST);
        constant("MD_FEATURE_BITMAP_OFFSET", MdSuperblock.MD_FEATURE_BITMAP_OFFSET);
        constant("MD_FEATURE_RECOVERY_OFFSET", MdSuperblock.MD_FEATURE_RECOVERY_OFFSET);
        constant("MD_FEATURE_RESHAPE_ACTIVE", MdSuperblock.MD_FEATURE_RESHAPE_ACTIVE);
        constant("MD_FEATURE_BAD_BLOCKS", MdSuperblock.MD_FEATURE_BAD_BLOCKS);
        constant("MD_FEATURE_REPLACEMENT", MdSuperblock.MD_FEATURE_REPLACEMENT);
        constant("MD_FEATURE_RESHAPE_BACKWARDS", MdSuperblock.MD_FEATURE_RESHAPE_BACKWARDS);
        constant("MD_FEATURE_NEW_OFFSET", MdSuperblock.MD_FEATURE_NEW_OFFSET);
        constant("MD_FEATURE_RECOVERY_BITMAP", MdSuperblock.MD_FEATURE_RECOVERY_BITMAP);
        constant("MD_FEATURE_CLUSTERED", MdSuperblock.MD_FEATURE_CLUSTERED);
        constant("MD_FEATURE_JOURNAL", MdSuperblock.MD_FEATURE_JOURNAL);
        constant("MD_FEATURE_PPL", MdSuperblock.MD_FEATURE_PPL);
        constant("MD_FEATURE_MULTIPLE_PPLS", MdSuperblock.MD_FEATURE_MULTIPLE_PPLS);
        constant("MD_FEATURE_RAID0_LAYOUT", MdSuperblock.MD_FEATURE_RAID0_LAYOUT);
        constant("MD_FEATURE_ALL", MdSuperblock.MD_FEATURE_ALL);

        sb("ppl.offset", MdSuperblock.PPL_OFFSET_OFFSET);
        sb("ppl.size", MdSuperblock.PPL_SIZE_OFFSET);
        constant("PPL_HEADER_SIZE", MdPpl.HEADER_BYTES);
        constant("PPL_HDR_RESERVED", MdPpl.RESERVED_BYTES);
        constant("PPL_HDR_MAX_ENTRIES", MdPpl.ENTRIES_MAX);
        ROWS.add(new Row("sizeof(ppl_header_entry)", MdPpl.ENTRY_BYTES, "sizeof(struct ppl_header_entry)"));
        ROWS.add(new Row("sizeof(ppl_header)", MdPpl.ENTRIES_OFFSET + (long) MdPpl.ENTRIES_MAX * MdPpl.ENTRY_BYTES, "sizeof(struct ppl_header)"));
        ppl("reserved", 0);
        ppl("signature", MdPpl.SIGNATURE_OFFSET);
        ppl("padding", MdPpl.PADDING_OFFSET);
        ppl("generation", MdPpl.GENERATION_OFFSET);
        ppl("entries_count", MdPpl.ENTRIES_COUNT_OFFSET);
        ppl("checksum", MdPpl.CHECKSUM_OFFSET);
        ppl("entries", MdPpl.ENTRIES_OFFSET);
        pplEntry("data_sector", MdPpl.ENTRY_DATA_SECTOR);
        pplEntry("pp_size", MdPpl.ENTRY_PP_SIZE);
        pplEntry("data_size", MdPpl.ENTRY_DATA_SIZE);
        pplEntry("parity_disk", MdPpl.ENTRY_PARITY_DISK);
        pplEntry("checksum", MdPpl.ENTRY_CHECKSUM);

        ROWS.add(new Row("sizeof(bitmap_super_t)", MdBitmap.SIZE, "sizeof(bitmap_super_t)"));
        bm("magic", MdBitmap.MAGIC_OFFSET);
        bm("version", MdBitmap.VERSION_OFFSET);
        bm("uuid", MdBitmap.UUID_OFFSET);
        bm("events", MdBitmap.EVENTS_OFFSET);
        bm("events_cleared", MdBitmap.EVENTS_CLEARED_OFFSET);
        bm("sync_size", MdBitmap.SYNC_SIZE_OFFSET);
        bm("state", MdBitmap.STATE_OFFSET);
        bm("chunksize", MdBitmap.CHUNKSIZE_OFFSET);
        bm("daemon_sleep", MdBitmap.DAEMON_SLEEP_OFFSET);
        bm("write_behind", MdBitmap.WRITE_BEHIND_OFFSET);
        bm("sectors_reserved", MdBitmap.SECTORS_RESERVED_OFFSET);
        bm("nodes", MdBitmap.NODES_OFFSET);
        bm("cluster_name", MdBitmap.CLUSTER_NAME_OFFSET);
        bm("pad", MdBitmap.PAD_OFFSET);
    }

    /**
     * bitmap_super_t as drivers/md/md-bitmap.h declares it (Linux 6.x): written here from that definition
     * because no installed header has it.
     */
    private static final String SOURCE = """
            #include <stddef.h>
            #include <stdio.h>
            #include <linux/types.h>
            #include <linux/raid/md_p.h>

            typedef struct bitmap_super_s {
                __le32 magic;
                __le32 version;
                __u8 uuid[16];
                __le64 events;
                __le64 events_cleared;
                __le64 sync_size;
                __le32 state;
                __le32 chunksize;
                __le32 daemon_sleep;
                __le32 write_behind;
                __le32 sectors_reserved;
                __le32 nodes;
                __u8 cluster_name[64];
                __u8 pad[256 - 136];
            } bitmap_super_t;

            #define P(name, expr) printf("%s %lld\\n", name, (long long) (expr))

            int main(void) {
            """;

    @Test
    void everyRowMatchesGcc() throws Exception {
        GccLayout.assertMatches(MdLayoutTest.class, "md", SOURCE, ROWS);
    }

    @Test
    void derivedSizes() {
        assertEquals((4096 - 256) / 2, MdSuperblock.MAX_DEV_MAX);
        assertEquals(MdSuperblock.SIZE, MdSuperblock.DEV_ROLES_OFFSET);
        assertEquals(0x6d746962, MdBitmap.BITMAP_MAGIC, "\"bitm\" little-endian");
    }
}
