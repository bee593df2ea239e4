/*
 * The run's report of the block devices: one line per SAS HBA with the
 * completions it posted and the interrupts that reported them, so the
 * effect of reply coalescing (models/sas_hba.c, SAS_REG_COAL_*) is visible
 * as interrupts per request.
 */
#include "machine.h"

#include "sas_hba.h"

void platform_blk_report(const struct machine *m, FILE *out)
{
    for (int i = 0; i < m->ndevs; i++) {
        const struct plat_dev *pd = &m->devs[i];
        if (!pd->hba)
            continue;
        struct sas_hba_counters c;
        sas_hba_get_counters(pd->hba, &c);
        fprintf(out, "blk: sas_hba.%u: %llu completions, %llu interrupts", pci_func_slot(pd->f),
                (unsigned long long)c.completions, (unsigned long long)c.interrupts);
        if (c.coal_us)
            fprintf(out, " (reply coalescing %u us, depth %u: %llu completions held)", c.coal_us,
                    c.coal_depth, (unsigned long long)c.held);
        fputc('\n', out);
    }
}
