package io.basalt.objectlayer.s3;

import io.basalt.objectlayer.StoreException;

/** An S3 error answer: the code and HTTP status S3 sends, and a message for the XML body. */
final class S3Error extends Exception {
    private static final long serialVersionUID = 1L;

    private final String code;
    private final int httpStatus;

    S3Error(String code, int httpStatus, String message) {
        super(message);
        this.code = code;
        this.httpStatus = httpStatus;
    }

    static S3Error of(StoreException e) {
        return new S3Error(e.code().s3Code, e.code().httpStatus, e.getMessage());
    }

    String code() {
        return code;
    }

    int httpStatus() {
        return httpStatus;
    }

    static S3Error accessDenied(String message) {
        return new S3Error("AccessDenied", 403, message);
    }

    static S3Error signatureMismatch() {
        return new S3Error("SignatureDoesNotMatch", 403,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    }

    static S3Error invalidArgument(String message) {
        return new S3Error("InvalidArgument", 400, message);
    }

    static S3Error invalidRequest(String message) {
        return new S3Error("InvalidRequest", 400, message);
    }

    static S3Error malformedXml() {
        return new S3Error("MalformedXML", 400,
                "The XML you provided was not well-formed or did not validate against our published schema.");
    }

    static S3Error incompleteBody(String message) {
        return new S3Error("IncompleteBody", 400, message);
    }

    static S3Error notImplemented(String what) {
        return new S3Error("NotImplemented", 501, "A header or query you provided implies functionality that is not implemented: " + what);
    }

    static S3Error methodNotAllowed() {
        return new S3Error("MethodNotAllowed", 405, "The specified method is not allowed against this resource.");
    }
}
