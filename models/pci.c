/*
 * PCI bus 0: configuration mechanism #1 and type-0 function headers
 * (interface in pci.h).
 *
 * Assumptions and choices:
 * - One bus (bus 0), single-function devices (function 0 only; header type
 *   0x00). Accesses to other buses or functions, to empty slots, or with
 *   CONFIG_ADDRESS's enable bit clear read all ones and ignore writes, as
 *   a master abort does.
 * - Each function's 256-byte configuration space is a byte array with a
 *   per-byte write mask: a write changes only the bits the mask lets
 *   through. The BAR sizing protocol falls out of it: a BAR's address bits
 *   below its size are not writable, so writing all ones reads back the
 *   size mask (plus the read-only type bits).
 * - Only memory BARs (no I/O BARs, no expansion ROM). Command register:
 *   Memory Space Enable, Bus Master Enable and INTx Disable are writable;
 *   the rest reads 0. Status: Capabilities List and Interrupt Status, both
 *   read-only; no error bits are modelled.
 * - The MSI capability offers one vector with a 64-bit address and no
 *   per-vector masking; Multiple Message Enable reads 0.
 * - A BAR is decoded when Memory Space Enable is set and its address is
 *   not 0. The bar_update callback fires whenever what is decoded changes
 *   (address while enabled, or enable), never while a BAR stays disabled.
 * - CONFIG_ADDRESS is a 32-bit register: bits 30:24 and 1:0 are reserved
 *   and read 0; byte or word accesses to 0xCF8-0xCFB are not for it (on a
 *   PC 0xCF9 is the reset control register) and are ignored here.
 */
#include "pci.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct pci_bar {
    uint64_t size; /* 0: none (or the upper half of a 64-bit BAR) */
    unsigned flags;
    bool upper; /* the high dword of the 64-bit BAR below */
    const struct mmio_ops *ops;
    void *opaque;
    uint64_t dec_addr; /* last decoded state reported to the platform */
    bool dec_en;
};

struct pci_func {
    struct pci_bus *bus;
    unsigned slot;
    uint8_t gsi;
    uint8_t cfg[PCI_CFG_SIZE];
    uint8_t wmask[PCI_CFG_SIZE];
    struct pci_bar bar[PCI_BARS];
    pci_command_fn cmd_hook;
    void *cmd_opaque;
    void *user;
};

struct pci_bus {
    struct pci_func *slot[PCI_SLOTS];
    uint32_t config_address;
    pci_bar_update_fn bar_update;
    void *opaque;
};

/* ---- configuration space bytes ---------------------------------------- */

static uint32_t cfg_get(const struct pci_func *f, unsigned off, unsigned size)
{
    uint32_t v = 0;
    assert(off + size <= PCI_CFG_SIZE);
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)f->cfg[off + i] << (8 * i);
    return v;
}

/* Set bytes regardless of the write mask (the device's own view). */
static void cfg_set(struct pci_func *f, unsigned off, unsigned size, uint32_t v)
{
    assert(off + size <= PCI_CFG_SIZE);
    for (unsigned i = 0; i < size; i++)
        f->cfg[off + i] = (uint8_t)(v >> (8 * i));
}

static void mask_set(struct pci_func *f, unsigned off, unsigned size, uint32_t m)
{
    assert(off + size <= PCI_CFG_SIZE);
    for (unsigned i = 0; i < size; i++)
        f->wmask[off + i] = (uint8_t)(m >> (8 * i));
}

static uint32_t ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* ---- BAR decoding ------------------------------------------------------- */

static uint64_t bar_decode(const struct pci_func *f, int i)
{
    uint64_t addr = cfg_get(f, PCI_BAR0 + 4 * i, 4) & ~0xfull;
    if (f->bar[i].flags & PCI_BAR_64)
        addr |= (uint64_t)cfg_get(f, PCI_BAR0 + 4 * (i + 1), 4) << 32;
    return addr;
}

static void bars_update(struct pci_func *f)
{
    bool mem = pci_mem_enabled(f);
    for (int i = 0; i < PCI_BARS; i++) {
        struct pci_bar *b = &f->bar[i];
        if (!b->size)
            continue;
        uint64_t addr = bar_decode(f, i);
        bool en = mem && addr != 0;
        if (addr == b->dec_addr && en == b->dec_en)
            continue;
        bool report = en || b->dec_en;
        b->dec_addr = addr;
        b->dec_en = en;
        if (report && f->bus->bar_update)
            f->bus->bar_update(f->bus->opaque, f, i, addr, b->size, en);
    }
}

/* ---- bus ---------------------------------------------------------------- */

struct pci_bus *pci_bus_create(pci_bar_update_fn bar_update, void *opaque)
{
    struct pci_bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->bar_update = bar_update;
    b->opaque = opaque;
    return b;
}

void pci_bus_destroy(struct pci_bus *b)
{
    if (!b)
        return;
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        pci_func_destroy(b->slot[s]);
    free(b);
}

struct pci_func *pci_bus_func(struct pci_bus *b, unsigned slot)
{
    return slot < PCI_SLOTS ? b->slot[slot] : NULL;
}

/* The function CONFIG_ADDRESS selects, or NULL (master abort). */
static struct pci_func *selected(struct pci_bus *b)
{
    uint32_t a = b->config_address;
    if (!(a & PCI_CONFIG_ENABLE))
        return NULL;
    unsigned bus = (a >> 16) & 0xff, dev = (a >> 11) & 0x1f, fn = (a >> 8) & 0x7;
    if (bus != 0 || fn != 0)
        return NULL;
    return b->slot[dev];
}

static bool data_access_ok(uint16_t port, unsigned size)
{
    unsigned off = port - PCI_CONFIG_DATA;
    return (size == 1 || size == 2 || size == 4) && off + size <= 4;
}

uint32_t pci_io_read(struct pci_bus *b, uint16_t port, unsigned size)
{
    if (port == PCI_CONFIG_ADDRESS && size == 4)
        return b->config_address;
    if (port < PCI_CONFIG_DATA || port > PCI_CONFIG_DATA + 3 || !data_access_ok(port, size))
        return ones(size);
    struct pci_func *f = selected(b);
    if (!f)
        return ones(size);
    unsigned reg = b->config_address & 0xfc;
    return pci_cfg_read(f, reg + (port - PCI_CONFIG_DATA), size);
}

void pci_io_write(struct pci_bus *b, uint16_t port, unsigned size, uint32_t value)
{
    if (port == PCI_CONFIG_ADDRESS && size == 4) {
        b->config_address = value & 0x80fffffcu;
        return;
    }
    if (port < PCI_CONFIG_DATA || port > PCI_CONFIG_DATA + 3 || !data_access_ok(port, size))
        return;
    struct pci_func *f = selected(b);
    if (!f)
        return;
    unsigned reg = b->config_address & 0xfc;
    pci_cfg_write(f, reg + (port - PCI_CONFIG_DATA), size, value);
}

/* ---- functions ---------------------------------------------------------- */

struct pci_func *pci_func_create(struct pci_bus *b, unsigned slot, uint16_t vendor, uint16_t device,
                                 uint32_t class_code, uint8_t rev, uint8_t gsi)
{
    if (slot >= PCI_SLOTS || b->slot[slot])
        return NULL;
    struct pci_func *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->bus = b;
    f->slot = slot;
    f->gsi = gsi;
    cfg_set(f, PCI_VENDOR_ID, 2, vendor);
    cfg_set(f, PCI_DEVICE_ID, 2, device);
    cfg_set(f, PCI_REVISION_ID, 1, rev);
    cfg_set(f, PCI_CLASS_PROG, 3, class_code & 0xffffff);
    cfg_set(f, PCI_HEADER_TYPE, 1, 0x00);
    cfg_set(f, PCI_INTERRUPT_LINE, 1, gsi);
    cfg_set(f, PCI_INTERRUPT_PIN, 1, gsi == 0xff ? 0 : 1); /* INTA# */
    mask_set(f, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
    mask_set(f, PCI_CACHE_LINE_SIZE, 1, 0xff);
    mask_set(f, PCI_INTERRUPT_LINE, 1, 0xff);
    b->slot[slot] = f;
    return f;
}

void pci_func_destroy(struct pci_func *f)
{
    if (!f)
        return;
    assert(f->bus->slot[f->slot] == f);
    f->bus->slot[f->slot] = NULL;
    free(f);
}

static bool bar_args_ok(const struct pci_func *f, int bar, uint64_t size, unsigned flags)
{
    bool is64 = flags & PCI_BAR_64;
    if (bar < 0 || bar >= PCI_BARS || (is64 && bar + 1 >= PCI_BARS))
        return false;
    if (f->bar[bar].size || f->bar[bar].upper)
        return false;
    if (is64 && (f->bar[bar + 1].size || f->bar[bar + 1].upper))
        return false;
    if (size < 16 || (size & (size - 1)) != 0)
        return false;
    return is64 || size <= (1ull << 31);
}

int pci_func_add_bar(struct pci_func *f, int bar, uint64_t size, unsigned flags,
                     const struct mmio_ops *ops, void *opaque)
{
    if (!bar_args_ok(f, bar, size, flags))
        return -1;
    struct pci_bar *b = &f->bar[bar];
    b->size = size;
    b->flags = flags;
    b->ops = ops;
    b->opaque = opaque;
    uint32_t type = (flags & PCI_BAR_64 ? PCI_BAR_MEM_TYPE_64 : 0) |
                    (flags & PCI_BAR_PREFETCH ? PCI_BAR_MEM_PREFETCH : 0);
    cfg_set(f, PCI_BAR0 + 4 * bar, 4, type);
    mask_set(f, PCI_BAR0 + 4 * bar, 4, (uint32_t) ~(size - 1) & ~0xfu);
    if (flags & PCI_BAR_64) {
        f->bar[bar + 1].upper = true;
        cfg_set(f, PCI_BAR0 + 4 * (bar + 1), 4, 0);
        mask_set(f, PCI_BAR0 + 4 * (bar + 1), 4, (uint32_t)(~(size - 1) >> 32));
    }
    return 0;
}

void pci_func_set_subsystem(struct pci_func *f, uint16_t vendor, uint16_t id)
{
    cfg_set(f, PCI_SUBSYSTEM_VENDOR_ID, 2, vendor);
    cfg_set(f, PCI_SUBSYSTEM_ID, 2, id);
}

void pci_func_enable_msi_cap(struct pci_func *f)
{
    const unsigned c = PCI_MSI_CAP_OFFSET;
    cfg_set(f, c, 1, PCI_CAP_ID_MSI);
    cfg_set(f, c + 1, 1, cfg_get(f, PCI_CAPABILITY_LIST, 1)); /* next: the old head */
    cfg_set(f, c + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_64BIT);
    mask_set(f, c + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE);
    mask_set(f, c + PCI_MSI_ADDR_LO, 4, 0xfffffffcu);
    mask_set(f, c + PCI_MSI_ADDR_HI, 4, 0xffffffffu);
    mask_set(f, c + PCI_MSI_DATA, 2, 0xffff);
    cfg_set(f, PCI_CAPABILITY_LIST, 1, c);
    cfg_set(f, PCI_STATUS, 2, cfg_get(f, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
}

void pci_func_disable_msi_cap(struct pci_func *f)
{
    const unsigned c = PCI_MSI_CAP_OFFSET;
    if (cfg_get(f, PCI_CAPABILITY_LIST, 1) != c || cfg_get(f, c, 1) != PCI_CAP_ID_MSI)
        return; /* not at the head of the list: never added */
    unsigned next = cfg_get(f, c + 1, 1);
    for (unsigned off = c; off < c + 16; off++) {
        cfg_set(f, off, 1, 0);
        mask_set(f, off, 1, 0);
    }
    cfg_set(f, PCI_CAPABILITY_LIST, 1, next);
    if (!next)
        cfg_set(f, PCI_STATUS, 2, cfg_get(f, PCI_STATUS, 2) & ~PCI_STATUS_CAP_LIST);
}

void pci_func_set_command_hook(struct pci_func *f, pci_command_fn fn, void *opaque)
{
    f->cmd_hook = fn;
    f->cmd_opaque = opaque;
}

void pci_func_set_intx(struct pci_func *f, bool asserted)
{
    uint32_t st = cfg_get(f, PCI_STATUS, 2);
    st = asserted ? st | PCI_STATUS_INTERRUPT : st & ~PCI_STATUS_INTERRUPT;
    cfg_set(f, PCI_STATUS, 2, st);
}

void pci_func_set_user(struct pci_func *f, void *user)
{
    f->user = user;
}

void *pci_func_user(const struct pci_func *f)
{
    return f->user;
}

uint32_t pci_cfg_read(struct pci_func *f, unsigned off, unsigned size)
{
    if (off + size > PCI_CFG_SIZE)
        return ones(size);
    return cfg_get(f, off, size);
}

void pci_cfg_write(struct pci_func *f, unsigned off, unsigned size, uint32_t value)
{
    if (off + size > PCI_CFG_SIZE)
        return;
    uint16_t old_cmd = (uint16_t)cfg_get(f, PCI_COMMAND, 2);
    for (unsigned i = 0; i < size; i++) {
        uint8_t m = f->wmask[off + i], v = (uint8_t)(value >> (8 * i));
        f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (v & m));
    }
    bars_update(f);
    uint16_t new_cmd = (uint16_t)cfg_get(f, PCI_COMMAND, 2);
    if (new_cmd != old_cmd && f->cmd_hook)
        f->cmd_hook(f->cmd_opaque, old_cmd, new_cmd);
}

/* ---- queries ------------------------------------------------------------ */

unsigned pci_func_slot(const struct pci_func *f)
{
    return f->slot;
}

uint8_t pci_func_gsi(const struct pci_func *f)
{
    return f->gsi;
}

bool pci_mem_enabled(const struct pci_func *f)
{
    return cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
}

bool pci_bus_master(const struct pci_func *f)
{
    return cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

bool pci_intx_disabled(const struct pci_func *f)
{
    return cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE;
}

bool pci_msi(const struct pci_func *f, uint64_t *addr, uint32_t *data)
{
    const unsigned c = PCI_MSI_CAP_OFFSET;
    if (cfg_get(f, c, 1) != PCI_CAP_ID_MSI)
        return false;
    if (addr)
        *addr = cfg_get(f, c + PCI_MSI_ADDR_LO, 4) | (uint64_t)cfg_get(f, c + PCI_MSI_ADDR_HI, 4)
                                                         << 32;
    if (data)
        *data = cfg_get(f, c + PCI_MSI_DATA, 2);
    return cfg_get(f, c + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE;
}

uint64_t pci_bar_addr(const struct pci_func *f, int bar)
{
    if (bar < 0 || bar >= PCI_BARS || !f->bar[bar].size)
        return 0;
    return bar_decode(f, bar);
}

uint64_t pci_bar_size(const struct pci_func *f, int bar)
{
    return bar >= 0 && bar < PCI_BARS ? f->bar[bar].size : 0;
}

const struct mmio_ops *pci_bar_mmio(const struct pci_func *f, int bar, void **opaque)
{
    if (bar < 0 || bar >= PCI_BARS || !f->bar[bar].size)
        return NULL;
    if (opaque)
        *opaque = f->bar[bar].opaque;
    return f->bar[bar].ops;
}

/* ---- firmware BAR assignment ------------------------------------------- */

struct bar_ref {
    struct pci_func *f;
    int bar;
};

static uint64_t ref_size(const struct bar_ref *r)
{
    return r->f->bar[r->bar].size;
}

/* All BARs in slot/BAR order, then stably sorted largest first. */
static unsigned collect_bars(struct pci_bus *b, struct bar_ref *refs)
{
    unsigned n = 0;
    for (unsigned s = 0; s < PCI_SLOTS; s++)
        for (int i = 0; b->slot[s] && i < PCI_BARS; i++)
            if (b->slot[s]->bar[i].size)
                refs[n++] = (struct bar_ref){b->slot[s], i};
    for (unsigned i = 1; i < n; i++) {
        struct bar_ref r = refs[i];
        unsigned j = i;
        for (; j > 0 && ref_size(&refs[j - 1]) < ref_size(&r); j--)
            refs[j] = refs[j - 1];
        refs[j] = r;
    }
    return n;
}

static void set_command_bits(struct pci_bus *b, uint16_t clear, uint16_t set)
{
    for (unsigned s = 0; s < PCI_SLOTS; s++) {
        struct pci_func *f = b->slot[s];
        if (f) {
            uint32_t cmd = cfg_get(f, PCI_COMMAND, 2);
            pci_cfg_write(f, PCI_COMMAND, 2, (cmd & ~(uint32_t)clear) | set);
        }
    }
}

/* End of the window a BAR may use: 32-bit BARs stay below 4 GiB. */
static uint64_t bar_top(const struct pci_func *f, int bar, uint64_t limit)
{
    const uint64_t four_gib = 1ull << 32;
    if (f->bar[bar].flags & PCI_BAR_64)
        return limit;
    return limit < four_gib ? limit : four_gib;
}

int pci_bus_assign_bars(struct pci_bus *b, uint64_t base, uint64_t limit)
{
    struct bar_ref refs[PCI_SLOTS * PCI_BARS];
    unsigned n = collect_bars(b, refs);
    set_command_bits(b, PCI_COMMAND_MEMORY, 0);
    uint64_t cursor = base;
    for (unsigned i = 0; i < n; i++) {
        struct pci_func *f = refs[i].f;
        int bar = refs[i].bar;
        uint64_t size = ref_size(&refs[i]);
        uint64_t top = bar_top(f, bar, limit);
        uint64_t a = (cursor + size - 1) & ~(size - 1);
        if (a < cursor || a > top || size > top - a)
            return -1;
        pci_cfg_write(f, PCI_BAR0 + 4 * bar, 4, (uint32_t)a);
        if (f->bar[bar].flags & PCI_BAR_64)
            pci_cfg_write(f, PCI_BAR0 + 4 * (bar + 1), 4, (uint32_t)(a >> 32));
        cursor = a + size;
    }
    set_command_bits(b, 0, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return 0;
}
