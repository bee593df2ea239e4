/*
 * What the VMM's device hosts (sas_client.c, vmm_e1000.c) tell its loop
 * (vmm.c).
 */
#ifndef L4_VMM_H
#define L4_VMM_H

#include <stdint.h>

/* A completion of request `req` was posted to the VM: H7 at the next rising INTx edge. */
void l4_vmm_posted(uint64_t req);

#endif
