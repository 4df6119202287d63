package io.basalt.objectlayer.store;

import io.basalt.objectlayer.Multipart;
import io.basalt.objectlayer.ObjectStore.Condition;
import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectReader;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import io.basalt.objectlayer.StoreException;
import io.basalt.objectlayer.StoreException.Code;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Multipart uploads over any {@link Mountpath} kind (decision 38): an upload's state and its parts are ordinary
 * objects of the reserved bucket {@value #UPLOADS_BUCKET} (a '%' no S3 bucket name can hold, hidden from ListBuckets
 * and refused to S3 requests by {@link MountpathStore#bucketExists}), on the mountpath HRW picks for the final
 * (bucket, key), so Complete copies within one mountpath:
 * <pre>
 * s/BUCKET/UPLOADID          the state: an {@link ObjectMeta} record of the final object (key, initiated, content
 *                            type, x-amz-meta-*, tags) as the object's data
 * p/BUCKET/UPLOADID/00042    part 42 (five digits, so the walk's byte order is part order); its ETag is its MD5
 * </pre>
 * Both survive restarts like any object. Complete streams the parts in order into a normal PUT of the final key
 * (through {@link MountpathStore#create}, so the key's commit lock and a conditional PUT apply) with the ETag given,
 * then deletes the parts and the state. Part commits, Complete and Abort of one upload serialize on a lock striped by
 * upload id, so no part lands after its upload ended.
 */
final class MultipartUploads implements Multipart {
    static final String UPLOADS_BUCKET = "%uploads";
    private static final String STATE_PREFIX = "s/";
    private static final String PART_PREFIX = "p/";
    /** The state record's ETag field: the state is not an object anybody reads as one. */
    private static final String STATE_ETAG = "upload";
    private static final int UPLOAD_LOCK_STRIPES = 1024;
    private static final int COPY_CHUNK_BYTES = 1 << 20;
    /** 12 hex digits of the initiation time in ms (so ids sort by time), then 20 random ones. */
    private static final Pattern UPLOAD_ID = Pattern.compile("[0-9a-f]{32}");
    private static final int RANDOM_ID_BYTES = 10;

    private final MountpathStore store;
    private final StripedLocks uploadLocks = new StripedLocks(UPLOAD_LOCK_STRIPES);
    private final SecureRandom random = new SecureRandom();

    MultipartUploads(MountpathStore store) {
        this.store = store;
    }

    static String stateKey(String bucket, String uploadId) {
        return STATE_PREFIX + bucket + "/" + uploadId;
    }

    static String partPrefix(String bucket, String uploadId) {
        return PART_PREFIX + bucket + "/" + uploadId + "/";
    }

    static String partKey(String bucket, String uploadId, int partNumber) {
        return partPrefix(bucket, uploadId) + String.format("%05d", partNumber);
    }

    @Override
    public Upload create(String bucket, String key, PutOptions options) throws StoreException {
        Names.keyBytes(key);
        store.requireBucket(bucket);
        Mountpath mp = store.place(bucket, key);
        long now = System.currentTimeMillis();
        byte[] randomBytes = new byte[RANDOM_ID_BYTES];
        random.nextBytes(randomBytes);
        String uploadId = String.format("%012x", now) + HexFormat.of().formatHex(randomBytes);
        try {
            if (!mp.hasBucket(UPLOADS_BUCKET)) mp.createBucket(UPLOADS_BUCKET, now);
        } catch (IOException e) {
            throw mp.failure("create the uploads bucket", e);
        }
        ObjectMeta state = new ObjectMeta(key, 0, STATE_ETAG, 0, now, options.contentType(), options.userMetadata(),
                options.tags() == null ? Map.of() : options.tags());
        try (ObjectWriter w = mp.create(UPLOADS_BUCKET, stateKey(bucket, uploadId), PutOptions.none())) {
            w.write(ByteBuffer.wrap(state.bytes()));
            w.commit();
        }
        return new Upload(bucket, key, uploadId, now);
    }

    /** The upload's state; NoSuchUpload when it is not (or no longer) there, or belongs to another key. */
    private static ObjectMeta state(Mountpath mp, String bucket, String key, String uploadId) throws StoreException {
        if (uploadId == null || !UPLOAD_ID.matcher(uploadId).matches() || !mp.hasBucket(UPLOADS_BUCKET)) {
            throw noSuchUpload(uploadId);
        }
        ObjectMeta state;
        try (ObjectReader r = mp.open(UPLOADS_BUCKET, stateKey(bucket, uploadId))) {
            state = ObjectMeta.parse(new String(readSmall(r), StandardCharsets.UTF_8));
        } catch (StoreException e) {
            if (e.code() == Code.NO_SUCH_KEY) throw noSuchUpload(uploadId);
            throw e;
        } catch (IOException | IllegalArgumentException e) {
            throw new StoreException(Code.INTERNAL_ERROR, "upload " + uploadId + " on " + mp.describe() + ": " + e, e);
        }
        if (!state.key().equals(key)) throw noSuchUpload(uploadId);
        return state;
    }

    private static byte[] readSmall(ObjectReader r) throws IOException {
        ByteBuffer out = ByteBuffer.allocate((int) r.info().sizeBytes());
        while (out.hasRemaining() && r.read(out.position(), out) > 0) {
            // read on until full
        }
        return out.array();
    }

    static StoreException noSuchUpload(String uploadId) {
        return new StoreException(Code.NO_SUCH_UPLOAD, "The specified upload does not exist. The upload ID may be "
                + "invalid, or the upload may have been aborted or completed: " + uploadId);
    }

    @Override
    public ObjectWriter uploadPart(String bucket, String key, String uploadId, int partNumber, byte[] contentMd5)
            throws StoreException {
        if (partNumber < 1 || partNumber > PART_NUMBER_MAX) {
            throw new StoreException(Code.INVALID_ARGUMENT, "Part number must be an integer between 1 and "
                    + PART_NUMBER_MAX + ", inclusive");
        }
        Names.keyBytes(key);
        store.requireBucket(bucket);
        Mountpath mp = store.place(bucket, key);
        state(mp, bucket, key, uploadId);
        PutOptions options = new PutOptions("binary/octet-stream", Map.of(), contentMd5);
        ObjectWriter part = mp.create(UPLOADS_BUCKET, partKey(bucket, uploadId, partNumber), options);
        return new ObjectWriter() {
            @Override
            public void write(ByteBuffer data) throws StoreException {
                part.write(data);
            }

            @Override
            public ObjectInfo commit() throws StoreException {
                // under the upload's lock: Complete and Abort either see this part or ended the upload before it
                try (StripedLocks.Held held = uploadLocks.hold(uploadId)) {
                    state(mp, bucket, key, uploadId);
                    return part.commit();
                } finally {
                    part.abort();
                }
            }

            @Override
            public void abort() {
                part.abort();
            }

            @Override
            public void close() {
                part.close();
            }
        };
    }

    @Override
    public List<Part> listParts(String bucket, String key, String uploadId, int partNumberMarker, int limit)
            throws StoreException {
        store.requireBucket(bucket);
        Mountpath mp = store.place(bucket, key);
        state(mp, bucket, key, uploadId);
        String prefix = partPrefix(bucket, uploadId);
        String after = partNumberMarker > 0 ? partKey(bucket, uploadId, Math.min(partNumberMarker, PART_NUMBER_MAX))
                : null;
        List<Part> out = new ArrayList<>();
        try (Mountpath.Walk walk = mp.list(UPLOADS_BUCKET, utf8(prefix), after == null ? null : utf8(after))) {
            while (out.size() < limit && walk.hasNext()) {
                ObjectInfo p = walk.next().info();
                int number = Integer.parseInt(p.key().substring(prefix.length()));
                out.add(new Part(number, p.sizeBytes(), p.etag(), p.lastModifiedMs()));
            }
        } catch (IOException e) {
            throw mp.failure("list parts of " + uploadId, e);
        } catch (UncheckedIOException e) {
            throw mp.failure("list parts of " + uploadId, e.getCause());
        }
        return out;
    }

    @Override
    public ObjectInfo complete(String bucket, String key, String uploadId, List<PartRef> parts, Condition condition)
            throws StoreException {
        store.requireBucket(bucket);
        Mountpath mp = store.place(bucket, key);
        try (StripedLocks.Held held = uploadLocks.hold(uploadId)) {
            ObjectMeta state = state(mp, bucket, key, uploadId);
            String etag = checkParts(mp, bucket, uploadId, parts);
            PutOptions options = new PutOptions(state.contentType(), state.userMetadata(), null, state.tags(), etag,
                    condition);
            ObjectInfo info;
            try (ObjectWriter w = store.create(bucket, key, options)) {
                for (PartRef ref : parts) copyPart(mp, bucket, uploadId, ref, w);
                info = w.commit();
            }
            dropUpload(mp, bucket, uploadId);
            return info;
        }
    }

    /**
     * Checks the listed parts against the stored ones and returns the multipart ETag: the hex MD5 of the parts'
     * binary MD5s, concatenated in order, then "-" and the number of parts (what S3 answers).
     */
    private static String checkParts(Mountpath mp, String bucket, String uploadId, List<PartRef> parts)
            throws StoreException {
        if (parts.isEmpty() || parts.size() > PART_NUMBER_MAX) {
            throw new StoreException(Code.INVALID_ARGUMENT, "a multipart upload has 1 to " + PART_NUMBER_MAX + " parts");
        }
        for (int i = 1; i < parts.size(); i++) {
            if (parts.get(i).partNumber() <= parts.get(i - 1).partNumber()) {
                throw new StoreException(Code.INVALID_PART_ORDER, "The list of parts was not in ascending order. "
                        + "Parts must be ordered by part number.");
            }
        }
        MessageDigest md5 = md5();
        for (int i = 0; i < parts.size(); i++) {
            PartRef ref = parts.get(i);
            ObjectInfo stored = storedPart(mp, bucket, uploadId, ref);
            if (i < parts.size() - 1 && stored.sizeBytes() < PART_BYTES_MIN) {
                throw new StoreException(Code.ENTITY_TOO_SMALL, "Your proposed upload is smaller than the minimum "
                        + "allowed object size: part " + ref.partNumber() + " has " + stored.sizeBytes() + " bytes");
            }
            md5.update(HexFormat.of().parseHex(stored.etag()));
        }
        return HexFormat.of().formatHex(md5.digest()) + "-" + parts.size();
    }

    /** The stored part a reference names, with its ETag; InvalidPart when absent or different. */
    private static ObjectInfo storedPart(Mountpath mp, String bucket, String uploadId, PartRef ref)
            throws StoreException {
        ObjectInfo stored;
        try {
            stored = ref.partNumber() > PART_NUMBER_MAX ? null
                    : mp.head(UPLOADS_BUCKET, partKey(bucket, uploadId, ref.partNumber()));
        } catch (StoreException e) {
            if (e.code() != Code.NO_SUCH_KEY) throw e;
            stored = null;
        }
        if (stored == null || !stored.etag().equals(ref.etag())) {
            throw new StoreException(Code.INVALID_PART, "One or more of the specified parts could not be found. The "
                    + "part may not have been uploaded, or the specified entity tag may not match the part's entity "
                    + "tag: part " + ref.partNumber());
        }
        return stored;
    }

    /** Streams one part (verified against its xxhash64 as it is opened) into the final object's writer. */
    private static void copyPart(Mountpath mp, String bucket, String uploadId, PartRef ref, ObjectWriter w)
            throws StoreException {
        try (ObjectReader r = mp.open(UPLOADS_BUCKET, partKey(bucket, uploadId, ref.partNumber()))) {
            ByteBuffer buf = ByteBuffer.allocate(COPY_CHUNK_BYTES);
            long size = r.info().sizeBytes();
            for (long position = 0; position < size; ) {
                int n = r.read(position, buf.clear());
                if (n < 0) throw new IOException("part " + ref.partNumber() + " ended before its size");
                w.write(buf.flip());
                position += n;
            }
        } catch (IOException e) {
            throw mp.failure("complete upload " + uploadId, e);
        }
    }

    @Override
    public void abort(String bucket, String key, String uploadId) throws StoreException {
        store.requireBucket(bucket);
        Mountpath mp = store.place(bucket, key);
        try (StripedLocks.Held held = uploadLocks.hold(uploadId)) {
            state(mp, bucket, key, uploadId);
            dropUpload(mp, bucket, uploadId);
        }
    }

    /**
     * The parts first, then the state: a crash in between leaves the upload listed (with fewer parts), so an Abort
     * still finds and finishes it, rather than parts no state names. The caller holds the upload's lock, so no part
     * lands meanwhile.
     */
    private static void dropUpload(Mountpath mp, String bucket, String uploadId) throws StoreException {
        for (String k : keys(mp, partPrefix(bucket, uploadId))) mp.delete(UPLOADS_BUCKET, k);
        mp.delete(UPLOADS_BUCKET, stateKey(bucket, uploadId));
    }

    /** The reserved bucket's keys under a prefix on one mountpath, collected before anything is deleted. */
    private static List<String> keys(Mountpath mp, String prefix) throws StoreException {
        List<String> out = new ArrayList<>();
        if (!mp.hasBucket(UPLOADS_BUCKET)) return out;
        try (Mountpath.Walk walk = mp.list(UPLOADS_BUCKET, utf8(prefix), null)) {
            while (walk.hasNext()) out.add(walk.next().info().key());
        } catch (IOException e) {
            throw mp.failure("list " + prefix, e);
        } catch (UncheckedIOException e) {
            throw mp.failure("list " + prefix, e.getCause());
        }
        return out;
    }

    /** DeleteBucket: its uploads in progress go with it. */
    void dropBucket(String bucket) throws StoreException {
        for (Mountpath mp : store.mountpaths()) {
            for (String k : keys(mp, STATE_PREFIX + bucket + "/")) mp.delete(UPLOADS_BUCKET, k);
            for (String k : keys(mp, PART_PREFIX + bucket + "/")) mp.delete(UPLOADS_BUCKET, k);
        }
    }

    @Override
    public List<Upload> list(String bucket, String prefix, String keyMarker, String uploadIdMarker, int limit)
            throws StoreException {
        store.requireBucket(bucket);
        String statePrefix = STATE_PREFIX + bucket + "/";
        List<Upload> all = new ArrayList<>();
        for (Mountpath mp : store.mountpaths()) {
            for (String k : keys(mp, statePrefix)) {
                String uploadId = k.substring(statePrefix.length());
                try (ObjectReader r = mp.open(UPLOADS_BUCKET, k)) {
                    ObjectMeta state = ObjectMeta.parse(new String(readSmall(r), StandardCharsets.UTF_8));
                    if (state.key().startsWith(prefix == null ? "" : prefix)) {
                        all.add(new Upload(bucket, state.key(), uploadId, state.lastModifiedMs()));
                    }
                } catch (StoreException e) {
                    if (e.code() != Code.NO_SUCH_KEY) throw e; // completed or aborted since the walk
                } catch (IOException | IllegalArgumentException e) {
                    throw new StoreException(Code.INTERNAL_ERROR, "upload " + uploadId + ": " + e, e);
                }
            }
        }
        Comparator<Upload> order = (a, b) -> Arrays.compareUnsigned(utf8(a.key()), utf8(b.key()));
        all.sort(order.thenComparing(Upload::uploadId));
        List<Upload> out = new ArrayList<>();
        for (Upload u : all) {
            if (out.size() == limit) break;
            if (after(u, keyMarker, uploadIdMarker)) out.add(u);
        }
        return out;
    }

    /** S3's markers: with an upload-id-marker, the marker key's later uploads and later keys; else later keys. */
    private static boolean after(Upload u, String keyMarker, String uploadIdMarker) {
        if (keyMarker == null || keyMarker.isEmpty()) return true;
        int c = Arrays.compareUnsigned(utf8(u.key()), utf8(keyMarker));
        if (c != 0) return c > 0;
        return uploadIdMarker != null && !uploadIdMarker.isEmpty() && u.uploadId().compareTo(uploadIdMarker) > 0;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has MD5", e);
        }
    }
}
