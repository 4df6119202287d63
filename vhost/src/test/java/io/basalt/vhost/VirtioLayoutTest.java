package io.basalt.vhost;

import io.basalt.vhost.blk.BlkConfigSpace;
import io.basalt.vhost.blk.VirtioBlk;
import io.basalt.vhost.virtio.SplitVirtqueue;
import io.basalt.vhost.virtio.VirtioFeatures;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every virtio offset and constant we mirror, compared with the installed Linux headers (linux/virtio_blk.h,
 * virtio_ring.h, virtio_config.h) by a C program compiled with gcc at test time, as native-shims'
 * StructLayoutTest does. gcc is required: a missing compiler fails.
 */
class VirtioLayoutTest {
    private record Row(String name, long javaValue, String c) {}

    private static List<Row> rows() {
        List<Row> r = new ArrayList<>();
        String cfg = "struct virtio_blk_config";
        r.add(new Row("CAPACITY", BlkConfigSpace.CAPACITY_OFFSET, "offsetof(" + cfg + ", capacity)"));
        r.add(new Row("SIZE_MAX", BlkConfigSpace.SIZE_MAX_OFFSET, "offsetof(" + cfg + ", size_max)"));
        r.add(new Row("SEG_MAX", BlkConfigSpace.SEG_MAX_OFFSET, "offsetof(" + cfg + ", seg_max)"));
        r.add(new Row("GEOMETRY_CYLINDERS", BlkConfigSpace.GEOMETRY_CYLINDERS_OFFSET, "offsetof(" + cfg + ", geometry.cylinders)"));
        r.add(new Row("GEOMETRY_HEADS", BlkConfigSpace.GEOMETRY_HEADS_OFFSET, "offsetof(" + cfg + ", geometry.heads)"));
        r.add(new Row("GEOMETRY_SECTORS", BlkConfigSpace.GEOMETRY_SECTORS_OFFSET, "offsetof(" + cfg + ", geometry.sectors)"));
        r.add(new Row("BLK_SIZE", BlkConfigSpace.BLK_SIZE_OFFSET, "offsetof(" + cfg + ", blk_size)"));
        r.add(new Row("PHYSICAL_BLOCK_EXP", BlkConfigSpace.PHYSICAL_BLOCK_EXP_OFFSET, "offsetof(" + cfg + ", physical_block_exp)"));
        r.add(new Row("ALIGNMENT_OFFSET", BlkConfigSpace.ALIGNMENT_OFFSET_OFFSET, "offsetof(" + cfg + ", alignment_offset)"));
        r.add(new Row("MIN_IO_SIZE", BlkConfigSpace.MIN_IO_SIZE_OFFSET, "offsetof(" + cfg + ", min_io_size)"));
        r.add(new Row("OPT_IO_SIZE", BlkConfigSpace.OPT_IO_SIZE_OFFSET, "offsetof(" + cfg + ", opt_io_size)"));
        r.add(new Row("WCE", BlkConfigSpace.WCE_OFFSET, "offsetof(" + cfg + ", wce)"));
        r.add(new Row("UNUSED0", BlkConfigSpace.UNUSED0_OFFSET, "offsetof(" + cfg + ", unused)"));
        r.add(new Row("NUM_QUEUES", BlkConfigSpace.NUM_QUEUES_OFFSET, "offsetof(" + cfg + ", num_queues)"));
        r.add(new Row("MAX_DISCARD_SECTORS", BlkConfigSpace.MAX_DISCARD_SECTORS_OFFSET, "offsetof(" + cfg + ", max_discard_sectors)"));
        r.add(new Row("MAX_DISCARD_SEG", BlkConfigSpace.MAX_DISCARD_SEG_OFFSET, "offsetof(" + cfg + ", max_discard_seg)"));
        r.add(new Row("DISCARD_SECTOR_ALIGNMENT", BlkConfigSpace.DISCARD_SECTOR_ALIGNMENT_OFFSET, "offsetof(" + cfg + ", discard_sector_alignment)"));
        r.add(new Row("MAX_WRITE_ZEROES_SECTORS", BlkConfigSpace.MAX_WRITE_ZEROES_SECTORS_OFFSET, "offsetof(" + cfg + ", max_write_zeroes_sectors)"));
        r.add(new Row("MAX_WRITE_ZEROES_SEG", BlkConfigSpace.MAX_WRITE_ZEROES_SEG_OFFSET, "offsetof(" + cfg + ", max_write_zeroes_seg)"));
        r.add(new Row("WRITE_ZEROES_MAY_UNMAP", BlkConfigSpace.WRITE_ZEROES_MAY_UNMAP_OFFSET, "offsetof(" + cfg + ", write_zeroes_may_unmap)"));
        r.add(new Row("UNUSED1", BlkConfigSpace.UNUSED1_OFFSET, "offsetof(" + cfg + ", unused1)"));
        r.add(new Row("SIZE (end of unused1)", BlkConfigSpace.SIZE, "offsetof(" + cfg + ", unused1) + 3"));
        r.add(new Row("MAX_SECURE_ERASE_SECTORS", BlkConfigSpace.MAX_SECURE_ERASE_SECTORS_OFFSET, "offsetof(" + cfg + ", max_secure_erase_sectors)"));
        r.add(new Row("SIZE_WITH_SECURE_ERASE", BlkConfigSpace.SIZE_WITH_SECURE_ERASE, "sizeof(" + cfg + ")"));
        r.add(new Row("outhdr size", VirtioBlk.RequestHeader.SIZE, "sizeof(struct virtio_blk_outhdr)"));
        r.add(new Row("outhdr type", VirtioBlk.RequestHeader.TYPE_OFFSET, "offsetof(struct virtio_blk_outhdr, type)"));
        r.add(new Row("outhdr ioprio", VirtioBlk.RequestHeader.RESERVED_OFFSET, "offsetof(struct virtio_blk_outhdr, ioprio)"));
        r.add(new Row("outhdr sector", VirtioBlk.RequestHeader.SECTOR_OFFSET, "offsetof(struct virtio_blk_outhdr, sector)"));
        String dwz = "struct virtio_blk_discard_write_zeroes";
        r.add(new Row("dwz size", VirtioBlk.DiscardSegment.SIZE, "sizeof(" + dwz + ")"));
        r.add(new Row("dwz sector", VirtioBlk.DiscardSegment.SECTOR_OFFSET, "offsetof(" + dwz + ", sector)"));
        r.add(new Row("dwz num_sectors", VirtioBlk.DiscardSegment.NUM_SECTORS_OFFSET, "offsetof(" + dwz + ", num_sectors)"));
        r.add(new Row("dwz flags", VirtioBlk.DiscardSegment.FLAGS_OFFSET, "offsetof(" + dwz + ", flags)"));
        r.add(new Row("UNMAP", VirtioBlk.DiscardSegment.FLAG_UNMAP, "VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP"));
        long[][] consts = {
                {VirtioBlk.F_SIZE_MAX}, {VirtioBlk.F_SEG_MAX}, {VirtioBlk.F_RO}, {VirtioBlk.F_BLK_SIZE}, {VirtioBlk.F_FLUSH},
                {VirtioBlk.F_TOPOLOGY}, {VirtioBlk.F_CONFIG_WCE}, {VirtioBlk.F_MQ}, {VirtioBlk.F_DISCARD}, {VirtioBlk.F_WRITE_ZEROES},
                {VirtioBlk.T_IN}, {VirtioBlk.T_OUT}, {VirtioBlk.T_FLUSH}, {VirtioBlk.T_GET_ID}, {VirtioBlk.T_DISCARD},
                {VirtioBlk.T_WRITE_ZEROES}, {VirtioBlk.S_OK}, {VirtioBlk.S_IOERR}, {VirtioBlk.S_UNSUPP}, {VirtioBlk.ID_BYTES}};
        String[] cNames = {"VIRTIO_BLK_F_SIZE_MAX", "VIRTIO_BLK_F_SEG_MAX", "VIRTIO_BLK_F_RO", "VIRTIO_BLK_F_BLK_SIZE",
                "VIRTIO_BLK_F_FLUSH", "VIRTIO_BLK_F_TOPOLOGY", "VIRTIO_BLK_F_CONFIG_WCE", "VIRTIO_BLK_F_MQ",
                "VIRTIO_BLK_F_DISCARD", "VIRTIO_BLK_F_WRITE_ZEROES", "VIRTIO_BLK_T_IN", "VIRTIO_BLK_T_OUT",
                "VIRTIO_BLK_T_FLUSH", "VIRTIO_BLK_T_GET_ID", "VIRTIO_BLK_T_DISCARD", "VIRTIO_BLK_T_WRITE_ZEROES",
                "VIRTIO_BLK_S_OK", "VIRTIO_BLK_S_IOERR", "VIRTIO_BLK_S_UNSUPP", "VIRTIO_BLK_ID_BYTES"};
        for (int i = 0; i < cNames.length; i++) r.add(new Row(cNames[i], consts[i][0], cNames[i]));
        r.add(new Row("VIRTIO_RING_F_INDIRECT_DESC", VirtioFeatures.RING_INDIRECT_DESC, "VIRTIO_RING_F_INDIRECT_DESC"));
        r.add(new Row("VIRTIO_RING_F_EVENT_IDX", VirtioFeatures.RING_EVENT_IDX, "VIRTIO_RING_F_EVENT_IDX"));
        r.add(new Row("VIRTIO_F_VERSION_1", VirtioFeatures.VERSION_1, "VIRTIO_F_VERSION_1"));
        r.add(new Row("VIRTIO_F_RING_PACKED", VirtioFeatures.RING_PACKED, "VIRTIO_F_RING_PACKED"));
        r.add(new Row("VRING_DESC_F_NEXT", SplitVirtqueue.VRING_DESC_F_NEXT, "VRING_DESC_F_NEXT"));
        r.add(new Row("VRING_DESC_F_WRITE", SplitVirtqueue.VRING_DESC_F_WRITE, "VRING_DESC_F_WRITE"));
        r.add(new Row("VRING_DESC_F_INDIRECT", SplitVirtqueue.VRING_DESC_F_INDIRECT, "VRING_DESC_F_INDIRECT"));
        r.add(new Row("VRING_USED_F_NO_NOTIFY", SplitVirtqueue.VRING_USED_F_NO_NOTIFY, "VRING_USED_F_NO_NOTIFY"));
        r.add(new Row("VRING_AVAIL_F_NO_INTERRUPT", SplitVirtqueue.VRING_AVAIL_F_NO_INTERRUPT, "VRING_AVAIL_F_NO_INTERRUPT"));
        r.add(new Row("desc size", SplitVirtqueue.DESC_SIZE, "sizeof(struct vring_desc)"));
        r.add(new Row("desc addr", SplitVirtqueue.DESC_ADDR_OFFSET, "offsetof(struct vring_desc, addr)"));
        r.add(new Row("desc len", SplitVirtqueue.DESC_LEN_OFFSET, "offsetof(struct vring_desc, len)"));
        r.add(new Row("desc flags", SplitVirtqueue.DESC_FLAGS_OFFSET, "offsetof(struct vring_desc, flags)"));
        r.add(new Row("desc next", SplitVirtqueue.DESC_NEXT_OFFSET, "offsetof(struct vring_desc, next)"));
        r.add(new Row("avail flags", SplitVirtqueue.AVAIL_FLAGS_OFFSET, "offsetof(struct vring_avail, flags)"));
        r.add(new Row("avail idx", SplitVirtqueue.AVAIL_IDX_OFFSET, "offsetof(struct vring_avail, idx)"));
        r.add(new Row("avail ring", SplitVirtqueue.AVAIL_RING_OFFSET, "offsetof(struct vring_avail, ring)"));
        r.add(new Row("used flags", SplitVirtqueue.USED_FLAGS_OFFSET, "offsetof(struct vring_used, flags)"));
        r.add(new Row("used idx", SplitVirtqueue.USED_IDX_OFFSET, "offsetof(struct vring_used, idx)"));
        r.add(new Row("used ring", SplitVirtqueue.USED_RING_OFFSET, "offsetof(struct vring_used, ring)"));
        r.add(new Row("used elem size", SplitVirtqueue.USED_ELEM_SIZE, "sizeof(struct vring_used_elem)"));
        r.add(new Row("used elem id", SplitVirtqueue.USED_ELEM_ID_OFFSET, "offsetof(struct vring_used_elem, id)"));
        r.add(new Row("used elem len", SplitVirtqueue.USED_ELEM_LEN_OFFSET, "offsetof(struct vring_used_elem, len)"));
        // used_event / avail_event positions for a 256-entry ring (vring_used_event / vring_avail_event macros).
        r.add(new Row("used_event@256", SplitVirtqueue.availRingBytes(256) - 2,
                "({ struct vring v; vring_init(&v, 256, (void *) 0, 4096); (long) ((char *) &vring_used_event(&v) - (char *) v.avail); })"));
        r.add(new Row("avail_event@256", SplitVirtqueue.usedRingBytes(256) - 2,
                "({ struct vring v; vring_init(&v, 256, (void *) 0, 4096); (long) ((char *) &vring_avail_event(&v) - (char *) v.used); })"));
        return r;
    }

    @Test
    void everyValueMatchesTheHeaders() throws Exception {
        List<Row> rows = rows();
        Path dir = Path.of(VirtioLayoutTest.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent().resolve("virtio-layout");
        Files.createDirectories(dir);
        StringBuilder c = new StringBuilder("""
                #include <stddef.h>
                #include <stdio.h>
                #include <linux/virtio_blk.h>
                #include <linux/virtio_ring.h>
                #include <linux/virtio_config.h>
                #define P(name, expr) printf("%s=%lld\\n", name, (long long) (expr))
                int main(void) {
                """);
        for (Row r : rows) c.append("    P(\"").append(r.name()).append("\", ").append(r.c()).append(");\n");
        c.append("    return 0;\n}\n");
        Files.writeString(dir.resolve("layout.c"), c);
        run(dir, "gcc", "-std=gnu11", "-Wall", "-Werror", "-o", "layout", "layout.c");
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : run(dir, dir.resolve("layout").toString()).split("\n")) {
            if (line.isBlank()) continue;
            int eq = line.lastIndexOf('=');
            values.put(line.substring(0, eq), Long.parseLong(line.substring(eq + 1)));
        }
        List<String> bad = new ArrayList<>();
        for (Row r : rows) {
            Long v = values.get(r.name());
            if (v == null || v != r.javaValue()) bad.add(r.name() + ": Java " + r.javaValue() + ", C " + v);
        }
        assertEquals(rows.size(), values.size());
        assertTrue(bad.isEmpty(), "mismatches with the installed headers:\n  " + String.join("\n  ", bad));
    }

    private static String run(Path dir, String... command) throws Exception {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + out);
        return out;
    }
}
