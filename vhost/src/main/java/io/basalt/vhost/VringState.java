package io.basalt.vhost;

import io.basalt.shims.Libc;

/**
 * What the front-end told us about one virtqueue, kept by the session (control thread). The reactor that
 * serves the queue gets a copy when the queue starts; later changes (a new call fd) are posted to it.
 */
final class VringState {
    final int index;
    int size;
    long descUserAddr, usedUserAddr, availUserAddr;
    int addrFlags;
    boolean addressed;
    /**
     * Where processing resumes (SET_VRING_BASE / GET_VRING_BASE): split rings, the free-running 16-bit last
     * available index; packed rings, the ring position in bits 0-14 and the avail wrap counter in bit 15.
     */
    int base;
    int kickFd = -1, callFd = -1, errFd = -1;
    /** The front-end said "no fd": poll the ring instead of waiting for kicks. */
    boolean kickPolled;
    boolean enabled;
    /** Non-null while a reactor serves the queue. */
    QueueRunner runner;

    VringState(int index) {
        this.index = index;
    }

    boolean started() {
        return runner != null;
    }

    void closeFds() {
        if (kickFd >= 0) Libc.close(kickFd);
        if (callFd >= 0) Libc.close(callFd);
        if (errFd >= 0) Libc.close(errFd);
        kickFd = callFd = errFd = -1;
    }

    /** Back to the state of a fresh connection (RESET_DEVICE): the memory table stays, fds are closed. */
    void reset(boolean enabledByDefault) {
        closeFds();
        size = 0;
        descUserAddr = usedUserAddr = availUserAddr = 0;
        addrFlags = 0;
        addressed = false;
        base = 0;
        kickPolled = false;
        enabled = enabledByDefault;
    }
}
