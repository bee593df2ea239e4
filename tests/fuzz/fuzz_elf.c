/*
 * Fuzz target: the domain builder's ELF loader (sim/xen/elfload.c) on
 * arbitrary bytes, into an 8 MiB guest RAM: ELF and Xen-note checks,
 * segment copies, the hypercall-page and symbol-table bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfload.h"

#define RAM (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram;
    if (!ram)
        ram = malloc(RAM);
    uint8_t *img = malloc(size ? size : 1);
    memcpy(img, data, size);
    struct elf_ram r = {.ram = ram, .ram_size = RAM};
    struct elf_info info;
    memset(&info, 0, sizeof(info));
    struct guest_sym *syms = NULL;
    size_t n = 0;
    char err[512];
    if (elf_load_image(&r, "fuzz.elf", img, size, &info, &syms, &n, err, sizeof(err)) == 0) {
        /* what the builder relies on after a successful load */
        if (info.load_end > RAM || !info.have_entry || !info.have_hpage ||
            info.hypercall_page + ELF_PAGE_SIZE > info.load_end)
            abort();
        for (size_t i = 1; i < n; i++)
            if (syms[i - 1].addr > syms[i].addr || !syms[i].name)
                abort();
    }
    elf_free_symbols(syms, n);
    free(img);
    return 0;
}
