package io.basalt.nvmeof.target;

import io.basalt.nvmeof.nvme.IdentifyController;
import io.basalt.nvmeof.nvme.LogPages;
import io.basalt.nvmeof.nvme.Sqe;

import java.lang.foreign.MemorySegment;

/** The SMART / Health Information log (02h) from a controller's counters, and the firmware slot log (03h). */
final class HealthLog {
    private HealthLog() {}

    /** Available spare: 100% (no media wears out behind a block device), threshold 10%. */
    private static final int SPARE_PERCENT = 100;
    private static final int SPARE_THRESHOLD_PERCENT = 10;
    private static final int FIRMWARE_ACTIVE_SLOT_1 = 1;
    private static final int FIRMWARE_SLOT_1_OFFSET = 8;

    static MemorySegment write(Controller controller) {
        Counters c = controller.counters();
        MemorySegment page = MemorySegment.ofArray(new byte[LogPages.SMART_BYTES]);
        Sqe.putU16(page, LogPages.SMART_TEMPERATURE_OFFSET, LogPages.SMART_TEMPERATURE_KELVIN);
        Sqe.putU8(page, LogPages.SMART_AVAILABLE_SPARE_OFFSET, SPARE_PERCENT);
        Sqe.putU8(page, LogPages.SMART_SPARE_THRESHOLD_OFFSET, SPARE_THRESHOLD_PERCENT);
        Sqe.putU64(page, LogPages.SMART_DATA_UNITS_READ_OFFSET, dataUnits(c.readBytes()));
        Sqe.putU64(page, LogPages.SMART_DATA_UNITS_WRITTEN_OFFSET, dataUnits(c.writtenBytes()));
        Sqe.putU64(page, LogPages.SMART_HOST_READS_OFFSET, c.readCommands());
        Sqe.putU64(page, LogPages.SMART_HOST_WRITES_OFFSET, c.writeCommands());
        Sqe.putU64(page, LogPages.SMART_POWER_CYCLES_OFFSET, 1);
        Sqe.putU64(page, LogPages.SMART_ERROR_ENTRIES_OFFSET, controller.errors().count());
        return page;
    }

    /** Thousands of 512-byte units, rounded up (NVMe base 2.0 figure 207). */
    static long dataUnits(long bytes) {
        return (bytes + LogPages.SMART_DATA_UNIT_BYTES - 1) / LogPages.SMART_DATA_UNIT_BYTES;
    }

    static MemorySegment firmwareSlots(String firmware) {
        MemorySegment page = MemorySegment.ofArray(new byte[LogPages.FIRMWARE_SLOT_BYTES]);
        Sqe.putU8(page, 0, FIRMWARE_ACTIVE_SLOT_1);
        IdentifyController.putPadded(page, FIRMWARE_SLOT_1_OFFSET, IdentifyController.FR_BYTES, firmware, (byte) ' ');
        return page;
    }
}
