package io.basalt.objectlayer.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.AfterParameterizedClassInvocation;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * boto3 against S3Server over MemoryObjectStore (Debian: python3-boto3). Over plain HTTP boto3 signs the payload's
 * SHA-256 and sends x-amz-checksum-* as a header; over TLS it sends aws-chunked bodies with the checksum in a trailer
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER). The script makes boto3 believe the endpoint is TLS for the second form.
 * Runs once per installed generation: the python3 first on PATH (pyenv's, boto3 1.43 on the build machine) and
 * Debian's /usr/bin/python3 (python3-boto3 1.26); one that is not installed is skipped with the reason in its name.
 */
@ParameterizedClass(name = "{0}")
@MethodSource("io.basalt.objectlayer.s3.CliHarness#pythonClients")
class Boto3Test {
    @Parameter
    CliHarness.Client client;
    @TempDir
    static Path dir;
    static S3Server server;
    static CliHarness cli;

    static final String SCRIPT = """
            import os, io, boto3, botocore.httpchecksum as hc
            from botocore.exceptions import ClientError
            s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
            sent = []
            s3.meta.events.register('before-send.s3.PutObject', lambda request, **kw: sent.append(dict(request.headers)))
            s3.create_bucket(Bucket='boto')
            # 1. plain HTTP: payload SHA-256 signed, checksum as a header; 2 MiB so botocore sends Expect: 100-continue
            data = os.urandom(2 << 20)
            s3.put_object(Bucket='boto', Key='plain', Body=data, ChecksumAlgorithm='CRC32')
            assert sent[-1].get('Expect') == b'100-continue' or sent[-1].get('Expect') == '100-continue', sent[-1]
            assert s3.get_object(Bucket='boto', Key='plain')['Body'].read() == data
            r = s3.get_object(Bucket='boto', Key='plain', Range='bytes=10-19')
            assert r['ContentRange'] == 'bytes 10-19/%d' % len(data) and r['Body'].read() == data[10:20]
            # 2. the TLS form: aws-chunked with a checksum trailer
            if hasattr(hc, 'urlparse'):  # botocore >= 1.36 parses the URL
                real_urlparse = hc.urlparse
                hc.urlparse = lambda u: real_urlparse(u)._replace(scheme='https')
            else:  # older botocore (Debian's 1.29) looks at the URL string while resolving the algorithm
                real_resolve = hc.resolve_request_checksum_algorithm
                def as_tls(request, *args, **kwargs):
                    url = request['url']
                    request['url'] = 'https' + url[4:] if url.startswith('http:') else url
                    try:
                        return real_resolve(request, *args, **kwargs)
                    finally:
                        request['url'] = url
                hc.resolve_request_checksum_algorithm = as_tls
            try:
                import awscrt  # botocore computes CRC32C and CRC64NVME only with the CRT
                algos = ['CRC32', 'SHA1', 'SHA256', 'CRC32C', 'CRC64NVME']
            except ImportError:
                algos = ['CRC32', 'SHA1', 'SHA256']
            algos = [a for a in algos if a.lower() in hc._CHECKSUM_CLS]  # botocore 1.29 has no CRC64NVME
            for algo in algos:
                body = os.urandom(300001)
                s3.put_object(Bucket='boto', Key='trailer-' + algo, Body=io.BytesIO(body), ChecksumAlgorithm=algo)
                h = {k.lower(): v for k, v in sent[-1].items()}
                assert h['x-amz-content-sha256'] in (b'STREAMING-UNSIGNED-PAYLOAD-TRAILER', 'STREAMING-UNSIGNED-PAYLOAD-TRAILER'), h
                assert s3.get_object(Bucket='boto', Key='trailer-' + algo)['Body'].read() == body
            # 3. a wrong trailer checksum: BadDigest, and no object
            class Wrong(hc.Crc32Checksum):
                def b64digest(self):
                    return 'AAAAAA=='
            hc._CHECKSUM_CLS['crc32'] = Wrong
            try:
                s3.put_object(Bucket='boto', Key='bad', Body=io.BytesIO(b'z' * 1000), ChecksumAlgorithm='CRC32')
                raise SystemExit('a wrong checksum was accepted')
            except ClientError as e:
                assert e.response['Error']['Code'] == 'BadDigest', e.response
            try:
                s3.head_object(Bucket='boto', Key='bad')
                raise SystemExit('the object with the wrong checksum is visible')
            except ClientError as e:
                assert e.response['Error']['Code'] == '404', e.response
            hc._CHECKSUM_CLS['crc32'] = hc.Crc32Checksum
            # listing pages, DeleteObjects quiet, presigned GET
            for i in range(7):
                s3.put_object(Bucket='boto', Key='page/%02d' % i, Body=b'p')
            pages = s3.get_paginator('list_objects_v2').paginate(Bucket='boto', Prefix='page/', PaginationConfig={'PageSize': 3})
            keys = [o['Key'] for p in pages for o in p.get('Contents', [])]
            assert keys == ['page/%02d' % i for i in range(7)], keys
            r = s3.list_objects_v2(Bucket='boto', Prefix='page/', MaxKeys=2, EncodingType='url')
            assert r['IsTruncated'] and r['KeyCount'] == 2 and 'NextContinuationToken' in r, r
            r = s3.delete_objects(Bucket='boto', Delete={'Objects': [{'Key': 'page/%02d' % i} for i in range(7)], 'Quiet': True})
            assert not r.get('Deleted') and not r.get('Errors'), r
            assert s3.list_objects_v2(Bucket='boto', Prefix='page/')['KeyCount'] == 0
            import urllib.request
            url = s3.generate_presigned_url('get_object', Params={'Bucket': 'boto', 'Key': 'plain'}, ExpiresIn=60)
            assert urllib.request.urlopen(url).read() == data
            print('boto3 ok', len(algos), 'trailer checksums')
            """;

    @BeforeParameterizedClassInvocation
    static void start(CliHarness.Client client) throws Exception {
        Assumptions.assumeTrue(client.present(), client::toString);
        server = S3Server.start(new MemoryObjectStore(),
                S3Server.Options.of("127.0.0.1", 0, Map.of(CliHarness.ACCESS_KEY, CliHarness.SECRET)));
        cli = new CliHarness(dir, server.port(), "aws", client.executable());
    }

    @AfterParameterizedClassInvocation
    static void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    @Test
    void boto3RoundTripsWithHeaderAndTrailerChecksums() throws Exception {
        CliHarness.Result r = cli.python(SCRIPT);
        assertEquals(0, r.exit(), r.all());
        assertTrue(r.out().contains("boto3 ok"), r.all());
    }
}
