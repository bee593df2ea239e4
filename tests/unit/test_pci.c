/*
 * Unit tests for the PCI bus model (models/pci.c): configuration
 * mechanism #1 decoding, master-abort reads, the type-0 header, BAR sizing
 * (32- and 64-bit), command and status bits, the MSI capability, the
 * bar_update callback and firmware BAR assignment. Everything goes through
 * the I/O ports, as a guest would, unless the test is about the API.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"
#include "hopsim/abi.h"

#define MAX_CALLS 64

struct call {
    struct pci_func *f;
    int bar;
    uint64_t addr, size;
    bool enabled;
};

static struct call calls[MAX_CALLS];
static int ncalls;
static struct pci_bus *bus;

static void on_bar(void *opaque, struct pci_func *f, int bar, uint64_t addr, uint64_t size,
                   bool enabled)
{
    ck_assert_ptr_eq(opaque, &ncalls);
    ck_assert_int_lt(ncalls, MAX_CALLS);
    calls[ncalls++] = (struct call){f, bar, addr, size, enabled};
}

static uint64_t dummy_read(void *opaque, uint64_t offset, unsigned size, simtime_t now)
{
    (void)opaque, (void)offset, (void)size, (void)now;
    return 0;
}

static void dummy_write(void *opaque, uint64_t offset, uint64_t value, unsigned size, simtime_t now)
{
    (void)opaque, (void)offset, (void)value, (void)size, (void)now;
}

static const struct mmio_ops dummy_ops = {dummy_read, dummy_write};

static void setup(void)
{
    ncalls = 0;
    bus = pci_bus_create(on_bar, &ncalls);
    ck_assert_ptr_nonnull(bus);
}

static void teardown(void)
{
    pci_bus_destroy(bus);
}

static uint32_t addr_of(unsigned busno, unsigned dev, unsigned fn, unsigned reg)
{
    return PCI_CONFIG_ENABLE | busno << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_rd(unsigned dev, unsigned reg, unsigned size)
{
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, dev, 0, reg));
    return pci_io_read(bus, PCI_CONFIG_DATA + (reg & 3), size);
}

static void cfg_wr(unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, dev, 0, reg));
    pci_io_write(bus, PCI_CONFIG_DATA + (reg & 3), size, v);
}

static struct pci_func *make_hba(unsigned slot)
{
    struct pci_func *f = pci_func_create(bus, slot, 0x1d0f, 0x5a5a, 0x010700, 0x02, 11);
    ck_assert_ptr_nonnull(f);
    return f;
}

START_TEST(config_address_register)
{
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, 0xffffffffu);
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_ADDRESS, 4), 0x80fffffcu);
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, 3, 0, 0x10));
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_ADDRESS, 4), 0x80001810u);
    /* byte/word accesses at 0xCF8-0xCFB are not CONFIG_ADDRESS */
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 1, 0);
    pci_io_write(bus, PCI_CONFIG_ADDRESS + 1, 2, 0);
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_ADDRESS, 4), 0x80001810u);
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_ADDRESS, 1), 0xff);
    ck_assert_uint_eq(pci_io_read(bus, 0x80, 4), 0xffffffffu); /* not ours */
}
END_TEST

START_TEST(unpopulated_reads_all_ones)
{
    make_hba(3);
    ck_assert_uint_eq(cfg_rd(4, 0, 4), 0xffffffffu); /* empty slot */
    ck_assert_uint_eq(cfg_rd(4, 0, 2), 0xffff);
    ck_assert_uint_eq(cfg_rd(4, 3, 1), 0xff);
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(1, 3, 0, 0)); /* bus 1 */
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA, 4), 0xffffffffu);
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, 3, 1, 0)); /* function 1 */
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA, 4), 0xffffffffu);
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, 3, 0, 0) & ~PCI_CONFIG_ENABLE);
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA, 4), 0xffffffffu);
    /* an access crossing the dword is refused */
    pci_io_write(bus, PCI_CONFIG_ADDRESS, 4, addr_of(0, 3, 0, 0));
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA + 2, 4), 0xffffffffu);
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA + 3, 2), 0xffff);
    /* and the present function answers */
    ck_assert_uint_eq(pci_io_read(bus, PCI_CONFIG_DATA, 4), 0x5a5a1d0f);
}
END_TEST

START_TEST(header_fields)
{
    struct pci_func *f = make_hba(5);
    pci_func_set_subsystem(f, 0x1234, 0xabcd);
    ck_assert_uint_eq(cfg_rd(5, PCI_VENDOR_ID, 2), 0x1d0f);
    ck_assert_uint_eq(cfg_rd(5, PCI_DEVICE_ID, 2), 0x5a5a);
    ck_assert_uint_eq(cfg_rd(5, 0x01, 1), 0x1d); /* byte at CONFIG_DATA + 1 */
    ck_assert_uint_eq(cfg_rd(5, 0x01, 2), 0x5a1d);
    ck_assert_uint_eq(cfg_rd(5, PCI_REVISION_ID, 4), 0x01070002);
    ck_assert_uint_eq(cfg_rd(5, PCI_HEADER_TYPE, 1), 0x00);
    ck_assert_uint_eq(cfg_rd(5, PCI_SUBSYSTEM_VENDOR_ID, 4), 0xabcd1234);
    ck_assert_uint_eq(cfg_rd(5, PCI_INTERRUPT_LINE, 1), 11);
    ck_assert_uint_eq(cfg_rd(5, PCI_INTERRUPT_PIN, 1), 1);
    ck_assert_uint_eq(cfg_rd(5, PCI_CAPABILITY_LIST, 1), 0);
    ck_assert_uint_eq(cfg_rd(5, PCI_STATUS, 2), 0);
    /* read-only fields stay put */
    cfg_wr(5, PCI_VENDOR_ID, 4, 0);
    cfg_wr(5, PCI_REVISION_ID, 4, 0);
    cfg_wr(5, PCI_INTERRUPT_PIN, 1, 3);
    ck_assert_uint_eq(cfg_rd(5, 0, 4), 0x5a5a1d0f);
    ck_assert_uint_eq(cfg_rd(5, PCI_REVISION_ID, 4), 0x01070002);
    ck_assert_uint_eq(cfg_rd(5, PCI_INTERRUPT_PIN, 1), 1);
    /* interrupt line and cache line size are writable */
    cfg_wr(5, PCI_INTERRUPT_LINE, 1, 9);
    cfg_wr(5, PCI_CACHE_LINE_SIZE, 1, 16);
    ck_assert_uint_eq(cfg_rd(5, PCI_INTERRUPT_LINE, 1), 9);
    ck_assert_uint_eq(cfg_rd(5, PCI_CACHE_LINE_SIZE, 1), 16);
    ck_assert_uint_eq(pci_func_gsi(f), 11);
    ck_assert_uint_eq(pci_func_slot(f), 5);
    /* no INTx: pin 0 */
    pci_func_create(bus, 6, 1, 2, 0x020000, 0, 0xff);
    ck_assert_uint_eq(cfg_rd(6, PCI_INTERRUPT_PIN, 1), 0);
}
END_TEST

START_TEST(create_errors)
{
    make_hba(1);
    ck_assert_ptr_null(pci_func_create(bus, 1, 1, 1, 0, 0, 0));
    ck_assert_ptr_null(pci_func_create(bus, PCI_SLOTS, 1, 1, 0, 0, 0));
    struct pci_func *f = pci_bus_func(bus, 1);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, NULL), -1); /* taken */
    ck_assert_int_eq(pci_func_add_bar(f, 1, 3000, 0, &dummy_ops, NULL), -1); /* not 2^n */
    ck_assert_int_eq(pci_func_add_bar(f, 1, 8, 0, &dummy_ops, NULL), -1);    /* < 16 */
    ck_assert_int_eq(pci_func_add_bar(f, 5, 4096, PCI_BAR_64, &dummy_ops, NULL), -1);
    ck_assert_int_eq(pci_func_add_bar(f, 1, 1ull << 32, 0, &dummy_ops, NULL), -1);
    ck_assert_int_eq(pci_func_add_bar(f, 6, 4096, 0, &dummy_ops, NULL), -1);
    ck_assert_int_eq(pci_func_add_bar(f, 1, 1ull << 32, PCI_BAR_64, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 2, 4096, 0, &dummy_ops, NULL), -1); /* upper half */
    pci_func_destroy(f);
    ck_assert_ptr_null(pci_bus_func(bus, 1));
    ck_assert_uint_eq(cfg_rd(1, 0, 4), 0xffffffffu);
}
END_TEST

START_TEST(bar_sizing_32)
{
    int token;
    struct pci_func *f = make_hba(2);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, &token), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 1, 16, PCI_BAR_PREFETCH, &dummy_ops, NULL), 0);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0, 4), 0);
    cfg_wr(2, PCI_BAR0, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0, 4), 0xfffff000u);
    cfg_wr(2, PCI_BAR0 + 4, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 4, 4), 0xfffffff8u); /* prefetchable bit 3 */
    cfg_wr(2, PCI_BAR0, 4, 0xc0001234u);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0, 4), 0xc0001000u);
    ck_assert_uint_eq(pci_bar_addr(f, 0), 0xc0001000u);
    ck_assert_uint_eq(pci_bar_size(f, 0), 4096);
    ck_assert_uint_eq(pci_bar_size(f, 2), 0);
    ck_assert_uint_eq(pci_bar_addr(f, 2), 0);
    /* unimplemented BARs read 0 and ignore writes */
    cfg_wr(2, PCI_BAR0 + 8, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 8, 4), 0);
    cfg_wr(2, PCI_ROM_ADDRESS, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_ROM_ADDRESS, 4), 0);
    void *op = NULL;
    ck_assert_ptr_eq(pci_bar_mmio(f, 0, &op), &dummy_ops);
    ck_assert_ptr_eq(op, &token);
    ck_assert_ptr_null(pci_bar_mmio(f, 3, &op));
    ck_assert_int_eq(ncalls, 0); /* memory decoding was never on */
}
END_TEST

START_TEST(bar_sizing_64)
{
    struct pci_func *f = make_hba(2);
    ck_assert_int_eq(pci_func_add_bar(f, 2, 8192, PCI_BAR_64, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 4, 8ull << 30, PCI_BAR_64, &dummy_ops, NULL), 0);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 8, 4), PCI_BAR_MEM_TYPE_64);
    cfg_wr(2, PCI_BAR0 + 8, 4, 0xffffffffu);
    cfg_wr(2, PCI_BAR0 + 12, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 8, 4), 0xffffe004u);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 12, 4), 0xffffffffu);
    cfg_wr(2, PCI_BAR0 + 8, 4, 0x00002000u);
    cfg_wr(2, PCI_BAR0 + 12, 4, 0x00000012u);
    ck_assert_uint_eq(pci_bar_addr(f, 2), 0x1200002000ull);
    /* 8 GiB: no low address bits are writable; the high dword sizes it */
    cfg_wr(2, PCI_BAR0 + 16, 4, 0xffffffffu);
    cfg_wr(2, PCI_BAR0 + 20, 4, 0xffffffffu);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 16, 4), PCI_BAR_MEM_TYPE_64);
    ck_assert_uint_eq(cfg_rd(2, PCI_BAR0 + 20, 4), 0xfffffffeu);
    ck_assert_uint_eq(pci_bar_size(f, 4), 8ull << 30);
    ck_assert_uint_eq(pci_bar_size(f, 5), 0); /* the upper half is not a BAR */
}
END_TEST

START_TEST(command_and_status_bits)
{
    struct pci_func *f = make_hba(7);
    ck_assert_uint_eq(cfg_rd(7, PCI_COMMAND, 2), 0);
    ck_assert(!pci_bus_master(f) && !pci_mem_enabled(f) && !pci_intx_disabled(f));
    cfg_wr(7, PCI_COMMAND, 2, 0xffff);
    ck_assert_uint_eq(cfg_rd(7, PCI_COMMAND, 2), 0x0406);
    ck_assert(pci_bus_master(f) && pci_mem_enabled(f) && pci_intx_disabled(f));
    cfg_wr(7, PCI_COMMAND + 1, 1, 0); /* byte write of the high half */
    ck_assert_uint_eq(cfg_rd(7, PCI_COMMAND, 2), 0x0006);
    ck_assert(!pci_intx_disabled(f));
    /* Interrupt Status follows the device's INTx */
    pci_func_set_intx(f, true);
    ck_assert_uint_eq(cfg_rd(7, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    cfg_wr(7, PCI_STATUS, 2, 0xffff); /* read-only */
    ck_assert_uint_eq(cfg_rd(7, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    pci_func_set_intx(f, false);
    ck_assert_uint_eq(cfg_rd(7, PCI_STATUS, 2), 0);
    /* a 4-byte write at 0x04 reaches command, not status */
    cfg_wr(7, PCI_COMMAND, 4, 0xffff0000u);
    ck_assert_uint_eq(cfg_rd(7, PCI_COMMAND, 4), 0);
}
END_TEST

static void on_command(void *opaque, uint16_t old_cmd, uint16_t new_cmd)
{
    uint16_t *seen = opaque;
    seen[0]++;
    seen[1] = old_cmd;
    seen[2] = new_cmd;
}

START_TEST(command_hook)
{
    uint16_t seen[3] = {0, 0, 0};
    struct pci_func *f = make_hba(7);
    pci_func_set_command_hook(f, on_command, seen);
    cfg_wr(7, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    ck_assert_uint_eq(seen[0], 1);
    ck_assert_uint_eq(seen[1], 0);
    ck_assert_uint_eq(seen[2], PCI_COMMAND_MASTER);
    cfg_wr(7, PCI_COMMAND, 2, PCI_COMMAND_MASTER); /* no change, no call */
    cfg_wr(7, PCI_INTERRUPT_LINE, 1, 4);
    ck_assert_uint_eq(seen[0], 1);
}
END_TEST

START_TEST(msi_capability)
{
    struct pci_func *f = make_hba(9);
    pci_func_enable_msi_cap(f);
    ck_assert_uint_eq(cfg_rd(9, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
    unsigned cap = cfg_rd(9, PCI_CAPABILITY_LIST, 1);
    ck_assert_uint_eq(cap, PCI_MSI_CAP_OFFSET);
    ck_assert_uint_eq(cfg_rd(9, cap, 1), PCI_CAP_ID_MSI);
    ck_assert_uint_eq(cfg_rd(9, cap + 1, 1), 0); /* end of list */
    ck_assert_uint_eq(cfg_rd(9, cap + PCI_MSI_FLAGS, 2), PCI_MSI_FLAGS_64BIT);
    uint64_t a = 1;
    uint32_t d = 1;
    ck_assert(!pci_msi(f, &a, &d));
    cfg_wr(9, cap + PCI_MSI_ADDR_LO, 4, 0xfee01007u);
    cfg_wr(9, cap + PCI_MSI_ADDR_HI, 4, 0x1);
    cfg_wr(9, cap + PCI_MSI_DATA, 2, 0x4041);
    ck_assert_uint_eq(cfg_rd(9, cap + PCI_MSI_ADDR_LO, 4), 0xfee01004u);
    cfg_wr(9, cap + PCI_MSI_FLAGS, 2, 0xffff); /* only the enable bit is writable */
    ck_assert_uint_eq(cfg_rd(9, cap + PCI_MSI_FLAGS, 2),
                      PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_ENABLE);
    ck_assert(pci_msi(f, &a, &d));
    ck_assert_uint_eq(a, 0x1fee01004ull);
    ck_assert_uint_eq(d, 0x4041);
    ck_assert(pci_msi(f, NULL, NULL));
    cfg_wr(9, cap + PCI_MSI_FLAGS, 2, 0);
    ck_assert(!pci_msi(f, NULL, NULL));
    /* without the capability there is no MSI */
    struct pci_func *g = make_hba(10);
    ck_assert(!pci_msi(g, &a, &d));
    /* taken off again (scenario msi = false): the list is empty, writes do nothing */
    cfg_wr(9, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    pci_func_disable_msi_cap(f);
    ck_assert_uint_eq(cfg_rd(9, PCI_CAPABILITY_LIST, 1), 0);
    ck_assert_uint_eq(cfg_rd(9, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    ck_assert_uint_eq(cfg_rd(9, cap, 1), 0);
    cfg_wr(9, cap + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    ck_assert_uint_eq(cfg_rd(9, cap + PCI_MSI_FLAGS, 2), 0);
    ck_assert(!pci_msi(f, &a, &d));
}
END_TEST

START_TEST(bar_update_callback)
{
    struct pci_func *f = make_hba(4);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, NULL), 0);
    /* address set while decoding is off: nothing to report */
    cfg_wr(4, PCI_BAR0, 4, 0xc0000000u);
    ck_assert_int_eq(ncalls, 0);
    cfg_wr(4, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_int_eq(ncalls, 1);
    ck_assert_ptr_eq(calls[0].f, f);
    ck_assert_int_eq(calls[0].bar, 0);
    ck_assert_uint_eq(calls[0].addr, 0xc0000000u);
    ck_assert_uint_eq(calls[0].size, 4096);
    ck_assert(calls[0].enabled);
    /* moving the BAR while decoding */
    cfg_wr(4, PCI_BAR0, 4, 0xc0010000u);
    ck_assert_int_eq(ncalls, 2);
    ck_assert_uint_eq(calls[1].addr, 0xc0010000u);
    ck_assert(calls[1].enabled);
    /* same value again: nothing changes */
    cfg_wr(4, PCI_BAR0, 4, 0xc0010000u);
    ck_assert_int_eq(ncalls, 2);
    /* Bus Master alone does not change decoding */
    cfg_wr(4, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    ck_assert_int_eq(ncalls, 2);
    /* address 0 is never decoded */
    cfg_wr(4, PCI_BAR0, 4, 0);
    ck_assert_int_eq(ncalls, 3);
    ck_assert(!calls[2].enabled);
    cfg_wr(4, PCI_BAR0, 4, 0xc0020000u);
    ck_assert_int_eq(ncalls, 4);
    ck_assert(calls[3].enabled);
    cfg_wr(4, PCI_COMMAND, 2, 0);
    ck_assert_int_eq(ncalls, 5);
    ck_assert(!calls[4].enabled);
    ck_assert_uint_eq(calls[4].addr, 0xc0020000u);
}
END_TEST

static bool overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
    return a < b + bs && b < a + as;
}

START_TEST(firmware_assignment)
{
    struct pci_func *f = make_hba(3), *g = make_hba(8);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 1, 16, 0, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(f, 2, 1 << 20, PCI_BAR_64, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(g, 0, 64 << 10, 0, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_func_add_bar(g, 3, 4096, 0, &dummy_ops, NULL), 0);
    /* a base that is not aligned for the biggest BAR */
    ck_assert_int_eq(pci_bus_assign_bars(bus, HOPSIM_MMIO_BASE + 0x100, 1ull << 32), 0);
    struct {
        struct pci_func *f;
        int bar;
    } bars[] = {{f, 0}, {f, 1}, {f, 2}, {g, 0}, {g, 3}};
    for (unsigned i = 0; i < 5; i++) {
        uint64_t a = pci_bar_addr(bars[i].f, bars[i].bar), s = pci_bar_size(bars[i].f, bars[i].bar);
        ck_assert_uint_ge(a, HOPSIM_MMIO_BASE + 0x100);
        ck_assert_uint_le(a + s, 1ull << 32);
        ck_assert_uint_eq(a % s, 0);
        for (unsigned j = 0; j < i; j++) {
            uint64_t b = pci_bar_addr(bars[j].f, bars[j].bar);
            ck_assert(!overlaps(a, s, b, pci_bar_size(bars[j].f, bars[j].bar)));
        }
    }
    /* largest first from the first aligned address */
    ck_assert_uint_eq(pci_bar_addr(f, 2), HOPSIM_MMIO_BASE + (1 << 20));
    ck_assert(pci_mem_enabled(f) && pci_bus_master(f));
    ck_assert(pci_mem_enabled(g) && pci_bus_master(g));
    /* one enable report per BAR */
    ck_assert_int_eq(ncalls, 5);
    for (int i = 0; i < ncalls; i++) {
        ck_assert(calls[i].enabled);
        ck_assert_uint_eq(calls[i].addr, pci_bar_addr(calls[i].f, calls[i].bar));
    }
    /* and a window too small fails */
    ck_assert_int_eq(pci_bus_assign_bars(bus, HOPSIM_MMIO_BASE, HOPSIM_MMIO_BASE + 0x10000), -1);
}
END_TEST

START_TEST(firmware_assignment_32bit_stays_low)
{
    struct pci_func *f = make_hba(3);
    ck_assert_int_eq(pci_func_add_bar(f, 0, 4096, 0, &dummy_ops, NULL), 0);
    ck_assert_int_eq(pci_bus_assign_bars(bus, 0xfffff000u, 1ull << 33), 0);
    ck_assert_uint_eq(pci_bar_addr(f, 0), 0xfffff000u);
    ck_assert_int_eq(pci_bus_assign_bars(bus, 1ull << 32, 1ull << 33), -1);
}
END_TEST

static Suite *pci_suite(void)
{
    Suite *s = suite_create("pci");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_address_register);
    tcase_add_test(tc, unpopulated_reads_all_ones);
    tcase_add_test(tc, header_fields);
    tcase_add_test(tc, create_errors);
    tcase_add_test(tc, bar_sizing_32);
    tcase_add_test(tc, bar_sizing_64);
    tcase_add_test(tc, command_and_status_bits);
    tcase_add_test(tc, command_hook);
    tcase_add_test(tc, msi_capability);
    tcase_add_test(tc, bar_update_callback);
    tcase_add_test(tc, firmware_assignment);
    tcase_add_test(tc, firmware_assignment_32bit_stays_low);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(pci_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
