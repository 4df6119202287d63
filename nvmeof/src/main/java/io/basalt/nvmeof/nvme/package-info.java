/**
 * NVMe data structures as flyweights over MemorySegments: the submission and completion queue entries, status
 * codes, opcodes, fabrics commands, controller properties, Identify data, log pages and the discovery log. Each
 * class names the spec figure it follows; offsets are checked against include/linux/nvme.h by NvmeLayoutTest.
 */
package io.basalt.nvmeof.nvme;
