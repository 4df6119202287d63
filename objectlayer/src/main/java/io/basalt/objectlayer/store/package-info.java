/**
 * The directory-mountpath object store (issue 14): {@link io.basalt.objectlayer.store.MountpathStore} places objects
 * by weighted HRW ({@link io.basalt.objectlayer.store.Hrw}, {@link io.basalt.objectlayer.store.Xxhash64}) over
 * {@link io.basalt.objectlayer.store.DirectoryMountpath}s, each object a plain file in the layout of docs/objects.md.
 */
package io.basalt.objectlayer.store;
