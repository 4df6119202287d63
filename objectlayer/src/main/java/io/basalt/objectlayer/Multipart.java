package io.basalt.objectlayer;

import io.basalt.objectlayer.ObjectStore.ObjectInfo;
import io.basalt.objectlayer.ObjectStore.ObjectWriter;
import io.basalt.objectlayer.ObjectStore.PutOptions;
import java.util.List;

/**
 * S3's multipart uploads (CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload,
 * AbortMultipartUpload, ListMultipartUploads) over a store: parts are stored apart from the bucket's objects and
 * invisible to listings until Complete joins them into one object whose ETag is the hex MD5 of the parts' binary MD5s
 * followed by "-" and the number of parts (docs/objects.md, "Multipart uploads"; decision 38). Uploads survive a
 * restart. Calls block and may come from many threads at once.
 */
public interface Multipart {
    /** S3: part numbers are 1..10,000. */
    int PART_NUMBER_MAX = 10_000;
    /** S3: a part is at most 5 GiB. */
    long PART_BYTES_MAX = 5L << 30;
    /** S3: every part but the last is at least 5 MiB (checked at Complete: EntityTooSmall). */
    long PART_BYTES_MIN = 5L << 20;

    /** Starts an upload of {@code key}; the options (content type, metadata, tags) become the final object's. */
    Upload create(String bucket, String key, PutOptions options) throws StoreException;

    /**
     * A part's data: visible in ListParts (replacing an earlier part of the number) once committed; the commit's
     * ETag is the part's MD5. NoSuchUpload when the upload is unknown or was aborted or completed meanwhile.
     */
    ObjectWriter uploadPart(String bucket, String key, String uploadId, int partNumber, byte[] contentMd5)
            throws StoreException;

    /** The upload's parts numbered above {@code partNumberMarker}, in order, at most {@code limit}. */
    List<Part> listParts(String bucket, String key, String uploadId, int partNumberMarker, int limit)
            throws StoreException;

    /**
     * Joins the listed parts (ascending numbers, each ETag matching the stored part) into the object and ends the
     * upload: InvalidPart, InvalidPartOrder, EntityTooSmall (a part but the last under 5 MiB), NoSuchUpload.
     * {@code condition} is the conditional PUT of the final object (null: none).
     */
    ObjectInfo complete(String bucket, String key, String uploadId, List<PartRef> parts,
                        ObjectStore.Condition condition) throws StoreException;

    /** Drops the upload and its parts; NoSuchUpload when unknown. */
    void abort(String bucket, String key, String uploadId) throws StoreException;

    /**
     * The bucket's uploads in progress whose key starts with {@code prefix}, by key (UTF-8 byte order) then upload
     * id (which sorts by initiation time), after (keyMarker, uploadIdMarker) as S3 defines it, at most {@code limit}.
     */
    List<Upload> list(String bucket, String prefix, String keyMarker, String uploadIdMarker, int limit)
            throws StoreException;

    /** An upload in progress. */
    record Upload(String bucket, String key, String uploadId, long initiatedMs) {}

    /** A stored part. */
    record Part(int partNumber, long sizeBytes, String etag, long lastModifiedMs) {}

    /** A part as CompleteMultipartUpload names it: its number and the ETag UploadPart answered (no quotes). */
    record PartRef(int partNumber, String etag) {}
}
