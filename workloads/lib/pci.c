/*
 * PCI configuration mechanism #1 (see pci.h). Each access is an OUT of the
 * address to 0xCF8 then an IN/OUT at 0xCFC + (reg & 3): two port accesses,
 * no state kept between calls. Single vCPU, and drivers touch
 * configuration space only from program context, so the address/data pair
 * is never interleaved.
 */
#include "pci.h"

#include "guest.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc
#define CONFIG_ENABLE 0x80000000u

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
    return v;
}

/* Bus 0, function 0. */
static void select_reg(unsigned slot, unsigned reg)
{
    outl(CONFIG_ADDRESS, CONFIG_ENABLE | (slot & 31u) << 11 | (reg & 0xfcu));
}

uint32_t pci_cfg_read32(unsigned slot, unsigned reg)
{
    select_reg(slot, reg);
    return inl(CONFIG_DATA);
}

uint16_t pci_cfg_read16(unsigned slot, unsigned reg)
{
    select_reg(slot, reg);
    return inw((uint16_t)(CONFIG_DATA + (reg & 2u)));
}

uint8_t pci_cfg_read8(unsigned slot, unsigned reg)
{
    select_reg(slot, reg);
    return inb((uint16_t)(CONFIG_DATA + (reg & 3u)));
}

void pci_cfg_write32(unsigned slot, unsigned reg, uint32_t val)
{
    select_reg(slot, reg);
    outl(CONFIG_DATA, val);
}

void pci_cfg_write16(unsigned slot, unsigned reg, uint16_t val)
{
    select_reg(slot, reg);
    outw((uint16_t)(CONFIG_DATA + (reg & 2u)), val);
}

int pci_find_device(uint16_t vendor, uint16_t device)
{
    uint32_t want = (uint32_t)device << 16 | vendor;
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
        if (pci_cfg_read32(slot, PCI_CFG_VENDOR) == want)
            return (int)slot;
    return -1;
}

int pci_bar_mem(unsigned slot, unsigned bar, uint64_t *addr)
{
    if (bar >= 6)
        return -XEN_ENODEV;
    uint32_t lo = pci_cfg_read32(slot, PCI_CFG_BAR0 + 4 * bar);
    if (lo & PCI_BAR_IO)
        return -XEN_ENODEV;
    uint64_t a = lo & PCI_BAR_MEM_MASK;
    if ((lo & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64) {
        if (bar == 5)
            return -XEN_ENODEV;
        a |= (uint64_t)pci_cfg_read32(slot, PCI_CFG_BAR0 + 4 * (bar + 1)) << 32;
    }
    if (!a)
        return -XEN_ENODEV;
    *addr = a;
    return 0;
}

void pci_enable_device(unsigned slot)
{
    uint16_t cmd = pci_cfg_read16(slot, PCI_CFG_COMMAND);
    uint16_t want = (uint16_t)(cmd | PCI_CMD_MEMORY | PCI_CMD_MASTER);
    if (want != cmd)
        pci_cfg_write16(slot, PCI_CFG_COMMAND, want);
}
