/*
 * The simulated machine: physical CPUs, machine memory, the hypervisor
 * model's domains and vCPUs, the xenstore, the event queue and the trace.
 *
 * Time model (docs/architecture.md, "Time"): a physical CPU runs one vCPU slice at a
 * time. A slice is executed atomically at its start event; it ends on a
 * hypercall, a halt, a guest fault or the slice budget, and the trap is
 * handled by an event at start + cycles executed. Guest marks inside a
 * slice are stamped start + cycles executed so far. Effects of a hypercall
 * (event sends, grant maps, wake-ups) happen at the trap time plus the
 * charged hypervisor costs.
 *
 * Ownership: the machine owns everything; domains own their vCPUs, event
 * channels, grant table and maptrack. Only vcpu.c calls Unicorn.
 */
#ifndef HOPSIM_MACHINE_H
#define HOPSIM_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/event_channel.h>
#include <xen/sched.h>

#include "cost.h"
#include "cpuacct.h"
#include "elfload.h"
#include "evq.h"
#include "rng.h"
#include "fwboot.h"
#include "scenario.h"
#include "simtime.h"
#include "trace.h"
#include "vlock.h"
#include "xenstore.h"

#define MAX_VCPUS 32
#define MAX_PCPUS 64
#define EVTCHN_NR 4096 /* EVTCHN_2L_NR_CHANNELS for a 64-bit guest */
#define GNT_MAX_FRAMES 4
#define GNT_ENTRIES_PER_FRAME (4096 / sizeof(grant_entry_v1_t))
#define MAPTRACK_MAX 1024
#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ull
/*
 * The far end of every domain's store event channel: the xenstore service.
 * Xen has no reserved domid for it (xenstored runs in dom0 or a stubdom);
 * hopsim's store is part of the platform, so it gets a reserved id.
 */
#define DOMID_STORE 0x7FF5u

struct machine;
struct domain;
struct vcpu;
struct uc_struct;
struct hvm_domain;
struct l4_kernel;

#define P2M_INVALID UINT64_MAX

/* ---- event channels ---- */
enum evtchn_state {
    ECS_FREE = 0,
    ECS_RESERVED,
    ECS_UNBOUND,
    ECS_INTERDOMAIN,
    ECS_VIRQ,
    ECS_PIRQ,
    ECS_IPI
};

struct evtchn {
    uint8_t state;
    uint8_t notify_vcpu;
    uint16_t remote_dom; /* UNBOUND: who may bind; INTERDOMAIN: peer (or DOMID_XS) */
    uint32_t remote_port;
    uint32_t virq;     /* VIRQ number, or the pirq of an ECS_PIRQ port */
    uint64_t req;      /* request context of the last send on this channel (tracing) */
    uint8_t consumer;  /* EVTCHN_CONSUMER_*: the hypervisor, not the guest, takes its events */
    struct vlock lock; /* Xen's per-channel rwlock: read to send, write to bind or close */
};
#define EVTCHN_CONSUMER_IOREQ 1 /* an HVM vCPU's ioreq channel (sim/hvm/) */

/* ---- grant tables ---- */
struct active_grant {
    uint32_t readers, writers; /* current mappings of this entry */
};

struct gnttab {
    grant_entry_v1_t *shared; /* GNT_MAX_FRAMES contiguous host pages */
    uint64_t first_mfn;
    uint32_t nr_frames;
    uint64_t frame_gpfn[GNT_MAX_FRAMES]; /* where mapped in the guest, 0 = not */
    struct active_grant *active;         /* GNT_MAX_FRAMES * entries */
};

struct maptrack {
    bool in_use;
    bool readonly;
    uint16_t granter;
    uint32_t ref;
    uint64_t host_addr;
    uint64_t mfn; /* the granted frame, as Xen's active entry keeps it */
    uint8_t vcpu; /* the vCPU that made it: its free list takes the handle back */
};

/* ---- block cost cache ---- */
#define BCACHE_L1 4096
#define GNT_TLB_LIST 32
/* XIP what-if: a 32 KiB direct-mapped instruction cache of 64-byte lines */
#define XIP_ICACHE_LINES 512
struct blk_cost {
    uint64_t pc;
    uint32_t size;
    uint32_t mcycles; /* cost in 1/1000 cycle */
    uint32_t ninsn;
    uint32_t priv_off; /* 1 + offset of its first privileged instruction, 0: none */
};

/* ---- physical IRQs (PHYSDEVOP_map_pirq) ---- */
#define NR_PIRQS 64
struct pirq {
    bool used, msi;
    int gsi;
    uint32_t port; /* bound event channel, 0 if none */
};

/* An MMIO mapping of a device BAR into one vCPU's engine. */
struct mmio_binding {
    struct vcpu *v;
    const struct mmio_ops *ops;
    void *opaque;
    uint16_t place;
};
#define MAX_MMIO_BINDINGS 16

enum vcpu_state { VCPU_DOWN, VCPU_RUNNABLE, VCPU_RUNNING, VCPU_BLOCKED };
enum vcpu_trap {
    TRAP_NONE,
    TRAP_HYPERCALL,
    TRAP_BUDGET,
    TRAP_HALT,
    TRAP_FAULT,
    TRAP_IO,
    TRAP_HANDLED, /* the hypercall was handled in the engine (sched_fast_trap): no trap event */
    TRAP_PRIVOP,  /* a PV kernel's privileged instruction at rip: #GP (sim/xen/traps.c) */
};

/*
 * An HVM vCPU's device access that exited (sim/hvm/): captured by the
 * engine before the instruction executes, completed by the hypervisor
 * (read value into the register, RIP past the instruction) once its
 * ioreq is answered.
 */
enum hvm_io_kind { HVM_IO_MMIO = 1, HVM_IO_PIO = 2 };
struct hvm_io {
    uint8_t kind;  /* enum hvm_io_kind */
    uint8_t dir;   /* IOREQ_READ / IOREQ_WRITE */
    uint8_t size;  /* bytes */
    uint8_t len;   /* PIO: instruction length (MMIO: decoded at completion) */
    uint64_t addr; /* guest-physical address, or port */
    uint64_t data; /* value written */
    bool pending;  /* an ioreq is out; the vCPU waits for its answer */
    simtime_t start;
    uint64_t req;
};

#define MARK_STACK 16
struct open_mark {
    uint16_t kind;
    uint64_t req;
    simtime_t start;
};

struct vcpu {
    /* slice accounting, in 1/1000 cycles: what the block hook touches first, on one cache line */
    uint64_t slice_mcycles, budget_mcycles;
    /* the block hook charges a block with no further test while the slice stays within it:
     * the budget, or 0 when every block needs the full path (vcpu.c) */
    uint64_t fast_limit;
    uint64_t insns;         /* executed instructions */
    struct blk_cost *front; /* the block-price front cache (cc's, vcpu.c) */

    struct domain *d;
    int id;
    struct uc_struct *uc;   /* its engine's (shared by the domUs of one image: vcpu_share.c) */
    struct engine *eng;     /* the engine it runs on (vcpu.c) */
    struct uc_context *ctx; /* on a shared engine: its registers while another vCPU runs */
    struct vmap *vmaps;     /* on a shared engine: pages mapped above RAM (vcpu_share.c) */
    int nvmaps;
    int pcpu;
    enum vcpu_state state;
    bool queued; /* on its pCPU's run queue */
    struct vcpu *rq_next;

    simtime_t slice_start;
    enum vcpu_trap trap;
    uint64_t hc_rip;  /* rip of the trapping instruction */
    uint64_t stop_pc; /* TRAP_BUDGET: the block the slice stopped before (vcpu.c) */
    bool exact_rip;   /* HVM: memory accesses sync RIP (vcpu_hvm_setup) */
    char fault[160];

    /* block prices, shared by every vCPU whose domain has the same code (vcpu.c) */
    struct code_cache *cc;

    /* hypervisor-side vCPU state */
    uint64_t event_callback;
    struct {
        uint64_t address; /* 0: no handler */
        uint16_t cs;
        uint8_t flags;     /* DPL in bits 0-1, TI_SET_IF (bit 2): mask events on entry */
    } traps[256];          /* HYPERVISOR_set_trap_table, per vCPU as in Xen */
    uint64_t privop_at;    /* the privileged instruction a #GP is raised for */
    uint32_t privop_steps; /* instructions of its block to run before it */
    bool privop_stepping;  /* running them: the block hook lets them through */
    evq_handle timer;
    bool polling;
    uint32_t poll_ports[8];
    uint32_t npoll;
    evq_handle poll_timeout;

    bool initialised;    /* has a register context: vCPU 0 from the builder, others by
                            VCPUOP_initialise */
    bool in_rs_call;     /* rt domains: inside a runtime-service call */
    simtime_t refill_ps; /* refill penalty before its slice: its domain's time (refill.c) */
    uint32_t vpid_gen;   /* VMX: its pCPU's asid_gen + 1 while its tagged entries live */
    simtime_t rs_call_start;

    /* tracing */
    uint64_t ctx_req;   /* the request this vCPU last worked for (guest marks, events) */
    uint64_t event_req; /* the request whose event is on its way to this vCPU */
    struct open_mark marks[MARK_STACK];
    int nmarks;

    uint64_t *icache;     /* XIP: line tags (address / 64 + 1), NULL unless executing in place */
    uint64_t xip_fills;   /* XIP: cache-line fills from flash */
    uint32_t xip_fill_mc; /* XIP: one fill, 1/1000 cycles */

    struct mmio_binding *mmio[MAX_MMIO_BINDINGS];
    int nmmio;

    bool in_slice; /* inside uc_emu_start (vcpu.c) */
    /* the TLB fill hook refused an access (vcpu.c): what, for the fault message */
    bool refused;
    int refused_type;
    uint32_t refused_perms;
    uint64_t refused_addr;

    struct hvm_io io;           /* HVM: the device access being emulated */
    struct vlock maptrack_lock; /* Xen's v->maptrack_freelist_lock (lock.c) */

    /* the microkernel (sim/l4/): this vCPU's thread, and the UTCB of the system call it is
     * blocked in (l4_wait: only the kernel wakes it) */
    uint32_t l4_tid;
    bool l4_wait;
    uint64_t l4_utcb;

    uint64_t slices;     /* run slices */
    uint64_t fast_traps; /* hypercalls handled without stopping the engine */
    uint64_t decoded_blocks;
};

struct domain {
    struct machine *m;
    int idx; /* index in the scenario */
    domid_t domid;
    char name[32];
    bool privileged;
    bool native;                   /* a kernel on bare metal: no hypervisor transition costs */
    bool rt;                       /* a UEFI runtime service: entered through efi_rs_enter/leave */
    bool hvm;                      /* hardware-virtualized: device accesses exit (sim/hvm/) */
    bool device_model;             /* runs an ioreq server for an HVM domain (sim/hvm/dmop.c) */
    struct hvm_domain *hvmd;       /* HVM state: ioreq server, exit sites */
    bool l4;                       /* a user-level task on the microkernel (mode "l4") */
    struct domain *l4_vmm;         /* an HVM domain on the microkernel: its VMM task */
    int l4_task;                   /* its microkernel task (l4 tasks and their VMs), 0: none */
    uint64_t text_start, text_end; /* executable bytes of the image (HVM port-I/O scan) */
    bool rt_on_notifier;           /* its calls run on the CPU that notified it */
    bool xip;                      /* what-if: its code executes in place from the flash */
    bool booted_from_flash;
    bool booted_from_disk;     /* its kernel image was read from the disk it owns */
    struct fwboot_result boot; /* when booted_from_flash */
    uint16_t place;
    uint32_t pci_cf8; /* this domain's CONFIG_ADDRESS latch */
    struct pirq pirqs[NR_PIRQS];

    /*
     * Pseudo-physical memory (sim/xen/memory.c). [0, nr_pages) is the RAM
     * range (maxmem): gpfn g is backed by machine frame p2m[g], or is
     * unpopulated (P2M_INVALID: ballooned out, or above the initial
     * allocation), when any access to it faults. ram is a host reservation
     * of the whole range; each populated page is the memfd's frame mapped
     * there. The build allocates init_pages contiguous frames at first_mfn.
     */
    uint8_t *ram;
    uint64_t nr_pages;
    uint64_t first_mfn;
    uint64_t init_pages;
    uint64_t *p2m;
    bool p2m_linear;    /* p2m[g] == first_mfn + g for every g: RAM whole, never ballooned */
    uint64_t tot_pages; /* frames the domain holds (Xen's d->tot_pages) */
    uint64_t max_pages; /* XEN_DOMCTL_max_mem: tot_pages never exceeds it */
    bool p2m_machine;   /* its start_info.mfn_list holds machine frames (it owns a device) */
    uint64_t store_gpfn, console_gpfn; /* rings the platform reads: their frames stay alive */
    uint64_t pages_released, pages_populated; /* by its reservation ops */
    uint64_t image_end;
    uint8_t *exec_pages; /* bitmap, one bit per RAM page: the image's code and the hypercall page */
    uint64_t code_bytes; /* bytes of executable segments: sizes the engine's code buffer */
    uint64_t hypercall_page;
    uint64_t entry;
    start_info_t *si;
    uint64_t si_gpa;

    shared_info_t *shinfo; /* hypervisor-owned page */
    uint64_t shinfo_mfn;
    uint64_t shinfo_gpfn; /* 0 = not mapped */

    struct vcpu *vcpus[MAX_VCPUS];
    int nvcpus;

    struct evtchn *evtchn;
    uint32_t store_port;

    struct gnttab gt;
    struct vlock gt_lock;    /* Xen's per-domain grant-table rwlock, gt->lock (lock.c) */
    struct vlock event_lock; /* Xen's d->event_lock: bind, close, allocate (lock.c) */
    struct maptrack *maptrack;
    uint8_t *gnt_slot; /* per grant-window page: GNT_SLOT_NONE, _RO or _RW (gnttab.c) */
    /* per grant-window page: 1 + the machine frame mapped there, 0: none (domain.c) */
    uint32_t *gnt_mfn;
    /* per grant-window page: one of the domain's engines may hold a TLB entry for it (set by
     * vcpu.c's fill hook, cleared when domain.c flushes them); the set ones listed while few */
    uint8_t *gnt_tlb;
    uint16_t gnt_tlb_list[GNT_TLB_LIST];
    uint32_t gnt_tlb_n; /* > GNT_TLB_LIST: more than the list holds */

    /* symbols for naming guest code in traces */
    struct guest_sym *syms;
    size_t nsyms;

    simtime_t cpu_ps; /* CPU time its vCPUs ran (a native kernel: also its interrupt entries) */
    bool dead;
    int shutdown_reason; /* SHUTDOWN_* when dead */
    char console[512];
    size_t console_len;
    char last_said[3][160]; /* the console's last lines, shown on a crash under --quiet */
    unsigned said;          /* lines written so far */
    uint64_t checks_pass, checks_fail;
    uint64_t hypercalls, guest_errors;
    uint64_t tlb_flushes;     /* flush_tlb_mask calls for its grant unmaps (flush.c) */
    uint64_t tlb_remote_cpus; /* remote CPUs those flushes interrupted */
    int restarts;             /* incarnations before this one (on_crash = "restart") */
    simtime_t crash_time;     /* when it crashed, for the toolstack's restart */
    uint64_t vtd_pgd;         /* IOMMU second-level tables (vtd.c), 0 if none */
    bool vtd_strict;          /* own memory + grant mappings only (not the hardware domain) */
    evq_handle store_ev;      /* a store pass is queued */
    uint64_t store_req;
};

struct pci_bus;
struct pci_func;
struct sas_hba;
struct disk;
struct e1000;
struct link;
struct peer;
struct pcap;

#define PLAT_HOP_DUE 64
struct plat_hop_due {
    uint64_t req;
    simtime_t raised, when;
    const char *irq; /* "msi", "intx"; NULL: none (masked) */
    int64_t arg;
};
/* A device on the platform and the domain that owns it. */
struct plat_dev {
    struct machine *m;
    struct domain *owner;
    struct sas_hba *hba; /* kind sas_hba */
    struct e1000 *nic;   /* kind e1000, with its wire and the host at the far end */
    struct link *link;
    struct peer *peer;
    struct pci_func *f;
    uint16_t place;
    uint64_t mapped_addr[6], mapped_size[6];
    uint64_t lost_irqs; /* raised with no bound event channel */
    uint64_t irq_req;   /* the first request the pending interrupt completes */
    /* completions whose interrupt is on its way: the request leaves the device when it
       arrives (or when the driver finds the completion first) */
    struct plat_hop_due hop_due[PLAT_HOP_DUE];
    int nhop_due;
    struct disk *disk0;      /* the first disk behind it (owned by the HBA) */
    bool passthrough;        /* assigned by the toolstack to a driver domain (not dom0) */
    simtime_t dma_stall;     /* IOMMU walk time not yet charged to a DMA transfer */
    uint64_t dma_faults;     /* DMA requests the IOMMU refused */
    uint64_t foreign_writes; /* DMA writes into memory its owner may not reach (vtd.c) */
};

struct pcpu {
    int id;
    uint16_t place;
    struct vcpu *current; /* running or trapping vCPU */
    struct vcpu *rq_head, *rq_tail;
    struct domain *last_dom; /* whose context is loaded (world-switch cost) */
    bool busy;               /* an event is scheduled for this pCPU */
    simtime_t idle_since;
    struct machine *m;
    struct cpuacct acct; /* busy/idle accounting */
    bool acct_open;      /* a busy interval is open, since acct_from */
    simtime_t acct_from;
    simtime_t ipi_debt;      /* TLB-flush IPI handler time owed from inside a slice (flush.c) */
    uint64_t flush_ipis;     /* TLB-flush IPIs taken */
    struct vcpu *rs_spinner; /* spinning for efi_rs_lock before a runtime call (sched.c) */
    bool rs_granted;         /* efi_rs_lock was handed to rs_spinner */
    /* cache/TLB refill penalties (refill.c) */
    const void *tlb_as;             /* whose untagged TLB entries are live: a domain, the runtime
                                       services' page tables (refill.c), or NULL */
    const char *tlb_lost;           /* what dropped them last (a span name) */
    uint32_t asid_gen;              /* VPID-tagged entries valid: bumped when flushed */
    const struct domain *cache_dom; /* whose working set the caches hold */
    struct rng rng;                 /* stream "pcpuN.refill" of the scenario's seed */
};

/* CPU time so far, for the per-request figures (acct.c). */
struct acct_snap {
    simtime_t t;   /* when taken */
    uint64_t done; /* requests completed by then */
    simtime_t busy[MAX_PCPUS], guest[MAX_PCPUS];
    simtime_t dom[SC_MAX_DOMAINS];
};

enum dom_role { ROLE_FRONT, ROLE_BACK, ROLE_OTHER, ROLE_COUNT };

/* What the CPUs did (machine_cpu_stats). */
struct machine_cpu_stats {
    int npcpus;
    struct cpuacct_stats pcpu[MAX_PCPUS]; /* the whole run */
    /*
     * The request window: from the start of the busy interval in which the
     * first request appeared to the end of the one in which the last
     * completed. Per-request CPU time and utilisation are taken over it.
     */
    simtime_t window;
    uint64_t requests;
    simtime_t role_ps[ROLE_COUNT]; /* guest CPU time of front-end, back-end and other domains */
    simtime_t hv_ps;               /* hypervisor CPU time */
    double util[MAX_PCPUS];        /* busy share of the window */
};

#define DOMID_INDEX 256 /* domids below it are found through machine.by_domid */

struct machine {
    const struct scenario *sc;
    const struct cost_profile *cost;
    double hz;
    /* machine_cost's answers, worked out once (machine_create): every hop charges several per
     * request; UINT64_MAX where cost_ps must be asked (and assert) */
    simtime_t cost_at[COST_COUNT];
    bool cost_at_ready;
    struct evq q;
    struct trace *tr;
    struct xs *xs;
    bool quiet;
    FILE *console_out;

    uint8_t *mem; /* machine memory: a shared mapping of mem_fd */
    int mem_fd;   /* memfd holding machine memory (valid while mem is set) */
    uint64_t nr_mfns, next_mfn;
    /* the host's RAM for domains (machine memory_mb) and what domains hold of it (memory.c) */
    uint64_t ram_limit, ram_used;
    uint64_t *free_mfns; /* frames given back, scrubbed; reused last-in first-out */
    uint64_t nfree_mfns;
    struct domain **frame_owner; /* per machine frame: the domain holding it, NULL if none */
    uint32_t *frame_maps;        /* per machine frame: grant mappings of it (gnttab.c) */
    struct resv_log *resv;       /* reservation over time (memory.c), NULL until it changes */

    struct pcpu pcpus[MAX_PCPUS];
    int npcpus;
    /* a device interrupt is being delivered (platform.c): a vCPU it wakes on an idle pCPU is
       woken by the interrupt itself, not by another CPU's IPI (sched_wake) */
    bool in_device_irq;
    struct domain *doms[SC_MAX_DOMAINS];
    int ndoms;
    /* machine_domain's index by domid (its first match in doms), rebuilt when doms_gen moved:
       whatever changes doms[] or a domain's domid bumps doms_gen */
    uint32_t doms_gen, domid_gen;
    struct domain *by_domid[DOMID_INDEX];
    int live_doms;

    bool stop;
    void (*progress)(struct machine *m); /* called every 65536 events, may be NULL */
    bool fast_traps;    /* hypercalls may be handled inside the engine (sched_fast_trap) */
    char failure[1024]; /* first fatal simulation failure */
    simtime_t slice_ps;
    uint64_t total_hypercalls;
    uint64_t engine_runs;          /* uc_emu_start calls (vcpu_run_slice) */
    uint64_t engine_fast_traps;    /* hypercalls handled inside the engine (sched_fast_trap) */
    uint64_t engine_switches;      /* a shared engine changed the domain it runs (vcpu_share.c) */
    uint64_t tlb_fills;            /* TLB entries the fill hook gave (vcpu.c) */
    struct engine *shared_engines; /* one per code image of the domUs (vcpu_share.c) */

    struct spiflash *flash; /* the platform's SPI NOR chip, if the scenario has one */
    struct spictrl *spi;
    char flash_copy[64];       /* the run's private copy of the flash image */
    uint8_t pcr0[32];          /* measured boot: PCR0 */
    struct vmutex efi_rs_lock; /* Xen's global runtime-services lock (sched.c, platform.c) */
    struct vlock flush_lock;   /* Xen's flush_lock: one remote TLB shootdown at a time (flush.c) */
    simtime_t boot_clock;      /* firmware time spent reading runtime images */

    struct pci_bus *pci;
    struct plat_dev devs[SC_MAX_DEVICES];
    int ndevs;
    struct pcap *pcap; /* capture of the wires (output.pcap / --pcap) */
    bool drain_wire;   /* a NIC exists: after the last domain, run until the queue drains */
    bool bars_dirty;

    int restarts; /* driver domains the toolstack rebuilt (restart.c) */
    /* a hostile component's attempts (HOPSIM_OP_PROBE) by target and access (1 read, 2 write) */
    struct machine_probe {
        uint32_t tried, reached;
        int64_t refusal; /* the last refusal's code (0: none) */
    } probe[PROBE_TARGETS][3];
    struct iommu *iommu; /* DMA remapping unit, NULL when the scenario has none */
    uint64_t vtd_root, vtd_ctx;
    struct acct_snap acct_first, acct_last; /* CPU time at the request window's ends */
    bool acct_have_first;
    simtime_t acct_end; /* the run's end for accounting (set by acct_finish) */

    struct l4_kernel *l4;    /* the microkernel model, when the scenario has l4 tasks */
    uint64_t l4_irq_req[64]; /* per microkernel interrupt: the request its IPC serves */

    /* xenstore service: single-threaded, like xenstored */
    uint64_t xs_notify[(SC_MAX_DOMAINS + 63) / 64];
    simtime_t xs_busy_until;
    uint16_t xs_place;
};

/* machine.c */
int machine_create(struct machine *m, const struct scenario *sc, struct trace *tr, bool quiet,
                   char *err, size_t errlen);
/* Run to completion (all domains dead), the time limit, or deadlock. 0 ok, -1 failed. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);
struct domain *machine_domain(struct machine *m, int domid);
/* Notify the domains the store has queued output for (after a toolstack write or a release). */
void machine_store_flush(struct machine *m, simtime_t when);
uint64_t machine_alloc_mfns(struct machine *m, uint64_t n);
static inline void *machine_frame(struct machine *m, uint64_t mfn)
{
    return m->mem + (mfn << PAGE_SHIFT);
}
simtime_t machine_cycles(const struct machine *m, double cycles);
simtime_t machine_cost(const struct machine *m, enum cost_id id);

/* acct.c: CPU accounting */
/* pCPU p becomes busy at t (no-op if it already is). */
void acct_open(struct pcpu *p, simtime_t t);
/* p's busy interval ends at `end`; `guest` ps of it ran d's code (d may be NULL). */
void acct_close(struct pcpu *p, simtime_t end, struct domain *d, simtime_t guest);
/* The run is over: close what is open and trace the last idle spans. */
void acct_finish(struct machine *m);
void machine_cpu_stats(const struct machine *m, struct machine_cpu_stats *s);
enum dom_role machine_dom_role(const struct machine *m, const struct domain *d);

/* ending.c */
/* The event queue is empty with domains alive: fill m->failure naming who waits on what. */
void machine_report_deadlock(struct machine *m);
/* The time limit was reached: a failure if work is unfinished and the limit is not the end. */
void machine_report_time_limit(struct machine *m);
/* Domain d is dead: the toolstack destroys the split devices it left open (@releaseDomain). */
void toolstack_release(struct machine *m, struct domain *d);
/* machine.c: xenstore introduction and a connect{}'s directories (current incarnations). */
int toolstack_introduce(struct machine *m, struct domain *d);
int toolstack_connect(struct machine *m, const struct sc_conn *c);
/* restart.c: a crashed driver domain with on_crash = "restart" (xl.cfg). */
#define TOOLSTACK_MAX_RESTARTS 3
/* Called by domain_kill for a crash: true if the toolstack restarts it (not a run failure). */
bool toolstack_on_crash(struct machine *m, struct domain *d);

/* domain.c */
int domain_build(struct machine *m, int idx, char *err, size_t errlen);
void domain_free(struct domain *d);
void domain_kill(struct domain *d, int reason, const char *why);
/* Host pointer to [gpa, gpa+len) of guest RAM, NULL if not entirely inside RAM. */
void *guest_ram(struct domain *d, uint64_t gpa, uint64_t len);
const char *domain_symbol(const struct domain *d, uint64_t addr);
/* Grant window (domain.c): put machine frame mfn at host_addr, or take it away. */
int domain_window_map(struct domain *d, uint64_t host_addr, uint64_t mfn, bool readonly);
int domain_window_unmap(struct domain *d, uint64_t host_addr);
/* Mark [gpa, gpa+len) of RAM as code: the only pages a vCPU may fetch instructions from. */
void domain_set_exec(struct domain *d, uint64_t gpa, uint64_t len);
static inline bool domain_page_exec(const struct domain *d, uint64_t pfn)
{
    return pfn < d->nr_pages && (d->exec_pages[pfn >> 3] >> (pfn & 7) & 1);
}
void domain_console(struct domain *d, const char *buf, size_t len);

/* vcpu.c */
int vcpu_create(struct domain *d, int id, char *err, size_t errlen);
void vcpu_destroy(struct vcpu *v);
/* Run one slice; returns with v->trap set. */
void vcpu_run_slice(struct vcpu *v, uint64_t budget_mcycles);
/* From a hook: the running engine goes on with a new slice (sched_fast_trap). */
void vcpu_continue_slice(struct vcpu *v, uint64_t budget_mcycles);
uint64_t vcpu_reg(struct vcpu *v, int reg);
void vcpu_set_reg(struct vcpu *v, int reg, uint64_t val);
int vcpu_map(struct vcpu *v, uint64_t gpa, uint64_t len, void *host, bool writable);
int vcpu_unmap(struct vcpu *v, uint64_t gpa, uint64_t len);
/* Drop every cached translation of the engine (after a grant-window slot changed). */
void vcpu_flush_tlb(struct vcpu *v);
/* Read guest memory as the vCPU sees it (grant mappings included). 0 or -1 if absent. */
int vcpu_read(struct vcpu *v, uint64_t gpa, void *buf, size_t len);
/* Deliver a pending upcall (Xen bounce frame) if events are pending and unmasked. */
bool vcpu_deliver_upcall(struct vcpu *v);
/* Time now as seen inside the current slice (slice start + cycles so far). */
simtime_t vcpu_now(const struct vcpu *v);

/* platform.c */
struct mmio_ops;
int platform_create(struct machine *m, char *err, size_t errlen);
int platform_flash_create(struct machine *m, char *err, size_t errlen);
/* After the domains are built: the scenario's SetVariable call, if any. */
void platform_schedule_setvariable(struct machine *m);
void platform_destroy(struct machine *m);
/* A driver domain died: its passed-through functions are reset (pciback), Bus Master off. */
void platform_release_devices(struct domain *d, simtime_t now);

/* What the network devices counted in a run (summed over NICs). */
struct platform_net_stats {
    int nics;
    uint64_t wire_frames[2], wire_bytes[2]; /* [0] NIC -> peer, [1] peer -> NIC */
    uint64_t peer_bad_payload;              /* a bad one fails the run */
};
void platform_net_stats(const struct machine *m, struct platform_net_stats *s);
/* One line per NIC, its wire and its peer. */
void platform_net_report(const struct machine *m, FILE *out);
/* One line per SAS HBA: completions, interrupts, reply coalescing (blk_report.c). */
void platform_blk_report(const struct machine *m, FILE *out);
/* Flush and close the capture file: 0, or -1 with err filled. */
int platform_pcap_close(struct machine *m, char *err, size_t errlen);
void platform_sync_bars(struct machine *m);
uint32_t platform_port_read(struct vcpu *v, uint16_t port, int size);
void platform_port_write(struct vcpu *v, uint16_t port, int size, uint32_t value);
uint64_t platform_mmio(struct vcpu *v, const struct mmio_ops *ops, void *opaque, uint16_t place,
                       uint64_t off, unsigned size, uint64_t value, bool write);
long physdev_op(struct vcpu *v, int cmd, uint64_t arg);
int vcpu_mmio_map(struct vcpu *v, uint64_t gpa, uint64_t size, const struct mmio_ops *ops,
                  void *opaque, uint16_t place);
/* HVM: exact RIP on faulting accesses, and a port-I/O exit at each given instruction. */
int vcpu_hvm_setup(struct vcpu *v, const uint64_t *pio_sites, size_t n);
/* Read-only copy of guest code bytes (from the engine). */
int vcpu_code(struct vcpu *v, uint64_t addr, void *buf, size_t len);

/* sched.c */
/*
 * The request a span made on v's behalf serves: its context request while
 * that request is in v's domain, or travelling to it through the hypervisor
 * (H3/H7) on an event; otherwise none (the vCPU does other work).
 */
uint64_t vcpu_trace_req(const struct vcpu *v);
void sched_wake(struct vcpu *v, simtime_t when);
void sched_start(struct machine *m);
void sched_block(struct vcpu *v);
/* A hypercall from inside the engine: true if handled and the guest goes on (sched.c). */
bool sched_fast_trap(struct vcpu *v);

/* hypercall.c */
enum hc_action { HC_CONTINUE, HC_BLOCK, HC_YIELD, HC_DEAD };
/* Handle the hypercall v trapped on at `now`; *cost_ps gets the hypervisor time spent. */
enum hc_action hypercall_dispatch(struct vcpu *v, simtime_t now, simtime_t *cost_ps);

/* traps.c: HYPERVISOR_set_trap_table; #GP for a PV kernel's privileged instruction */
long do_set_trap_table(struct vcpu *v, uint64_t list);
enum hc_action pv_trap_gp(struct vcpu *v, simtime_t now, simtime_t *cost_ps);
/* memory_op's cmd: the op in the low bits, the start extent of a continuation above (Xen's
   common/memory.c; not in the public headers) */
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK ((1 << MEMOP_EXTENT_SHIFT) - 1)
/* memory.c: reservations (XENMEM_*_reservation, populate_physmap), the host frame pool */
int memory_domain_init(struct domain *d);
void memory_domain_fini(struct domain *d);
long memory_reservation_op(struct vcpu *v, int op, uint64_t arg, simtime_t *cost);
/* XEN_DOMCTL_max_mem for d, in KiB (the toolstack's xc_domain_setmaxmem). */
void memory_set_max(struct domain *d, uint64_t max_kb);
static inline bool domain_gpfn_present(const struct domain *d, uint64_t gpfn)
{
    return gpfn < d->nr_pages && d->p2m[gpfn] != P2M_INVALID;
}
/* The machine frame behind gpfn, or P2M_INVALID. */
static inline uint64_t domain_gpfn_to_mfn(const struct domain *d, uint64_t gpfn)
{
    return gpfn < d->nr_pages ? d->p2m[gpfn] : P2M_INVALID;
}
/* balloon.c: the toolstack's mem-set actions and the reservation-over-time report */
void balloon_schedule(struct machine *m);
void balloon_note(struct machine *m, struct domain *d);
int balloon_report(struct machine *m, FILE *out, const char *csv, char *err, size_t errlen);
void balloon_fini(struct machine *m);

/* evtchn.c */
int evtchn_init(struct domain *d);
void evtchn_fini(struct domain *d);
/* Raise `port` of domain d at time `when` (set pending, wake). */
void evtchn_set_pending(struct domain *d, uint32_t port, simtime_t when, uint64_t req);
long evtchn_op(struct vcpu *v, int cmd, uint64_t arg, simtime_t now, simtime_t *cost);
uint32_t evtchn_alloc_store(struct domain *d);
void evtchn_send_virq(struct domain *d, int vcpu, uint32_t virq, simtime_t when);
void evtchn_domain_dead(struct domain *d, simtime_t when);
void machine_store_kick(struct machine *m, struct domain *d, simtime_t when, uint64_t req);
bool evtchn_port_pending(struct domain *d, uint32_t port);

/* gnttab.c */
enum { GNT_SLOT_NONE, GNT_SLOT_RO, GNT_SLOT_RW };
int gnttab_init(struct domain *d);
void gnttab_fini(struct domain *d);
long gnttab_op(struct vcpu *v, int cmd, uint64_t arg, uint32_t count, simtime_t now,
               simtime_t *cost);
int gnttab_map_frame_gpfn(struct domain *d, uint32_t idx, uint64_t gpfn);
/* Map d's shared_info page at guest frame gpfn on every vCPU (XENMAPSPACE_shared_info). */
long domain_map_shared_info(struct domain *d, uint64_t gpfn);
void gnttab_domain_dead(struct domain *d);

/* flush.c: TLB shootdowns after grant unmaps (Xen's gnttab_flush_tlb) */
/* The pCPUs whose TLBs may hold d's mappings (Xen's d->dirty_cpumask), plus `self`. */
uint64_t flush_dirty_mask(const struct domain *d, int self);
/* flush_tlb_mask(d->dirty_cpumask) by v at t: charges remote CPUs; returns v's time. */
simtime_t flush_tlb_domain(struct vcpu *v, uint64_t req, simtime_t t);
/* p enters the hypervisor at t: the flush IPI time it owes, traced from t. */
simtime_t flush_take_debt(struct pcpu *p, simtime_t t);

/* refill.c: cache/TLB refill penalties after world switches, CR3 switches, runtime calls */
/* Before v's slice on p at t: charge what it re-fetches (a `refill` span); returns the end. */
simtime_t refill_charge(struct pcpu *p, struct vcpu *v, bool rs_entry, simtime_t t);
/* p's untagged TLB entries were dropped (a CR3 switch), and VPID-tagged ones too if tagged_too
 * (a flush); `why` names it. */
void refill_tlb_lost(struct pcpu *p, const char *why, bool tagged_too);

/* lock.c: Xen's locks as virtual-time locks (vlock.h); waits are charged and traced */
/* v takes l at t for `hold` (shared: the read side); returns the wait, traced as lock_wait. */
simtime_t xen_lock(struct vcpu *v, struct vlock *l, bool shared, const char *name, simtime_t t,
                   simtime_t hold);

/* time helpers for spans */
void span_cpu(struct machine *m, int pcpu, uint16_t kind, uint64_t req, simtime_t start,
              simtime_t end, const char *name, int64_t arg);

#endif
