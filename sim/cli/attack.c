/*
 * `hopsim attack-matrix`: the patent's security claim, and its limits, as
 * measured outcomes. Each case drives the real models -- the SPI NOR chip,
 * the PCH SPI controller with its protections and SMI, the firmware's
 * measured boot -- on a private copy of the platform flash, and reports a
 * verdict with its evidence:
 *
 *   blocked      the controller refused the write (which protection)
 *   detected     the write landed, and measured boot's PCR0 differs
 *   compromised  tampered code runs and nothing measured it
 *
 * The attacker is a compromised privileged OS (dom0's kernel) with ring-0
 * access to the SPI controller but not to SMM. Its payload is a valid
 * runtime image that differs from the genuine one in one byte, so every
 * check but the measurement passes.
 *
 * The availability cases (SetVariable erasing flash during I/O, a fault
 * inside the backend) and the malicious frontend are measured by running
 * the block scenarios in-process.
 */
#include "attack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "device.h"
#include "infile.h"
#include "flashimg.h"
#include "fwboot.h"
#include "spi_ctrl.h"
#include "spi_flash.h"
#include "run.h"

#define ATTACK_FLASH_BYTES (16u << 20) /* the bench's W25Q128JV */
#define ATTACK_ELF_MAX (16u << 20)     /* a runtime image must fit the flash anyway */

struct bench {
    struct evq q;
    struct cost_profile cost;
    struct spiflash *flash;
    struct spictrl *c;
    char path[64];
    simtime_t now;
};

struct verdict {
    const char *what;
    char evidence[320];
};

static int bench_open(struct bench *b, const char *golden, char *err, size_t errlen)
{
    memset(b, 0, sizeof(*b));
    evq_init(&b->q);
    if (cost_load(&b->cost, HOPSIM_PROFILE_DIR "/default.profile", err, errlen) < 0)
        return -1;
    int fd = infile_private_copy(golden, ATTACK_FLASH_BYTES, ATTACK_FLASH_BYTES, b->path,
                                 sizeof(b->path), err, errlen);
    if (fd < 0)
        return -1;
    b->flash = spiflash_open("W25Q128JV", b->path, &b->cost, err, errlen);
    close(fd); /* the chip holds its own descriptor of the nameless copy */
    b->path[0] = 0;
    if (!b->flash)
        return -1;
    struct dev_env env = {.q = &b->q, .cost = &b->cost, .hz = 3e9};
    b->c = spictrl_create(&env, b->flash, err, errlen);
    if (!b->c)
        return -1;
    spictrl_set_read_mode(b->c, 0x0b, 50e6);
    return 0;
}

static void bench_close(struct bench *b)
{
    if (b->c)
        spictrl_destroy(b->c);
    if (b->flash)
        spiflash_close(b->flash);
    evq_fini(&b->q);
}

/* Let time pass to `t`: pending SMIs are serviced. */
static void advance(struct bench *b, simtime_t t)
{
    evq_run_until(&b->q, t, NULL);
    if (t > b->now)
        b->now = t;
}

/* Boot the runtime image and return its PCR0 (hex); -1 if the firmware refuses. */
static int measure(struct bench *b, char *pcr_hex, char *err, size_t errlen)
{
    uint8_t pcr[32] = {0}, *img = NULL;
    size_t len;
    struct fwboot_result r;
    if (fwboot_runtime_image(b->c, "hopsim-rt", b->now, pcr, &img, &len, &r, err, errlen) < 0)
        return -1;
    free(img);
    fwboot_hex(r.pcr0, pcr_hex);
    return 0;
}

/* Firmware's lock-down at the end of boot, as chipsec's bios_wp wants it. */
static void lock_down(struct bench *b, bool smm_bwp, bool pr, bool flockdn)
{
    char err[128];
    uint32_t base = 0x800000, limit = 0xffffff;
    spictrl_bios_cntl_write(b->c, SPICTRL_BLE | (smm_bwp ? SPICTRL_SMM_BWP : 0), true, b->now);
    if (pr)
        spictrl_set_pr(b->c, 0, base, limit, false, true, err, sizeof(err));
    if (flockdn)
        spictrl_lock(b->c, b->now);
}

/* One write or erase cycle by the attacker, after setting BIOSWE (the Speed Racer loop:
 * with BLE=1 each set raises an SMI whose handler clears BIOSWE smi_latency later). */
static void attacker_cycle(struct bench *b, enum spictrl_fcycle cyc, uint32_t addr,
                           const uint8_t *data, unsigned *landed, unsigned *refused, char *why,
                           size_t whylen)
{
    uint8_t bc = spictrl_bios_cntl_read(b->c, b->now);
    spictrl_bios_cntl_write(b->c, bc | SPICTRL_BIOSWE, false, b->now);
    simtime_t done;
    uint8_t none = 0xff; /* an erase carries no data; FDBC must still be valid */
    int rc = spictrl_hwseq(b->c, cyc, addr, data ? (void *)data : &none, data ? 64 : 1, false,
                           b->now, &done);
    if (rc < 0) {
        if (!(*refused)++)
            snprintf(why, whylen, "%s", spictrl_last_refusal(b->c)->text);
    } else {
        (*landed)++;
    }
    advance(b, done);
}

static bool all_ff(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0xff)
            return false;
    return true;
}

/* Rewrite every 4 KiB sector in which `want` differs from the flash. Returns cycles refused. */
static unsigned reflash(struct bench *b, const uint8_t *want, size_t size, unsigned *landed,
                        char *why, size_t whylen)
{
    uint8_t *cur = malloc(size);
    unsigned refused = 0;
    *landed = 0;
    why[0] = 0;
    spiflash_peek(b->flash, 0, cur, size);
    for (size_t sec = 0; cur && sec < size; sec += 4096) {
        if (!memcmp(cur + sec, want + sec, 4096))
            continue;
        attacker_cycle(b, SPICTRL_CYC_ERASE_4K, (uint32_t)sec, NULL, landed, &refused, why, whylen);
        for (size_t off = 0; off < 4096; off += 64)
            if (!all_ff(want + sec + off, 64))
                attacker_cycle(b, SPICTRL_CYC_WRITE, (uint32_t)(sec + off), want + sec + off,
                               landed, &refused, why, whylen);
    }
    free(cur);
    return refused;
}

/* The bytes of a checked input file (regular, 1..ATTACK_ELF_MAX bytes); NULL with err. */
static uint8_t *read_input(const char *path, size_t *len, char *err, size_t errlen)
{
    uint64_t size;
    int fd = infile_open(path, 1, ATTACK_ELF_MAX, &size, err, errlen);
    if (fd < 0)
        return NULL;
    uint8_t *buf = malloc((size_t)size);
    ssize_t n = buf ? pread(fd, buf, (size_t)size, 0) : -1;
    close(fd);
    if (n != (ssize_t)size) {
        snprintf(err, errlen, "%s: cannot read %llu bytes", path, (unsigned long long)size);
        free(buf);
        return NULL;
    }
    *len = (size_t)size;
    return buf;
}

/* The genuine image with one byte of a symbol name changed, built into a flash image. */
static uint8_t *tampered_flash(const char *elf, size_t size, char *err, size_t errlen)
{
    char mod[64], fd_out[64];
    int fd = infile_tmp(mod, sizeof(mod), err, errlen);
    int fd2 = fd < 0 ? -1 : infile_tmp(fd_out, sizeof(fd_out), err, errlen);
    uint8_t *img = NULL, *flash = NULL;
    size_t n = 0;
    if (fd < 0 || fd2 < 0 || !(img = read_input(elf, &n, err, errlen)))
        goto out;
    uint8_t *hit = memmem(img, n, "blkback_init", 12);
    if (hit)
        hit[0] = 'X';
    if (write(fd, img, n) != (ssize_t)n)
        goto out;
    char file_arg[96];
    snprintf(file_arg, sizeof(file_arg), "hopsim-rt=%s", mod);
    char *argv[] = {"build", "-o", fd_out, "--file", file_arg, NULL};
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = flash_main(5, argv);
    fclose(stdout);
    stdout = saved;
    flash = rc == 0 ? malloc(size) : NULL;
    if (flash && pread(fd2, flash, size, 0) != (ssize_t)size) {
        free(flash);
        flash = NULL;
    }
out:
    if (!flash)
        snprintf(err, errlen, "cannot build the tampered image from %s", elf);
    free(img);
    if (fd >= 0)
        close(fd);
    if (fd2 >= 0)
        close(fd2);
    return flash;
}

/* One reflash attack under a protection setting; fills the verdict. */
static int reflash_case(const char *golden, const char *elf, bool ble, bool smm_bwp, bool pr,
                        bool flockdn, struct verdict *v, char *err, size_t errlen)
{
    struct bench b;
    char pcr0[65], pcr1[65], why[96];
    int rc = -1;
    if (bench_open(&b, golden, err, errlen) < 0 || measure(&b, pcr0, err, errlen) < 0)
        goto out;
    if (ble)
        lock_down(&b, smm_bwp, pr, flockdn);
    size_t size = spiflash_size(b.flash);
    uint8_t *want = tampered_flash(elf, size, err, errlen);
    if (!want)
        goto out;
    simtime_t t0 = b.now;
    unsigned landed, refused = reflash(&b, want, size, &landed, why, sizeof(why));
    free(want);
    if (measure(&b, pcr1, err, errlen) < 0) {
        v->what = "detected";
        snprintf(v->evidence, sizeof(v->evidence),
                 "%u cycles landed, %u refused; the firmware refuses the flash: %s", landed,
                 refused, err);
        rc = 0;
        goto out;
    }
    if (!landed) {
        v->what = "blocked";
        snprintf(v->evidence, sizeof(v->evidence),
                 "all %u write/erase cycles refused (%s); PCR0 "
                 "unchanged",
                 refused, why);
    } else if (strcmp(pcr0, pcr1)) {
        v->what = "detected";
        snprintf(v->evidence, sizeof(v->evidence),
                 "%u cycles landed in %.1f ms (%llu SMIs raced)%s%s; measured boot: PCR0 %.16s... "
                 "!= golden %.16s...",
                 landed, (double)(b.now - t0) / PS_PER_MS,
                 (unsigned long long)spictrl_smi_count(b.c), refused ? ", first refusal " : "",
                 refused ? why : "", pcr1, pcr0);
    } else {
        v->what = "blocked";
        snprintf(v->evidence, sizeof(v->evidence), "%u cycles landed but the image is unchanged",
                 landed);
    }
    rc = 0;
out:
    bench_close(&b);
    return rc;
}

static void sha256_bytes(const uint8_t *buf, size_t n, char *hex)
{
    uint8_t md[32];
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, n, buf);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, md);
    fwboot_hex(md, hex);
}

/*
 * xen-dom0: the compromised dom0 rewrites its own kernel on disk (here: a
 * copy with one byte changed). The xen-dom0 boot path loads dom0 from disk
 * and measures nothing, so the tampered image boots as if genuine.
 */
static int dom0_case(const char *elf, char *err, size_t errlen)
{
    char before[65], after[65];
    size_t n;
    uint8_t *img = read_input(elf, &n, err, errlen);
    if (!img)
        return -1;
    sha256_bytes(img, n, before);
    uint8_t *hit = memmem(img, n, "blkback_init", 12);
    if (hit)
        hit[0] = 'X';
    sha256_bytes(img, n, after);
    free(img);
    printf("%-9s %-54s %-12s dom0 image on disk %.12s... -> %.12s...; loaded with no "
           "measurement\n",
           "xen-dom0", "compromised dom0 rewrites backend.elf on disk",
           strcmp(before, after) ? "compromised" : "blocked", before, after);
    return 0;
}

/* Run a scenario in-process with `sets` (pairs), quietly, on a fresh disk image. */
static int run_case(const char *scenario, const char *const (*sets)[2], int nsets,
                    struct run_result *r)
{
    struct run_opts o = {.scenario = scenario, .quiet = true, .no_summary = true};
    char disk[64], err[256];
    int fd = infile_tmp(disk, sizeof(disk), err, sizeof(err)); /* nameless; the run sizes it */
    if (fd < 0)
        return -1;
    for (int i = 0; i < nsets + 1 && o.nsets < SC_MAX_SETS; i++) {
        const char *k = i < nsets ? sets[i][0] : "disk", *v = i < nsets ? sets[i][1] : disk;
        snprintf(o.sets[o.nsets].key, sizeof(o.sets[0].key), "%s", k);
        snprintf(o.sets[o.nsets++].value, sizeof(o.sets[0].value), "%s", v);
    }
    FILE *saved = stdout, *saved_err = stderr;
    stdout = fopen("/dev/null", "w");
    stderr = fopen("/dev/null", "w");
    int rc = run_scenario(&o, r);
    fclose(stdout);
    fclose(stderr);
    stdout = saved;
    stderr = saved_err;
    close(fd);
    return rc;
}

/* Max end-to-end latency (us) of a short uefi-rt SSD run, with or without a SetVariable. */
static double io_max_us(const char *setvariable_ms, const char *flash_image)
{
    const char *const sets[][2] = {{"arch", "uefi-rt"},
                                   {"disk_type", "ssd"},
                                   {"requests", "100"},
                                   {"flash_image", flash_image},
                                   {"setvariable_ms", setvariable_ms}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, 5, &r);
    return rc == 0 && r.have_request ? (double)r.request.max / PS_PER_US : -1;
}

/* The backend faults on its 30th request: how much I/O do the guests still get? */
static void fault_row(const char *arch, const char *flash_image)
{
    const char *const sets[][2] = {{"arch", arch},
                                   {"disk_type", "ssd"},
                                   {"requests", "100"},
                                   {"flash_image", flash_image},
                                   {"fault_after", "30"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, 5, &r);
    printf("%-9s %-54s %-12s %llu of 100 requests completed; after the fault no guest gets I/O "
           "(%s)\n",
           arch, "fault inside the backend (request 30)",
           rc != 0 && r.requests_done < 100 ? "I/O lost" : "survived",
           (unsigned long long)r.requests_done,
           !strcmp(arch, "uefi-rt") ? "runtime services disabled until reboot"
                                    : "dom0 is gone; Xen reboots the host on a dom0 crash");
}

/*
 * The device emulation of an unmodified guest faults at its 30th command
 * (devmodel fault_after): in hvm-emul it is part of dom0, in hosted a
 * process of the host OS. Who is still running afterwards?
 */
static void dm_fault_row(const char *arch)
{
    const char *const sets[][2] = {
        {"arch", arch}, {"disk_type", "ssd"}, {"requests", "100"}, {"fault_after", "30"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, 4, &r);
    bool dom0 = !strcmp(arch, "hvm-emul");
    const char *verdict = rc == 0 || r.requests_done >= 100 ? "survived"
                          : r.privileged_crashed            ? "I/O lost"
                          : r.crashed                       ? "VM lost"
                                                            : "I/O lost";
    printf("%-9s %-54s %-12s %llu of 100 requests completed; %s\n", arch,
           "fault in the device emulation (command 30)", verdict,
           (unsigned long long)r.requests_done,
           dom0 ? (r.privileged_crashed ? "dom0 crashed with its device model and drivers: every "
                                          "guest's emulated and PV I/O is gone"
                                        : "dom0 did not crash")
                : (!r.privileged_crashed && r.crashed
                       ? "the host reaped the emulating process and its VM; the host OS and its "
                         "other processes run on"
                       : "the host OS went down too"));
}

/*
 * l4-vmm, two VMs: the emulation in VM 1's user-level VMM faults at its
 * 30th command -- the VMM task crashes. Who is still running afterwards?
 * The VMM's VM goes with it (its task and memory were the VMM's); the
 * other VM, its VMM and the driver server run on.
 */
static void vmm_fault_row(void)
{
    const char *const sets[][2] = {{"arch", "l4-vmm"},
                                   {"disk_type", "ssd"},
                                   {"requests", "100"},
                                   {"domus", "2"},
                                   {"fault_after", "30"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, 5, &r);
    bool contained = rc != 0 && r.doms_crashed == 2 && !strcmp(r.crashed_names, "vmm1, vm1") &&
                     strstr(r.poweroff_names, "vm2") && r.requests_done >= 100;
    const char *verdict = rc == 0 ? "survived" : contained ? "VM lost" : "I/O lost";
    printf("%-9s %-54s %-12s %llu of 200 requests completed; crashed: %s; ran to the end: %s\n",
           "l4-vmm", "fault in VM 1's VMM emulation (command 30), 2 VMs", verdict,
           (unsigned long long)r.requests_done, r.crashed_names[0] ? r.crashed_names : "none",
           r.poweroff_names[0] ? r.poweroff_names : "none");
}

/*
 * A rogue driver in the backend programs its HBA to DMA into the frontend's
 * memory (blkback rogue_after): did the write land (the platform's count of
 * DMA writes outside what the owner may reach) or did the IOMMU refuse it
 * (its fault records)?
 */
static void rogue_row(const char *arch, bool iommu)
{
    const char *const sets[][2] = {{"arch", arch},
                                   {"disk_type", "ssd"},
                                   {"requests", "30"},
                                   {"rogue_after", "10"},
                                   {"iommu", iommu ? "true" : "false"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, 5, &r);
    char name[80];
    snprintf(name, sizeof(name), "rogue driver DMAs into a domU's memory (IOMMU %s)",
             iommu ? "on" : "off");
    const char *verdict = rc != 0                ? "FAILED"
                          : r.foreign_dma_writes ? "compromised"
                          : r.iommu_faults       ? "blocked"
                                                 : "FAILED";
    printf("%-9s %-54s %-12s %llu DMA write(s) landed in memory not granted to the driver's "
           "domain; %llu IOMMU fault(s) recorded%s\n",
           arch, name, verdict, (unsigned long long)r.foreign_dma_writes,
           (unsigned long long)r.iommu_faults,
           iommu && r.foreign_dma_writes ? " (the hardware domain's tables map all RAM)" : "");
}

/*
 * A fault inside the isolated driver domain's backend (blk-idd-restart:
 * two domUs, the IDD faults on its 70th request): without a restart the
 * domUs' disk I/O stops but no other domain dies; with on_crash=restart
 * the toolstack rebuilds the IDD, the frontends reconnect and resubmit.
 */
static void idd_fault_row(bool restart)
{
    const char *const sets[][2] = {{"on_crash", restart ? "restart" : "destroy"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-idd-restart.lua", sets, 1, &r);
    bool contained = r.doms_crashed == 1;
    const char *verdict = !contained                         ? "host lost"
                          : restart && rc == 0 && r.restarts ? "recovered"
                                                             : "I/O lost";
    printf("%-9s %-54s %-12s %llu of 120 requests completed; 1 IDD crashed, no other domain; "
           "%s\n",
           "xen-idd",
           restart ? "fault inside the IDD's backend, on_crash=restart"
                   : "fault inside the IDD's backend (request 70)",
           verdict, (unsigned long long)r.requests_done,
           restart ? "the toolstack rebuilt the IDD, the frontends reconnected and resubmitted"
                   : "dom0 and the domUs keep running; their disk I/O waits for a restart");
}

/* "R+W reached", "R reached, W refused (-13)", "refused (-1)", ...: one target's attempts. */
static void probe_text(const struct run_result *r, int target, char *out, size_t len)
{
    const struct machine_probe *rd = &r->probe[target][PROBE_READ];
    const struct machine_probe *wr = &r->probe[target][PROBE_WRITE];
    bool rr = rd->tried && rd->reached == rd->tried, wrr = wr->tried && wr->reached == wr->tried;
    bool rn = rd->tried && !rd->reached, wn = wr->tried && !wr->reached;
    if (!rd->tried && !wr->tried)
        snprintf(out, len, "not tried");
    else if ((rr || !rd->tried) && (wrr || !wr->tried))
        snprintf(out, len, "%s%s%s reached", rd->tried ? "read" : "",
                 rd->tried && wr->tried ? "+" : "", wr->tried ? "write" : "");
    else if ((rn || !rd->tried) && (wn || !wr->tried))
        snprintf(out, len, "refused (%lld)", (long long)(wr->tried ? wr->refusal : rd->refusal));
    else
        snprintf(out, len, "read %s, write %s (%u/%u, %u/%u reached)", rr ? "reached" : "refused",
                 wrr ? "reached" : "refused", rd->reached, rd->tried, wr->reached, wr->tried);
}

/*
 * Hostile code where the device emulation runs (compromise_after): in the
 * backend that serves guest 1 (xen-dom0: dom0; xen-idd: the driver domain
 * behind the IOMMU; uefi-rt: the runtime service), in VM 1's user-level
 * VMM (l4-vmm), or in guest 1's emulation process (hvm-emul: QEMU's place
 * in dom0, as root or deprivileged with dm_restrict; hosted: the VM's
 * process in the host OS). It tries guest 2's memory and disk data, the
 * hypervisor's or the kernel's, and DMA into memory not granted to it; the
 * row reports each attempt's answer from the models (hypervisor,
 * microkernel, host or dom0 kernel, driver server, SAS HBA) and the
 * platform's count of DMA writes that landed.
 */
static void compromise_row(const char *arch, bool dm_restrict)
{
    bool l4 = !strcmp(arch, "l4-vmm"), hosted = !strcmp(arch, "hosted");
    bool hvm = hosted || !strcmp(arch, "hvm-emul"), iommu = !l4 && !hosted;
    const char *const sets[][2] = {{"arch", arch},
                                   {"disk_type", "ssd"},
                                   {"requests", "30"},
                                   {"domus", "2"},
                                   {"compromise_after", l4 ? "40" : "10"},
                                   {"iommu", iommu ? "true" : "false"},
                                   {"dm_restrict", dm_restrict ? "true" : "false"}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-randread.lua", sets, hvm ? 7 : 6, &r);
    char mem[96], disk[96], kern[96], dma[160];
    probe_text(&r, PROBE_MEM, mem, sizeof(mem));
    probe_text(&r, PROBE_DISK, disk, sizeof(disk));
    probe_text(&r, PROBE_KERNEL, kern, sizeof(kern));
    /* l4-vmm and a refused hvm/hosted attempt: the answer; else what the platform saw */
    if (l4 || r.probe[PROBE_DMA][PROBE_WRITE].tried)
        probe_text(&r, PROBE_DMA, dma, sizeof(dma));
    else
        snprintf(dma, sizeof(dma), "%llu write(s) landed, %llu IOMMU fault(s)%s",
                 (unsigned long long)r.foreign_dma_writes, (unsigned long long)r.iommu_faults,
                 r.foreign_dma_writes    ? " (the hardware domain's tables map all RAM)"
                 : hvm && r.iommu_faults ? " (aimed at the frame after its own RAM: Xen's)"
                                         : "");
    bool tried = r.probe[PROBE_MEM][PROBE_READ].tried && r.probe[PROBE_DISK][PROBE_READ].tried &&
                 r.probe[PROBE_KERNEL][PROBE_WRITE].tried;
    uint64_t reached = r.foreign_dma_writes;
    for (int t = PROBE_MEM; t < PROBE_TARGETS; t++)
        reached += r.probe[t][PROBE_READ].reached + r.probe[t][PROBE_WRITE].reached;
    const char *verdict = rc != 0 || !tried || r.requests_done < 60 ? "FAILED"
                          : reached                                 ? "compromised"
                                                                    : "contained";
    const char *name = l4            ? "compromised VMM of VM 1 (2 VMs, one driver server)"
                       : hosted      ? "compromised VMM process of VM 1 (2 VMs)"
                       : dm_restrict ? "compromised device model of guest 1, dm_restrict"
                       : hvm         ? "compromised device model of guest 1 (root, 2 guests)"
                                     : "compromised backend serving domU 1 (2 domUs)";
    printf("%-9s %-54s %-12s other guest's memory: %s; its disk data: %s; %s: %s; DMA: %s; "
           "%llu of 60 requests completed\n",
           arch, name, verdict, mem, disk,
           l4       ? "microkernel"
           : hosted ? "host kernel"
                    : "hypervisor",
           kern, dma, (unsigned long long)r.requests_done);
}

/* A malicious frontend beside two verified domUs, against this backend. */
static void malicious_row(const char *arch)
{
    const char *const sets[][2] = {{"arch", arch}};
    struct run_result r;
    int rc = run_case(HOPSIM_SCENARIO_DIR "/blk-malicious.lua", sets, 1, &r);
    printf("%-9s %-54s %-12s %llu guest checks passed, %llu failed; %llu well-formed requests "
           "served\n",
           arch, "malicious frontend (bad requests, grants, ring jump)",
           rc == 0 && r.checks_fail == 0 ? "blocked" : "FAILED", (unsigned long long)r.checks_pass,
           (unsigned long long)r.checks_fail, (unsigned long long)r.requests_done);
}

int attack_matrix(const char *flash_image, const char *backend_elf)
{
    static const struct {
        const char *arch, *name;
        bool ble, smm_bwp, pr, flockdn;
    } cases[] = {
        {"uefi-rt", "reflash, protections on (PR0, BLE, SMM_BWP, FLOCKDN)", 1, 1, 1, 1},
        {"uefi-rt", "reflash, BLE + SMM_BWP only (no PR)", 1, 1, 0, 0},
        {"uefi-rt", "Speed Racer (BLE=1, SMM_BWP=0, no PR)", 1, 0, 0, 0},
        {"uefi-rt", "reflash, protections off (BLE=0)", 0, 0, 0, 0},
    };
    char err[512], h0[65];
    size_t n;
    /* both inputs checked (type, size) before anything reads them: exit 2 when unusable */
    int fd =
        infile_open(flash_image, ATTACK_FLASH_BYTES, ATTACK_FLASH_BYTES, NULL, err, sizeof(err));
    uint8_t *elf = fd < 0 ? NULL : read_input(backend_elf, &n, err, sizeof(err));
    if (fd >= 0)
        close(fd);
    if (!elf) {
        fprintf(stderr, "hopsim: attack-matrix: %s\n", err);
        return 2;
    }
    sha256_bytes(elf, n, h0);
    free(elf);
    printf("%-9s %-54s %-12s %s\n", "arch", "attack", "verdict", "evidence");
    if (dom0_case(backend_elf, err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim: attack-matrix: %s\n", err);
        return 1;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct verdict v = {0};
        if (reflash_case(flash_image, backend_elf, cases[i].ble, cases[i].smm_bwp, cases[i].pr,
                         cases[i].flockdn, &v, err, sizeof(err)) < 0) {
            fprintf(stderr, "hopsim: attack-matrix: %s\n", err);
            return 1;
        }
        printf("%-9s %-54s %-12s %s\n", cases[i].arch, cases[i].name, v.what, v.evidence);
    }
    double base = io_max_us("0", flash_image), stall = io_max_us("2", flash_image);
    if (base < 0 || stall < 0) {
        fprintf(stderr, "hopsim: attack-matrix: the SetVariable availability run failed\n");
        return 1;
    }
    printf("%-9s %-54s %-12s I/O max latency %.1f us -> %.1f us: every guest's I/O waits on "
           "efi_rs_lock behind a 4 KiB NVRAM erase\n",
           "uefi-rt", "SetVariable erases flash during I/O (availability)", "stalled", base, stall);
    fault_row("xen-dom0", flash_image);
    fault_row("uefi-rt", flash_image);
    dm_fault_row("hvm-emul");
    dm_fault_row("hosted");
    vmm_fault_row();
    idd_fault_row(false);
    idd_fault_row(true);
    malicious_row("xen-dom0");
    malicious_row("uefi-rt");
    printf("%-9s %-54s %-12s the guest's kernel drives the device itself: no emulation or "
           "backend to compromise\n",
           "native", "device-emulation compromise", "n/a");
    compromise_row("xen-dom0", false);
    compromise_row("xen-idd", false);
    compromise_row("uefi-rt", false);
    compromise_row("l4-vmm", false);
    compromise_row("hvm-emul", false);
    compromise_row("hvm-emul", true);
    compromise_row("hosted", false);
    rogue_row("xen-dom0", false);
    rogue_row("xen-dom0", true);
    rogue_row("xen-idd", false);
    rogue_row("xen-idd", true);
    rogue_row("uefi-rt", true);
    printf("(genuine runtime image sha256 %.16s...; the SMI window is smi_latency per "
           "BIOSWE set)\n",
           h0);
    return 0;
}
