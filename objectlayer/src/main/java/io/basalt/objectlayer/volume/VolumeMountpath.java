package io.basalt.objectlayer.volume;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.Reactor;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.objectlayer.store.Mountpath;
import io.basalt.objectlayer.store.ObjectMeta;
import io.basalt.objectlayer.store.Xxhash64;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A mountpath that is a log-structured object store on a {@link BlockDevice} (a RAID5 volume in production), in the
 * format of docs/objects.md ("The volume-mountpath store"): objects are records appended to fixed-size segments in
 * whole stripes by one {@link LogWriter}, found through an in-memory {@link VolumeIndex} rebuilt at open from a
 * checkpoint and the log ({@link Recovery}), and compacted in the background ({@link Compactor}). All block I/O runs
 * on the given {@link Reactor}; callers' threads park until it completes. The device stays the caller's: close does
 * not close it.
 */
public final class VolumeMountpath implements Mountpath {
    private static final long GIB = 1L << 30;
    private static final int CHUNK_BYTES_MAX = 1 << 20;
    /** A tagging retries when the version it was made from was replaced first (a PUT outside the store's lock). */
    private static final int TAGGING_ATTEMPTS = 8;

    /**
     * @param segmentBytesMin      a segment's size before rounding up to whole stripes (8 MiB in production)
     * @param weight               the HRW weight; <= 0: the volume's size in GiB
     * @param checkpointEveryBytes a checkpoint after this much log (and at close)
     * @param background           run checkpoints and compaction on a maintenance thread (tests may drive them)
     */
    public record Options(long segmentBytesMin, double weight, long checkpointEveryBytes, boolean background) {
        public static Options defaults() {
            return new Options(8L << 20, 0, 256L << 20, true);
        }

        public Options withSegmentBytes(long bytes) {
            return new Options(bytes, weight, checkpointEveryBytes, background);
        }

        public Options withBackground(boolean on) {
            return new Options(segmentBytesMin, weight, checkpointEveryBytes, on);
        }

        public Options withCheckpointEveryBytes(long bytes) {
            return new Options(segmentBytesMin, weight, bytes, background);
        }
    }

    /**
     * A record read back and checked, with its inline data (a view of {@code buffer}, valid until the Read is given
     * back with {@link #release}).
     */
    record Read(LogRecord record, ByteBuffer data, MemorySegment buffer) {}

    private final BlockDevice device;
    private final VolumeLayout layout;
    private final VolumeIo io;
    private final VolumeIndex index;
    private final Segments segments;
    private final LogWriter log;
    private final Compactor compactor;
    private final ReadBuffers readBuffers;
    private final double weight;
    private final int chunkBytes;
    private final AtomicLong putIds = new AtomicLong();
    private final Recovery.State recovered;

    private VolumeMountpath(BlockDevice device, VolumeLayout layout, VolumeIo io, Recovery.State state,
                            Options options) {
        this.device = device;
        this.layout = layout;
        this.io = io;
        this.recovered = state;
        this.index = state.index();
        this.segments = state.segments();
        this.log = new LogWriter(layout, io, index, segments, state.free(), state.lastSegmentSeq(),
                state.nextRecordSeq(), state.lastBucketId(), device.name());
        this.weight = options.weight() > 0 ? options.weight() : Math.max(1.0, (double) layout.volumeBytes() / GIB);
        this.chunkBytes = (int) Math.min(CHUNK_BYTES_MAX, layout.segmentBytes() / 4 / layout.blockBytes()
                * layout.blockBytes());
        this.putIds.set(state.nextRecordSeq() << 16);
        this.compactor = new Compactor(this, state.checkpointSeq(), options);
        this.readBuffers = new ReadBuffers(io);
    }

    /**
     * Opens the store on {@code device} (formatting it when neither superblock copy is valid), recovers its index
     * and writes a checkpoint when the log had records after the last one.
     */
    public static VolumeMountpath open(BlockDevice device, Reactor reactor, Options options) throws IOException {
        VolumeIo io = new VolumeIo(reactor, device);
        try {
            MemorySegment head = io.buffer(2L * io.blockBytes());
            io.read(0, head);
            VolumeLayout layout = readSuperblock(head, io.blockBytes());
            if (layout == null) {
                refuseForeignData(device, head);
                layout = format(io, device, options);
            }
            if (layout.blockBytes() != io.blockBytes() || layout.volumeBytes() > device.geometry().sizeBytes()) {
                throw new IOException(device.name() + ": superblock for " + layout.volumeBytes() + " bytes of "
                        + layout.blockBytes() + "-byte blocks does not match the device");
            }
            VolumeMountpath mp = new VolumeMountpath(device, layout, io, Recovery.recover(layout, io), options);
            if (mp.recovered.replayedRecords() > 0 || !mp.recovered.fromCheckpoint()) mp.compactor.checkpoint();
            mp.compactor.start();
            return mp;
        } catch (IOException | RuntimeException e) {
            io.close();
            throw e;
        }
    }

    private static VolumeLayout readSuperblock(MemorySegment two, int blockBytes) {
        VolumeLayout a = VolumeLayout.decode(two.asByteBuffer());
        return a != null ? a : VolumeLayout.decode(two.asByteBuffer().position(blockBytes));
    }

    /**
     * Formats only a blank device: one whose first two blocks (where the superblocks go) are zeroes, as a new RAID
     * volume or sparse file is. Anything else there (a file system, a partition table, a torn store) is somebody's
     * data, refused with what to do.
     */
    private static void refuseForeignData(BlockDevice device, MemorySegment head) throws IOException {
        long firstNonZero = head.mismatch(MemorySegment.ofArray(new byte[(int) head.byteSize()]));
        if (firstNonZero >= 0) {
            throw new IOException(device.name() + " holds data that is not a Basalt object store (byte " + firstNonZero
                    + " of its first " + head.byteSize() + " is not zero and there is no store superblock); wipe the"
                    + " first blocks (blkdiscard, or write zeroes) to make a store of it");
        }
    }

    private static VolumeLayout format(VolumeIo io, BlockDevice device, Options options) throws IOException {
        VolumeLayout layout = VolumeLayout.plan(device.geometry(), options.segmentBytesMin(), new SecureRandom().nextLong(),
                System.currentTimeMillis());
        MemorySegment area = io.buffer(layout.checkpointAOffset());
        byte[] sb = layout.encode();
        MemorySegment.copy(MemorySegment.ofArray(sb), 0, area, 0, sb.length);
        MemorySegment.copy(MemorySegment.ofArray(sb), 0, area, layout.blockBytes(), sb.length);
        io.write(0, area);
        io.flush();
        return layout;
    }

    // ---- for the package

    VolumeLayout layout() {
        return layout;
    }

    VolumeIo io() {
        return io;
    }

    VolumeIndex index() {
        return index;
    }

    Segments segments() {
        return segments;
    }

    LogWriter log() {
        return log;
    }

    /** What open found: whether a checkpoint was loaded and how many records were replayed after it. */
    Recovery.State recovered() {
        return recovered;
    }

    int chunkBytes() {
        return chunkBytes;
    }

    /**
     * Reads the record at {@code location} ({@code blocks} long) into a pooled buffer and checks its header and data;
     * the caller gives the Read back with {@link #release} once done with its data.
     */
    Read readRecord(long location, int blocks) throws IOException {
        long bytes = (long) blocks * layout.blockBytes();
        MemorySegment pooled = readBuffers.take(bytes);
        MemorySegment buf = pooled.asSlice(0, bytes);
        io.read(layout.byteOffset(location), buf); // failed: the buffer is not given back, the read may still land
        try {
            return verified(location, buf, pooled);
        } catch (IOException | RuntimeException e) {
            readBuffers.give(pooled);
            throw e;
        }
    }

    /** Gives a Read's buffer back to the pool (null: nothing); its data must not be used after. */
    void release(Read read) {
        if (read != null) readBuffers.give(read.buffer());
    }

    ReadBuffers readBuffers() {
        return readBuffers;
    }

    private Read verified(long location, MemorySegment buf, MemorySegment pooled) throws IOException {
        ByteBuffer all = buf.asByteBuffer();
        LogRecord r = LogRecord.decode(all);
        int segment = VolumeLayout.segmentOf(location);
        if (r == null || r.segmentSeq() != segments.seq.get(segment)) {
            throw new IOException("no valid record at segment " + segment + " block " + VolumeLayout.blockOf(location)
                    + " of " + device.name());
        }
        if (r.headerBytes() + r.dataBytes() > buf.byteSize()) throw new IOException("record longer than expected");
        ByteBuffer data = all.slice(r.headerBytes(), (int) r.dataBytes());
        if (new Xxhash64().update(data.duplicate()).digest() != r.dataXxhash64()) {
            throw new IOException("data of the record at segment " + segment + " block " + VolumeLayout.blockOf(location)
                    + " of " + device.name() + " fails its xxhash64 check");
        }
        return new Read(r, data, pooled);
    }

    // ---- status and maintenance (tests, operators)

    public int segmentCount() {
        return layout.segmentCount();
    }

    public long segmentBytes() {
        return layout.segmentBytes();
    }

    public int freeSegments() {
        return log.freeSegments();
    }

    public long objectCount() {
        return index.objects.size();
    }

    /** Writes a checkpoint now. */
    public void checkpoint() throws IOException {
        compactor.checkpoint();
    }

    Compactor compactor() {
        return compactor;
    }

    /** A checkpoint, then compaction of every segment worth it: returns the segments freed. */
    public int maintain() throws IOException {
        compactor.checkpoint();
        return compactor.compact();
    }

    // ---- Mountpath

    @Override
    public long id() {
        return layout.mountpathId();
    }

    @Override
    public double weight() {
        return weight;
    }

    @Override
    public String describe() {
        return "volume " + device.name();
    }

    @Override
    public void createBucket(String bucket, long createdMs) throws IOException {
        submitIo(new LogOps.BucketCreate(bucket, createdMs));
    }

    @Override
    public boolean hasBucket(String bucket) {
        return index.buckets.containsKey(bucket);
    }

    @Override
    public long bucketCreatedMs(String bucket) throws IOException {
        VolumeIndex.Bucket b = index.buckets.get(bucket);
        if (b == null) throw new IOException("no bucket " + bucket + " on " + describe());
        return b.createdMs();
    }

    @Override
    public List<String> bucketNames() {
        return index.buckets.keySet().stream().sorted().toList();
    }

    @Override
    public void deleteBucket(String bucket) throws IOException {
        int id = index.bucketId(bucket);
        if (id > 0) submitIo(new LogOps.BucketDelete(id));
    }

    private void submitIo(LogOps.Op op) throws IOException {
        try {
            log.submit(op);
        } catch (StoreException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    @Override
    public ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException {
        int id = bucketIdOrFail(bucket);
        return new VolumeObjectWriter(this, id, bucket, key, key.getBytes(StandardCharsets.UTF_8), options,
                putIds.incrementAndGet());
    }

    private int bucketIdOrFail(String bucket) throws StoreException {
        int id = index.bucketId(bucket);
        if (id < 0) throw new StoreException(Code.NO_SUCH_BUCKET, "The specified bucket does not exist: " + bucket);
        return id;
    }

    @Override
    public ObjectInfo head(String bucket, String key) throws StoreException {
        try (ObjectReader r = open(bucket, key)) {
            return r.info();
        }
    }

    /**
     * Tags by a METADATA record: the current version's metadata with the new tags, written and flushed through the
     * log writer like a commit, applied only over the version it was made from (the store's per-key commit lock keeps
     * PUTs of the key out meanwhile; should one come first anyway, this reads the new version and tries again). No
     * data is copied; ETag, size and Last-Modified stay. Recovery and checkpoints carry the record's location, and
     * compaction folds the newest metadata into the COMMIT it writes when it moves the object.
     */
    @Override
    public void setTags(String bucket, String key, Map<String, String> tags) throws StoreException {
        int id = bucketIdOrFail(bucket);
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        for (int attempt = 0; attempt < TAGGING_ATTEMPTS; attempt++) {
            ObjectInfo info;
            long version;
            try (VolumeObjectReader current = openReader(bucket, key)) {
                info = current.info();
                version = current.entry().version;
            }
            ObjectMeta meta = new ObjectMeta(key, info.sizeBytes(), info.etag(), info.xxhash64(), info.lastModifiedMs(),
                    info.contentType(), info.userMetadata(), tags);
            if ((Boolean) log.submit(new LogOps.Metadata(id, keyBytes, version, meta))) return;
        }
        throw new StoreException(Code.INTERNAL_ERROR, "tagging " + bucket + "/" + key + " on " + describe()
                + ": the object changed under each of " + TAGGING_ATTEMPTS + " attempts");
    }

    /** Pins the object's segments, reads and checks its commit record; the reader checks each extent as read. */
    @Override
    public ObjectReader open(String bucket, String key) throws StoreException {
        return openReader(bucket, key);
    }

    private VolumeObjectReader openReader(String bucket, String key) throws StoreException {
        byte[] ik = VolumeIndex.indexKey(bucketIdOrFail(bucket), key.getBytes(StandardCharsets.UTF_8));
        VolumeIndex.Entry e = pinned(ik, key);
        Read c = null;
        try {
            byte[] keyBytes = VolumeIndex.keyOf(ik);
            c = readRecord(e.location, e.recordBlocks);
            LogRecord r = c.record();
            checkRecord(r, LogRecord.COMMIT, e.commitVersion(), keyBytes, e.location, bucket, key);
            byte[] metaBytes = r.meta();
            if (e.metaLocation() != VolumeIndex.NO_META) {
                Read m = readRecord(e.metaLocation(), e.metaBlocks());
                release(m); // its header (with the metadata) was decoded into arrays
                checkRecord(m.record(), LogRecord.METADATA, e.version, keyBytes, e.metaLocation(), bucket, key);
                metaBytes = m.record().meta();
            }
            ObjectInfo info = ObjectMeta.parseAll(metaBytes).getFirst().info(bucket);
            return new VolumeObjectReader(this, info, e, c);
        } catch (IOException | RuntimeException ex) {
            release(c);
            segments.unpin(e);
            throw new StoreException(Code.INTERNAL_ERROR, "GET " + bucket + "/" + key + " on " + describe() + ": " + ex,
                    ex);
        }
    }

    private static void checkRecord(LogRecord r, int type, long version, byte[] keyBytes, long location, String bucket,
                                    String key) throws IOException {
        if (r.type() != type || r.version() != version || !Arrays.equals(r.key(), keyBytes)) {
            throw new IOException("the record at " + location + " is not " + bucket + "/" + key);
        }
    }

    /**
     * The key's entry with its segments pinned. Pin, then check the index still names it: a compaction that moved
     * it meanwhile frees the old segments only once no pin is left, and a reader that pinned too late sees the move.
     */
    private VolumeIndex.Entry pinned(byte[] ik, String key) throws StoreException {
        while (true) {
            VolumeIndex.Entry e = index.objects.get(ik);
            if (e == null) throw new StoreException(Code.NO_SUCH_KEY, "The specified key does not exist: " + key);
            segments.pin(e);
            if (index.objects.get(ik) == e) return e;
            segments.unpin(e);
        }
    }

    @Override
    public void delete(String bucket, String key) throws StoreException {
        int id = index.bucketId(bucket);
        if (id < 0) return;
        byte[] keyBytes = key.getBytes(StandardCharsets.UTF_8);
        if (!index.objects.containsKey(VolumeIndex.indexKey(id, keyBytes))) return;
        log.submit(new LogOps.Tombstone(id, keyBytes));
    }

    @Override
    public Walk list(String bucket, byte[] prefix, byte[] startAfter) {
        int id = index.bucketId(bucket);
        if (id < 0) return new IndexWalk(bucket, Map.<byte[], VolumeIndex.Entry>of().entrySet().iterator(), prefix);
        boolean afterFirst = startAfter != null && Arrays.compareUnsigned(startAfter, prefix) >= 0;
        byte[] from = VolumeIndex.indexKey(id, afterFirst ? startAfter : prefix);
        return new IndexWalk(bucket, index.objects.tailMap(from, !afterFirst).entrySet().iterator(),
                VolumeIndex.indexKey(id, prefix));
    }

    /** A walk of the index from a start key while keys keep the prefix. */
    private static final class IndexWalk implements Walk {
        private final String bucket;
        private final Iterator<Map.Entry<byte[], VolumeIndex.Entry>> entries;
        private final byte[] prefix;
        private Item next;
        private boolean done;

        IndexWalk(String bucket, Iterator<Map.Entry<byte[], VolumeIndex.Entry>> entries, byte[] prefix) {
            this.bucket = bucket;
            this.entries = entries;
            this.prefix = prefix;
        }

        @Override
        public boolean hasNext() {
            if (next == null && !done && entries.hasNext()) {
                Map.Entry<byte[], VolumeIndex.Entry> m = entries.next();
                byte[] k = m.getKey();
                if (k.length >= prefix.length && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length)) {
                    VolumeIndex.Entry e = m.getValue();
                    next = new Item(VolumeIndex.keyOf(k), new ObjectInfo(bucket, VolumeIndex.keyString(k), e.sizeBytes,
                            e.etag(), e.xxhash64, e.mtimeMs, "", Map.of()));
                } else {
                    done = true;
                }
            }
            return next != null;
        }

        @Override
        public Item next() {
            if (!hasNext()) throw new NoSuchElementException();
            Item out = next;
            next = null;
            return out;
        }
    }

    @Override
    public StoreException failure(String what, IOException e) {
        boolean full = e.getCause() instanceof StoreException se && se.code() == Code.STORAGE_FULL;
        return new StoreException(full ? Code.STORAGE_FULL : Code.INTERNAL_ERROR, what + " on " + describe() + ": " + e,
                e);
    }

    /** Stops maintenance, writes a last checkpoint, stops the log writer and closes the channel (not the device). */
    @Override
    public void close() {
        compactor.close();
        log.close();
        io.close();
    }

    /** Tests: stops as a crash would, with no last checkpoint (what was flushed stays, the rest is the device's). */
    void closeWithoutCheckpoint() {
        compactor.stop();
        log.close();
        io.close();
    }
}
