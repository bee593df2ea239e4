/*
 * The SAS driver interface over IPC to the driver server (sas_client.c):
 * blk/sas.h's functions, plus what the VMM's loop needs.
 */
#ifndef L4_SAS_CLIENT_H
#define L4_SAS_CLIENT_H

#include "../blk/sas.h"

/* The software interrupt the server triggers when completions are ready (after sas_probe). */
unsigned l4_sas_irq_number(void);
/* That interrupt arrived: fetch the completions, finish them, run the batch hook. */
void l4_sas_irq(void);
/* Tell the server this client is done (CLOSE). */
void l4_sas_close(void);

/* Hostile code in this VMM (attack-matrix): tries to reach the VM `victim`'s memory, the other
 * clients' disk data, the kernel and DMA; each attempt's answer goes to the simulator. */
void l4_sas_probe(const char *victim);

#endif
