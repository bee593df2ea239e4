/*
 * The platform's SPI flash (see machine.h): the chip and the PCH's SPI
 * controller opened on a private copy of the flash image before any
 * domain is built, so the firmware can boot runtime images out of it; the
 * protections firmware programs before the OS runs (PR registers, BLE,
 * SMM_BWP, FLOCKDN); and the OS's SetVariable runtime call that erases and
 * programs the variable store under efi_rs_lock while I/O runs. The PCI
 * devices, their DMA, interrupts and configuration space are platform.c's.
 */
#include "machine.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "infile.h"
#include "spi_ctrl.h"
#include "spi_flash.h"

/*
 * A SetVariable runtime call made by the OS on CPU 0: it takes the global
 * runtime-services lock, erases one 4 KiB sector of the variable store at
 * the top of the BIOS region and programs the new variable (as the firmware
 * does, from SMM), and releases the lock. Every runtime call that comes
 * meanwhile -- the block backend's included -- waits (an availability
 * cost of the runtime-service design, docs/architecture.md).
 */
static void setvariable_run(struct machine *m, simtime_t start)
{
    const uint32_t sector = spiflash_size(m->flash) - 4096;
    uint8_t var[64];
    simtime_t done = start;
    memset(var, 0x5a, sizeof(var));
    simtime_t t = start + machine_cost(m, C_RS_LOCK) + machine_cost(m, C_FPU_SAVE) +
                  machine_cost(m, C_CR3_SWITCH);
    uint8_t bc = spictrl_bios_cntl_read(m->spi, t);
    spictrl_bios_cntl_write(m->spi, bc | SPICTRL_BIOSWE, true, t); /* SMM opens the window */
    if (spictrl_hwseq(m->spi, SPICTRL_CYC_ERASE_4K, sector, var, 1, true, t, &done) == 0)
        spictrl_hwseq(m->spi, SPICTRL_CYC_WRITE, sector, var, sizeof(var), true, done, &done);
    spictrl_bios_cntl_write(m->spi, bc & ~SPICTRL_BIOSWE, true, done);
    done +=
        machine_cost(m, C_CR3_SWITCH) + machine_cost(m, C_FPU_RESTORE) + machine_cost(m, C_RS_LOCK);
    span_cpu(m, 0, SPAN_RS_CALL, HOPSIM_NOREQ, start, done, "SetVariable", sector);
    vmutex_unlock(&m->efi_rs_lock, done);
}

static void setvariable_granted(void *opaque, simtime_t t, simtime_t since)
{
    (void)since;
    setvariable_run(opaque, t);
}

/* The call takes efi_rs_lock first: behind a backend call in progress, it waits its turn. */
static void setvariable(void *opaque, simtime_t now)
{
    struct machine *m = opaque;
    simtime_t start = vmutex_lock(&m->efi_rs_lock, now, setvariable_granted, m);
    if (start != SIMTIME_NEVER)
        setvariable_run(m, start);
}

/*
 * The OS calls SetVariable `setvariable_ms` after the runtime services are
 * up (the last runtime image loaded: boot_clock), so the call lands in the
 * I/O whatever the image's size makes the boot take.
 */
void platform_schedule_setvariable(struct machine *m)
{
    double ms = m->sc->flash.setvariable_ms;
    if (m->spi && ms > 0)
        evq_schedule(&m->q, m->boot_clock + (simtime_t)(ms * (double)PS_PER_MS), setvariable, m);
}

/* The firmware's protections, programmed before anything else runs. */
static int flash_lock_down(struct machine *m, char *err, size_t errlen)
{
    const struct scenario *sc = m->sc;
    for (int i = 0; i < sc->flash.npr; i++)
        if (spictrl_set_pr(m->spi, (unsigned)i, sc->flash.pr[i].base, sc->flash.pr[i].limit, false,
                           true, err, errlen) < 0)
            return -1;
    uint8_t bc = (sc->flash.ble ? SPICTRL_BLE : 0) | (sc->flash.smm_bwp ? SPICTRL_SMM_BWP : 0);
    if (bc)
        spictrl_bios_cntl_write(m->spi, bc, true, 0);
    if (sc->flash.lock)
        spictrl_lock(m->spi, 0);
    return 0;
}

/*
 * The platform SPI flash and its controller, when the scenario declares
 * one: opened before any domain is built, so the firmware can boot
 * runtime images out of it. The default image is the build's platform.fd.
 */
int platform_flash_create(struct machine *m, char *err, size_t errlen)
{
    const struct scenario *sc = m->sc;
    char ferr[512];
    if (!sc->flash.present)
        return 0;
    const char *path = sc->flash.image[0] ? sc->flash.image : HOPSIM_PLATFORM_FD;
    const struct spiflash_part *part = spiflash_part_lookup(sc->flash.part);
    /* The run works on a private, nameless copy: what it writes to flash never changes the
       file given, and nothing is left in /tmp however the run ends. The copy is bounded by
       the chip's size, checked before a byte is read. */
    uint64_t max = part ? part->size : 64u << 20; /* unknown part: spiflash_open names it */
    int fd = infile_private_copy(path, part ? part->size : 1, max, m->flash_copy,
                                 sizeof(m->flash_copy), ferr, sizeof(ferr));
    if (fd < 0) {
        snprintf(err, errlen, "%s:%d: image: flash image %s", sc->path, sc->flash.line, ferr);
        return -1;
    }
    m->flash = spiflash_open(sc->flash.part, m->flash_copy, m->cost, ferr, sizeof(ferr));
    close(fd); /* the chip holds its own descriptor of the copy */
    m->flash_copy[0] = 0;
    if (!m->flash) {
        snprintf(err, errlen, "%s:%d: flash: %s", sc->path, sc->flash.line, ferr);
        return -1;
    }
    struct dev_env env = {.q = &m->q,
                          .tr = m->tr,
                          .cost = m->cost,
                          .hz = m->hz,
                          .place = trace_place(m->tr, PLACE_DEVICE, 100, "spi-flash")};
    m->spi = spictrl_create(&env, m->flash, ferr, sizeof(ferr));
    if (!m->spi) {
        snprintf(err, errlen, "%s:%d: flash: %s", sc->path, sc->flash.line, ferr);
        return -1;
    }
    spictrl_set_read_mode(m->spi, sc->flash.read_opcode ? sc->flash.read_opcode : 0x0b,
                          sc->flash.clock_hz);
    if (flash_lock_down(m, ferr, sizeof(ferr)) < 0) {
        snprintf(err, errlen, "%s:%d: flash: protect: %s", sc->path, sc->flash.line, ferr);
        return -1;
    }
    return 0;
}
