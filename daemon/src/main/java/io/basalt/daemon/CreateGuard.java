package io.basalt.daemon;

import io.basalt.daemon.rpc.RpcException;
import io.basalt.engine.Reactor;
import io.basalt.raid.md.MdFormatException;
import io.basalt.raid.md.MdMember;
import io.basalt.raid.md.MdScanner;

import java.util.List;

/**
 * raid_create's {@code if_missing} is for a config replayed at every start (the embedded default): when the array
 * it names did not assemble and a member carries an md superblock (that array's, degraded past use, or another's),
 * creating would write a new array over its data. Refused, naming the drive; an empty drive (no md magic) is what a
 * first start has. Nothing else in the daemon creates an array, so no path writes one over members.
 */
final class CreateGuard {
    private CreateGuard() {}

    static void refuseMembersOfAnArray(Reactor reactor, List<DriveRegistry.Drive> members) throws RpcException {
        for (DriveRegistry.Drive d : members) {
            MdMember m = RaidMethods.readMember(reactor, d);
            if (m == null || !m.valid() && m.error().reason() == MdFormatException.Reason.BAD_MAGIC) continue;
            throw RpcException.invalidParams("raid_create: param 'members': drive '" + d.name() + "' carries an md superblock"
                    + (m.valid() ? " of array " + MdScanner.uuidText(m.superblock().setUuid()) + " ('" + m.superblock().setName() + "')" : "")
                    + " that did not assemble; if_missing never creates over it (see the assembly messages; zero the superblock to reuse the drive)");
        }
    }
}
