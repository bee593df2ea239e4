/*
 * What the domain builder's two files share: domain.c (the PV-style image
 * from a file, the layout, start_info, vCPUs) and domain_rt.c (a runtime
 * image read out of the platform flash and handed over as UEFI does).
 */
#ifndef HOPSIM_DOMAIN_INT_H
#define HOPSIM_DOMAIN_INT_H

#include <stddef.h>

#include "elfload.h"
#include "machine.h"

/* The domain's RAM as the ELF loader sees it, and what the loader found about its code. */
struct elf_ram domain_elf_ram(struct domain *d);
void domain_elf_done(struct domain *d, const struct elf_ram *r);

/* Read sd's runtime image out of the flash, check its measurement, and boot it the UEFI way
 * into d: 0, or -1 with err. */
int domain_load_runtime_image(struct domain *d, const struct sc_domain *sd, struct elf_info *info,
                              char *err, size_t errlen);

#endif
