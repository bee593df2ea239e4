/*
 * What the device model's operating system lets its processes reach (see
 * dmproc.h): Linux's permission checks for the few interfaces the
 * attack-matrix probe uses, and privcmd's path to the hypervisor.
 */
#include "dmproc.h"

#include <xen/memory.h>

#include "guest.h"

int dmp_capable(const struct dm_proc *p, int cap)
{
    (void)cap;
    return p->uid == DMP_ROOT ? 0 : -XEN_EPERM;
}

/* generic_permission(): the owner's, the group's or the others' bits, or CAP_DAC_OVERRIDE. */
int dmp_open(const struct dm_proc *p, const struct dm_file *f, int write)
{
    unsigned want = write ? 06 : 04, bits;
    if (p->uid == f->uid)
        bits = f->mode >> 6;
    else if (p->uid == f->gid) /* its only group is its own */
        bits = f->mode >> 3;
    else
        bits = f->mode;
    if ((bits & want) == want)
        return 0;
    return p->uid == DMP_ROOT ? 0 : -XEN_EACCES;
}

/* __ptrace_may_access(): the same uid and a dumpable target, or CAP_SYS_PTRACE. */
int dmp_ptrace_attach(const struct dm_proc *p, const struct dm_proc *t)
{
    if (p->uid == t->uid && t->dumpable)
        return 0;
    return dmp_capable(p, DMP_CAP_SYS_PTRACE);
}

long dmp_privcmd_map(const struct dm_proc *p, domid_t dom, xen_ulong_t gfn, void **va)
{
    if (!p->has_privcmd)
        return -XEN_ENOENT; /* no /dev/xen/privcmd outside dom0 */
    /* privcmd_ioctl_mmap_batch: `if (data->domid != DOMID_INVALID && data->domid != m.dom)` */
    if (p->privcmd_dom != DOMID_INVALID && p->privcmd_dom != dom)
        return -XEN_EPERM;
    return physmap_map_foreign(dom, gfn, va);
}
