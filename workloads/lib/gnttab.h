/*
 * Grant tables (v1), both sides.
 *
 * Granting: our own table frames are mapped into the physmap hole with
 * XENMEM_add_to_physmap(XENMAPSPACE_grant_table); an entry is published by
 * writing domid and frame, a write barrier, then flags (Xen reads flags
 * first). Ending access clears flags with cmpxchg only while the grantee
 * has no mapping (GTF_reading/GTF_writing clear), as Linux's
 * gnttab_end_foreign_access_ref does. Refs 0..GNTTAB_NR_RESERVED_ENTRIES-1
 * are reserved (console, xenstore) and never handed out. The table grows
 * with GNTTABOP_setup_table up to max_nr_frames when refs run out.
 *
 * Mapping: a foreign page is mapped at a page of the grant window
 * [HOPSIM_GNT_WINDOW_BASE, +HOPSIM_GNT_WINDOW_PAGES pages); a slot
 * allocator hands out window pages. Copy: GNTTABOP_copy, with our side
 * named by its frame number (gmfn = address >> 12, auto-translated).
 *
 * Status results are GNTST_* from the op; when the hypercall itself fails
 * its -errno is returned instead.
 */
#ifndef GUEST_GNTTAB_H
#define GUEST_GNTTAB_H

#include "xenif.h"

#define GNTTAB_MAX_FRAMES 32 /* most frames this runtime will use */

int gnttab_init(void);
/* Current entries in our table (nr_frames * 512). */
unsigned gnttab_nr_entries(void);
/* GNTTABOP_query_size for dom (DOMID_SELF for us): 0 or -errno / GNTST_*. */
int gnttab_query_size(domid_t dom, uint32_t *nr_frames, uint32_t *max_nr_frames);

/* Grant `domid` access to our frame `pfn`. Returns the ref, or -1 if none is free. */
int gnttab_grant_access(domid_t domid, unsigned long pfn, int readonly);
/* Revoke: 0 and the ref is freed, or -XEN_EBUSY (still mapped by the grantee; ref kept). */
int gnttab_end_access(grant_ref_t ref);
/* Current flags of one of our entries. */
uint16_t gnttab_entry_flags(grant_ref_t ref);

/* Grant-window slots. */
void *gnttab_slot_alloc(void);
void gnttab_slot_free(void *addr);

/* Raw map at host_addr with GNTMAP_* flags; *handle set on success. */
int gnttab_map_at(domid_t dom, grant_ref_t ref, uint32_t flags, uint64_t host_addr,
                  grant_handle_t *handle);
/* Raw unmap of host_addr / handle. */
int gnttab_unmap_at(uint64_t host_addr, grant_handle_t handle);
/* Map into a fresh window slot: the address, or NULL with *status set. */
void *gnttab_map(domid_t dom, grant_ref_t ref, int readonly, grant_handle_t *handle, int *status);
/* Unmap a gnttab_map() mapping and free its slot (slot kept if the unmap fails). */
int gnttab_unmap(void *addr, grant_handle_t handle);

/* GNTTABOP_copy of n prepared ops: hypercall rc; per-op status in ops[i].status. */
int gnttab_copy_ops(struct gnttab_copy *ops, unsigned n);
/* Copy len bytes at offset `off` of (dom, ref) into dst (any alignment). */
int gnttab_copy_from_ref(domid_t dom, grant_ref_t ref, unsigned off, void *dst, unsigned len);
/* Copy len bytes from src into (dom, ref) at offset `off`. */
int gnttab_copy_to_ref(domid_t dom, grant_ref_t ref, unsigned off, const void *src, unsigned len);

#endif
