/*
 * connect{}, device{}, flash{}, output{} and import: the declarations
 * that join domains, attach device models and name files.
 */
#include "loader.h"
#include "suggest.h"

#include <lauxlib.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- connect */

/* "xx:xx:xx:xx:xx:xx" (hex digits, either case) into mac: true, or false. */
static bool parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = *s++;
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return false;
            v = v * 16 + (unsigned)d;
        }
        mac[i] = (uint8_t)v;
        if (*s++ != (i == 5 ? '\0' : ':'))
            return false;
    }
    return true;
}

/* An optional `mac` key: a unicast address. */
static bool get_mac(lua_State *L, struct loader *ld, int line, uint8_t mac[6])
{
    char text[32];
    if (!get_string(L, ld, line, "mac", text, sizeof text))
        return false;
    if (!parse_mac(text, mac))
        fail(L, ld, line, "mac", "'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", text);
    if (mac[0] & 1)
        fail(L, ld, line, "mac", "'%s' is a multicast address (bit 0 of the first byte)", text);
    return true;
}

static int conn_end(lua_State *L, struct loader *ld, int line, const char *key)
{
    char name[64];
    if (!get_string(L, ld, line, key, name, sizeof name))
        fail(L, ld, line, key, "required: the name of a domain declared before");
    int i = scenario_domain(ld->sc, name);
    if (i < 0)
        fail(L, ld, line, key, "no domain '%s' declared before this line", name);
    return i;
}

int l_connect(lua_State *L)
{
    static const char *const keys[] = {"kind", "frontend", "backend", "devid", "mac", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "connect", keys);
    long long devid = 0;
    if (sc->nconns >= SC_MAX_CONNS)
        fail(L, ld, line, "connect", "too many connections (max %d)", SC_MAX_CONNS);
    struct sc_conn *c = &sc->conns[sc->nconns];
    memset(c, 0, sizeof *c);
    if (!get_string(L, ld, line, "kind", c->kind, sizeof c->kind))
        fail(L, ld, line, "kind", "required: the device class, e.g. \"vbd\"");
    if (!name_ok(c->kind, sizeof c->kind - 1, true))
        fail(L, ld, line, "kind", "'%s' is not a device class ([a-z0-9_-]+)", c->kind);
    c->frontend = conn_end(L, ld, line, "frontend");
    c->backend = conn_end(L, ld, line, "backend");
    if (c->frontend == c->backend)
        fail(L, ld, line, "backend", "'%s' is also the frontend (a connection joins two domains)",
             sc->domains[c->backend].name);
    get_int(L, ld, line, "devid", 0, INT32_MAX, &devid);
    c->devid = (int)devid;
    c->have_mac = get_mac(L, ld, line, c->mac);
    if (c->have_mac && strcmp(c->kind, "vif") != 0)
        fail(L, ld, line, "mac", "only a vif connection has a MAC address");
    for (int i = 0; i < sc->nconns; i++) {
        const struct sc_conn *o = &sc->conns[i];
        if (o->frontend == c->frontend && o->devid == c->devid && !strcmp(o->kind, c->kind))
            fail(L, ld, line, "devid", "%s device %d of '%s' is already connected on line %d",
                 c->kind, c->devid, sc->domains[c->frontend].name, o->line);
    }
    c->line = scenario_line(L, ld);
    sc->nconns++;
    return 0;
}

/* ----------------------------------------------------------------- device */

/* One entry of device{ disks = { ... } }, the table at the top of the stack. */
static void device_disk(lua_State *L, struct loader *ld, int line, struct sc_disk *k)
{
    static const char *const keys[] = {"type", "image", "size_mb", "block_size", "create", NULL};
    char type[8] = "", image[SC_PATH] = "";
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
        if (!in_list(key, keys)) {
            const char *near = suggest_nearest(key, keys);
            fail(L, ld, line, "disks", "unknown key '%s'%s%s%s", key,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        }
    }
    lua_getfield(L, -1, "type");
    snprintf(type, sizeof type, "%s", lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "");
    lua_pop(L, 1);
    /* enum disk_type / sas_target_type */
    k->type = !strcmp(type, "hdd")    ? 1
              : !strcmp(type, "ssd")  ? 2
              : !strcmp(type, "nvme") ? 3
              : !strcmp(type, "ram")  ? 4
                                      : 0;
    if (!k->type)
        fail(L, ld, line, "disks.type", "expected \"hdd\", \"ssd\", \"nvme\" or \"ram\", got '%s'",
             type);
    lua_getfield(L, -1, "image");
    if (lua_type(L, -1) != LUA_TSTRING || !lua_tostring(L, -1)[0])
        fail(L, ld, line, "disks.image", "required: the disk image file");
    snprintf(image, sizeof image, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    /* like output paths: relative to the working directory, not to the script */
    snprintf(k->image, sizeof k->image, "%s", image);
    lua_getfield(L, -1, "size_mb");
    lua_Integer mb = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : (lua_isnil(L, -1) ? 0 : -1);
    lua_pop(L, 1);
    if (mb < 0 || mb > SC_MAX_MEMORY_MB * 1024ll)
        fail(L, ld, line, "disks.size_mb", "expected a non-negative integer");
    k->size_bytes = (uint64_t)mb * SC_MIB;
    lua_getfield(L, -1, "block_size");
    lua_Integer bs = lua_isnil(L, -1) ? 512 : (lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0);
    lua_pop(L, 1);
    if (bs != 512 && bs != 4096)
        fail(L, ld, line, "disks.block_size", "expected 512 or 4096");
    k->block_size = (uint32_t)bs;
    lua_getfield(L, -1, "create");
    k->create = lua_toboolean(L, -1);
    lua_pop(L, 1);
}

static void device_disks(lua_State *L, struct loader *ld, int line, struct sc_device *dev)
{
    if (!push_field(L, "disks"))
        return;
    if (!lua_istable(L, -1))
        type_error(L, ld, line, "disks", "a list of disk tables");
    lua_Integer n = luaL_len(L, -1);
    if (n > SC_MAX_DISKS)
        fail(L, ld, line, "disks", "at most %d disks per device", SC_MAX_DISKS);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        if (!lua_istable(L, -1))
            fail(L, ld, line, "disks", "entry %lld is not a table", (long long)i);
        device_disk(L, ld, line, &dev->disks[dev->ndisks++]);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The e1000's keys: its MAC, link and peer host. */
static void device_nic(lua_State *L, struct loader *ld, int line, struct sc_device *dev)
{
    static const char *const modes[] = {"echo", "sink", "reqresp", "source", NULL};
    static const uint8_t qemu_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
    char mode[16] = "echo";
    long long gbps = 1, prop_ns = 500, service_ns = 0, resp_len = 64;
    memcpy(dev->mac, qemu_mac, 6);
    get_mac(L, ld, line, dev->mac);
    get_int(L, ld, line, "link_gbps", 1, 100, &gbps);
    if (gbps != 1 && gbps != 10)
        fail(L, ld, line, "link_gbps", "expected 1 or 10 (GbE), got %lld", gbps);
    get_int(L, ld, line, "propagation_ns", 0, 1000000000, &prop_ns);
    get_string(L, ld, line, "peer", mode, sizeof mode);
    int m = 0;
    while (modes[m] && strcmp(modes[m], mode) != 0)
        m++;
    if (!modes[m])
        fail(L, ld, line, "peer", "unknown peer '%s' (known: echo, sink, reqresp, source)", mode);
    get_int(L, ld, line, "peer_service_ns", 0, 1000000000, &service_ns);
    get_int(L, ld, line, "peer_resp_len", 60, 1514, &resp_len);
    long long count = 0, len = 1514, gap_ns = 20000, start_us = 0;
    char dst[32];
    bool src = m == SC_PEER_SOURCE, have_dst = get_string(L, ld, line, "peer_dst", dst, sizeof dst);
    get_int(L, ld, line, "peer_count", 0, 100000000, &count);
    get_int(L, ld, line, "peer_len", 60, 1514, &len);
    get_int(L, ld, line, "peer_gap_ns", 1, 1000000000, &gap_ns);
    get_int(L, ld, line, "peer_start_us", 0, 1000000000, &start_us);
    if (src && !have_dst)
        fail(L, ld, line, "peer_dst", "required with peer = \"source\": the MAC it sends to");
    if (have_dst && (!parse_mac(dst, dev->peer_dst) || (dev->peer_dst[0] & 1)))
        fail(L, ld, line, "peer_dst", "'%s' is not a unicast MAC address (xx:xx:xx:xx:xx:xx)", dst);
    dev->peer_count = (uint64_t)count;
    dev->peer_len = (uint32_t)len;
    dev->peer_gap_ps = (uint64_t)gap_ns * 1000;
    dev->peer_start_ps = (uint64_t)start_us * 1000000;
    dev->link_bps = (uint64_t)gbps * 1000000000ull;
    dev->propagation_ps = (uint64_t)prop_ns * 1000;
    dev->peer = (enum sc_peer_mode)m;
    dev->peer_service_ps = (uint64_t)service_ns * 1000;
    dev->peer_resp_len = (uint32_t)resp_len;
}

static const char *const nic_keys[] = {"mac",           "link_gbps",       "propagation_ns",
                                       "peer",          "peer_service_ns", "peer_resp_len",
                                       "peer_count",    "peer_len",        "peer_gap_ns",
                                       "peer_start_us", "peer_dst",        NULL};

int l_device(lua_State *L)
{
    static const char *const keys[] = {
        "kind",          "owner",      "slot",           "msi",         "disks",
        "mac",           "link_gbps",  "propagation_ns", "peer",        "peer_service_ns",
        "peer_resp_len", "peer_count", "peer_len",       "peer_gap_ns", "peer_start_us",
        "peer_dst",      NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "device", keys);
    long long slot = 4 + sc->ndevices;
    if (sc->ndevices >= SC_MAX_DEVICES)
        fail(L, ld, line, "device", "too many devices (max %d)", SC_MAX_DEVICES);
    struct sc_device *dev = &sc->devices[sc->ndevices];
    memset(dev, 0, sizeof *dev);
    if (!get_string(L, ld, line, "kind", dev->kind, sizeof dev->kind))
        fail(L, ld, line, "kind", "required: the device model, e.g. \"sas_hba\"");
    bool nic = !strcmp(dev->kind, "e1000");
    if (strcmp(dev->kind, "sas_hba") != 0 && !nic)
        fail(L, ld, line, "kind", "unknown device '%s' (known: sas_hba, e1000)", dev->kind);
    for (int k = 0; nic_keys[k]; k++)
        if (!nic && push_field(L, nic_keys[k]))
            fail(L, ld, line, nic_keys[k], "only an e1000 has this key");
    if (nic && push_field(L, "disks"))
        fail(L, ld, line, "disks", "an e1000 has no disks");
    dev->owner = conn_end(L, ld, line, "owner");
    get_int(L, ld, line, "slot", 0, 31, &slot);
    for (int i = 0; i < sc->ndevices; i++)
        if (sc->devices[i].slot == slot)
            fail(L, ld, line, "slot", "PCI slot %lld is taken by the device on line %d", slot,
                 sc->devices[i].line);
    dev->slot = (int)slot;
    dev->msi = true;
    get_bool(L, ld, line, "msi", &dev->msi);
    if (nic)
        device_nic(L, ld, line, dev);
    else
        device_disks(L, ld, line, dev);
    dev->line = scenario_line(L, ld);
    sc->ndevices++;
    return 0;
}

/* protect = { { base = 0x800000, limit = 0xffffff }, ... }: the PCH's PR0-PR4. */
static void flash_protect(lua_State *L, struct loader *ld, int line, struct scenario *sc)
{
    if (!push_field(L, "protect"))
        return;
    if (!lua_istable(L, -1))
        type_error(L, ld, line, "protect", "a list of { base = ..., limit = ... } ranges");
    lua_Integer n = luaL_len(L, -1);
    if (n > 5)
        fail(L, ld, line, "protect", "%lld ranges: the controller has PR0-PR4 only", (long long)n);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, -1, i);
        lua_getfield(L, -1, "base");
        lua_getfield(L, -2, "limit");
        if (!lua_isinteger(L, -2) || !lua_isinteger(L, -1))
            fail(L, ld, line, "protect", "range %lld: base and limit must be integers",
                 (long long)i);
        lua_Integer base = lua_tointeger(L, -2), limit = lua_tointeger(L, -1);
        if (base < 0 || limit > 0xffffffff || base > limit)
            fail(L, ld, line, "protect", "range %lld: base 0x%llx > limit 0x%llx", (long long)i,
                 (long long)base, (long long)limit);
        if ((base & 0xfff) || (limit & 0xfff) != 0xfff)
            fail(L, ld, line, "protect",
                 "range %lld: base must be 4 KiB aligned and limit end in 0xfff (4 KiB units)",
                 (long long)i);
        sc->flash.pr[sc->flash.npr].base = (uint32_t)base;
        sc->flash.pr[sc->flash.npr++].limit = (uint32_t)limit;
        lua_pop(L, 3);
    }
    lua_pop(L, 1);
}

int l_flash(lua_State *L)
{
    static const char *const keys[] = {"image",          "part",    "read", "clock_mhz",
                                       "setvariable_ms", "protect", "ble",  "smm_bwp",
                                       "lock",           "xip",     NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "flash", keys);
    char read[16] = "fast";
    double mhz = 0;
    if (sc->flash.present)
        fail(L, ld, line, "flash", "already declared on line %d", sc->flash.line);
    sc->flash.present = true;
    sc->flash.line = scenario_line(L, ld);
    get_string(L, ld, line, "image", sc->flash.image, sizeof sc->flash.image);
    snprintf(sc->flash.part, sizeof sc->flash.part, "W25Q128JV");
    get_string(L, ld, line, "part", sc->flash.part, sizeof sc->flash.part);
    get_string(L, ld, line, "read", read, sizeof read);
    if (!strcmp(read, "read"))
        sc->flash.read_opcode = 0x03;
    else if (!strcmp(read, "fast"))
        sc->flash.read_opcode = 0x0b;
    else if (!strcmp(read, "quad"))
        sc->flash.read_opcode = 0xeb;
    else
        fail(L, ld, line, "read", "'%s' is not a read mode (\"read\", \"fast\" or \"quad\")", read);
    get_num(L, ld, line, "clock_mhz", &mhz);
    if (mhz != 0 && !(mhz >= 1 && mhz <= 200))
        fail(L, ld, line, "clock_mhz", "%g is out of range (0: the profile's, else 1..200 MHz)",
             mhz);
    sc->flash.clock_hz = mhz * 1e6;
    get_num(L, ld, line, "setvariable_ms", &sc->flash.setvariable_ms);
    uint64_t ps;
    if (time_to_ps(sc->flash.setvariable_ms, 1e9, &ps))
        fail(L, ld, line, "setvariable_ms", "%g is out of range (0: none, at most %g s)",
             sc->flash.setvariable_ms, SC_MAX_LIMIT_PS / 1e12);
    get_bool(L, ld, line, "ble", &sc->flash.ble);
    get_bool(L, ld, line, "smm_bwp", &sc->flash.smm_bwp);
    get_bool(L, ld, line, "lock", &sc->flash.lock);
    get_bool(L, ld, line, "xip", &sc->flash.xip);
    flash_protect(L, ld, line, sc);
    return 0;
}

/* rel as an import: relative, without "..", naming a .lua file; NULL or what is wrong. */
static const char *import_name_error(const char *rel)
{
    size_t len = strlen(rel);
    if (!len)
        return "an empty file name";
    if (rel[0] == '/')
        return "an absolute path (imports are relative to the scenario's directory or the "
               "scenario library)";
    if (has_dotdot(rel))
        return "a path with '..' (imports stay in the scenario's directory or the scenario "
               "library)";
    if (len < 5 || strcmp(rel + len - 4, ".lua") != 0)
        return "not a .lua file";
    return NULL;
}

/* dir/rel when it is a regular file whose real path lies within root: true, real path in out. */
static bool import_candidate(const char *dir, const char *root, const char *rel, char *out,
                             size_t n, struct search *s)
{
    char cand[SC_PATH];
    int len = snprintf(cand, sizeof cand, "%s/%s", dir, rel);
    if (len < 0 || (size_t)len >= sizeof cand)
        return false;
    list_append(s->tried, sizeof s->tried, root);
    if (!path_within(cand, root, out, n)) {
        struct stat st;
        if (!s->notreg[0] && lstat(cand, &st) == 0)
            snprintf(s->notreg, sizeof s->notreg, "%s", cand);
        return false;
    }
    struct stat st;
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
        return true;
    if (!s->notreg[0])
        snprintf(s->notreg, sizeof s->notreg, "%s", cand);
    return false;
}

/*
 * import "file.lua": run another script in the same sandbox. Only files in
 * the scenario's directory (and below it) and in the shipped scenario library
 * (HOPSIM_SCENARIO_DIR/lib) can be imported: the name is relative, has no
 * "..", ends in .lua, and its real path (symbolic links resolved) must lie
 * within one of those two directories.
 */
int l_import(lua_State *L)
{
    struct loader *ld = get_loader(L);
    int line = call_line(L);
    char path[SC_PATH], shown[SC_PATH];
    struct search s;
    memset(&s, 0, sizeof s);
    if (lua_type(L, 1) != LUA_TSTRING)
        fail(L, ld, line, "import", "expected a file name (a string), got %s", luaL_typename(L, 1));
    size_t len;
    const char *rel = lua_tolstring(L, 1, &len);
    printable(rel, shown, sizeof shown);
    if (strlen(rel) != len || len >= SC_PATH)
        fail(L, ld, line, "import", "'%s': not a usable file name", shown);
    const char *why = import_name_error(rel);
    if (why)
        fail(L, ld, line, "import", "'%s': %s", shown, why);
    if (++ld->imports > 32)
        fail(L, ld, line, "import", "more than 32 imports (a cycle?)");
    if (!import_candidate(ld->sc->dir, ld->sc->dir, rel, path, sizeof path, &s) &&
        !import_candidate(HOPSIM_SCENARIO_DIR, HOPSIM_SCENARIO_DIR "/lib", rel, path, sizeof path,
                          &s)) {
        if (s.notreg[0])
            fail(L, ld, line, "import",
                 "'%s': %s is not a regular file within the scenario's directory or the "
                 "scenario library",
                 shown, s.notreg);
        fail(L, ld, line, "import", "'%s' not found (looked in %s)", shown, s.tried);
    }
    if (sandbox_loadfile(L, path) != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 1);
    return 1;
}

/* ----------------------------------------------------------------- output */

int l_output(lua_State *L)
{
    static const char *const keys[] = {"trace_json", "trace_csv",       "pcap",
                                       "summary",    "reservation_csv", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "output", keys);
    if (ld->hb->output_line)
        fail(L, ld, line, "output", "declared twice (first on line %d)", ld->hb->output_line);
    ld->hb->output_line = sc->output.line = scenario_line(L, ld);
    get_string(L, ld, line, "trace_json", sc->output.trace_json, sizeof sc->output.trace_json);
    get_string(L, ld, line, "trace_csv", sc->output.trace_csv, sizeof sc->output.trace_csv);
    get_string(L, ld, line, "pcap", sc->output.pcap, sizeof sc->output.pcap);
    get_string(L, ld, line, "reservation_csv", sc->output.reservation_csv,
               sizeof sc->output.reservation_csv);
    get_bool(L, ld, line, "summary", &sc->output.summary);
    return 0;
}

/*
 * mem_set { domain = "a", at_ms = 5, target_mb = 12 }: at that time the
 * toolstack sets the domain's memory target as `xl mem-set` does
 * (libxl_set_memory_target): memory/target in KiB, and max_mem to the
 * target plus libxl's slack. The target may not exceed the domain's maxmem.
 */
int l_mem_set(lua_State *L)
{
    static const char *const keys[] = {"domain", "at_ms", "at_us", "target_mb", "target_kb", NULL};
    struct loader *ld = get_loader(L);
    struct scenario *sc = ld->sc;
    int line = decl_begin(L, ld, "mem_set", keys);
    if (sc->nmemsets >= SC_MAX_MEMSETS)
        fail(L, ld, line, "mem_set", "too many mem_set declarations (max %d)", SC_MAX_MEMSETS);
    struct sc_memset *ms = &sc->memsets[sc->nmemsets];
    memset(ms, 0, sizeof *ms);
    char name[32] = "";
    if (!get_string(L, ld, line, "domain", name, sizeof name))
        fail(L, ld, line, "domain", "missing: the domain whose memory target is set");
    ms->domain = -1;
    for (int i = 0; i < sc->ndomains; i++)
        if (!strcmp(sc->domains[i].name, name))
            ms->domain = i;
    if (ms->domain < 0)
        fail(L, ld, line, "domain", "no domain '%s' declared before this", name);
    double at_ms = -1, at_us = -1;
    bool have_ms = get_num(L, ld, line, "at_ms", &at_ms);
    bool have_us = get_num(L, ld, line, "at_us", &at_us);
    if (have_ms == have_us)
        fail(L, ld, line, have_ms ? "at_us" : "at_ms", "give exactly one of at_ms and at_us");
    double at = have_ms ? at_ms * 1e9 : at_us * 1e6;
    if (!(at >= 0) || at > 3.6e15)
        fail(L, ld, line, have_ms ? "at_ms" : "at_us", "must be a time >= 0 and within an hour");
    ms->at_ps = (uint64_t)at;
    long long mb = -1, kb = -1;
    bool have_mb = get_int(L, ld, line, "target_mb", 1, SC_MAX_DOMAIN_MB, &mb);
    bool have_kb = get_int(L, ld, line, "target_kb", 4, (long long)SC_MAX_DOMAIN_MB * 1024, &kb);
    if (have_mb == have_kb)
        fail(L, ld, line, have_mb ? "target_kb" : "target_mb",
             "give exactly one of target_mb and target_kb");
    ms->target_kb = have_mb ? (uint64_t)mb * 1024 : (uint64_t)kb;
    const struct sc_domain *d = &sc->domains[ms->domain];
    uint64_t max = d->maxmem_bytes ? d->maxmem_bytes : d->memory_bytes;
    if (ms->target_kb * 1024 > max)
        fail(L, ld, line, have_mb ? "target_mb" : "target_kb",
             "%llu KiB is above %s's maxmem (%llu KiB): xl refuses a target above static-max",
             (unsigned long long)ms->target_kb, d->name, (unsigned long long)(max / 1024));
    if (d->mode != SC_MODE_PV)
        fail(L, ld, line, "domain", "'%s' is not a PV domain: only PV domains balloon here", name);
    ms->line = scenario_line(L, ld);
    sc->nmemsets++;
    return 0;
}
