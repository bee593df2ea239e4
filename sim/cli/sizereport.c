/*
 * `hopsim size-report`: how much code runs with privilege in each
 * architecture (the hypervisor model aside), from the built images:
 * executable bytes of their PT_LOAD segments.
 *
 *   native    the whole kernel: test program, block layer, SAS driver
 *   xen-dom0  dom0's kernel (blkback + SAS driver): privileged domain
 *   xen-idd   dom0's kernel (dom0.elf: the toolstack's domain, no driver);
 *             the backend and drivers run deprivileged in the driver domain
 *             and are not counted
 *   uefi-rt   the runtime image in flash (blkback + SAS driver), which runs
 *             at hypervisor privilege once the hypervisor calls it
 *   hosted, hvm-emul  the device-model image (emulation + SAS driver)
 *   l4-vmm    the user-level VMM (trusted by its own VM) and the driver
 *             server (every VM's disk I/O); beneath them the microkernel,
 *             counted by the published size of the kernel the model stands
 *             for (sim/l4/l4.h: seL4's source lines), not measured in bytes
 *
 * The guest images themselves are the same code in xen-dom0 and uefi-rt;
 * what changes is the privilege it runs with and where it is stored.
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "l4.h"
#include "sizereport.h"

/* Executable and total loaded bytes of an ELF image; -1 if unreadable. */
static int image_sizes(const char *path, unsigned long long *text, unsigned long long *total)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t nph = 0;
    int rc = -1;
    *text = *total = 0;
    if (e && elf_getphdrnum(e, &nph) == 0) {
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
                continue;
            *total += ph.p_memsz;
            if (ph.p_flags & PF_X)
                *text += ph.p_filesz;
        }
        rc = 0;
    }
    if (e)
        elf_end(e);
    close(fd);
    return rc;
}

int size_report(const char *guest_dir)
{
    static const struct {
        const char *arch, *image, *where;
    } rows[] = {
        {"native", "blk_native.elf", "kernel (app + block layer + SAS driver)"},
        {"native", "net_native.elf", "kernel (app + network layer + e1000 driver)"},
        {"xen-dom0", "backend.elf", "dom0 kernel on disk (blkback, netback, SAS, e1000)"},
        {"xen-idd", "dom0.elf", "dom0 kernel (toolstack domain); backend.elf runs deprivileged"},
        {"uefi-rt", "backend.elf", "runtime service in SPI flash, hypervisor privilege"},
        {"hosted", "devmodel.elf", "host OS kernel: its drivers, the VMM driver, device emulation"},
        {"hvm-emul", "devmodel.elf",
         "dom0: device model (ioreq server, emulated SAS HBA, SAS driver)"},
        {"l4-vmm", "vmm.elf", "user-level VMM, one per VM: trusted by its own VM only"},
        {"l4-vmm", "drvsrv.elf", "user-level driver server (SAS driver): every VM's disk I/O"},
    };
    printf("%-10s %-22s %12s %12s  %s\n", "arch", "privileged image", "code bytes", "loaded bytes",
           "where it runs");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[1024];
        unsigned long long text, total;
        snprintf(path, sizeof(path), "%s/%s", guest_dir, rows[i].image);
        if (image_sizes(path, &text, &total) < 0) {
            fprintf(stderr, "hopsim: %s: cannot read the image\n", path);
            return 1;
        }
        printf("%-10s %-22s %12llu %12llu  %s\n", rows[i].arch, rows[i].image, text, total,
               rows[i].where);
    }
    printf("%-10s %-22s %12s %12s  microkernel beneath every task and VM: %u source lines "
           "(%u C + %u assembly, seL4's published size; sim/l4 models its ABI)\n",
           "l4-vmm", "kernel (sourced)", "-", "-", L4_KERNEL_C_LINES + L4_KERNEL_ASM_LINES,
           L4_KERNEL_C_LINES, L4_KERNEL_ASM_LINES);
    printf("(bytes are measured from the built images; the microkernel is counted in source lines "
           "from its published size; the Xen hypervisor model is not counted; native has no "
           "hypervisor)\n");
    return 0;
}
