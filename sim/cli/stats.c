/*
 * --stats FILE.json: one run, self-describing (like gem5's config.json +
 * stats.txt, or fio's JSON output), written with json-c:
 *
 *   "hopsim_stats": 1            format version
 *   "scenario":  the resolved scenario: path, seed, arch, time limit, the
 *                --set options, machine, domains (with their arguments),
 *                connections, devices (disks, NIC and peer), flash
 *   "cost":      every cost parameter: value in canonical units, the value
 *                and unit as the profile wrote them, dimension, source
 *   "results":   every measurement (expect.h's metric names): value in its
 *                base unit (unit: "ps", "1/s", "B", "bit/s" or "" for
 *                counts), or text
 *   "expectations": each expect{} entry, its measured value and verdict
 *   "run":       exit code and failure message; "host": host seconds (the
 *                only field that differs between two runs of one seed)
 */
#include "stats.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static void put_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(json_object *o, const char *k, int64_t v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_num(json_object *o, const char *k, double v)
{
    json_object_object_add(o, k, json_object_new_double(v));
}

static void put_bool(json_object *o, const char *k, bool v)
{
    json_object_object_add(o, k, json_object_new_boolean(v));
}

static const char *mode_name(enum sc_mode m)
{
    return m == SC_MODE_NATIVE ? "native"
           : m == SC_MODE_RT   ? "rt"
           : m == SC_MODE_HVM  ? "hvm"
           : m == SC_MODE_L4   ? "l4"
                               : "pv";
}

static void mac_text(const uint8_t m[6], char *buf, size_t n)
{
    snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static json_object *domain_json(const struct sc_domain *d)
{
    json_object *o = json_object_new_object(), *args = json_object_new_object();
    char buf[SC_CMDLINE];
    put_str(o, "name", d->name);
    put_str(o, "mode", mode_name(d->mode));
    put_str(o, "image", d->image);
    put_str(o, "runtime_image", d->runtime_image);
    put_int(o, "memory_bytes", (int64_t)d->memory_bytes);
    put_int(o, "vcpus", d->vcpus);
    put_int(o, "cpu", d->cpu);
    put_bool(o, "privileged", d->privileged);
    snprintf(buf, sizeof buf, "%s", d->cmdline);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        if (eq)
            *eq++ = '\0';
        put_str(args, t, eq ? eq : "1");
    }
    json_object_object_add(o, "args", args);
    put_int(o, "line", d->line);
    return o;
}

static json_object *device_json(const struct scenario *sc, const struct sc_device *v)
{
    static const char *const peers[] = {"echo", "sink", "reqresp", "source"};
    json_object *o = json_object_new_object();
    char mac[24];
    put_str(o, "kind", v->kind);
    put_str(o, "owner", sc->domains[v->owner].name);
    put_int(o, "slot", v->slot);
    put_bool(o, "msi", v->msi);
    if (!strcmp(v->kind, "e1000")) {
        mac_text(v->mac, mac, sizeof mac);
        put_str(o, "mac", mac);
        put_int(o, "link_bps", (int64_t)v->link_bps);
        put_int(o, "propagation_ps", (int64_t)v->propagation_ps);
        put_str(o, "peer", peers[v->peer]);
        put_int(o, "peer_service_ps", (int64_t)v->peer_service_ps);
        put_int(o, "peer_resp_len", v->peer_resp_len);
        return o;
    }
    json_object *disks = json_object_new_array();
    for (int i = 0; i < v->ndisks; i++) {
        json_object *k = json_object_new_object();
        put_str(k, "type", v->disks[i].type == 2 ? "ssd" : "hdd");
        put_str(k, "image", v->disks[i].image);
        put_int(k, "size_bytes", (int64_t)v->disks[i].size_bytes);
        put_int(k, "block_size", v->disks[i].block_size);
        json_object_array_add(disks, k);
    }
    json_object_object_add(o, "disks", disks);
    return o;
}

static json_object *scenario_json(const struct scenario *sc, const struct run_opts *ro)
{
    json_object *o = json_object_new_object(), *m = json_object_new_object();
    json_object *sets = json_object_new_object(), *doms = json_object_new_array();
    json_object *conns = json_object_new_array(), *devs = json_object_new_array();
    put_str(o, "path", sc->path);
    put_str(o, "name", sc->name);
    put_int(o, "seed", (int64_t)sc->seed);
    put_str(o, "arch", sc->arch);
    put_int(o, "time_limit_ps", (int64_t)sc->time_limit_ps);
    for (int i = 0; i < ro->nsets; i++)
        put_str(sets, ro->sets[i].key, ro->sets[i].value);
    json_object_object_add(o, "sets", sets);
    put_int(m, "cpus", sc->machine.cpus);
    put_num(m, "clock_hz", sc->machine.clock_hz);
    put_int(m, "memory_bytes", (int64_t)sc->machine.memory_bytes);
    put_str(m, "profile", sc->machine.profile);
    json_object_object_add(o, "machine", m);
    for (int i = 0; i < sc->ndomains; i++)
        json_object_array_add(doms, domain_json(&sc->domains[i]));
    json_object_object_add(o, "domains", doms);
    for (int i = 0; i < sc->nconns; i++) {
        json_object *c = json_object_new_object();
        put_str(c, "kind", sc->conns[i].kind);
        put_str(c, "frontend", sc->domains[sc->conns[i].frontend].name);
        put_str(c, "backend", sc->domains[sc->conns[i].backend].name);
        put_int(c, "devid", sc->conns[i].devid);
        json_object_array_add(conns, c);
    }
    json_object_object_add(o, "connections", conns);
    for (int i = 0; i < sc->ndevices; i++)
        json_object_array_add(devs, device_json(sc, &sc->devices[i]));
    json_object_object_add(o, "devices", devs);
    if (sc->flash.present) {
        json_object *f = json_object_new_object();
        put_str(f, "image", sc->flash.image[0] ? sc->flash.image : HOPSIM_PLATFORM_FD);
        put_str(f, "part", sc->flash.part);
        put_int(f, "read_opcode", sc->flash.read_opcode);
        put_num(f, "clock_hz", sc->flash.clock_hz);
        put_num(f, "setvariable_ms", sc->flash.setvariable_ms);
        put_bool(f, "xip", sc->flash.xip);
        json_object_object_add(o, "flash", f);
    }
    return o;
}

static json_object *cost_json(const struct cost_profile *c)
{
    static const char *const dims[] = {"cycles", "time", "bandwidth", "count"};
    json_object *o = json_object_new_object();
    for (int i = 0; i < COST_COUNT; i++) {
        json_object *p = json_object_new_object();
        put_num(p, "value", c->value[i]);
        put_str(p, "dimension", dims[cost_dim((enum cost_id)i)]);
        put_num(p, "given", c->given[i]);
        put_str(p, "unit", c->unit[i]);
        put_str(p, "source", c->source[i]);
        put_str(p, "what", cost_desc((enum cost_id)i));
        json_object_object_add(o, cost_name((enum cost_id)i), p);
    }
    return o;
}

static json_object *results_json(const struct measures *ms)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < ms->n; i++) {
        const struct measure *m = &ms->m[i];
        json_object *r = json_object_new_object();
        if (m->unit == UNIT_TEXT)
            put_str(r, "text", m->text);
        else
            put_num(r, "value", m->value);
        put_str(r, "unit", unit_base_name(m->unit));
        json_object_object_add(o, m->name, r);
    }
    return o;
}

int stats_write(const char *path, const struct stats_run *s, char *err, size_t errlen)
{
    json_object *root = json_object_new_object(), *ex = json_object_new_array();
    json_object *run = json_object_new_object(), *host = json_object_new_object();
    put_int(root, "hopsim_stats", 1);
    json_object_object_add(root, "scenario", scenario_json(s->sc, s->ro));
    json_object_object_add(root, "cost", cost_json(&s->sc->cost));
    json_object_object_add(root, "results", results_json(s->ms));
    for (int i = 0; i < s->sc->nexpects; i++) {
        const struct sc_expect *e = &s->sc->expects[i];
        json_object *x = json_object_new_object();
        char val[64];
        bool ok = expect_eval(e, s->ms, val, sizeof val);
        put_str(x, "expect", e->text);
        put_str(x, "file", e->file);
        put_int(x, "line", e->line);
        put_str(x, "measured", val);
        put_bool(x, "pass", ok);
        json_object_array_add(ex, x);
    }
    json_object_object_add(root, "expectations", ex);
    put_int(run, "exit_code", s->exit_code);
    put_str(run, "failure", s->failure);
    json_object_object_add(root, "run", run);
    put_num(host, "seconds", s->host_seconds);
    put_int(host, "engine_runs", (int64_t)s->engine_runs);
    put_int(host, "hypercalls_in_engine", (int64_t)s->engine_fast_traps);
    put_int(host, "engine_switches", (int64_t)s->engine_switches);
    put_int(host, "tlb_fills", (int64_t)s->tlb_fills);
    json_object_object_add(root, "host", host);
    int rc = json_object_to_file_ext(path, root,
                                     JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    json_object_put(root);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", path, json_util_get_last_err());
        return -1;
    }
    return 0;
}
