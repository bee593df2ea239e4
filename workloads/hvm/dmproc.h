/*
 * The device emulation as a process of its operating system: dom0's
 * Linux under hvm-emul (QEMU, one process per HVM domain), the host OS
 * under hosted (the VMM's user-level process, one per VM). devmodel.elf is
 * that kernel and its processes in one image; this is the part of the
 * kernel that decides what a process may reach, as Linux decides it:
 *
 *  - files (a VM's disk image, /dev/mem, a PCI function's sysfs
 *    resource0): generic_permission() -- owner, group or other bits of the
 *    inode's mode; uid 0 passes with CAP_DAC_OVERRIDE;
 *  - capabilities (init_module: CAP_SYS_MODULE): uid 0 has them all;
 *  - ptrace (PTRACE_ATTACH to another process): __ptrace_may_access() --
 *    the same uid (and a dumpable target) or CAP_SYS_PTRACE; Yama's
 *    ptrace_scope 0 (Debian's default: no descendant rule);
 *  - /dev/xen/privcmd (dom0 only): a foreign mapping goes to the
 *    hypervisor, unless the fd was restricted (IOCTL_PRIVCMD_RESTRICT,
 *    what Xen's device-model deprivileging, xl.cfg dm_restrict, does) to
 *    another domain: then privcmd itself refuses with -EPERM
 *    (drivers/xen/privcmd.c, privcmd_ioctl_mmap_batch).
 *
 * Answers are negative Xen (= Linux) errno values, 0 when allowed.
 */
#ifndef HVM_DMPROC_H
#define HVM_DMPROC_H

#include "xenif.h"

#define DMP_ROOT 0u
/* a hosted VMM's processes: the user who started the VMs */
#define DMP_USER 1000u
/* libxl under dm_restrict: QEMU runs as xen-qemuuser-range-base + domid (the base is the
 * administrator's choice; this model's) */
#define DMP_QEMU_RANGE_BASE 131072u

struct dm_proc {
    domid_t guest;       /* the VM it emulates for */
    unsigned uid;        /* its uid = its gid (a user private group); 0: root */
    int has_privcmd;     /* holds /dev/xen/privcmd (dom0's device models) */
    domid_t privcmd_dom; /* IOCTL_PRIVCMD_RESTRICT'ed to this domain; DOMID_INVALID: not */
    int dumpable;        /* PR_SET_DUMPABLE (1 for QEMU and a VMM process) */
};

struct dm_file {
    const char *path;
    unsigned uid, gid, mode; /* mode: the permission bits, e.g. 0600 */
};

#define DMP_CAP_SYS_MODULE 16
#define DMP_CAP_SYS_PTRACE 19

/* open(2) of f for reading or (write) reading and writing: 0 or -XEN_EACCES. */
int dmp_open(const struct dm_proc *p, const struct dm_file *f, int write);
/* capable(cap): 0 or -XEN_EPERM. */
int dmp_capable(const struct dm_proc *p, int cap);
/* PTRACE_ATTACH of t: 0 or -XEN_EPERM. */
int dmp_ptrace_attach(const struct dm_proc *p, const struct dm_proc *t);
/*
 * IOCTL_PRIVCMD_MMAPBATCH_V2 of one frame `gfn` of domain `dom`: privcmd's
 * checks, then the hypervisor's answer (XENMEM_add_to_physmap_batch,
 * XENMAPSPACE_gmfn_foreign); on 0, *va is the mapping.
 */
long dmp_privcmd_map(const struct dm_proc *p, domid_t dom, xen_ulong_t gfn, void **va);

#endif
