/*
 * Fuzz target: the firmware-volume / FFS parser (firmware-model/fv.c), as
 * the SPI boot path and `hopsim flash inspect` run it on a flash region:
 * scan every volume, look files up by name and by GUID, read payloads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fv_list l;
    char err[512];
    memset(&l, 0, sizeof(l));
    fv_scan(&l, data, size, 0x800000, err, sizeof(err));
    for (int v = 0; v < l.n; v++) {
        const struct fv_volume *fv = &l.v[v];
        for (int i = 0; i < fv->nfiles; i++) {
            const struct fv_file *f = &fv->files[i];
            const uint8_t *p = f->has_payload ? fv_file_payload(fv, f) : NULL;
            volatile uint8_t sink = p && f->payload_len ? p[f->payload_len - 1] : 0;
            (void)sink;
            fv_find_guid(fv, &f->guid);
            if (f->name[0])
                fv_find_name(fv, f->name);
        }
        fv_find_name(fv, "hopsim-rt");
    }
    fv_list_fini(&l);
    return 0;
}
