/*
 * Optional parts of the hopsim executable in modules of their own, loaded
 * when a command needs them: the live view (hopsim-view.so: SDL2,
 * SDL2_ttf, SDL2_image) and the charts (hopsim-chart.so: cairo). Linked
 * into hopsim itself they cost every command, a plain `hopsim run` too,
 * the start-up relocation of some 70 more shared libraries
 * (docs/host-speed.md).
 */
#ifndef HOPSIM_PLUGIN_H
#define HOPSIM_PLUGIN_H

#include <stddef.h>

/*
 * The object `symbol` of module hopsim-NAME.so, looked for next to the
 * executable, then in the build directory (HOPSIM_MODULE_DIR). Loaded once
 * and kept. NULL with err filled if it cannot be loaded.
 */
const void *plugin_symbol(const char *name, const char *symbol, char *err, size_t errlen);

#endif
