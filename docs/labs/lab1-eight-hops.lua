-- Lab 1: follow one request through the eight hops (docs/labs/lab1-eight-hops.md).
-- A 4 KiB random read from an SSD, one at a time, through classic Xen: the
-- test program and blkfront in domU1, blkback and the SAS driver in dom0.
local blk = import "lib/blk.lua"
local requests = param("requests", 20, "I/O requests")

scenario { name = "lab1-eight-hops", seed = 1, time_limit_ms = 1000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 }
blk.place {
  arch = "xen-dom0", cpus = 2,
  disk = { type = "ssd", image = "lab1.img", size_mb = 64, create = true },
  fio = { rw = "randread", bs = 4096, iodepth = 1, requests = requests, seed = 1,
          size = 8 * 1024 * 1024 },
}
-- Self-check: every request completed, and every one of them went through
-- all eight hops (an H count below the request count means a hop is missing).
expect {
  "status == ok",
  string.format("requests == %d", requests),
  string.format("H1.count == %d", requests), string.format("H2.count == %d", requests),
  string.format("H3.count == %d", requests), string.format("H4.count == %d", requests),
  string.format("H5.count == %d", requests), string.format("H6.count == %d", requests),
  string.format("H7.count == %d", requests), string.format("H8.count == %d", requests),
  "H5.mean > 50us",        -- the device: an SSD read is tens of microseconds
  "H2.mean < 5us",         -- a ring write and one notify hypercall
  "request.mean < 1ms",
}
