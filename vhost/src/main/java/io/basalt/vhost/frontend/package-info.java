/**
 * The vhost-user-blk front-end: this process plays QEMU's part towards any vhost-user-blk back-end, which becomes
 * a Basalt drive ({@code vhost-user:/path.sock}). See docs/vhost.md, "Front-end (vhost-user drives)".
 */
package io.basalt.vhost.frontend;
