package io.basalt.raid.volume;

import io.basalt.engine.BlockChannel;
import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.IoCompletion;
import io.basalt.engine.Reactor;
import io.basalt.engine.ReactorConfig;
import io.basalt.engine.Status;
import io.basalt.raid.parity.Raid5Algorithm;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What the partial parity log costs: random 4 KiB writes at queue depth 32 on a raid5 of 4 members, PPL off then
 * on, each for a few seconds on one reactor (the calling thread). Not a test (tests never assert timings); run:
 * <pre>
 *   java -cp raid/target/classes:raid/target/test-classes:engine/target/classes:native-shims/target/classes \
 *       --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *       io.basalt.raid.volume.PplCostMain [memory|uring:/dir] [seconds] [chunkKiB]
 * </pre>
 */
public final class PplCostMain {
    public static void main(String[] args) {
        String kind = args.length > 0 ? args[0] : "memory";
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int chunkKib = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        for (int pass = 0; pass < 2; pass++) {
            double off = run(kind, false, seconds, chunkKib, pass);
            double on = run(kind, true, seconds, chunkKib, pass);
            System.out.printf("%s chunk %d KiB, 4 members, QD32 4 KiB random writes: PPL off %.0f IOPS, on %.0f IOPS (%.2f)%n",
                    kind, chunkKib, off, on, on / off);
        }
    }

    private static List<BlockDevice> devices(String kind, String prefix, int count, String size) {
        List<BlockDevice> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String spec = kind.equals("memory") ? "memory:" + size
                    : kind + "/" + prefix + i + ".img,direct=1,size=" + size;
            list.add(DeviceSpec.open(prefix + i, spec.replace("uring:", "uring:")));
        }
        return list;
    }

    private static double run(String kind, boolean ppl, int seconds, int chunkKib, int pass) {
        Reactor reactor = new Reactor(ReactorConfig.defaults("ppl-cost"));
        reactor.initOnCurrentThread();
        try (Arena arena = Arena.ofConfined();
             Raid5Volume volume = new Raid5Volume("r5", devices(kind, "m" + pass + (ppl ? "p" : "n"), 4, "256M"), chunkKib * 1024,
                     Raid5Algorithm.LEFT_SYMMETRIC, ppl ? new PplAreas(devices(kind, "a" + pass, 4, "1M"), 7) : null)) {
            BlockChannel channel = volume.openChannel(reactor);
            long blocks = volume.geometry().blockCount();
            MemorySegment buffer = arena.allocate(4096, 4096);
            SplittableRandom random = new SplittableRandom(42);
            long[] done = {0};
            IoCompletion completion = new IoCompletion() {
                @Override
                public void complete(long tag, int status) {
                    if (status != Status.OK) throw new IllegalStateException("write failed: " + Status.name(status));
                    done[0]++;
                    inFlight--;
                }
            };
            long endNs = System.nanoTime() + seconds * 1_000_000_000L;
            long warmNs = System.nanoTime() + 1_000_000_000L;
            long startCount = -1, startNs = 0;
            while (System.nanoTime() < endNs) {
                while (inFlight < 32 && channel.write(random.nextLong(blocks), 1, buffer, 0, completion)) inFlight++;
                reactor.doWork();
                if (startCount < 0 && System.nanoTime() > warmNs) {
                    startCount = done[0];
                    startNs = System.nanoTime();
                }
            }
            double iops = (done[0] - startCount) * 1e9 / (System.nanoTime() - startNs);
            while (inFlight > 0) reactor.doWork();
            if (ppl) {
                PartialParityLog log = volume.pplOwner().pplLog();
                System.out.printf("  ppl: %d io_unit versions for %d steps (%.1f per version), %d flushes (%.2f per step), %d drains%n",
                        log.counter(PartialParityLog.UNITS), log.counter(PartialParityLog.STEPS),
                        (double) log.counter(PartialParityLog.STEPS) / log.counter(PartialParityLog.UNITS),
                        log.counter(PartialParityLog.FLUSHES), (double) log.counter(PartialParityLog.FLUSHES) / log.counter(PartialParityLog.STEPS),
                        log.counter(PartialParityLog.DRAINS));
            }
            channel.close();
            return iops;
        } finally {
            reactor.close();
        }
    }

    private static int inFlight;
}
