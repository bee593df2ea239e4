/*
 * Scenario scripts (Lua 5.4, embedded).
 *
 * A scenario is a Lua file that declares the run through a few functions:
 *
 *   scenario { name = "pingpong", seed = 1, time_limit_ms = 500 }
 *   machine  { cpus = 2, clock_ghz = 3.0, memory_mb = 256, profile = "default" }
 *   domain   { name = "pong", image = "pingpong.elf", memory_mb = 8, vcpus = 1,
 *              cpu = 1, privileged = true, args = { role = "back" } }
 *   connect  { kind = "pingpong", frontend = "ping", backend = "pong", devid = 0 }
 *   output   { trace_json = "t.json", trace_csv = "t.csv", summary = true }
 *   device   { kind = "sas_hba", owner = "dom0", slot = 4, msi = true,
 *              disks = { { type = "ssd", image = "disk0.img", size_mb = 64, create = true } } }
 *   device   { kind = "e1000", owner = "dom0", mac = "52:54:00:12:34:56", link_gbps = 1,
 *              propagation_ns = 500, peer = "echo", peer_service_ns = 1000 }
 *            (peer = "echo" | "sink" | "reqresp" with peer_resp_len = bytes | "source"
 *             with peer_dst = MAC, peer_count, peer_len, peer_gap_ns, peer_start_us)
 *   connect  { kind = "vif", frontend = "domu1", backend = "dom0", mac = "00:16:3e:00:00:01" }
 *            (disk image and output paths a scenario names lie in the run's output
 *             directory, --out DIR, default hopsim-out/; see outputs.c)
 *   import "lib/arch.lua"   -- run another script (scenario dir, then the image path)
 *   flash    { image = "platform.fd", part = "W25Q128JV", read = "fast", clock_mhz = 50 }
 *   domain   { name = "rt", runtime_image = "hopsim-rt", mode = "rt", ... }  -- boot from flash
 *            (runtime_sha256 = "HEX": the golden measurement; another image is refused)
 *   local n = param("rounds", 100, "round trips")   -- overridable by --set rounds=N
 *   expect   { "requests >= 500", "request.p99 < 150us" }  -- checked after the run (expect.h)
 *
 * Every call records the file and line it was made on; unknown keys, wrong
 * types and bad values are errors naming file:line:key. `--set a=v` feeds
 * param("a"); `--set machine.cpus=4` (a dotted key) overrides a declared
 * field after the script ran. A --set key that nothing consumed is an
 * error. The script runs in a sandbox: no io, os, require, load or dofile.
 */
#ifndef HOPSIM_SCENARIO_H
#define HOPSIM_SCENARIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cost.h"
#include "expect.h"

#define SC_MAX_DOMAINS 128
#define SC_MAX_CONNS 256
#define SC_MAX_SETS 64
#define SC_PATH 512
#define SC_CMDLINE 1024 /* = MAX_GUEST_CMDLINE in xen.h */

enum sc_mode {
    SC_MODE_PV,     /* a Xen PV guest: hypercalls, virtual interrupts, world switches */
    SC_MODE_NATIVE, /* a kernel on bare metal: the runtime's "hypercalls" are kernel calls */
    SC_MODE_RT,     /* a UEFI runtime service the hypervisor calls (efi_rs_enter/leave) */
    SC_MODE_HVM,    /* hardware-virtualized: an unmodified kernel whose device accesses exit */
    SC_MODE_L4,     /* a user-level task on the microkernel (sim/l4/): L4 system calls, IPC */
};

struct sc_domain {
    char name[32];
    enum sc_mode mode;
    char image[SC_PATH];     /* resolved path of an existing file ("" with runtime_image) */
    char runtime_image[64];  /* FFS file in the platform flash to boot from, "" = none */
    char runtime_sha256[65]; /* golden measurement it must have (hex), "" = none pinned */
    bool rt_on_notifier;     /* mode "rt": calls run on the notifying CPU (rt_cpu = "notifying") */
    uint64_t memory_bytes;
    uint64_t maxmem_bytes; /* xl.cfg maxmem: the RAM range and max_pages (>= memory_bytes) */
    int vcpus;
    int cpu;                  /* pCPU for vCPU 0 (-1: placed by the scheduler) */
    bool privileged;          /* dom0-like: gets domid 0 (at most one) */
    bool on_crash_restart;    /* xl.cfg on_crash = "restart": rebuilt by the toolstack */
    int vmm;                  /* mode "hvm" on the microkernel: the task handling its exits, -1 */
    char cmdline[SC_CMDLINE]; /* args as "key=value key=value", into start_info.cmd_line */
    int line;                 /* where declared */
    int script_line;          /* the scenario file's line that led there (through imports) */
};

struct sc_conn {
    char kind[32];         /* xenstore device class, e.g. "vbd", "vif", "pingpong" */
    int frontend, backend; /* indices into domains[] */
    int devid;
    uint8_t mac[6]; /* vif: the frontend's MAC (default 00:16:3e:00:<devid>:<domid>) */
    bool have_mac;
    int line;
};

#define SC_MAX_DEVICES 8
#define SC_MAX_DISKS 8

struct sc_disk {
    int type; /* enum disk_type: 1 HDD, 2 SSD */
    char image[SC_PATH];
    uint64_t size_bytes; /* 0: the file's size */
    uint32_t block_size;
    bool create;
    bool read_only; /* not created by the scenario and no --rw-disk: opened read-only */
};

enum sc_peer_mode { SC_PEER_ECHO, SC_PEER_SINK, SC_PEER_REQRESP, SC_PEER_SOURCE };

struct sc_device {
    char kind[32]; /* "sas_hba" or "e1000" */
    int owner;     /* index into domains[] */
    int slot;      /* PCI slot */
    bool msi;      /* offers MSI (default); false: INTx only */
    struct sc_disk disks[SC_MAX_DISKS];
    int ndisks;
    /* e1000: the NIC's EEPROM MAC, its link and the host at the far end */
    uint8_t mac[6];
    uint64_t link_bps;        /* link_gbps: 1 or 10 GbE */
    uint64_t propagation_ps;  /* propagation_ns: one way */
    enum sc_peer_mode peer;   /* peer = "echo" | "sink" | "reqresp" */
    uint64_t peer_service_ps; /* peer_service_ns: per frame */
    uint32_t peer_resp_len;   /* peer_resp_len: reqresp answer, bytes without FCS */
    /* peer = "source": peer_count frames of peer_len bytes to peer_dst, one every
       peer_gap_ns, peer_start_us after the first frame it receives */
    uint64_t peer_count;
    uint32_t peer_len;
    uint64_t peer_gap_ps, peer_start_ps;
    uint8_t peer_dst[6];
    int line;
};

/* mem_set{}: the toolstack sets a domain's memory target at a time (xl mem-set). */
#define SC_MAX_MEMSETS 64
struct sc_memset {
    int domain;         /* index into domains[] */
    uint64_t at_ps;     /* when */
    uint64_t target_kb; /* memory/target, KiB */
    int line;
};

struct sc_set {
    char key[64];
    char value[256];
    bool used;
};

struct scenario {
    char path[SC_PATH];
    char dir[SC_PATH]; /* directory of the script */
    char name[64];
    uint64_t seed;
    uint64_t time_limit_ps; /* 0 = until every domain has shut down */
    bool ends_at_limit;     /* ends_at = "time_limit": reaching it is the run's normal end */
    char arch[32];          /* "" when the scenario does not use one */

    struct {
        int cpus;
        double clock_hz;
        uint64_t memory_bytes;
        char profile[SC_PATH]; /* resolved profile file path */
        bool iommu;            /* DMA remapping on (docs/iommu.md) */
    } machine;
    struct cost_profile cost;

    struct sc_domain domains[SC_MAX_DOMAINS];
    int ndomains;
    struct sc_conn conns[SC_MAX_CONNS];
    int nconns;
    struct sc_device devices[SC_MAX_DEVICES];
    int ndevices;

    struct {
        bool present;
        char image[SC_PATH];   /* flash image file ("" = the build's platform.fd) */
        char part[32];         /* SPI NOR part, default W25Q128JV */
        uint8_t read_opcode;   /* 0x03 READ, 0x0B FAST READ, 0xEB quad I/O */
        double clock_hz;       /* 0 = the profile's spi_clock */
        double setvariable_ms; /* > 0: a SetVariable erasing an NVRAM sector this long after the
                                  runtime services start */
        struct {
            uint32_t base, limit; /* bytes, [base, limit]; write-protected */
        } pr[5];
        int npr;
        bool ble, smm_bwp, lock; /* BIOS_CNTL.BLE, SMM_BWP; HSFS.FLOCKDN at end of boot */
        bool xip; /* what-if: runtime services execute in place from memory-mapped flash */
        int line;
    } flash;

    struct {
        char trace_json[SC_PATH]; /* "" = none */
        char trace_csv[SC_PATH];
        char pcap[SC_PATH];            /* capture of every wire, "" = none (--pcap overrides) */
        char reservation_csv[SC_PATH]; /* each domain's reservation over time, "" = none */
        bool summary;
        int line; /* where output{} was declared (0: not declared) */
    } output;

    struct sc_memset memsets[SC_MAX_MEMSETS]; /* mem_set{}, in declaration order */
    int nmemsets;

    struct sc_expect expects[SC_MAX_EXPECTS]; /* expect{}: checked after the run */
    int nexpects;
};

struct sc_load_opts {
    const struct sc_set *sets; /* --set key=value, in command-line order */
    int nsets;
    bool have_seed;
    uint64_t seed; /* --seed overrides scenario.seed */
    /* Search path for images and profiles after the script's directory:
     * colon-separated directories (the build's guest dir, profiles dir). */
    const char *image_path;
    const char *profile_path;
    double cpu_budget_s; /* CPU seconds for evaluating the script (0: the default, 5 s) */
    const char *out_dir; /* the run's output directory; NULL: "hopsim-out" */
    bool rw_disks;       /* --rw-disk: disks the scenario does not create are writable too */
};

/*
 * Load and validate. Returns 0, or -1 with a message in err of the form
 * "FILE:LINE: KEY: what is wrong" (or "FILE: ..." when no line applies).
 */
int scenario_load(struct scenario *sc, const char *path, const struct sc_load_opts *o, char *err,
                  size_t errlen);

/* The run's output directory for these options ("hopsim-out" unless o->out_dir). */
const char *scenario_out_dir(const struct sc_load_opts *o);

/* Index of the domain named `name`, -1 if none. */
int scenario_domain(const struct scenario *sc, const char *name);

#endif
