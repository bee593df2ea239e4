/*
 * Loading the view and chart modules (plugin.h). A module exports one
 * table of functions; the executable exports its own symbols
 * (ENABLE_EXPORTS), which the modules use (trace_kind_name,
 * view_parse_time), and the modules bind their own symbols to themselves
 * (-Bsymbolic).
 */
#include "plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "chart.h"
#include "view.h"

static void *open_module(const char *dir, const char *name, char *why, size_t whylen)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/hopsim-%s.so", dir, name) >= sizeof path)
        return NULL;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h && !why[0]) /* the first place's reason: the one a user can act on */
        snprintf(why, whylen, "%s", dlerror());
    return h;
}

const void *plugin_symbol(const char *name, const char *symbol, char *err, size_t errlen)
{
    static struct {
        char name[16];
        void *handle;
    } loaded[4];
    void *h = NULL;
    for (size_t i = 0; i < sizeof loaded / sizeof loaded[0] && !h; i++)
        if (loaded[i].handle && !strcmp(loaded[i].name, name))
            h = loaded[i].handle;
    char why[512] = "";
    if (!h) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n > 0) {
            self[n] = 0;
            char *slash = strrchr(self, '/');
            if (slash)
                *slash = 0;
            h = open_module(self, name, why, sizeof why);
        }
        if (!h)
            h = open_module(HOPSIM_MODULE_DIR, name, why, sizeof why);
        if (!h) {
            snprintf(err, errlen, "cannot load the %s module: %s", name, why);
            return NULL;
        }
        for (size_t i = 0; i < sizeof loaded / sizeof loaded[0]; i++)
            if (!loaded[i].handle) {
                snprintf(loaded[i].name, sizeof loaded[i].name, "%s", name);
                loaded[i].handle = h;
                break;
            }
    }
    const void *s = dlsym(h, symbol);
    if (!s)
        snprintf(err, errlen, "the %s module has no %s: %s", name, symbol, dlerror());
    return s;
}

const struct view_api *view_api_load(char *err, size_t errlen)
{
    return plugin_symbol("view", VIEW_API_SYMBOL, err, errlen);
}

/* The charts: the module's functions behind chart.h's. */
static const struct chart_api *chart_api(void)
{
    char err[640];
    const struct chart_api *api = plugin_symbol("chart", CHART_API_SYMBOL, err, sizeof err);
    if (!api)
        fprintf(stderr, "hopsim: %s\n", err);
    return api;
}

int chart_lines_write(const struct chart_lines *c, const char *path)
{
    const struct chart_api *api = chart_api();
    return api ? api->lines(c, path) : -1;
}

int chart_bars_write(const struct chart_bars *c, const char *path)
{
    const struct chart_api *api = chart_api();
    return api ? api->bars(c, path) : -1;
}

int chart_timeline_write(const struct chart_timeline *c, const char *path)
{
    const struct chart_api *api = chart_api();
    return api ? api->timeline(c, path) : -1;
}
