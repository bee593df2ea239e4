/*
 * Scenario loader internals, shared by the files of sim/scenario/:
 *
 *   scenario.c  scenario_load: evaluate in a child, apply --set, confine paths, validate
 *   sandbox.c   the child process (fork, rlimits, pipe) and the Lua state it runs
 *   decl.c      scenario{}, machine{}, domain{} (and its args)
 *   decl_dev.c  connect{}, device{}, flash{}, output{}, import
 *   decl_expect.c  expect{}
 *   params.c    param() and the dotted --set overrides
 *   luaval.c    reading declaration tables: types, ranges, file:line:key errors, paths
 *
 * The declarations cross from the child to the parent as raw bytes of
 * struct sc_handback followed by struct scenario: both ends are the same
 * binary (fork, no exec), so the layout is identical. Both structs must
 * therefore hold no pointers; a new declaration adds plain fields to struct
 * scenario (or to struct sc_handback, for loader state the parent needs)
 * and crosses the pipe with no further code.
 */
#ifndef HOPSIM_SCENARIO_LOADER_H
#define HOPSIM_SCENARIO_LOADER_H

#include "scenario.h"

#include <lua.h>

#define SC_MAX_PARAMS 64
#define SC_MAX_CPUS 64
#define SC_MAX_VCPUS 32
#define SC_MAX_MEMORY_MB (1 << 20) /* 1 TiB */
/* A domain's RAM lies below HOPSIM_MMIO_BASE (3 GiB) with room above it for the
   physmap hole (shared_info, grant-table frames): include/hopsim/abi.h. */
#define SC_MAX_DOMAIN_MB (3072 - 16)
#define SC_MIB (1024ull * 1024ull)
#define SC_MAX_LIMIT_PS 1e18 /* time limits up to ~11.5 days */
#define SC_ERRLEN 1024
#define MSG 512

/* Loader state the parent needs after the child ran the script. */
struct sc_handback {
    int rc;              /* 0: the script ran and every declaration was accepted */
    char err[SC_ERRLEN]; /* "FILE:LINE: KEY: message" when rc != 0 */
    bool used[SC_MAX_SETS];
    char params[SC_MAX_PARAMS][64]; /* names param() was called with, for messages */
    int nparams;
    int machine_line, output_line;
};

struct loader {
    struct scenario *sc;
    const struct sc_load_opts *o;
    struct sc_handback *hb;
    char *err; /* = hb->err */
    size_t errlen;
    bool failed; /* a declaration error is in err */
    int scenario_line;
    int privileged;     /* index of the privileged domain, -1 if none */
    int randomseed_ref; /* the real math.randomseed, in the registry */
    lua_State *L;
    size_t mem; /* bytes the Lua state holds */
    int insn_millions;
    char cur_file[SC_PATH]; /* the script a declaration is being made from */
    int imports;
};

/* ---- luaval.c: helpers */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool in_list(const char *word, const char *const *list);
void list_append(char *buf, size_t n, const char *item);
bool name_ok(const char *s, size_t maxlen, bool lower_only);
bool has_space(const char *s);
bool str_to_ll(const char *s, long long *out);
bool str_to_num(const char *s, double *out);
int str_to_bool(const char *s);
/* Printable copy of s for messages: non-printable bytes as \xNN. */
const char *printable(const char *s, char *buf, size_t n);

struct search {
    char tried[MSG];      /* where we looked, for the message */
    char notreg[SC_PATH]; /* first candidate that exists but is no file */
};
/* Does rel have a ".." component? */
bool has_dotdot(const char *rel);
/* path exists and its real path (links resolved) is root's or below it: true, real path in real. */
bool path_within(const char *path, const char *root, char *real, size_t n);
bool find_file(const char *rel, const char *dir, const char *path, char *out, size_t n,
               struct search *s);

/* Record "FILE:LINE: KEY: message (called from SCRIPT:LINE)" (the first one wins); raise it. */
int fail(lua_State *L, struct loader *ld, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Line of the outermost call made from the scenario file itself (through imports), 0 if none. */
int script_line(lua_State *L, const struct loader *ld);
struct loader *get_loader(lua_State *L);
int call_line(lua_State *L);
/* The line in the scenario file itself that is running: for a declaration made inside an
   imported library, the scenario line that called into it. What a declaration records as its
   `line`, so that "SCENARIO:LINE" messages after evaluation name the right file. */
int scenario_line(lua_State *L, const struct loader *ld);
/* " (called from SCRIPT:LINE)" when the innermost Lua code is not the scenario itself. */
void caller_note(lua_State *L, const struct loader *ld, char *buf, size_t n);
const char *describe(lua_State *L, int idx, char *buf, size_t n);
int decl_begin(lua_State *L, struct loader *ld, const char *fn, const char *const *keys);
bool push_field(lua_State *L, const char *key);
void type_error(lua_State *L, struct loader *ld, int line, const char *key, const char *expected);
bool get_string(lua_State *L, struct loader *ld, int line, const char *key, char *out, size_t n);
bool get_int(lua_State *L, struct loader *ld, int line, const char *key, long long lo, long long hi,
             long long *out);
bool get_num(lua_State *L, struct loader *ld, int line, const char *key, double *out);
bool get_bool(lua_State *L, struct loader *ld, int line, const char *key, bool *out);
/* ps = value * scale, rounded; refuses < 0, > SC_MAX_LIMIT_PS and a nonzero value that is 0 ps. */
const char *time_to_ps(double value, double scale, uint64_t *ps);

/* ---- decl.c, decl_dev.c: the declaration functions */
int l_scenario(lua_State *L);
int l_machine(lua_State *L);
int l_domain(lua_State *L);
int l_connect(lua_State *L);
int l_device(lua_State *L);
int l_flash(lua_State *L);
int l_output(lua_State *L);
int l_mem_set(lua_State *L); /* decl_dev.c */
int l_import(lua_State *L);
int l_expect(lua_State *L); /* decl_expect.c */
/* The domain names "dom.NAME...." expectations mention are declared: 0, or -1 with err. */
int check_expects(const struct scenario *sc, char *err, size_t errlen);
void seed_random(lua_State *L, struct loader *ld);
bool clock_ghz_ok(double ghz);
#define SC_MIN_GHZ 0.1 /* below this a cycle is > 10 ns: no CPU the cost profile describes */
#define SC_MAX_GHZ 10.0

/* Key/value pairs of a domain's command line, kept as "k\0v\0" in a pool. */
struct argset {
    char pool[2 * SC_CMDLINE];
    size_t used;
    int n;
    uint16_t key[SC_CMDLINE / 2], val[SC_CMDLINE / 2];
};
bool arg_key_ok(const char *k);
bool args_set(struct argset *a, const char *key, const char *val);
void args_parse(struct argset *a, const char *cmdline);
bool args_render(const struct argset *a, char *out, size_t n);

/* ---- params.c */
int l_param(lua_State *L);
int apply_sets(struct loader *ld);

/* ---- outputs.c: confine the paths a scenario writes to the output directory */
int confine_outputs(struct loader *ld);

/* ---- sandbox.c: run the script in a child; fills ld->sc and ld->hb, 0 or -1 */
int sandbox_eval(struct loader *ld);
/* luaL_loadfilex in text mode; a load error names the file. LUA_OK or an error on the stack. */
int sandbox_loadfile(lua_State *L, const char *path);

#endif
