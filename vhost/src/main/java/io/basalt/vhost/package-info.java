/**
 * The vhost-user-blk exporter: serves {@link io.basalt.engine.BlockDevice}s to QEMU guests over the vhost-user
 * protocol (qemu/qemu docs/interop/vhost-user.rst). It sees only the BlockDevice API.
 */
package io.basalt.vhost;
