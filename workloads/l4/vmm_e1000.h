/*
 * The emulated e1000 in a VMM on the microkernel, carried by the network
 * driver server (vmm_e1000.c).
 */
#ifndef L4_VMM_E1000_H
#define L4_VMM_E1000_H

#include <stdint.h>

/* Open the server named `server`, register the emulated NIC in `slot`: 0 or a Xen errno. */
int l4_e1k_init(unsigned slot, const uint8_t mac[6], const char *server);
/* The software interrupt the server triggers; fetch and finish what it queued. */
unsigned l4_e1k_irq_number(void);
void l4_e1k_irq(void);
/* Report and tell the server this client is done. */
void l4_e1k_close(void);

#endif
