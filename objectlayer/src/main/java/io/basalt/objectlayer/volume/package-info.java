/**
 * The volume-mountpath object store (issue 14): {@link io.basalt.objectlayer.volume.VolumeMountpath}, a
 * log-structured store of objects on any Basalt BlockDevice (a RAID5 volume in production), written in whole
 * stripes. Format, write path, recovery and compaction: docs/objects.md, "The volume-mountpath store".
 */
package io.basalt.objectlayer.volume;
