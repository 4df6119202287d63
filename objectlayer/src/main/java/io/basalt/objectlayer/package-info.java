/**
 * Basalt's object service (issue 14): S3 over mountpaths. {@link io.basalt.objectlayer.ObjectStore} is the seam:
 * the S3 front end ({@code io.basalt.objectlayer.s3}) parses and answers HTTP and sees only that interface; the
 * stores behind it place objects over mountpaths by highest-random-weight hashing ({@code io.basalt.objectlayer.store}).
 * See docs/objects.md.
 */
package io.basalt.objectlayer;
