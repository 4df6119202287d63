package io.basalt.objectlayer;

/** A store operation that failed, with the S3 error the client gets (code and HTTP status, as S3 sends them). */
public final class StoreException extends Exception {
    private static final long serialVersionUID = 1L;

    /** S3 error codes a store can produce (docs/objects.md, "Errors"). */
    public enum Code {
        NO_SUCH_BUCKET("NoSuchBucket", 404),
        NO_SUCH_KEY("NoSuchKey", 404),
        BUCKET_ALREADY_OWNED_BY_YOU("BucketAlreadyOwnedByYou", 409),
        BUCKET_NOT_EMPTY("BucketNotEmpty", 409),
        INVALID_BUCKET_NAME("InvalidBucketName", 400),
        KEY_TOO_LONG("KeyTooLongError", 400),
        INVALID_ARGUMENT("InvalidArgument", 400),
        BAD_DIGEST("BadDigest", 400),
        PRECONDITION_FAILED("PreconditionFailed", 412),
        NO_SUCH_UPLOAD("NoSuchUpload", 404),
        INVALID_PART("InvalidPart", 400),
        INVALID_PART_ORDER("InvalidPartOrder", 400),
        ENTITY_TOO_SMALL("EntityTooSmall", 400),
        ENTITY_TOO_LARGE("EntityTooLarge", 400),
        INVALID_TAG("InvalidTag", 400),
        NOT_IMPLEMENTED("NotImplemented", 501),
        /** No mountpath has room: MinIO's XMinioStorageFull, with the status HTTP has for it. */
        STORAGE_FULL("XBasaltStorageFull", 507),
        INTERNAL_ERROR("InternalError", 500);

        public final String s3Code;
        public final int httpStatus;

        Code(String s3Code, int httpStatus) {
            this.s3Code = s3Code;
            this.httpStatus = httpStatus;
        }
    }

    private final Code code;

    public StoreException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public StoreException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public Code code() {
        return code;
    }
}
