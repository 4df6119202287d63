package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.objectlayer.store.DirectoryMountpath;
import io.basalt.objectlayer.store.MountpathStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * boto3 (Debian: python3-boto3) against S3Server over a real MountpathStore of two directory mountpaths: the managed
 * multipart transfer, paginated ListParts and ListMultipartUploads, abort, tagging, conditional PUT and Complete,
 * CopyObject's copy-source conditions. One python process runs every step (the client's start-up is the slow part).
 */
class MultipartBoto3Test {
    @TempDir
    static Path dir;
    static S3Server server;
    static CliHarness cli;

    static final String SCRIPT = """
            import os, io, datetime, hashlib, boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.exceptions import ClientError
            s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
            def code(call, **kw):
                try:
                    call(**kw)
                except ClientError as e:
                    return e.response['Error']['Code']
                raise SystemExit('no error from %s %s' % (call.__name__, kw))
            MIB = 1 << 20
            s3.create_bucket(Bucket='bmp')
            # 1. the managed transfer: 12 MiB in 5 MiB parts
            data = os.urandom(12 * MIB)
            cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
            s3.upload_fileobj(io.BytesIO(data), 'bmp', 'managed', Config=cfg, ExtraArgs={'Tagging': 'via=transfer'})
            head = s3.head_object(Bucket='bmp', Key='managed')
            md5s = b''.join(hashlib.md5(data[i:i + 5 * MIB]).digest() for i in range(0, len(data), 5 * MIB))
            assert head['ETag'] == '"%s-3"' % hashlib.md5(md5s).hexdigest(), head['ETag']
            got = s3.get_object(Bucket='bmp', Key='managed')
            assert got['Body'].read() == data and got['TagCount'] == 1, got
            # 2. uploads in progress: pages of one, markers, prefix, parts paged, abort
            ids = {k: s3.create_multipart_upload(Bucket='bmp', Key=k)['UploadId'] for k in ['a', 'b', 'x/c']}
            pages = s3.get_paginator('list_multipart_uploads').paginate(Bucket='bmp', PaginationConfig={'PageSize': 1})
            seen = [(u['Key'], u['UploadId']) for p in pages for u in p.get('Uploads', [])]
            assert seen == [('a', ids['a']), ('b', ids['b']), ('x/c', ids['x/c'])], seen
            r = s3.list_multipart_uploads(Bucket='bmp', KeyMarker='a')
            assert [u['Key'] for u in r['Uploads']] == ['b', 'x/c'], r
            r = s3.list_multipart_uploads(Bucket='bmp', Prefix='x/')
            assert [u['Key'] for u in r['Uploads']] == ['x/c'], r
            for n in range(1, 4):
                s3.upload_part(Bucket='bmp', Key='a', UploadId=ids['a'], PartNumber=n, Body=b'p%d' % n)
            pages = s3.get_paginator('list_parts').paginate(Bucket='bmp', Key='a', UploadId=ids['a'],
                                                             PaginationConfig={'PageSize': 2})
            parts = [(p['PartNumber'], p['Size'], p['ETag']) for page in pages for p in page.get('Parts', [])]
            assert parts == [(n, 2, '"%s"' % hashlib.md5(b'p%d' % n).hexdigest()) for n in range(1, 4)], parts
            s3.abort_multipart_upload(Bucket='bmp', Key='b', UploadId=ids['b'])
            assert code(s3.abort_multipart_upload, Bucket='bmp', Key='b', UploadId=ids['b']) == 'NoSuchUpload'
            assert code(s3.upload_part, Bucket='bmp', Key='b', UploadId=ids['x/c'], PartNumber=1, Body=b'z') == 'NoSuchUpload'
            assert code(s3.list_parts, Bucket='bmp', Key='b', UploadId=ids['b']) == 'NoSuchUpload'
            # 3. bad copy ranges and conditions, bad part lists: the upload stays usable
            s3.put_object(Bucket='bmp', Key='src', Body=b's' * 1000)
            assert code(s3.upload_part_copy, Bucket='bmp', Key='x/c', UploadId=ids['x/c'], PartNumber=1,
                        CopySource='bmp/src', CopySourceRange='bytes=0-1000') == 'InvalidArgument'
            assert code(s3.upload_part_copy, Bucket='bmp', Key='x/c', UploadId=ids['x/c'], PartNumber=1,
                        CopySource='bmp/src', CopySourceIfMatch='"%s"' % ('0' * 32)) == 'PreconditionFailed'
            small = [{'PartNumber': n, 'ETag': s3.upload_part_copy(Bucket='bmp', Key='x/c', UploadId=ids['x/c'],
                      PartNumber=n, CopySource='bmp/src', CopySourceRange='bytes=0-9')['CopyPartResult']['ETag']}
                     for n in (1, 2)]
            def complete(parts):
                return code(s3.complete_multipart_upload, Bucket='bmp', Key='x/c', UploadId=ids['x/c'],
                            MultipartUpload={'Parts': parts})
            assert complete(small[::-1]) == 'InvalidPartOrder'
            assert complete([{'PartNumber': 1, 'ETag': '"%s"' % ('0' * 32)}]) == 'InvalidPart'
            assert complete([{'PartNumber': 3, 'ETag': small[0]['ETag']}]) == 'InvalidPart'
            assert complete(small) == 'EntityTooSmall'
            assert code(s3.upload_part, Bucket='bmp', Key='x/c', UploadId=ids['x/c'], PartNumber=10001, Body=b'z') == 'InvalidArgument'
            s3.complete_multipart_upload(Bucket='bmp', Key='x/c', UploadId=ids['x/c'], MultipartUpload={'Parts': small[1:]})
            assert s3.get_object(Bucket='bmp', Key='x/c')['Body'].read() == b's' * 10
            # 4. a conditional Complete: the key exists, so If-None-Match: * fails and the upload stays
            s3.put_object(Bucket='bmp', Key='a', Body=b'already')
            done = [{'PartNumber': 1, 'ETag': parts[0][2]}]
            assert code(s3.complete_multipart_upload, Bucket='bmp', Key='a', UploadId=ids['a'],
                        MultipartUpload={'Parts': done}, IfNoneMatch='*') == 'PreconditionFailed'
            s3.complete_multipart_upload(Bucket='bmp', Key='a', UploadId=ids['a'], MultipartUpload={'Parts': done})
            assert s3.get_object(Bucket='bmp', Key='a')['Body'].read() == b'p1'
            # 5. tagging
            s3.put_object(Bucket='bmp', Key='t', Body=b'tagged', Tagging='a=1&b=two%20words')
            tags = s3.get_object_tagging(Bucket='bmp', Key='t')['TagSet']
            assert tags == [{'Key': 'a', 'Value': '1'}, {'Key': 'b', 'Value': 'two words'}], tags
            s3.put_object_tagging(Bucket='bmp', Key='t', Tagging={'TagSet': [{'Key': 'only', 'Value': '<x&y>'}]})
            assert s3.get_object_tagging(Bucket='bmp', Key='t')['TagSet'] == [{'Key': 'only', 'Value': '<x&y>'}]
            eleven = [{'Key': 'k%d' % i, 'Value': 'v'} for i in range(11)]
            assert code(s3.put_object_tagging, Bucket='bmp', Key='t', Tagging={'TagSet': eleven}) == 'InvalidTag'
            assert code(s3.put_object_tagging, Bucket='bmp', Key='t',
                        Tagging={'TagSet': [{'Key': 'k' * 129, 'Value': 'v'}]}) == 'InvalidTag'
            assert code(s3.get_object_tagging, Bucket='bmp', Key='missing') == 'NoSuchKey'
            s3.copy_object(Bucket='bmp', Key='t2', CopySource='bmp/t')
            assert s3.get_object_tagging(Bucket='bmp', Key='t2')['TagSet'] == [{'Key': 'only', 'Value': '<x&y>'}]
            s3.copy_object(Bucket='bmp', Key='t2', CopySource='bmp/t', TaggingDirective='REPLACE', Tagging='fresh=yes')
            assert s3.get_object_tagging(Bucket='bmp', Key='t2')['TagSet'] == [{'Key': 'fresh', 'Value': 'yes'}]
            s3.delete_object_tagging(Bucket='bmp', Key='t2')
            assert s3.get_object_tagging(Bucket='bmp', Key='t2')['TagSet'] == []
            assert 'TagCount' not in s3.get_object(Bucket='bmp', Key='t2')
            # 6. conditional PUT and copy-source conditions
            etag = s3.put_object(Bucket='bmp', Key='c', Body=b'one', IfNoneMatch='*')['ETag']
            assert code(s3.put_object, Bucket='bmp', Key='c', Body=b'two', IfNoneMatch='*') == 'PreconditionFailed'
            assert code(s3.put_object, Bucket='bmp', Key='c', Body=b'two', IfMatch='"%s"' % ('0' * 32)) == 'PreconditionFailed'
            assert code(s3.put_object, Bucket='bmp', Key='absent', Body=b'two', IfMatch=etag) == 'PreconditionFailed'
            s3.put_object(Bucket='bmp', Key='c', Body=b'three', IfMatch=etag)
            etag = s3.head_object(Bucket='bmp', Key='c')['ETag']
            past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
            future = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
            s3.copy_object(Bucket='bmp', Key='c1', CopySource='bmp/c', CopySourceIfMatch=etag)
            for kw in [{'CopySourceIfNoneMatch': etag}, {'CopySourceIfModifiedSince': future},
                       {'CopySourceIfUnmodifiedSince': past}, {'CopySourceIfMatch': '"%s"' % ('0' * 32)}]:
                assert code(s3.copy_object, Bucket='bmp', Key='c2', CopySource='bmp/c', **kw) == 'PreconditionFailed', kw
            s3.copy_object(Bucket='bmp', Key='c3', CopySource='bmp/c', CopySourceIfModifiedSince=past,
                           CopySourceIfUnmodifiedSince=future)
            assert code(s3.head_object, Bucket='bmp', Key='c2') == '404'
            assert s3.get_object(Bucket='bmp', Key='c3')['Body'].read() == b'three'
            print('boto3 multipart ok')
            """;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(CliHarness.pythonHasBoto3(), "python3 with boto3 (Debian package python3-boto3) is not installed");
        List<DirectoryMountpath> mountpaths = List.of(
                DirectoryMountpath.open(Files.createDirectories(dir.resolve("mp0")), 1, true, false),
                DirectoryMountpath.open(Files.createDirectories(dir.resolve("mp1")), 1, true, false));
        server = S3Server.start(new MountpathStore(mountpaths),
                S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        cli = new CliHarness(dir, server.port());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static final String KEPT_ALIVE = """
            import os, hashlib, boto3
            s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
            s3.create_bucket(Bucket='slow')
            uid = s3.create_multipart_upload(Bucket='slow', Key='k')['UploadId']
            parts = [os.urandom(5 << 20), b'tail']
            done = [{'PartNumber': n + 1, 'ETag': s3.upload_part(Bucket='slow', Key='k', UploadId=uid, PartNumber=n + 1,
                     Body=p)['ETag']} for n, p in enumerate(parts)]
            r = s3.complete_multipart_upload(Bucket='slow', Key='k', UploadId=uid, MultipartUpload={'Parts': done})
            md5s = b''.join(hashlib.md5(p).digest() for p in parts)
            assert r['ETag'] == '"%s-2"' % hashlib.md5(md5s).hexdigest(), r
            assert s3.get_object(Bucket='slow', Key='k')['Body'].read() == b''.join(parts)
            print('kept alive ok')
            """;

    /** botocore reads a Complete answered 200 at once, then spaces, then the result (the keep-alive at 1 ms). */
    @Test
    void boto3ReadsAKeptAliveComplete() throws Exception {
        try {
            MultipartOperations.keepAliveIntervalMs = 0;
            CliHarness.Result r = cli.python(KEPT_ALIVE);
            assertEquals(0, r.exit(), r.all());
            assertTrue(r.out().contains("kept alive ok"), r.all());
        } finally {
            MultipartOperations.keepAliveIntervalMs = MultipartOperations.KEEP_ALIVE_INTERVAL_MS_DEFAULT;
        }
    }

    @Test
    void boto3MultipartTaggingAndConditions() throws Exception {
        CliHarness.Result r = cli.python(SCRIPT);
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("boto3 multipart ok"), r.all());
    }
}
