package io.basalt.objectlayer.volume;

import static io.basalt.objectlayer.volume.VolumeFixture.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.backend.MemoryBlockDevice;
import io.basalt.engine.fault.FaultBlockDevice;
import io.basalt.engine.fault.FaultConfig;
import io.basalt.engine.fixtures.ReactorFixture;
import io.basalt.objectlayer.StoreException.Code;
import io.basalt.objectlayer.s3.S3Server;
import io.basalt.objectlayer.store.MountpathStore;
import io.basalt.raid.volume.Raid5Volume;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The volume mountpath behind MountpathStore, S3 over HTTP, a failing device, and a RAID5 volume. */
class VolumeIntegrationTest {
    @RegisterExtension
    final ReactorFixture fixture = ReactorFixture.started("volstore-int");

    @Test
    void s3OverHttpOnTwoVolumeMountpaths() throws Exception {
        List<BlockDevice> devices = List.of(DeviceSpec.open("v0", "memory:64M"), DeviceSpec.open("v1", "memory:64M"));
        List<VolumeMountpath> mps = new ArrayList<>();
        for (BlockDevice d : devices) mps.add(VolumeFixture.open(d, fixture.reactor(), true));
        try (MountpathStore store = new MountpathStore(mps);
             S3Server server = S3Server.start(store, S3Server.Options.of("127.0.0.1", 0, Map.of()).withAnonymous(true))) {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.port() + "/bkt";
            assertEquals(200, http.send(HttpRequest.newBuilder(URI.create(base)).PUT(HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.discarding()).statusCode());
            for (int i = 0; i < 12; i++) {
                HttpResponse<Void> put = http.send(HttpRequest.newBuilder(URI.create(base + "/o" + i))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(data(i, 150_000 * i))).build(),
                        HttpResponse.BodyHandlers.discarding());
                assertEquals(200, put.statusCode());
            }
            for (int i = 0; i < 12; i++) {
                HttpResponse<byte[]> got = http.send(HttpRequest.newBuilder(URI.create(base + "/o" + i)).build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertEquals(200, got.statusCode());
                assertArrayEquals(data(i, 150_000 * i), got.body());
            }
            String listing = http.send(HttpRequest.newBuilder(URI.create(base + "?list-type=2")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(listing.contains("<KeyCount>12</KeyCount>"), listing);
            assertTrue(mps.get(0).objectCount() > 0 && mps.get(1).objectCount() > 0, "both mountpaths hold objects");
        } finally {
            for (BlockDevice d : devices) d.close();
        }
    }

    @Test
    void aDeviceThatFailsGivesInternalErrorsWhileTheOtherMountpathServes() throws Exception {
        FaultBlockDevice bad = new FaultBlockDevice("bad", new MemoryBlockDevice("bad", 64L << 20, 4096),
                FaultConfig.none(3));
        BlockDevice good = DeviceSpec.open("good", "memory:64M");
        try (MountpathStore store = new MountpathStore(List.of(VolumeFixture.open(bad, fixture.reactor(), false),
                VolumeFixture.open(good, fixture.reactor(), false)))) {
            store.createBucket("bkt");
            for (int i = 0; i < 20; i++) io.basalt.objectlayer.store.StoreFixtureAccess.put(store, "bkt", "k" + i, data(i, 9000));
            bad.setFailed(true); // every read and write now fails: DEVICE_GONE
            int failed = 0;
            int served = 0;
            for (int i = 0; i < 20; i++) {
                try {
                    assertArrayEquals(data(i, 9000), io.basalt.objectlayer.store.StoreFixtureAccess.get(store, "bkt", "k" + i));
                    served++;
                } catch (io.basalt.objectlayer.StoreException e) {
                    assertEquals(Code.INTERNAL_ERROR, e.code(), e.getMessage());
                    failed++;
                }
            }
            assertTrue(failed > 0 && served > 0, failed + " failed, " + served + " served");
            bad.setFailed(false);
        } finally {
            bad.close();
            good.close();
        }
    }

    /** The store's writes (format, segments, checkpoints) all reach RAID5 as whole stripes: no read-modify-write. */
    @Test
    void onRaid5EveryWriteIsAFullStripe() throws Exception {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) members.add(DeviceSpec.open("m" + i, "memory:32M"));
        Raid5Volume raid = new Raid5Volume("r5", members, 64 * 1024);
        try (VolumeMountpath mp = VolumeFixture.open(raid, fixture.reactor(), false)) {
            assertEquals(3 * 64 * 1024 * 6, mp.segmentBytes(), "1 MiB rounded up to whole 192 KiB stripes");
            mp.createBucket("b", 1);
            for (int i = 0; i < 30; i++) VolumeFixture.put(mp, "b", "k" + i, data(i, 1000 + 37_000 * i));
            for (int i = 0; i < 30; i += 2) mp.delete("b", "k" + i);
            mp.maintain();
            for (int i = 1; i < 30; i += 2) assertArrayEquals(data(i, 1000 + 37_000 * i), VolumeFixture.get(mp, "b", "k" + i));
        }
        try (VolumeMountpath mp = VolumeFixture.open(raid, fixture.reactor(), false)) {
            for (int i = 1; i < 30; i += 2) assertArrayEquals(data(i, 1000 + 37_000 * i), VolumeFixture.get(mp, "b", "k" + i));
        } finally {
            long full = raid.counter(Raid5Volume.FULL_STRIPE_WRITES);
            long rmw = raid.counter(Raid5Volume.RMW_WRITES);
            long rcw = raid.counter(Raid5Volume.RCW_WRITES);
            raid.close();
            assertTrue(full > 0, "full-stripe writes: " + full);
            assertEquals(0, rmw, "read-modify-writes");
            assertEquals(0, rcw, "reconstruct-writes");
        }
    }
}
