/*
 * The backend domain (back/main.c): blkback and netback in one image, the
 * privileged domain of xen-dom0 and the runtime service of uefi-rt.
 *
 * Each backend works in two contexts: its event handlers (device
 * interrupts, frontend notifications; upcall context) and its poll
 * function (program context: xenstore handshakes, disconnects). A handler
 * that needs program-context work sets backend_wake; the main loop polls
 * every backend whenever it is set or a xenstore watch fires.
 */
#ifndef BACK_BACKEND_H
#define BACK_BACKEND_H

extern volatile int backend_wake;

#endif
