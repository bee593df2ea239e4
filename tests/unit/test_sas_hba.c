/*
 * Register-level tests of the SAS HBA model (models/sas_hba.c), with no
 * guest: a host buffer stands in for memory at bus address MEM_BASE (the
 * fake DMA returns NULL outside it), an IRQ line counts raises, the test
 * owns the event queue. Queues are programmed through the BAR0 mmio_ops,
 * the doorbell is rung, the queue is run and the CQEs, the data (in the
 * disk images and in "memory"), ISR/IMR, interrupts and exact completion
 * times are checked against the default cost profile.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, nftw */
#endif
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sas_hba.h"
#include "fake_platform.h"

#ifndef HOPSIM_SOURCE_DIR
#error "HOPSIM_SOURCE_DIR must name the repository root"
#endif

#define SQ_BUS (MEM_BASE + 0x0000)
#define CQ_BUS (MEM_BASE + 0x4000)
#define SGL_BUS (MEM_BASE + 0x8000) /* 256 bytes per command slot */
#define DATA_BUS (MEM_BASE + 0x20000)
#define BAD_BUS 0x7f000000ull
#define SSD_SIZE (16ull << 20)
#define HDD_SIZE (64ull << 20)
#define US 1000000ull
#define HZ 3e9

static char tmpdir[64], ssd_path[256], hdd_path[256], err[512];
static struct cost_profile prof;
static struct evq q;
static struct pci_bus *bus;
static struct sas_hba *hba;
static struct disk *ssd, *hdd;
static const struct mmio_ops *ops;
static void *regs;
static struct dev_env env;

static struct disk *make_disk(enum disk_type type, uint32_t bs, const char *p, uint64_t size)
{
    struct disk_params dp;
    disk_params_from_cost(&dp, type, bs, &prof);
    /* these tests time the HBA's command pipeline: the flash latency is held at its median
       (the disk's service-time distribution is test_disk's) */
    dp.read_tail = dp.write_tail = 0;
    struct disk *d = disk_open(&dp, p, size, true, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    return d;
}

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hopsim-hba-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    snprintf(ssd_path, sizeof ssd_path, "%s/ssd.img", tmpdir);
    snprintf(hdd_path, sizeof hdd_path, "%s/hdd.img", tmpdir);
    ck_assert_msg(
        cost_load(&prof, HOPSIM_SOURCE_DIR "/profiles/default.profile", err, sizeof err) == 0, "%s",
        err);
    mem = aligned_alloc(4096, MEM_SIZE);
    ck_assert_ptr_nonnull(mem);
    memset(mem, 0, MEM_SIZE);
    nraise = nlower = 0;
    lower_when = 0;
    evq_init(&q);
    env = (struct dev_env){.q = &q,
                           .tr = NULL,
                           .place = 0,
                           .cost = &prof,
                           .hz = HZ,
                           .dma = {NULL, fake_map},
                           .irq = {NULL, on_raise, on_lower}};
    bus = pci_bus_create(NULL, NULL);
    hba = sas_hba_create(&env, bus, 2, 10, err, sizeof err);
    ck_assert_msg(hba != NULL, "%s", err);
    ssd = make_disk(DISK_SSD, 4096, ssd_path, SSD_SIZE);
    hdd = make_disk(DISK_HDD, 512, hdd_path, HDD_SIZE);
    ck_assert_int_eq(sas_hba_attach(hba, ssd), 0);
    ck_assert_int_eq(sas_hba_attach(hba, hdd), 1);
    ops = pci_bar_mmio(sas_hba_pci(hba), 0, &regs);
    ck_assert_ptr_eq(ops, sas_hba_mmio_ops());
    pci_cfg_write(sas_hba_pci(hba), PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void teardown(void)
{
    sas_hba_destroy(hba);
    pci_bus_destroy(bus);
    evq_fini(&q);
    free(mem);
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t rd(uint64_t off)
{
    return (uint32_t)ops->read(regs, off, 4, evq_now(&q));
}

static void wr(uint64_t off, uint32_t v, simtime_t now)
{
    ops->write(regs, off, v, 4, now);
}

static simtime_t dma(uint64_t bytes)
{
    return cost_ps(&prof, C_DMA_LATENCY, HZ) + cost_bytes_ps(&prof, C_PCIE_BW, bytes);
}

static simtime_t fw(void)
{
    return cost_ps(&prof, C_HBA_CMD, HZ);
}

static simtime_t msi(void)
{
    return cost_ps(&prof, C_MSI_LATENCY, HZ);
}

static void enable(uint32_t qsize, simtime_t now)
{
    wr(SAS_REG_QSIZE, qsize, now);
    wr(SAS_REG_SQ_BASE, (uint32_t)SQ_BUS, now);
    wr(SAS_REG_SQ_BASE + 4, (uint32_t)(SQ_BUS >> 32), now);
    wr(SAS_REG_CQ_BASE, (uint32_t)CQ_BUS, now);
    wr(SAS_REG_CQ_BASE + 4, (uint32_t)(CQ_BUS >> 32), now);
    wr(SAS_REG_CTRL, SAS_CTRL_ENABLE, now);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), SAS_STATUS_READY);
}

static void *at(uint64_t busaddr)
{
    return mem + (busaddr - MEM_BASE);
}

/* Write an SQE into slot `slot` with one SG element per 4 KiB (or less) of `bytes` at data. */
static void put_cmd(unsigned slot, uint64_t tag, uint8_t op, uint8_t target, uint64_t lba,
                    uint32_t nblocks, uint64_t data, uint32_t bytes)
{
    struct sas_sqe e = {.tag = tag,
                        .opcode = op,
                        .target = target,
                        .nblocks = nblocks,
                        .lba = lba,
                        .sgl = SGL_BUS + slot * 256ull};
    struct sas_sg *sg = at(e.sgl);
    for (uint32_t off = 0; off < bytes; off += 4096) {
        sg[e.nsg].addr = data + off;
        sg[e.nsg].len = bytes - off < 4096 ? bytes - off : 4096;
        e.nsg++;
    }
    memcpy(at(SQ_BUS + slot * sizeof e), &e, sizeof e);
}

static struct sas_sqe *sqe_at(unsigned slot)
{
    return at(SQ_BUS + slot * sizeof(struct sas_sqe));
}

static struct sas_cqe cqe(unsigned slot)
{
    struct sas_cqe c;
    memcpy(&c, at(CQ_BUS + slot * sizeof c), sizeof c);
    return c;
}

static void run(void)
{
    evq_run_until(&q, SIMTIME_NEVER, NULL);
}

static void fill(void *p, size_t n, unsigned seed)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 13 + seed);
}

static void read_image(const char *p, uint64_t off, void *buf, size_t n)
{
    int fd = open(p, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, buf, n, (off_t)off), (ssize_t)n);
    close(fd);
}

/* ---- identity and registers ---------------------------------------------------- */

START_TEST(identity_registers)
{
    struct pci_func *f = sas_hba_pci(hba);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_VENDOR_ID, 4), 0x5a5a1d0f);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_REVISION_ID, 4) >> 8, SAS_PCI_CLASS);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_INTERRUPT_PIN, 1), 1);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_INTERRUPT_LINE, 1), 10);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_CAPABILITY_LIST, 1), PCI_MSI_CAP_OFFSET);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_MSI_CAP_OFFSET, 1), PCI_CAP_ID_MSI);
    ck_assert_uint_eq(pci_bar_size(f, 0), SAS_BAR0_SIZE);
    ck_assert_uint_eq(rd(SAS_REG_ID), SAS_ID_VALUE);
    ck_assert_uint_eq(ops->read(regs, SAS_REG_ID + 1, 1, 0), 0x53); /* 'S' */
    ck_assert_uint_eq(ops->read(regs, SAS_REG_ID + 2, 2, 0), 0x5341);
    ck_assert_uint_eq(rd(SAS_REG_VERSION), SAS_VERSION_VALUE);
    ck_assert_uint_eq(rd(SAS_REG_CAP), 1024 | 8 << 16 | 16u << 24);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), 0);
    ck_assert_uint_eq(rd(SAS_REG_NTARGETS), 2);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLOCKS), SSD_SIZE / 4096);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLKSZ), 4096);
    ck_assert_uint_eq(rd(SAS_REG_TGT_TYPE), SAS_TGT_SSD);
    wr(SAS_REG_TGT_SEL, 1, 0);
    ck_assert_uint_eq(rd(SAS_REG_TGT_SEL), 1);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLOCKS), HDD_SIZE / 512);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLOCKS + 4), 0);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLKSZ), 512);
    ck_assert_uint_eq(rd(SAS_REG_TGT_TYPE), SAS_TGT_HDD);
    wr(SAS_REG_TGT_SEL, 7, 0);
    ck_assert_uint_eq(rd(SAS_REG_TGT_BLOCKS), 0);
    ck_assert_uint_eq(rd(SAS_REG_TGT_TYPE), SAS_TGT_NONE);
    /* queue registers read back; read-only ones ignore writes */
    wr(SAS_REG_SQ_BASE + 4, 0x12, 0);
    ck_assert_uint_eq(rd(SAS_REG_SQ_BASE + 4), 0x12);
    wr(SAS_REG_ID, 0, 0);
    wr(SAS_REG_STATUS, 3, 0);
    ck_assert_uint_eq(rd(SAS_REG_ID), SAS_ID_VALUE);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), 0);
    ck_assert_uint_eq(rd(0x800), 0);
    /* doorbells before enable are ignored */
    wr(SAS_REG_SQ_TAIL, 1, 0);
    ck_assert_uint_eq(evq_pending(&q), 0);
}
END_TEST

START_TEST(attach_limit)
{
    char p[300];
    for (int i = 2; i <= SAS_HBA_MAX_TARGETS; i++) {
        snprintf(p, sizeof p, "%s/t%d.img", tmpdir, i);
        struct disk *d = make_disk(DISK_SSD, 4096, p, 1 << 20);
        if (i < SAS_HBA_MAX_TARGETS) {
            ck_assert_int_eq(sas_hba_attach(hba, d), i);
        } else {
            ck_assert_int_eq(sas_hba_attach(hba, d), -1); /* full: still ours */
            disk_close(d);
        }
    }
    ck_assert_uint_eq(rd(SAS_REG_NTARGETS), SAS_HBA_MAX_TARGETS);
}
END_TEST

/* ---- data path and timing ----------------------------------------------------------- */

START_TEST(ssd_read_exact_time)
{
    uint8_t pattern[4096];
    fill(pattern, sizeof pattern, 5);
    ck_assert_int_eq(disk_write(ssd, 5, 1, pattern), 0);
    enable(16, 0);
    put_cmd(0, 0xabc, SAS_OP_READ, 0, 5, 1, DATA_BUS, 4096);
    simtime_t t0 = 1 * US;
    wr(SAS_REG_SQ_TAIL, 1, t0);
    run();
    simtime_t media = cost_ps(&prof, C_SSD_READ_LAT, HZ) + cost_bytes_ps(&prof, C_SSD_BW, 4096);
    simtime_t done = t0 + dma(64) + fw() + dma(16) + media + dma(4096) + dma(16);
    ck_assert_uint_eq(done, 100678222ull); /* the same sum, by hand (docs/sas-hba.md) */
    ck_assert_uint_eq(evq_now(&q), done);
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], done + msi());
    struct sas_cqe c = cqe(0);
    ck_assert_uint_eq(c.tag, 0xabc);
    ck_assert_uint_eq(c.status, SAS_ST_OK);
    ck_assert_uint_eq(c.sq_head, 1);
    ck_assert_uint_eq(c.phase, 1);
    ck_assert_mem_eq(at(DATA_BUS), pattern, sizeof pattern);
    ck_assert_uint_eq(rd(SAS_REG_ISR), SAS_ISR_CQ);
    ck_assert_uint_eq(rd(SAS_REG_SQ_HEAD), 1);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 1);
    /* INTx asserted (MSI is off): the function's Interrupt Status shows it */
    ck_assert_uint_eq(pci_cfg_read(sas_hba_pci(hba), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
                      PCI_STATUS_INTERRUPT);
}
END_TEST

START_TEST(write_lands_in_image)
{
    enable(16, 0);
    fill(at(DATA_BUS), 8192, 9);
    /* two SG elements on separate pages, the second one 4 KiB further */
    put_cmd(0, 0x77, SAS_OP_WRITE, 0, 7, 2, DATA_BUS, 8192);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    struct sas_cqe c = cqe(0);
    ck_assert_uint_eq(c.tag, 0x77);
    ck_assert_uint_eq(c.status, SAS_ST_OK);
    uint8_t back[8192];
    read_image(ssd_path, 7 * 4096, back, sizeof back);
    ck_assert_mem_eq(back, at(DATA_BUS), sizeof back);
    /* timing: data DMA before the media */
    simtime_t media = cost_ps(&prof, C_SSD_WRITE_LAT, HZ) + cost_bytes_ps(&prof, C_SSD_BW, 8192);
    ck_assert_uint_eq(evq_now(&q), dma(64) + fw() + dma(32) + dma(8192) + media + dma(16));
    /* and read back through the HBA into another buffer, unaligned within pages */
    struct sas_sqe e = {.tag = 0x78,
                        .opcode = SAS_OP_READ,
                        .target = 0,
                        .nsg = 3,
                        .nblocks = 2,
                        .lba = 7,
                        .sgl = SGL_BUS + 256};
    struct sas_sg *sg = at(e.sgl);
    sg[0] = (struct sas_sg){DATA_BUS + 0x10000 + 0x800, 0x800, 0};
    sg[1] = (struct sas_sg){DATA_BUS + 0x12000, 4096, 0};
    sg[2] = (struct sas_sg){DATA_BUS + 0x14000, 0x800, 0};
    memcpy(sqe_at(1), &e, sizeof e);
    wr(SAS_REG_SQ_TAIL, 2, evq_now(&q));
    run();
    ck_assert_uint_eq(cqe(1).status, SAS_ST_OK);
    ck_assert_mem_eq(at(DATA_BUS + 0x10800), back, 0x800);
    ck_assert_mem_eq(at(DATA_BUS + 0x12000), back + 0x800, 4096);
    ck_assert_mem_eq(at(DATA_BUS + 0x14000), back + 0x1800, 0x800);
}
END_TEST

START_TEST(hdd_read_time_from_formula)
{
    enable(16, 0);
    uint64_t lba = disk_blocks(hdd) / 3 + 1000;
    put_cmd(0, 1, SAS_OP_READ, 1, lba, 8, DATA_BUS, 4096);
    simtime_t t0 = 2 * US;
    simtime_t tm = t0 + dma(64) + fw() + dma(16); /* media stage begins */
    simtime_t rev = disk_hdd_rev(hdd), seek = disk_hdd_seek(hdd, disk_hdd_cylinder(hdd, lba));
    double phase = (double)((tm + seek) % rev) / (double)rev;
    double w = disk_hdd_angle(hdd, lba) - phase;
    w = w < 0 ? w + 1 : w;
    simtime_t media_end =
        tm + seek + (simtime_t)(w * (double)rev + 0.5) + disk_hdd_xfer(hdd, lba, 8);
    wr(SAS_REG_SQ_TAIL, 1, t0);
    run();
    ck_assert_uint_eq(cqe(0).status, SAS_ST_OK);
    simtime_t done = media_end + dma(4096) + dma(16);
    ck_assert_msg(evq_now(&q) + 1 >= done && evq_now(&q) <= done + 1, "done %llu, expected %llu",
                  (unsigned long long)evq_now(&q), (unsigned long long)done);
    /* an average-ish access: seek (~1/3 stroke) + rotation + transfer, in milliseconds */
    ck_assert_uint_gt(done - t0, seek);
    ck_assert_uint_lt(done - t0, seek + rev + US * 100);
}
END_TEST

START_TEST(flush_waits_for_idle_disk)
{
    enable(16, 0);
    /* an idle disk: the flush costs fetch + firmware + CQE post */
    put_cmd(0, 1, SAS_OP_FLUSH, 1, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 1, US);
    run();
    ck_assert_uint_eq(cqe(0).status, SAS_ST_OK);
    ck_assert_uint_eq(evq_now(&q), US + dma(64) + fw() + dma(16));
    /* behind a write still moving its data, the flush waits for that write's media */
    simtime_t t = evq_now(&q);
    put_cmd(1, 2, SAS_OP_WRITE, 1, 1000, 8, DATA_BUS, 4096);
    put_cmd(2, 3, SAS_OP_FLUSH, 1, 0, 0, 0, 0);
    put_cmd(3, 4, SAS_OP_FLUSH, 0, 0, 0, 0, 0); /* another target: not held up */
    wr(SAS_REG_SQ_TAIL, 4, t);
    run();
    ck_assert_uint_eq(cqe(1).tag, 4);
    ck_assert_uint_eq(cqe(2).tag, 2);
    ck_assert_uint_eq(cqe(3).tag, 3);
    ck_assert_uint_eq(cqe(3).status, SAS_ST_OK);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 4);
    ck_assert_int_eq(nraise, 4);
    ck_assert_uint_eq(raise_when[3], raise_when[2]); /* the same media end, posted after */
    ck_assert_uint_gt(raise_when[2] - raise_when[1], 100 * US);
}
END_TEST

START_TEST(doorbells_in_one_slice)
{
    /* a vCPU slice rings twice, at 10 us and 50 us, before the queue runs */
    enable(16, 0);
    put_cmd(0, 1, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    put_cmd(1, 2, SAS_OP_READ, 0, 1, 1, DATA_BUS + 0x1000, 4096);
    wr(SAS_REG_SQ_TAIL, 1, 10 * US);
    wr(SAS_REG_SQ_TAIL, 2, 50 * US);
    run();
    simtime_t path = dma(64) + fw() + dma(16) + cost_ps(&prof, C_SSD_READ_LAT, HZ) +
                     cost_bytes_ps(&prof, C_SSD_BW, 4096) + dma(4096) + dma(16);
    ck_assert_int_eq(nraise, 2);
    ck_assert_uint_eq(raise_when[0], 10 * US + path + msi());
    ck_assert_uint_eq(raise_when[1], 50 * US + path + msi()); /* not fetched before its doorbell */
}
END_TEST

START_TEST(commands_run_concurrently)
{
    enable(16, 0);
    for (unsigned i = 0; i < 8; i++)
        put_cmd(i, 100 + i, SAS_OP_READ, 0, i, 1, DATA_BUS + i * 0x1000ull, 4096);
    wr(SAS_REG_SQ_TAIL, 8, 0);
    run();
    simtime_t one = dma(64) + fw() + dma(16) + cost_ps(&prof, C_SSD_READ_LAT, HZ) +
                    cost_bytes_ps(&prof, C_SSD_BW, 4096) + dma(4096) + dma(16);
    for (unsigned i = 0; i < 8; i++) {
        ck_assert_uint_eq(cqe(i).tag, 100 + i);
        ck_assert_uint_eq(cqe(i).status, SAS_ST_OK);
    }
    /* the 8 SSD channels overlap: far less than 8 commands back to back */
    ck_assert_uint_lt(evq_now(&q), 2 * one);
    /* firmware is serial: the last one is 7 firmware slots behind the first */
    ck_assert_uint_eq(raise_when[7] - raise_when[0], 7 * fw());
}
END_TEST

START_TEST(hdd_serves_fifo)
{
    enable(16, 0);
    uint64_t n = disk_blocks(hdd);
    put_cmd(0, 1, SAS_OP_READ, 1, n - 100, 8, DATA_BUS, 4096);
    put_cmd(1, 2, SAS_OP_READ, 1, 0, 8, DATA_BUS + 0x1000, 4096);
    wr(SAS_REG_SQ_TAIL, 2, 0);
    run();
    ck_assert_uint_eq(cqe(0).tag, 1);
    ck_assert_uint_eq(cqe(1).tag, 2);
    /* the second waited for the first and then seeked a full stroke back */
    ck_assert_uint_gt(raise_when[1] - raise_when[0], disk_hdd_seek(hdd, 114000));
}
END_TEST

/* ---- completion queue ----------------------------------------------------------------- */

START_TEST(phase_flips_on_wrap)
{
    enable(4, 0); /* the CQ holds 3 */
    for (unsigned i = 0; i < 3; i++)
        put_cmd(i, 10 + i, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 3, 0);
    run();
    for (unsigned i = 0; i < 3; i++) {
        ck_assert_uint_eq(cqe(i).tag, 10 + i);
        ck_assert_uint_eq(cqe(i).phase, 1);
        ck_assert_uint_eq(cqe(i).sq_head, i + 1);
    }
    wr(SAS_REG_CQ_HEAD, 3, evq_now(&q));
    /* SQ slots 3, 0, 1: the tail wraps to 2 */
    put_cmd(3, 13, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    put_cmd(0, 14, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    put_cmd(1, 15, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 2, evq_now(&q));
    run();
    ck_assert_uint_eq(cqe(3).tag, 13);
    ck_assert_uint_eq(cqe(3).phase, 1);
    ck_assert_uint_eq(cqe(3).sq_head, 0);
    ck_assert_uint_eq(cqe(0).tag, 14);
    ck_assert_uint_eq(cqe(0).phase, 0);
    ck_assert_uint_eq(cqe(1).tag, 15);
    ck_assert_uint_eq(cqe(1).phase, 0);
    ck_assert_uint_eq(cqe(1).sq_head, 2);
    ck_assert_uint_eq(cqe(2).tag, 12); /* not overwritten */
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 6);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), SAS_STATUS_READY);
}
END_TEST

START_TEST(completion_held_while_cq_full)
{
    enable(4, 0);
    for (unsigned i = 0; i < 3; i++)
        put_cmd(i, 20 + i, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 3, 0);
    run();
    put_cmd(3, 23, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 0, evq_now(&q));
    run();
    /* three posted, the fourth held: slot 3 untouched */
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 3);
    ck_assert_uint_eq(cqe(3).tag, 0);
    ck_assert_uint_eq(cqe(3).phase, 0);
    ck_assert_int_eq(nraise, 3);
    simtime_t t = evq_now(&q) + 5 * US;
    wr(SAS_REG_CQ_HEAD, 1, t);
    run();
    ck_assert_uint_eq(cqe(3).tag, 23);
    ck_assert_uint_eq(cqe(3).phase, 1);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 4);
    ck_assert_int_eq(nraise, 4);
    ck_assert_uint_eq(raise_when[3], t + dma(16) + msi());
    ck_assert_uint_eq(cqe(0).tag, 20); /* the unconsumed entries are intact */
}
END_TEST

/* ---- interrupts ------------------------------------------------------------------------ */

START_TEST(isr_and_imr)
{
    enable(16, 0);
    wr(SAS_REG_IMR, 0xffffffffu, 0);
    ck_assert_uint_eq(rd(SAS_REG_IMR), SAS_ISR_CQ | SAS_ISR_FATAL);
    put_cmd(0, 1, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    ck_assert_uint_eq(rd(SAS_REG_ISR), SAS_ISR_CQ); /* cause recorded... */
    ck_assert_int_eq(nraise, 0);                    /* ...but masked */
    ck_assert_uint_eq(pci_cfg_read(sas_hba_pci(hba), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    simtime_t t = evq_now(&q) + US;
    wr(SAS_REG_IMR, SAS_ISR_FATAL, t); /* unmasking a pending cause raises */
    ck_assert_int_eq(nraise, 1);
    ck_assert_uint_eq(raise_when[0], t + msi());
    wr(SAS_REG_ISR, SAS_ISR_FATAL, t); /* clearing another bit changes nothing */
    ck_assert_int_eq(nlower, 0);
    ck_assert_uint_eq(rd(SAS_REG_ISR), SAS_ISR_CQ);
    wr(SAS_REG_ISR, SAS_ISR_CQ, t + 10); /* W1C */
    ck_assert_uint_eq(rd(SAS_REG_ISR), 0);
    ck_assert_int_eq(nlower, 1);
    ck_assert_uint_eq(lower_when, t + 10);
    ck_assert_uint_eq(pci_cfg_read(sas_hba_pci(hba), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    /* with MSI on, each completion sends a message and INTx stays quiet */
    struct pci_func *f = sas_hba_pci(hba);
    pci_cfg_write(f, PCI_MSI_CAP_OFFSET + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    put_cmd(1, 2, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    put_cmd(2, 3, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 3, t + 20);
    run();
    ck_assert_int_eq(nraise, 3);
    ck_assert_uint_eq(pci_cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    /* masking an asserted cause lowers the line */
    wr(SAS_REG_IMR, SAS_ISR_CQ, evq_now(&q));
    ck_assert_int_eq(nlower, 2);
}
END_TEST

/* Reply coalescing (SAS_REG_COAL_*, MPI2 IOC Page 1): depth, timeout, the CQ emptied, reset. */
START_TEST(reply_coalescing)
{
    enable(16, 0);
    wr(SAS_REG_COAL_TIMEOUT, 70000, 0); /* clamped to the register's range */
    ck_assert_uint_eq(rd(SAS_REG_COAL_TIMEOUT), SAS_COAL_TIMEOUT_MAX);
    wr(SAS_REG_COAL_DEPTH, 4, 0);
    /* depth first: 8 completions, 2 interrupts, each at its 4th completion */
    for (unsigned i = 0; i < 8; i++)
        put_cmd(i, 100 + i, SAS_OP_READ, 0, i, 1, DATA_BUS + i * 0x1000ull, 4096);
    wr(SAS_REG_SQ_TAIL, 8, 0);
    run();
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(cqe(i).tag, 100 + i);
    ck_assert_int_eq(nraise, 2);
    /* firmware is serial: the 8th completion lands 4 firmware slots after the 4th */
    ck_assert_uint_eq(raise_when[1] - raise_when[0], 4 * fw());
    struct sas_hba_counters c;
    sas_hba_get_counters(hba, &c);
    ck_assert_uint_eq(c.completions, 8);
    ck_assert_uint_eq(c.interrupts, 2);
    ck_assert_uint_eq(c.held, 8);
    wr(SAS_REG_CQ_HEAD, 8, evq_now(&q));
    wr(SAS_REG_ISR, SAS_ISR_CQ, evq_now(&q));

    /* the timeout alone: one completion waits COAL_TIMEOUT us for its interrupt */
    wr(SAS_REG_COAL_DEPTH, 0, evq_now(&q));
    wr(SAS_REG_COAL_TIMEOUT, 50, evq_now(&q));
    simtime_t t0 = evq_now(&q) + US;
    put_cmd(8, 200, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 9, t0);
    run();
    ck_assert_int_eq(nraise, 3);
    simtime_t landed = raise_when[2] - msi() - 50 * US;
    ck_assert_uint_gt(landed, t0);
    ck_assert_uint_lt(landed, t0 + 10 * US); /* a flush of an idle disk: firmware and DMA */
    wr(SAS_REG_CQ_HEAD, 9, evq_now(&q));
    wr(SAS_REG_ISR, SAS_ISR_CQ, evq_now(&q));

    /* a driver that empties the CQ before the timeout gets no interrupt for it */
    t0 = evq_now(&q) + US;
    put_cmd(9, 201, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 10, t0);
    while (cqe(9).tag != 201 && evq_step(&q))
        ;
    ck_assert_uint_eq(cqe(9).tag, 201);
    ck_assert_uint_eq(rd(SAS_REG_ISR), SAS_ISR_CQ);
    wr(SAS_REG_CQ_HEAD, 10, evq_now(&q));
    run();
    ck_assert_int_eq(nraise, 3);

    /* held completions become masked ones when ISR.CQ is masked */
    put_cmd(10, 202, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 11, evq_now(&q) + US);
    while (cqe(10).tag != 202 && evq_step(&q))
        ;
    wr(SAS_REG_IMR, SAS_ISR_CQ, evq_now(&q));
    run();
    ck_assert_int_eq(nraise, 3);
    ck_assert_uint_eq(rd(SAS_REG_ISR) & SAS_ISR_CQ, SAS_ISR_CQ);

    /* reset clears both registers: every completion interrupts at once again */
    wr(SAS_REG_CTRL, SAS_CTRL_RESET, evq_now(&q));
    ck_assert_uint_eq(rd(SAS_REG_COAL_TIMEOUT), 0);
    ck_assert_uint_eq(rd(SAS_REG_COAL_DEPTH), 0);
}
END_TEST

/* ---- command errors ---------------------------------------------------------------------- */

START_TEST(command_error_statuses)
{
    enable(32, 0);
    unsigned n = 0;
    uint64_t ssd_blocks = disk_blocks(ssd);
    struct sas_sg *sg;
    /* 0: bad opcode */
    put_cmd(n++, 0, 0x12, 0, 0, 1, DATA_BUS, 4096);
    /* 1: bad target */
    put_cmd(n++, 1, SAS_OP_READ, 5, 0, 1, DATA_BUS, 4096);
    /* 2, 3: LBA range, including a wrapping one */
    put_cmd(n++, 2, SAS_OP_READ, 0, ssd_blocks - 1, 2, DATA_BUS, 8192);
    put_cmd(n++, 3, SAS_OP_WRITE, 0, UINT64_MAX, 2, DATA_BUS, 8192);
    /* 4: no SG list */
    put_cmd(n++, 4, SAS_OP_READ, 0, 0, 1, DATA_BUS, 0);
    /* 5: too many SG elements */
    put_cmd(n++, 5, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    sqe_at(5)->nsg = SAS_MAX_SG + 1;
    /* 6: an element crossing a page */
    put_cmd(n++, 6, SAS_OP_READ, 0, 0, 1, DATA_BUS + 0x800, 4096);
    /* 7: lengths that do not add up to the transfer */
    put_cmd(n++, 7, SAS_OP_READ, 0, 0, 2, DATA_BUS, 4096);
    /* 8: a zero-length element */
    put_cmd(n++, 8, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    sg = at(sqe_at(8)->sgl);
    sg[0].len = 0;
    /* 9: the SG list itself outside memory */
    put_cmd(n++, 9, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    sqe_at(9)->sgl = BAD_BUS;
    /* 10: WRITE from outside memory */
    put_cmd(n++, 10, SAS_OP_WRITE, 0, 3, 1, BAD_BUS, 4096);
    /* 11: READ into outside memory (after the media time) */
    put_cmd(n++, 11, SAS_OP_READ, 0, 3, 1, BAD_BUS, 4096);
    /* 12: READ of zero blocks */
    put_cmd(n++, 12, SAS_OP_READ, 0, 0, 0, DATA_BUS, 4096);
    /* 13: a good one after all that */
    put_cmd(n++, 13, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    static const uint16_t want[] = {
        SAS_ST_BAD_OPCODE, SAS_ST_BAD_TARGET, SAS_ST_LBA_RANGE, SAS_ST_LBA_RANGE, SAS_ST_BAD_SGL,
        SAS_ST_BAD_SGL,    SAS_ST_BAD_SGL,    SAS_ST_BAD_SGL,   SAS_ST_BAD_SGL,   SAS_ST_DMA_ERROR,
        SAS_ST_DMA_ERROR,  SAS_ST_DMA_ERROR,  SAS_ST_BAD_SGL,   SAS_ST_OK};
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    uint8_t before[4096];
    read_image(ssd_path, 3 * 4096, before, sizeof before);
    wr(SAS_REG_SQ_TAIL, n, 0);
    run();
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), n);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), SAS_STATUS_READY);
    bool seen[14] = {false};
    for (unsigned i = 0; i < n; i++) {
        struct sas_cqe c = cqe(i);
        ck_assert_uint_lt(c.tag, n);
        ck_assert_msg(c.status == want[c.tag], "tag %llu: status %u, expected %u",
                      (unsigned long long)c.tag, c.status, want[c.tag]);
        seen[c.tag] = true;
    }
    for (unsigned i = 0; i < n; i++)
        ck_assert(seen[i]);
    uint8_t after[4096];
    read_image(ssd_path, 3 * 4096, after, sizeof after);
    ck_assert_mem_eq(before, after, sizeof after); /* the failed WRITE wrote nothing */
}
END_TEST

START_TEST(media_error_status)
{
    /* the image shrinks under the disk: pread comes back short */
    enable(16, 0);
    ck_assert_int_eq(truncate(ssd_path, 4096), 0);
    put_cmd(0, 1, SAS_OP_READ, 0, 100, 1, DATA_BUS, 4096);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    ck_assert_uint_eq(cqe(0).status, SAS_ST_MEDIA);
}
END_TEST

/* ---- fatal errors --------------------------------------------------------------------------- */

static void expect_fatal(uint32_t code)
{
    ck_assert_uint_eq(rd(SAS_REG_STATUS), SAS_STATUS_FATAL);
    ck_assert_uint_eq(rd(SAS_REG_ERR), code);
    ck_assert_uint_eq(rd(SAS_REG_ISR) & SAS_ISR_FATAL, SAS_ISR_FATAL);
    ck_assert_int_ge(nraise, 1);
}

static void enable_raw(uint32_t qsize, uint64_t sq, uint64_t cq)
{
    wr(SAS_REG_QSIZE, qsize, 0);
    wr(SAS_REG_SQ_BASE, (uint32_t)sq, 0);
    wr(SAS_REG_SQ_BASE + 4, (uint32_t)(sq >> 32), 0);
    wr(SAS_REG_CQ_BASE, (uint32_t)cq, 0);
    wr(SAS_REG_CQ_BASE + 4, (uint32_t)(cq >> 32), 0);
    wr(SAS_REG_CTRL, SAS_CTRL_ENABLE, 0);
}

START_TEST(fatal_bad_qsize)
{
    static const uint32_t bad[] = {0, 1, 3, 2048, 0x80000000u};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nraise = 0;
        enable_raw(bad[i], SQ_BUS, CQ_BUS);
        expect_fatal(SAS_ERR_QSIZE);
        ck_assert_uint_eq(raise_when[0], msi());
        wr(SAS_REG_CTRL, 0, 0); /* disabling leaves FATAL; ERR stays */
        ck_assert_uint_eq(rd(SAS_REG_STATUS), 0);
        ck_assert_uint_eq(rd(SAS_REG_ERR), SAS_ERR_QSIZE);
    }
    enable(1024, 0); /* the maximum is fine */
}
END_TEST

START_TEST(fatal_misaligned_base)
{
    enable_raw(16, SQ_BUS + 64, CQ_BUS);
    expect_fatal(SAS_ERR_QALIGN);
    wr(SAS_REG_CTRL, 0, 0);
    enable_raw(16, SQ_BUS, CQ_BUS + 16);
    expect_fatal(SAS_ERR_QALIGN);
    /* a fatal device ignores doorbells */
    wr(SAS_REG_SQ_TAIL, 1, 0);
    ck_assert_uint_eq(evq_pending(&q), 0);
}
END_TEST

START_TEST(fatal_doorbell_out_of_range)
{
    enable(16, 0);
    put_cmd(0, 1, SAS_OP_READ, 1, 0, 8, DATA_BUS, 4096);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    wr(SAS_REG_SQ_TAIL, 16, 10);
    expect_fatal(SAS_ERR_DOORBELL);
    ck_assert_uint_eq(evq_pending(&q), 0); /* the command in flight was aborted */
    run();
    ck_assert_uint_eq(cqe(0).tag, 0);
    /* CQ_HEAD beyond what was posted is a doorbell error too */
    wr(SAS_REG_CTRL, 0, 0);
    enable(16, 0);
    wr(SAS_REG_CQ_HEAD, 1, 0);
    expect_fatal(SAS_ERR_DOORBELL);
    wr(SAS_REG_CTRL, 0, 0);
    enable(16, 0);
    wr(SAS_REG_CQ_HEAD, 16, 0);
    expect_fatal(SAS_ERR_DOORBELL);
}
END_TEST

START_TEST(fatal_queue_dma)
{
    enable_raw(16, BAD_BUS, CQ_BUS);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), SAS_STATUS_READY);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    expect_fatal(SAS_ERR_SQ_DMA);
    wr(SAS_REG_CTRL, 0, 0);
    nraise = 0;
    enable_raw(16, SQ_BUS, BAD_BUS);
    put_cmd(0, 1, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    expect_fatal(SAS_ERR_CQ_DMA);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 0);
    /* recovery: disable, fix, enable */
    wr(SAS_REG_CTRL, 0, evq_now(&q));
    enable(16, evq_now(&q));
    put_cmd(0, 2, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 1, evq_now(&q));
    run();
    ck_assert_uint_eq(cqe(0).tag, 2);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 1);
}
END_TEST

/* ---- reset and bus mastering ------------------------------------------------------------------
 */

START_TEST(reset_aborts_everything)
{
    enable(16, 0);
    wr(SAS_REG_IMR, SAS_ISR_FATAL, 0);
    for (unsigned i = 0; i < 4; i++)
        put_cmd(i, 1 + i, SAS_OP_READ, 1, i * 30000ull, 8, DATA_BUS + i * 0x1000ull, 4096);
    wr(SAS_REG_SQ_TAIL, 4, 0);
    evq_run_until(&q, 20 * US, NULL); /* fetched, on their way to the disk */
    ck_assert_uint_gt(evq_pending(&q), 0);
    wr(SAS_REG_CTRL, SAS_CTRL_RESET | SAS_CTRL_ENABLE, 20 * US);
    ck_assert_uint_eq(evq_pending(&q), 0);
    ck_assert_uint_eq(rd(SAS_REG_CTRL), 0);
    ck_assert_uint_eq(rd(SAS_REG_STATUS), 0);
    ck_assert_uint_eq(rd(SAS_REG_QSIZE), 0);
    ck_assert_uint_eq(rd(SAS_REG_SQ_BASE), 0);
    ck_assert_uint_eq(rd(SAS_REG_CQ_BASE), 0);
    ck_assert_uint_eq(rd(SAS_REG_IMR), 0);
    ck_assert_uint_eq(rd(SAS_REG_ISR), 0);
    ck_assert_uint_eq(rd(SAS_REG_SQ_HEAD), 0);
    ck_assert_uint_eq(rd(SAS_REG_COMPLETED), 0);
    run();
    for (unsigned i = 0; i < 4; i++)
        ck_assert_uint_eq(cqe(i).tag, 0);
    ck_assert_int_eq(nraise, 0);
    /* and it works again from scratch */
    memset(at(CQ_BUS), 0, 4096);
    enable(16, evq_now(&q));
    put_cmd(0, 9, SAS_OP_FLUSH, 0, 0, 0, 0, 0);
    wr(SAS_REG_SQ_TAIL, 1, evq_now(&q));
    run();
    ck_assert_uint_eq(cqe(0).tag, 9);
    ck_assert_uint_eq(cqe(0).phase, 1);
}
END_TEST

static void set_master(void *opaque, simtime_t now)
{
    (void)now;
    pci_cfg_write(opaque, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void clear_master(void *opaque, simtime_t now)
{
    (void)now;
    pci_cfg_write(opaque, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
}

START_TEST(bus_master_gates_dma)
{
    struct pci_func *f = sas_hba_pci(hba);
    pci_cfg_write(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    enable(16, 0);
    put_cmd(0, 5, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    wr(SAS_REG_SQ_TAIL, 1, 0);
    run();
    ck_assert_uint_eq(evq_pending(&q), 0);
    ck_assert_uint_eq(rd(SAS_REG_SQ_HEAD), 0); /* not even fetched */
    ck_assert_uint_eq(cqe(0).tag, 0);
    /* Bus Master on at 100 us: the command goes from there */
    evq_schedule(&q, 100 * US, set_master, f);
    run();
    simtime_t path = dma(64) + fw() + dma(16) + cost_ps(&prof, C_SSD_READ_LAT, HZ) +
                     cost_bytes_ps(&prof, C_SSD_BW, 4096) + dma(4096) + dma(16);
    ck_assert_uint_eq(cqe(0).tag, 5);
    ck_assert_uint_eq(evq_now(&q), 100 * US + path);
    /* off again in the middle of the media stage: the data DMA waits for it */
    put_cmd(1, 6, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    simtime_t t = evq_now(&q);
    wr(SAS_REG_SQ_TAIL, 2, t);
    evq_schedule(&q, t + 50 * US, clear_master, f);
    run();
    ck_assert_uint_eq(cqe(1).tag, 0);
    evq_schedule(&q, t + 1000 * US, set_master, f);
    run();
    ck_assert_uint_eq(cqe(1).tag, 6);
    ck_assert_uint_eq(evq_now(&q), t + 1000 * US + dma(4096) + dma(16));
}
END_TEST

/* ---- tracing -----------------------------------------------------------------------------------
 */

START_TEST(trace_spans_and_hop)
{
    struct trace_opts o = {.title = "hba"};
    struct trace *tr = trace_open(&o, err, sizeof err);
    ck_assert_ptr_nonnull(tr);
    /* a second HBA on the same bus, traced */
    struct dev_env e = env;
    e.tr = tr;
    e.place = trace_place(tr, PLACE_DEVICE, 1, "sas1");
    struct sas_hba *h2 = sas_hba_create(&e, bus, 2, 10, err, sizeof err);
    ck_assert_ptr_null(h2); /* slot taken */
    ck_assert_str_eq(err, "sas_hba: PCI slot 2 is taken or out of range");
    h2 = sas_hba_create(&e, bus, 3, 10, err, sizeof err);
    ck_assert_ptr_nonnull(h2);
    char p[300];
    snprintf(p, sizeof p, "%s/ssd2.img", tmpdir);
    struct disk *d = make_disk(DISK_SSD, 4096, p, SSD_SIZE);
    ck_assert_int_eq(sas_hba_attach(h2, d), 0);
    pci_cfg_write(sas_hba_pci(h2), PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    void *r2;
    const struct mmio_ops *o2 = pci_bar_mmio(sas_hba_pci(h2), 0, &r2);
    o2->write(r2, SAS_REG_QSIZE, 16, 4, 0);
    o2->write(r2, SAS_REG_SQ_BASE, (uint32_t)SQ_BUS, 4, 0);
    o2->write(r2, SAS_REG_CQ_BASE, (uint32_t)CQ_BUS, 4, 0);
    o2->write(r2, SAS_REG_CTRL, SAS_CTRL_ENABLE, 4, 0);
    uint64_t req = HOPSIM_REQ(1, 42);
    trace_hop(tr, req, HOP_H4, e.place, 0);
    put_cmd(0, req, SAS_OP_READ, 0, 0, 1, DATA_BUS, 4096);
    o2->write(r2, SAS_REG_SQ_TAIL, 1, 4, US);
    run();
    ck_assert_uint_eq(cqe(0).tag, req);
    ck_assert_int_eq(trace_req_hop(tr, req), HOP_H5);
    struct trace_stat st;
    ck_assert(trace_stat_kind(tr, SPAN_DMA, &st));
    ck_assert_uint_eq(st.count, 4); /* sqe, sgl, data, cqe */
    ck_assert(trace_stat_kind(tr, SPAN_MEDIA, &st));
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.sum,
                      cost_ps(&prof, C_SSD_READ_LAT, HZ) + cost_bytes_ps(&prof, C_SSD_BW, 4096));
    ck_assert(trace_stat_kind(tr, SPAN_IRQ, &st));
    ck_assert_uint_eq(st.count, 1);
    ck_assert_uint_eq(st.sum, msi());
    ck_assert(trace_stat_hop(tr, HOP_H4, &st));
    ck_assert_uint_eq(st.sum, US); /* H4 ended when the device began fetching */
    trace_done(tr, req, evq_now(&q));
    sas_hba_destroy(h2);
    ck_assert_int_eq(trace_close(tr, err, sizeof err), 0);
}
END_TEST

static Suite *hba_suite(void)
{
    Suite *s = suite_create("sas_hba");
    TCase *tc = tcase_create("registers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, identity_registers);
    tcase_add_test(tc, attach_limit);
    tcase_add_test(tc, ssd_read_exact_time);
    tcase_add_test(tc, write_lands_in_image);
    tcase_add_test(tc, hdd_read_time_from_formula);
    tcase_add_test(tc, flush_waits_for_idle_disk);
    tcase_add_test(tc, doorbells_in_one_slice);
    tcase_add_test(tc, commands_run_concurrently);
    tcase_add_test(tc, hdd_serves_fifo);
    tcase_add_test(tc, phase_flips_on_wrap);
    tcase_add_test(tc, completion_held_while_cq_full);
    tcase_add_test(tc, isr_and_imr);
    tcase_add_test(tc, reply_coalescing);
    tcase_add_test(tc, command_error_statuses);
    tcase_add_test(tc, media_error_status);
    tcase_add_test(tc, fatal_bad_qsize);
    tcase_add_test(tc, fatal_misaligned_base);
    tcase_add_test(tc, fatal_doorbell_out_of_range);
    tcase_add_test(tc, fatal_queue_dma);
    tcase_add_test(tc, reset_aborts_everything);
    tcase_add_test(tc, bus_master_gates_dma);
    tcase_add_test(tc, trace_spans_and_hop);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hba_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
