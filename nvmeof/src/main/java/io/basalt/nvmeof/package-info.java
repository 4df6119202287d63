/**
 * NVMe/TCP target: a stock Linux host's {@code nvme discover} and {@code nvme connect} reach Basalt's drives and
 * volumes as NVMe namespaces (docs/nvmeof.md). It sees only the BlockDevice API, as vhost/ does.
 *
 * <p>Three layers, each testable alone:
 * <ul>
 *   <li>{@code io.basalt.nvmeof.tcp}: the NVMe/TCP transport (PDUs, in-capsule data, R2T/H2CData, C2HData,
 *       digests). A {@code TcpQueuePair} turns received bytes into NVMe commands for a {@link QueueHandler} and
 *       the handler's answers into PDUs to send; it does no I/O itself (a {@link ByteSink} sends).</li>
 *   <li>{@code io.basalt.nvmeof.nvme} and {@code io.basalt.nvmeof.target}: the controller (Fabrics Connect,
 *       properties, Identify, log pages, features, keep alive, asynchronous events, the NVM I/O commands over a
 *       BlockChannel), subsystems, namespaces, allowed hosts and discovery.</li>
 *   <li>the socket side: TCP listeners and connections driven by the reactors' io_uring (accept, recv with a
 *       provided buffer ring, send), one reactor per queue pair.</li>
 * </ul>
 */
package io.basalt.nvmeof;
