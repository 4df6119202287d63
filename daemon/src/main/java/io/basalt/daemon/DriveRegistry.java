package io.basalt.daemon;

import io.basalt.engine.BlockDevice;
import io.basalt.engine.DeviceSpec;
import io.basalt.engine.stats.StatBlockDevice;
import io.basalt.shims.Check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The named block devices the daemon owns: drives (opened from a backend spec) and RAID volumes (built over
 * drives). One namespace, one set of claims: a volume claims its member drives, an export claims a drive or
 * a volume, and nothing claimed can be deleted. Drives are opened and closed here only; a volume is added by
 * the array layer that built it (RaidArrays, through DriveMembers) and closed here at shutdown, before the drives under it.
 * Layers above (RAID volumes, exporters) get the {@link BlockDevice}, never the backend class: a
 * {@link StatBlockDevice} around it, so every drive and volume is counted the same way (stat_get, docs/rpc.md).
 * Thread-safe: RPC connections call it concurrently, so every method holds the registry's lock (the control
 * plane is rare and short; opening a file is the slowest thing done under it).
 */
public final class DriveRegistry implements AutoCloseable {
    public static final int DRIVES_MAX = 1024;
    public static final int SPEC_CHARS_MAX = 4096;
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    public enum Kind { DRIVE, VOLUME }

    /**
     * One named device: its name, the spec it was opened from (for config dumps; a description for volumes),
     * the open device, and whether it is a drive or a volume.
     */
    public record Drive(String name, String spec, BlockDevice device, Kind kind) {
        public Drive(String name, String spec, BlockDevice device) {
            this(name, spec, device, Kind.DRIVE);
        }

        public boolean isVolume() {
            return kind == Kind.VOLUME;
        }
    }

    /** A bad drive request, naming the parameter at fault ("name" or "spec"). */
    public static final class DriveException extends IllegalArgumentException {
        private final String param;

        DriveException(String param, String message) {
            super(message);
            this.param = param;
        }

        public String param() {
            return param;
        }
    }

    private final Map<String, Drive> drives = new LinkedHashMap<>();
    /** Drive name -> its holders, joined by HOLDER_SEPARATOR (one unless the claims are exports' shared ones). */
    private final Map<String, String> claims = new LinkedHashMap<>();
    private final Set<String> sharedClaims = new HashSet<>();
    private static final String HOLDER_SEPARATOR = ", ";
    private boolean closed;

    /** Opens a drive; throws {@link DriveException} with a clear message when it cannot. */
    public synchronized Drive create(String name, String spec) {
        Check.that(!closed, "drive registry open");
        checkName(name);
        checkFree(name);
        if (drives.size() >= DRIVES_MAX) throw new DriveException("name", "the daemon already has " + DRIVES_MAX + " drives, the limit");
        if (spec.isEmpty() || spec.length() > SPEC_CHARS_MAX) {
            throw new DriveException("spec", "spec must be 1 to " + SPEC_CHARS_MAX + " characters");
        }
        BlockDevice device = new StatBlockDevice(open(name, spec), true); // counted once, whatever the backend (stat_get)
        Check.that(device.name().equals(name), "device opened under the requested name");
        Drive drive = new Drive(name, spec, device);
        drives.put(name, drive);
        return drive;
    }

    private static BlockDevice open(String name, String spec) {
        try {
            return DeviceSpec.parse(spec).open(name);
        } catch (RuntimeException e) {
            // The engine reports bad specs with IllegalArgumentException, but a size its constructors reject
            // (memory:1000 is not whole blocks) or an mmap refusal surface as other exceptions: all are the
            // caller's spec at fault, and none may reach the daemon.
            throw new DriveException("spec", "cannot open drive '" + name + "' from '" + spec + "': " + e.getMessage());
        }
    }

    private void checkFree(String name) {
        Drive taken = drives.get(name);
        if (taken != null) {
            throw new DriveException("name", "a " + (taken.isVolume() ? "volume" : "drive") + " named '" + name + "' already exists");
        }
    }

    /** Registers a volume built over claimed drives; the registry closes it at shutdown (before the drives). */
    public synchronized Drive addVolume(String name, String description, BlockDevice device) {
        Check.that(!closed, "drive registry open");
        checkName(name);
        checkFree(name);
        Drive volume = new Drive(name, description, new StatBlockDevice(device, true), Kind.VOLUME);
        drives.put(name, volume);
        return volume;
    }

    /** Forgets a volume (the caller closes it and releases its members). Refused while an export holds it. */
    public synchronized Drive removeVolume(String name) {
        Drive volume = get(name);
        if (!volume.isVolume()) throw new DriveException("name", "'" + name + "' is a drive, not a volume");
        String holder = claims.get(name);
        if (holder != null) throw new DriveException("name", "volume '" + name + "' is in use by " + holder + ": delete that first");
        drives.remove(name);
        return volume;
    }

    /** Checks that {@code name} could be registered (valid and free), without registering it. */
    public synchronized void checkNewName(String name) {
        checkName(name);
        checkFree(name);
    }

    static void checkName(String name) {
        if (!NAME.matcher(name).matches()) {
            String shown = name.length() > 80 ? name.substring(0, 80) + "..." : name;
            throw new DriveException("name", "drive name '" + shown + "' is invalid: use 1 to 64 characters from A-Z a-z 0-9 _ . -");
        }
    }

    /** Closes and forgets a drive. Refused while an export or volume holds it (delete that first). */
    public synchronized void delete(String name) {
        Drive drive = get(name);
        if (drive.isVolume()) throw new DriveException("name", "'" + name + "' is a raid volume: stop it with raid_stop");
        String holder = claims.get(name);
        if (holder != null) throw new DriveException("name", "drive '" + name + "' is in use by " + holder + ": delete that first");
        drives.remove(name);
        drive.device().close();
    }

    /** Marks a drive as used by {@code holder} alone (a volume's member); refused while anything else holds it. */
    public synchronized Drive claim(String name, String holder) {
        Drive drive = get(name);
        String current = claims.get(name);
        if (current != null) throw new DriveException("name", (drive.isVolume() ? "volume '" : "drive '") + name + "' is already used by " + current);
        claims.put(name, holder);
        return drive;
    }

    /**
     * Marks a drive as used by an export, which may share it with other exports (the embedded default serves vol0
     * over vhost-user-blk and NVMe/TCP at once, as SPDK lets a vhost controller and an NVMe-oF subsystem open the
     * same bdev) but never with a volume that holds it as a member. docs/decisions.md, 27.
     */
    public synchronized Drive claimShared(String name, String holder) {
        Drive drive = get(name);
        String current = claims.get(name);
        if (current != null && !sharedClaims.contains(name)) {
            throw new DriveException("name", (drive.isVolume() ? "volume '" : "drive '") + name + "' is already used by " + current);
        }
        if (current != null && Arrays.asList(current.split(HOLDER_SEPARATOR)).contains(holder)) {
            throw new DriveException("name", holder + " already holds '" + name + "'");
        }
        claims.put(name, current == null ? holder : current + HOLDER_SEPARATOR + holder);
        sharedClaims.add(name);
        return drive;
    }

    /**
     * Claims every named drive for {@code holder}, all or none (a volume claiming its members). Only drives:
     * volumes over volumes are not supported. Throws naming {@code param} and the first name at fault.
     */
    public synchronized List<Drive> claimDrives(List<String> names, String holder, String param) {
        List<Drive> result = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (names.subList(0, i).contains(name)) throw new DriveException(param, "drive '" + name + "' is listed twice");
            Drive d = drives.get(name);
            if (d == null) throw new DriveException(param, "no drive named '" + name + "'");
            if (d.isVolume()) throw new DriveException(param, "'" + name + "' is a volume: members must be drives");
            String current = claims.get(name);
            if (current != null) throw new DriveException(param, "drive '" + name + "' is already used by " + current);
            result.add(d);
        }
        for (String name : names) claims.put(name, holder);
        return result;
    }

    public synchronized void release(String name, String holder) {
        String current = claims.get(name);
        if (current == null) return;
        List<String> holders = new ArrayList<>(Arrays.asList(current.split(HOLDER_SEPARATOR)));
        if (!holders.remove(holder)) return;
        if (holders.isEmpty()) {
            claims.remove(name);
            sharedClaims.remove(name);
        } else {
            claims.put(name, String.join(HOLDER_SEPARATOR, holders));
        }
    }

    /** Who holds the drive, or null. */
    public synchronized String holder(String name) {
        return claims.get(name);
    }

    public synchronized Drive get(String name) {
        Drive drive = drives.get(name);
        if (drive == null) throw new DriveException("name", "no drive named '" + name + "'");
        return drive;
    }

    /** The drives (not volumes) in creation order (a copy). */
    public synchronized List<Drive> list() {
        List<Drive> result = new ArrayList<>();
        for (Drive d : drives.values()) if (!d.isVolume()) result.add(d);
        return result;
    }

    /** The volumes in creation order (a copy). */
    public synchronized List<Drive> volumes() {
        List<Drive> result = new ArrayList<>();
        for (Drive d : drives.values()) if (d.isVolume()) result.add(d);
        return result;
    }

    /** Drives only. */
    public synchronized int count() {
        return list().size();
    }

    /**
     * Closes every volume, then every drive (flush them first: closing a file does not make its writes durable).
     * Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        List<Drive> order = volumes();
        order.addAll(list());
        for (Drive d : order) {
            try {
                d.device().close();
            } catch (RuntimeException e) {
                System.err.println("basalt: closing drive " + d.name() + ": " + e);
            }
        }
        drives.clear();
    }
}
