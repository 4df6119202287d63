package io.basalt.daemon;

import io.basalt.engine.BlockDevice;
import io.basalt.raid.array.MemberSource;

import java.util.ArrayList;
import java.util.List;

/** The arrays' members are the daemon's drives, and their volumes live in the same namespace (the {@link DriveRegistry}). */
final class DriveMembers implements MemberSource {
    private final DriveRegistry drives;

    DriveMembers(DriveRegistry drives) {
        this.drives = drives;
    }

    @Override
    public BlockDevice device(String drive) {
        return drives.get(drive).device();
    }

    @Override
    public void claim(List<String> names, String holder) {
        drives.claimDrives(names, holder, "members");
    }

    @Override
    public void release(String drive, String holder) {
        drives.release(drive, holder);
    }

    @Override
    public List<String> unclaimedDrives() {
        List<String> result = new ArrayList<>();
        for (DriveRegistry.Drive d : drives.list()) if (drives.holder(d.name()) == null) result.add(d.name());
        return result;
    }

    @Override
    public void checkVolumeName(String name) {
        drives.checkNewName(name);
    }

    @Override
    public void addVolume(String name, String description, BlockDevice volume) {
        drives.addVolume(name, description, volume);
    }

    @Override
    public void removeVolume(String name) {
        drives.removeVolume(name);
    }
}
