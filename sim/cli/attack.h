/* `hopsim attack-matrix`: security scenarios with measured verdicts (see attack.c). */
#ifndef HOPSIM_ATTACK_H
#define HOPSIM_ATTACK_H

/* Runs every case on private copies; prints the table. Returns the exit code. */
int attack_matrix(const char *flash_image, const char *backend_elf);

#endif
