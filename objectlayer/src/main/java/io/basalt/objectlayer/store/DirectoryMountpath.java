package io.basalt.objectlayer.store;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.security.SecureRandom;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A mountpath that is a directory of a local file system, in the open layout of docs/objects.md ("Layout on disk"):
 * <pre>
 * ROOT/.basalt-mountpath          "id 0123456789abcdef": the persisted id HRW placement hashes
 * ROOT/.tmp/                      PUTs in progress (emptied at open)
 * ROOT/@s3/BUCKET/%meta           "created MS"
 * ROOT/@s3/BUCKET/%ob/DIR%d/FILE  the object BUCKET/DIR/FILE (names escaped by {@link Names})
 * </pre>
 * Metadata lives in the user.basalt.meta xattr of the object's file, or, where the file system has no user xattrs
 * (or a record is too large for one), in a sidecar FILE%m next to it. Thread-safe: all state is immutable but the test
 * fault hook; concurrent PUTs of one key meet only in an atomic rename (or, for sidecars, a striped lock).
 */
public final class DirectoryMountpath implements Mountpath {
    static final String ID_FILE = ".basalt-mountpath";
    static final String TMP_DIR = ".tmp";
    static final String S3_DIR = "@s3";
    static final String OBJECTS_DIR = "%ob";
    static final String BUCKET_META = "%meta";
    /** A hashed directory keeps its whole segment here (the name holds only a prefix and a hash). */
    static final String SEGMENT_FILE = ".segment";
    /** Linux's user namespace is implied by Java's view: this is the xattr user.basalt.meta. */
    static final String XATTR_NAME = "basalt.meta";
    /** ext4 gives all of a file's xattrs one block (4 KiB with its headers); larger records go to a sidecar. */
    static final int XATTR_VALUE_BYTES_MAX = 3072;
    private static final long GIB = 1L << 30;
    /** A reader that meets a concurrent replace (metadata of one version, data of the next) tries again. */
    private static final int OPEN_ATTEMPTS = 3;
    private static final int VERIFY_BUFFER_BYTES = 256 * 1024;
    private static final int VERIFY_BUFFERS_MAX = 8;
    private static final String ENOSPC = "No space left on device";

    private final Path root;
    private final long id;
    private final boolean xattrs;
    private final double weight;
    /** False only for tests and scratch data: skips every fsync (a crash may then lose or tear recent PUTs). */
    private final boolean sync;
    /** Test hook: a PUT's data writes fail with ENOSPC past this many bytes of one object. */
    private volatile long writeFaultAfterBytes = Long.MAX_VALUE;
    private final AtomicLong tempCounter = new AtomicLong();
    private final StripedLocks locks = new StripedLocks();
    /** Direct buffers GETs verify objects through, reused; bounded (more concurrent verifies allocate and drop). */
    private final java.util.concurrent.ArrayBlockingQueue<ByteBuffer> verifyBuffers =
            new java.util.concurrent.ArrayBlockingQueue<>(VERIFY_BUFFERS_MAX);
    private final VerifiedVersions verifiedVersions = new VerifiedVersions();

    private DirectoryMountpath(Path root, long id, boolean xattrs, double weight, boolean sync) {
        this.sync = sync;
        this.root = root;
        this.id = id;
        this.xattrs = xattrs;
        this.weight = weight;
    }

    /** Opens (creating if new) the mountpath at {@code root}; {@code weight} <= 0 means its capacity in GiB. */
    public static DirectoryMountpath open(Path root, double weight, boolean allowXattrs) throws IOException {
        return open(root, weight, allowXattrs, true);
    }

    /** @param sync  false skips fsyncs: for tests and scratch data only, a crash may lose or tear recent PUTs */
    public static DirectoryMountpath open(Path root, double weight, boolean allowXattrs, boolean sync)
            throws IOException {
        Path dir = root.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "mountpath is not a directory");
        Files.createDirectories(dir.resolve(S3_DIR));
        Path tmp = dir.resolve(TMP_DIR);
        Files.createDirectories(tmp);
        clearTmp(tmp);
        long id = readOrCreateId(dir);
        boolean xattrs = allowXattrs && probeXattrs(tmp);
        double w = weight > 0 ? weight : Math.max(1.0, (double) Files.getFileStore(dir).getTotalSpace() / GIB);
        return new DirectoryMountpath(dir, id, xattrs, w, sync);
    }

    @Override
    public String describe() {
        return root.toString();
    }

    public Path root() {
        return root;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public double weight() {
        return weight;
    }

    public boolean usesXattrs() {
        return xattrs;
    }

    boolean sync() {
        return sync;
    }

    void syncDir(Path dir) throws IOException {
        if (sync) fsyncDir(dir);
    }

    private void writeFile(Path file, byte[] content) throws IOException {
        writeDurably(file, content, sync);
    }

    void setWriteFaultAfterBytes(long bytes) {
        writeFaultAfterBytes = bytes;
    }

    long writeFaultAfterBytes() {
        return writeFaultAfterBytes;
    }

    Path bucketDir(String bucket) {
        return root.resolve(S3_DIR).resolve(bucket);
    }

    Path objectsDir(String bucket) {
        return bucketDir(bucket).resolve(OBJECTS_DIR);
    }

    /** The file of the object, whether or not it exists. */
    Path objectPath(String bucket, List<byte[]> segments) {
        Path p = objectsDir(bucket);
        for (int i = 0; i < segments.size() - 1; i++) p = p.resolve(Names.dirName(segments.get(i)));
        return p.resolve(Names.fileName(segments.getLast()));
    }

    Path newTempFile() {
        // unique within the process by the counter, across restarts because .tmp is emptied at open
        return root.resolve(TMP_DIR).resolve("put-" + Long.toHexString(tempCounter.incrementAndGet()));
    }

    // ---- buckets

    @Override
    public void createBucket(String bucket, long createdMs) throws IOException {
        Files.createDirectories(objectsDir(bucket));
        Path meta = bucketDir(bucket).resolve(BUCKET_META);
        if (!Files.exists(meta)) writeFile(meta, ("created " + createdMs + "\n").getBytes(StandardCharsets.UTF_8));
        syncDir(root.resolve(S3_DIR));
    }

    @Override
    public boolean hasBucket(String bucket) {
        return Files.isDirectory(objectsDir(bucket));
    }

    @Override
    public long bucketCreatedMs(String bucket) throws IOException {
        String text = Files.readString(bucketDir(bucket).resolve(BUCKET_META), StandardCharsets.UTF_8).trim();
        return Long.parseLong(text.substring(text.indexOf(' ') + 1));
    }

    @Override
    public List<String> bucketNames() throws IOException {
        try (Stream<Path> s = Files.list(root.resolve(S3_DIR))) {
            return s.filter(p -> Files.isDirectory(p.resolve(OBJECTS_DIR))).map(p -> p.getFileName().toString())
                    .sorted().toList();
        }
    }

    /** Removes the bucket's tree: first renamed into .tmp (gone at once, atomically), then deleted. */
    @Override
    public void deleteBucket(String bucket) throws IOException {
        Path dir = bucketDir(bucket);
        if (!Files.exists(dir)) return;
        Path doomed = root.resolve(TMP_DIR).resolve("deleted-" + bucket + "-" + Long.toHexString(System.nanoTime()));
        Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
        syncDir(root.resolve(S3_DIR));
        deleteTree(doomed);
    }

    // ---- objects

    @Override
    public ObjectWriter create(String bucket, String key, PutOptions options) throws StoreException {
        return new DirectoryWriter(this, locks, bucket, key, Names.segments(Names.keyBytes(key)), options);
    }

    @Override
    public ObjectInfo head(String bucket, String key) throws StoreException {
        Path file = objectPath(bucket, Names.segments(Names.keyBytes(key)));
        try {
            ObjectMeta meta = matching(readMeta(file), Files.size(file));
            if (!meta.key().equals(key)) throw noSuchKey(key);
            return meta.info(bucket);
        } catch (NoSuchFileException e) {
            throw missing(bucket, key, e);
        } catch (IOException e) {
            throw failure("HEAD " + bucket + "/" + key, e);
        }
    }

    /**
     * Verifies the object's xxhash64 over the whole file before a byte is served, so a reader can hand the file to
     * sendfile ({@link ObjectReader#file()}) and a corrupt object is an InternalError, never bad bytes.
     */
    @Override
    public ObjectReader open(String bucket, String key) throws StoreException {
        Path file = objectPath(bucket, Names.segments(Names.keyBytes(key)));
        try {
            for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
                ObjectReader reader = openVersion(file, bucket, key);
                if (reader != null) return reader;
            }
            throw new StoreException(Code.INTERNAL_ERROR, "object " + bucket + "/" + key + " kept changing during open");
        } catch (NoSuchFileException e) {
            throw missing(bucket, key, e);
        } catch (IOException e) {
            throw failure("GET " + bucket + "/" + key, e);
        }
    }

    /**
     * One try at opening the file's current version: stat, open, stat (the same version before and after the open:
     * the channel reads that version's bytes). A version checked recently ({@link VerifiedVersions}) with its xattr
     * record costs just that; otherwise the metadata is read between the stats and the content verified (or its hash
     * taken from the remembered check). Null when metadata and data disagreed, as across a concurrent replace.
     */
    private ObjectReader openVersion(Path file, String bucket, String key) throws IOException, StoreException {
        long readStartMs = System.currentTimeMillis();
        VerifiedVersions.Version before = VerifiedVersions.Version.of(file);
        ObjectMeta remembered = verifiedVersions.xattrRecord(before);
        Stored stored = remembered != null ? null : readStored(file);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            VerifiedVersions.Version version = before.equals(VerifiedVersions.Version.of(file)) ? before : null;
            ObjectMeta verified = remembered;
            if (version == null || remembered == null) {
                if (stored == null) stored = readStored(file);
                verified = verifyOnce(channel, stored, version, readStartMs);
            }
            if (verified != null && verified.key().equals(key)) {
                ObjectReader reader = new DirectoryReader(channel, verified.info(bucket));
                channel = null; // the reader owns it now
                return reader;
            }
            if (verified != null) throw noSuchKey(key); // a hashed name's 2^-64 collision: not this key
            if (readMeta(file).equals(stored.records())) {
                throw new StoreException(Code.INTERNAL_ERROR, "object " + bucket + "/" + key + " on mountpath "
                        + root + " fails its xxhash64 check");
            }
            return null;
        } finally {
            if (channel != null) channel.close();
        }
    }

    /**
     * {@link #verify}, unless this file version was checked recently ({@link VerifiedVersions}): then the record its
     * content was found to match, without reading it again. A version verified now is remembered, with its record when
     * that came from the xattr.
     */
    private ObjectMeta verifyOnce(FileChannel channel, Stored stored, VerifiedVersions.Version version,
                                  long readStartMs) throws IOException {
        Long known = version == null ? null : verifiedVersions.xxhash64(version);
        if (known != null) {
            for (ObjectMeta m : stored.records()) {
                if (m.sizeBytes() == version.sizeBytes() && m.xxhash64() == known) return m;
            }
        }
        ObjectMeta found = verify(channel, stored.records());
        if (found != null && version != null && found.sizeBytes() == version.sizeBytes()) {
            verifiedVersions.remember(version, found.xxhash64(), stored.inXattr() ? found : null, readStartMs);
        }
        return found;
    }

    /** For tests: what GETs remembered. */
    VerifiedVersions verifiedVersions() {
        return verifiedVersions;
    }

    /** Test hook: the next GET of every object reads and checks it whole again. */
    void forgetVerifiedVersions() {
        verifiedVersions.clear();
    }

    /**
     * The record whose size and xxhash64 the file's whole content matches; null if none. Reads into a pooled direct
     * buffer: a heap buffer per GET cost a 256 KiB allocation and the JDK's copy through its own temporary direct
     * buffer (the bench profile: 32% and 18% of the verify).
     */
    private ObjectMeta verify(FileChannel channel, List<ObjectMeta> records) throws IOException {
        Xxhash64 hash = new Xxhash64();
        ByteBuffer pooled = verifyBuffers.poll();
        ByteBuffer buf = pooled != null ? pooled : ByteBuffer.allocateDirect(VERIFY_BUFFER_BYTES);
        long position = 0;
        try {
            for (int n; (n = channel.read(buf.clear(), position)) > 0; position += n) hash.update(buf.flip());
        } finally {
            verifyBuffers.offer(buf); // dropped when the pool is full
        }
        long digest = hash.digest();
        for (ObjectMeta m : records) {
            if (m.sizeBytes() == position && m.xxhash64() == digest) return m;
        }
        return null;
    }

    @Override
    public void delete(String bucket, String key) throws StoreException {
        List<byte[]> segments = Names.segments(Names.keyBytes(key));
        try {
            deleteFile(bucket, segments);
        } catch (IOException e) {
            throw failure("DELETE " + bucket + "/" + key, e);
        }
    }

    @Override
    public void setTags(String bucket, String key, Map<String, String> tags) throws StoreException {
        Path file = objectPath(bucket, Names.segments(Names.keyBytes(key)));
        try (StripedLocks.Held held = locks.hold(file.toString())) {
            ObjectMeta current = matching(readMeta(file), Files.size(file));
            if (!current.key().equals(key)) throw noSuchKey(key);
            replaceMeta(file, current.withTags(tags), current);
        } catch (NoSuchFileException e) {
            throw missing(bucket, key, e);
        } catch (IOException e) {
            throw failure("PUT tagging " + bucket + "/" + key, e);
        }
    }

    /**
     * Replaces an existing object's record, its data untouched: setxattr(2) replaces the value atomically; a record
     * that needs a sidecar is renamed into place as [new, current] (both describe the same data) before the xattr, if
     * any, is removed, so a crash in between leaves the xattr's old record, which readers take first.
     */
    private void replaceMeta(Path file, ObjectMeta updated, ObjectMeta current) throws IOException {
        byte[] record = updated.bytes();
        Path sidecar = file.resolveSibling(Names.sidecarName(file.getFileName().toString()));
        if (xattrs && record.length <= XATTR_VALUE_BYTES_MAX) {
            view(file).write(XATTR_NAME, ByteBuffer.wrap(record));
            if (sync) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                    ch.force(true); // makes the new xattr durable
                }
            }
            Files.deleteIfExists(sidecar); // left by an earlier, larger record; the xattr is read first anyway
            return;
        }
        Path tmp = newTempFile();
        writeFile(tmp, (updated.text() + "\n" + current.text()).getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, sidecar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDir(file.getParent());
        if (xattrs && view(file).list().contains(XATTR_NAME)) view(file).delete(XATTR_NAME);
    }

    @Override
    public Mountpath.Walk list(String bucket, byte[] prefix, byte[] startAfter) throws IOException {
        return new DirectoryWalker(this, bucket, prefix, startAfter);
    }

    @Override
    public void close() {
        // nothing held open: files are opened per request
    }

    /** A missing file is NoSuchKey only while the bucket's directory is there; a vanished one is an InternalError. */
    private StoreException missing(String bucket, String key, NoSuchFileException e) {
        if (!Files.isDirectory(objectsDir(bucket))) return failure("access " + bucket + "/" + key, e);
        return noSuchKey(key);
    }

    static StoreException noSuchKey(String key) {
        return new StoreException(Code.NO_SUCH_KEY, "The specified key does not exist: " + key);
    }


    /**
     * Makes the written temp file the object: metadata, then the rename over the final name, then an fsync of the
     * directory, so the object is visible only once durable and a reader sees the old version or the new one.
     */
    void commit(Path tmp, FileChannel data, String bucket, List<byte[]> segments, ObjectMeta meta,
                StripedLocks locks) throws IOException {
        byte[] record = meta.bytes();
        boolean inXattr = xattrs && record.length <= XATTR_VALUE_BYTES_MAX;
        if (inXattr) view(tmp).write(XATTR_NAME, ByteBuffer.wrap(record));
        // one fsync makes the data and the xattr durable before the rename can publish them
        if (sync) data.force(true);
        for (int attempt = 0; ; attempt++) {
            Path dir = ensureParents(bucket, segments);
            Path target = dir.resolve(Names.fileName(segments.getLast()));
            try {
                if (inXattr) {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } else {
                    commitWithSidecar(tmp, target, meta, locks);
                }
                syncDir(dir);
                return;
            } catch (NoSuchFileException e) {
                // a DELETE pruned the empty parent between ensureParents and the rename: make it again
                if (attempt >= 3 || !Files.exists(tmp)) throw e;
            }
        }
    }

    /**
     * The sidecar holds [new record, previous record] and is replaced before the data: a crash between the two
     * renames leaves the old data with a sidecar that still describes it (readers pick the record that matches).
     */
    private void commitWithSidecar(Path tmp, Path target, ObjectMeta meta, StripedLocks locks) throws IOException {
        Path sidecar = target.resolveSibling(Names.sidecarName(target.getFileName().toString()));
        try (StripedLocks.Held held = locks.hold(target.toString())) {
            String previous;
            try {
                previous = matching(readMeta(target), Files.size(target)).text();
            } catch (IOException e) {
                previous = ""; // no older version (or an unreadable one): nothing to fall back to
            }
            Path sidecarTmp = newTempFile();
            writeFile(sidecarTmp, (meta.text() + "\n" + previous).getBytes(StandardCharsets.UTF_8));
            Files.move(sidecarTmp, sidecar, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            syncDir(target.getParent());
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Creates the object's directories (a hashed one with its ".segment"), fsyncing each new one's parent. */
    private Path ensureParents(String bucket, List<byte[]> segments) throws IOException {
        Path dir = objectsDir(bucket);
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "no such bucket");
        for (int i = 0; i < segments.size() - 1; i++) {
            String name = Names.dirName(segments.get(i));
            Path child = dir.resolve(name);
            if (!Files.isDirectory(child)) {
                try {
                    Files.createDirectory(child);
                } catch (FileAlreadyExistsException e) {
                    // a concurrent PUT made it
                }
                if (name.contains(Names.HASH_MARK)) {
                    Path tmp = newTempFile();
                    writeFile(tmp, segments.get(i));
                    Files.move(tmp, child.resolve(SEGMENT_FILE), StandardCopyOption.ATOMIC_MOVE,
                            StandardCopyOption.REPLACE_EXISTING);
                    syncDir(child);
                }
                syncDir(dir);
            }
            dir = child;
        }
        return dir;
    }

    /** Removes the object (and its sidecar), then the directories it leaves empty; false if it was not there. */
    boolean deleteFile(String bucket, List<byte[]> segments) throws IOException {
        Path file = objectPath(bucket, segments);
        boolean existed = Files.deleteIfExists(file);
        Files.deleteIfExists(file.resolveSibling(Names.sidecarName(file.getFileName().toString())));
        if (!existed) return false;
        syncDir(file.getParent());
        Path stop = objectsDir(bucket);
        for (Path dir = file.getParent(); !dir.equals(stop); dir = dir.getParent()) {
            // hashed directories keep their .segment (and stay) so a racing PUT never sees one without it
            if (dir.getFileName().toString().contains(Names.HASH_MARK)) break;
            try {
                Files.delete(dir);
            } catch (DirectoryNotEmptyException | NoSuchFileException e) {
                break;
            }
        }
        return true;
    }

    /** The stored record(s): the xattr's one, else the sidecar's (current first). NoSuchFileException if gone. */
    List<ObjectMeta> readMeta(Path file) throws IOException {
        return readStored(file).records();
    }

    /** An object's stored record(s) and whether they came from its xattr (else from its sidecar). */
    record Stored(List<ObjectMeta> records, boolean inXattr) {}

    Stored readStored(Path file) throws IOException {
        if (xattrs) {
            UserDefinedFileAttributeView view = view(file);
            int size = -1;
            try {
                size = view.size(XATTR_NAME);
            } catch (FileSystemException e) {
                if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
            }
            if (size >= 0) {
                // room for any record we write: a concurrent rename may put a larger one there after size()
                ByteBuffer buf = ByteBuffer.allocate(Math.max(size, XATTR_VALUE_BYTES_MAX));
                int n = view.read(XATTR_NAME, buf);
                return new Stored(parse(file, java.util.Arrays.copyOf(buf.array(), n)), true);
            }
        }
        Path sidecar = file.resolveSibling(Names.sidecarName(file.getFileName().toString()));
        if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
        return new Stored(parse(file, Files.readAllBytes(sidecar)), false);
    }

    /** The record describing a file of this size: the current one unless a crash left the previous in place. */
    static ObjectMeta matching(List<ObjectMeta> records, long sizeBytes) {
        for (ObjectMeta m : records) {
            if (m.sizeBytes() == sizeBytes) return m;
        }
        return records.getFirst();
    }

    private static List<ObjectMeta> parse(Path file, byte[] stored) throws IOException {
        try {
            return ObjectMeta.parseAll(stored);
        } catch (IllegalArgumentException e) {
            throw new IOException("bad metadata of " + file + ": " + e.getMessage(), e);
        }
    }

    /** The whole segment of a hashed directory. */
    static byte[] readSegment(Path dir) throws IOException {
        return Files.readAllBytes(dir.resolve(SEGMENT_FILE));
    }

    // ---- file system helpers

    private static UserDefinedFileAttributeView view(Path file) throws IOException {
        UserDefinedFileAttributeView view = Files.getFileAttributeView(file, UserDefinedFileAttributeView.class);
        if (view == null) throw new IOException("no user xattrs on " + file);
        return view;
    }

    static void writeDurably(Path file, byte[] content, boolean sync) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) ch.write(buf);
            if (sync) ch.force(true);
        }
    }

    /** fsync(2) on the directory makes the names created, renamed or removed in it durable. */
    static void fsyncDir(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static boolean probeXattrs(Path tmp) {
        Path probe = tmp.resolve("xattr-probe");
        try {
            Files.write(probe, new byte[0]);
            UserDefinedFileAttributeView view = Files.getFileAttributeView(probe, UserDefinedFileAttributeView.class);
            if (view == null) return false;
            view.write(XATTR_NAME, ByteBuffer.wrap(new byte[] {1}));
            return view.size(XATTR_NAME) == 1;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // .tmp is emptied at the next open
            }
        }
    }

    private static long readOrCreateId(Path dir) throws IOException {
        Path idFile = dir.resolve(ID_FILE);
        if (Files.exists(idFile)) {
            String text = Files.readString(idFile, StandardCharsets.UTF_8).trim();
            return Long.parseUnsignedLong(text.substring(text.indexOf(' ') + 1), 16);
        }
        long id = new SecureRandom().nextLong();
        Path tmp = dir.resolve(TMP_DIR).resolve("id");
        writeDurably(tmp, String.format("id %016x%n", id).getBytes(StandardCharsets.UTF_8), true);
        Files.move(tmp, idFile, StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(dir);
        return id;
    }

    private static void clearTmp(Path tmp) throws IOException {
        try (Stream<Path> s = Files.list(tmp)) {
            for (Path p : s.toList()) deleteTree(p);
        }
    }

    static void deleteTree(Path top) throws IOException {
        if (!Files.exists(top)) return;
        try (Stream<Path> s = Files.walk(top)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /** An I/O failure as the S3 error it becomes: XBasaltStorageFull for ENOSPC, else InternalError. */
    @Override
    public StoreException failure(String what, IOException e) {
        boolean full = String.valueOf(e.getMessage()).contains(ENOSPC)
                || e instanceof FileSystemException fse && String.valueOf(fse.getReason()).contains(ENOSPC);
        return new StoreException(full ? Code.STORAGE_FULL : Code.INTERNAL_ERROR,
                what + " on mountpath " + root + ": " + e, e);
    }

    static IOException enospc(Path file) {
        return new FileSystemException(file.toString(), null, ENOSPC);
    }
}
