/*
 * The backend domain (back/main.c): blkback and netback in one image, the
 * privileged domain of xen-dom0 and the runtime service of uefi-rt.
 *
 * Each backend works in two contexts: its event handlers (device
 * interrupts, frontend notifications; upcall context) and its poll
 * function (program context: xenstore handshakes, disconnects). A handler
 * that needs program-context work sets backend_wake; the main loop polls
 * every backend whenever it is set or a xenstore watch fires.
 *
 * Several vCPUs (argument vcpus=N, default: every vCPU the domain has):
 * the main loop, xenstore and the device interrupts stay on vCPU 0 unless
 * a backend binds them elsewhere; blkback binds each ring to a vCPU in
 * turn. backend_kick() sets backend_wake and, from another vCPU, raises a
 * loopback event channel bound to vCPU 0 so the main loop wakes.
 */
#ifndef BACK_BACKEND_H
#define BACK_BACKEND_H

extern volatile int backend_wake;
void backend_kick(void);

#endif
