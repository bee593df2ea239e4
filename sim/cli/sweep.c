/*
 * `hopsim sweep` (see sweep.h). Every point is an independent process,
 * `hopsim run SCENARIO --quiet --stats point-N/stats.json --set ...`, run
 * in its own directory OUT/point-N (so relative files a scenario creates,
 * such as disk images, are the point's own and points can run at once);
 * its console goes to OUT/point-N/log.txt. Locally up to -j points run at
 * a time; with --slurm the same command lines go into OUT/sweep.sbatch,
 * one array task each, submitted with `sbatch --wait`. Either way the
 * results are read back from the stats files, so the CSV is the same.
 */

#include "sweep.h"
#include "chart.h"
#include "run.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARGV_MAX (8 + 2 * (SWEEP_MAX_KEYS + 1))

struct point {
    char dir[PATH_MAX];
    char args[SWEEP_MAX_KEYS + 1][160]; /* "key=value" per key, then "arch=A" */
    int nargs;
    const char *arch;
    int value_index[SWEEP_MAX_KEYS];
    json_object *stats; /* read back, NULL if the point left none */
    int exit_code;      /* from stats, or the process; -1 unknown */
};

static double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- options */

static int add_value(struct sweep_key *k, const char *v)
{
    if (k->nvalues == SWEEP_MAX_VALUES || strlen(v) >= sizeof k->values[0] || !*v) {
        fprintf(stderr, "hopsim: sweep: --set %s: at most %d values of < 64 characters\n", k->key,
                SWEEP_MAX_VALUES);
        return -1;
    }
    snprintf(k->values[k->nvalues++], sizeof k->values[0], "%s", v);
    return 0;
}

/* "LO..HI", "LO..HI:+S", "LO..HI:*F" (integers): 1 expanded, 0 not a range, -1 bad. */
static int add_range(struct sweep_key *k, const char *v)
{
    long long lo, hi, step = 1;
    char op = '+', tail;
    int n = sscanf(v, "%lld..%lld:%c%lld%c", &lo, &hi, &op, &step, &tail);
    if (n < 2 || (n > 2 && n != 4) || !strstr(v, ".."))
        return 0;
    if (n == 2 && sscanf(v, "%lld..%lld%c", &lo, &hi, &tail) != 2)
        return 0;
    if (hi < lo || (op != '+' && op != '*') || (op == '+' && step < 1) ||
        (op == '*' && (step < 2 || lo < 1))) {
        fprintf(stderr,
                "hopsim: sweep: --set %s=%s: expected LO..HI, LO..HI:+STEP or LO..HI:*FACTOR "
                "with LO <= HI\n",
                k->key, v);
        return -1;
    }
    for (long long x = lo; x <= hi; x = op == '+' ? x + step : x * step) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", x);
        if (add_value(k, buf) < 0)
            return -1;
    }
    return 1;
}

static struct sweep_key *new_key(struct sweep_opts *o, const char *kv, const char **value)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || eq - kv >= 64 || o->nkeys == SWEEP_MAX_KEYS) {
        fprintf(stderr, "hopsim: sweep: --set %s: expected KEY=VALUES (at most %d keys)\n", kv,
                SWEEP_MAX_KEYS);
        return NULL;
    }
    struct sweep_key *k = &o->keys[o->nkeys++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%.*s", (int)(eq - kv), kv);
    if (!strcmp(k->key, "arch")) {
        fprintf(stderr, "hopsim: sweep: give architectures with --arch A,B,...\n");
        return NULL;
    }
    *value = eq + 1;
    return k;
}

static int parse_set(struct sweep_opts *o, const char *kv, bool one)
{
    const char *v;
    struct sweep_key *k = new_key(o, kv, &v);
    if (!k)
        return -1;
    if (one)
        return add_value(k, v);
    int r = add_range(k, v);
    if (r)
        return r < 0 ? -1 : 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (add_value(k, t) < 0)
            return -1;
    return k->nvalues ? 0 : -1;
}

static int parse_arch(struct sweep_opts *o, const char *list)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (o->narch == SWEEP_MAX_ARCH || strlen(t) >= sizeof o->arch[0])
            return -1;
        snprintf(o->arch[o->narch++], sizeof o->arch[0], "%s", t);
    }
    return o->narch ? 0 : -1;
}

int sweep_parse(int argc, char **argv, struct sweep_opts *o)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (a[0] != '-') {
            if (o->scenario) {
                fprintf(stderr, "hopsim: sweep: unexpected argument '%s'\n", a);
                return -1;
            }
            o->scenario = a;
            continue;
        }
        if (!next && strcmp(a, "--slurm") != 0) {
            fprintf(stderr, "hopsim: sweep: unknown option '%s' (see hopsim sweep --help)\n", a);
            return -1;
        }
        if (!strcmp(a, "--slurm")) {
            o->slurm = true;
            continue;
        } else if (!strcmp(a, "--set"))
            rc = parse_set(o, next, false);
        else if (!strcmp(a, "--set-one"))
            rc = parse_set(o, next, true);
        else if (!strcmp(a, "--arch"))
            rc = parse_arch(o, next);
        else if (!strcmp(a, "-j") || !strcmp(a, "--jobs"))
            rc = (o->jobs = atoi(next)) > 0 ? 0 : -1;
        else if (!strcmp(a, "--seed"))
            o->seed = next;
        else if (!strcmp(a, "--out"))
            o->out_dir = next;
        else if (!strcmp(a, "--csv"))
            o->csv_path = next;
        else if (!strcmp(a, "--svg"))
            o->svg_path = next;
        else if (!strcmp(a, "--png"))
            o->png_path = next;
        else if (!strcmp(a, "--metric"))
            o->metric = next;
        else {
            fprintf(stderr, "hopsim: sweep: unknown option '%s' (see hopsim sweep --help)\n", a);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "hopsim: sweep: %s %s: bad value\n", a, next);
            return -1;
        }
        i++;
    }
    if (!o->scenario) {
        fprintf(stderr, "hopsim: sweep: no scenario given (see hopsim sweep --help)\n");
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- points */

static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

static int count_points(const struct sweep_opts *o)
{
    long n = o->narch ? o->narch : 1;
    for (int k = 0; k < o->nkeys; k++)
        n *= o->keys[k].nvalues;
    return n > SWEEP_MAX_POINTS ? -1 : (int)n;
}

/* Point i: arch outermost, then the keys in the order given, the last varying fastest. */
static void make_point(const struct sweep_opts *o, const char *out, int i, struct point *p)
{
    int rest = i;
    memset(p, 0, sizeof *p);
    for (int k = o->nkeys - 1; k >= 0; k--) {
        p->value_index[k] = rest % o->keys[k].nvalues;
        rest /= o->keys[k].nvalues;
    }
    for (int k = 0; k < o->nkeys; k++)
        snprintf(p->args[p->nargs++], sizeof p->args[0], "%s=%s", o->keys[k].key,
                 o->keys[k].values[p->value_index[k]]);
    if (o->narch) {
        p->arch = o->arch[rest];
        snprintf(p->args[p->nargs++], sizeof p->args[0], "arch=%s", p->arch);
    }
    snprintf(p->dir, sizeof p->dir, "%.4000s/point-%d", out, i);
    p->exit_code = -1;
}

/* The point's command line (pointers into p, o and the static buffers). */
static int point_argv(const struct sweep_opts *o, const char *scenario, struct point *p,
                      const char **argv)
{
    static char stats[PATH_MAX + 16];
    int n = 0;
    snprintf(stats, sizeof stats, "%s/stats.json", p->dir);
    argv[n++] = o->self;
    argv[n++] = "run";
    argv[n++] = scenario;
    argv[n++] = "--quiet";
    argv[n++] = "--stats";
    argv[n++] = stats;
    if (o->seed) {
        argv[n++] = "--seed";
        argv[n++] = o->seed;
    }
    for (int a = 0; a < p->nargs; a++) {
        argv[n++] = "--set";
        argv[n++] = p->args[a];
    }
    argv[n] = NULL;
    return n;
}

static void progress(int done, int total, double t0)
{
    double el = host_now() - t0;
    double eta = done ? el / done * (total - done) : 0;
    fprintf(stderr, "hopsim: sweep: %d/%d points (%.0f%%), %.0f s elapsed, ETA %.0f s\n", done,
            total, 100.0 * done / total, el, eta);
}

static pid_t spawn(const struct sweep_opts *o, const char *scenario, struct point *p)
{
    const char *argv[ARGV_MAX];
    char log[PATH_MAX + 16];
    if (mkdir_p(p->dir) < 0)
        return -1;
    point_argv(o, scenario, p, argv);
    snprintf(log, sizeof log, "%s/log.txt", p->dir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(log, "w");
        if (!f || chdir(p->dir) < 0)
            _exit(127);
        dup2(fileno(f), STDOUT_FILENO);
        dup2(fileno(f), STDERR_FILENO);
        execv(o->self, (char *const *)argv);
        fprintf(stderr, "hopsim: sweep: %s: %s\n", o->self, strerror(errno));
        _exit(127);
    }
    return pid;
}

static int run_local(const struct sweep_opts *o, const char *scenario, struct point *pts, int n)
{
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    int next = 0, running = 0, done = 0;
    double t0 = host_now();
    if (!pids)
        return -1;
    while (done < n) {
        while (running < jobs && next < n) {
            pids[next] = spawn(o, scenario, &pts[next]);
            if (pids[next] < 0) {
                fprintf(stderr, "hopsim: sweep: %s: %s\n", pts[next].dir, strerror(errno));
                pts[next].exit_code = 2;
                done++;
            } else {
                running++;
            }
            next++;
        }
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            break;
        for (int i = 0; i < next; i++)
            if (pids[i] == pid) {
                pts[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
                pids[i] = 0;
            }
        running--;
        done++;
        progress(done, n, t0);
    }
    free(pids);
    return 0;
}

/* 'text' with ' as '\'' */
static void shell_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

static int run_slurm(const struct sweep_opts *o, const char *scenario, const char *out,
                     struct point *pts, int n)
{
    char script[PATH_MAX + 32];
    snprintf(script, sizeof script, "%s/sweep.sbatch", out);
    FILE *f = fopen(script, "w");
    if (!f) {
        fprintf(stderr, "hopsim: sweep: %s: %s\n", script, strerror(errno));
        return -1;
    }
    fprintf(f, "#!/bin/bash\n#SBATCH --job-name=hopsim-sweep\n#SBATCH --array=0-%d\n", n - 1);
    fprintf(f, "#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    fprintf(f, "#SBATCH --output=%s/point-%%a/log.txt\n", out);
    fprintf(f, "# written by hopsim sweep: one array task per point\ncase "
               "\"$SLURM_ARRAY_TASK_ID\" in\n");
    for (int i = 0; i < n; i++) {
        const char *argv[ARGV_MAX];
        if (mkdir_p(pts[i].dir) < 0) {
            fclose(f);
            fprintf(stderr, "hopsim: sweep: %s: %s\n", pts[i].dir, strerror(errno));
            return -1;
        }
        point_argv(o, scenario, &pts[i], argv);
        fprintf(f, "%d) cd ", i);
        shell_quote(f, pts[i].dir);
        fputs(" && exec", f);
        for (int a = 0; argv[a]; a++) {
            fputc(' ', f);
            shell_quote(f, argv[a]);
        }
        fputs(" ;;\n", f);
    }
    fputs("*) echo \"no point $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;\nesac\n", f);
    if (fclose(f) != 0)
        return -1;
    printf("sweep: submitting %d array tasks (%s) and waiting for them\n", n, script);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("sbatch", "sbatch", "--wait", "--parsable", script, (char *)NULL);
        fprintf(stderr, "hopsim: sweep: sbatch: %s (is Slurm installed?)\n", strerror(errno));
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return -1;
    /* sbatch --wait exits non-zero when a task failed: the stats files tell which */
    return 0;
}

/* ------------------------------------------------------------- results */

static json_object *result(const struct point *p, const char *metric)
{
    json_object *res, *m;
    if (!p->stats || !json_object_object_get_ex(p->stats, "results", &res) ||
        !json_object_object_get_ex(res, metric, &m))
        return NULL;
    return m;
}

static bool result_value(const struct point *p, const char *metric, double *v)
{
    json_object *m = result(p, metric), *x;
    if (!m || !json_object_object_get_ex(m, "value", &x))
        return false;
    *v = json_object_get_double(x);
    return true;
}

static void read_back(struct point *p)
{
    char path[PATH_MAX + 16];
    json_object *run, *code;
    snprintf(path, sizeof path, "%s/stats.json", p->dir);
    if (access(path, R_OK) != 0)
        return;
    p->stats = json_object_from_file(path);
    if (p->stats && json_object_object_get_ex(p->stats, "run", &run) &&
        json_object_object_get_ex(run, "exit_code", &code))
        p->exit_code = json_object_get_int(code);
}

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_point_cols(FILE *f, const struct sweep_opts *o, const struct point *p, int i)
{
    fprintf(f, "%d,", i);
    csv_field(f, p->arch ? p->arch : "");
    for (int k = 0; k < o->nkeys; k++) {
        fputc(',', f);
        csv_field(f, o->keys[k].values[p->value_index[k]]);
    }
}

static int write_csv(const struct sweep_opts *o, const char *path, const struct point *pts, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "hopsim: sweep: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("point,arch", f);
    for (int k = 0; k < o->nkeys; k++) {
        fputc(',', f);
        csv_field(f, o->keys[k].key);
    }
    fputs(",metric,value,unit\n", f);
    for (int i = 0; i < n; i++) {
        json_object *res;
        csv_point_cols(f, o, &pts[i], i);
        fprintf(f, ",exit_code,%d,\n", pts[i].exit_code);
        if (!pts[i].stats || !json_object_object_get_ex(pts[i].stats, "results", &res))
            continue;
        json_object_object_foreach(res, name, m)
        {
            json_object *v, *u;
            csv_point_cols(f, o, &pts[i], i);
            fputc(',', f);
            csv_field(f, name);
            fputc(',', f);
            if (json_object_object_get_ex(m, "value", &v))
                fprintf(f, "%.17g", json_object_get_double(v));
            else if (json_object_object_get_ex(m, "text", &v))
                csv_field(f, json_object_get_string(v));
            fputc(',', f);
            if (json_object_object_get_ex(m, "unit", &u))
                csv_field(f, json_object_get_string(u));
            fputc('\n', f);
        }
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "hopsim: sweep: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_us(const struct point *p, const char *metric)
{
    double v;
    if (result_value(p, metric, &v))
        printf(" %12.3f", v / 1e6);
    else
        printf(" %12s", "-");
}

static int print_summary(const struct sweep_opts *o, const struct point *pts, int n)
{
    int bad = 0;
    printf("\n%5s %-10s", "point", "arch");
    for (int k = 0; k < o->nkeys; k++)
        printf(" %12.12s", o->keys[k].key);
    printf(" %9s %12s %12s %12s %10s %7s\n", "requests", "mean_us", "p50_us", "p99_us", "iops",
           "status");
    for (int i = 0; i < n; i++) {
        const struct point *p = &pts[i];
        double v;
        printf("%5d %-10s", i, p->arch ? p->arch : "-");
        for (int k = 0; k < o->nkeys; k++)
            printf(" %12.12s", o->keys[k].values[p->value_index[k]]);
        if (result_value(p, "requests", &v))
            printf(" %9.0f", v);
        else
            printf(" %9s", "-");
        print_us(p, "request.mean");
        print_us(p, "request.p50");
        print_us(p, "request.p99");
        if (result_value(p, "iops", &v))
            printf(" %10.0f", v);
        else
            printf(" %10s", "-");
        const char *st = !p->stats ? "missing" : p->exit_code == 0 ? "ok" : "FAILED";
        printf(" %7s\n", st);
        bad += p->exit_code != 0;
    }
    if (bad)
        printf("%d of %d points failed or left no results: see OUT/point-N/log.txt\n", bad, n);
    return bad;
}

/* The metric against the first swept key (numeric), a line per arch and other swept values. */
static int draw(const struct sweep_opts *o, const struct point *pts, int n)
{
    const char *metric = o->metric ? o->metric : "request.mean";
    int xk = -1;
    for (int k = 0; k < o->nkeys && xk < 0; k++)
        if (o->keys[k].nvalues > 1)
            xk = k;
    if (xk < 0) {
        fprintf(stderr, "hopsim: sweep: a chart needs a swept --set key (two or more values)\n");
        return -1;
    }
    struct chart_series *s = calloc((size_t)n, sizeof *s);
    int ns = 0;
    const char *unit = "";
    if (!s)
        return -1;
    for (int i = 0; i < n; i++) {
        const struct point *p = &pts[i];
        char label[CHART_LABEL] = "", *end;
        double x = strtod(o->keys[xk].values[p->value_index[xk]], &end), y;
        json_object *m = result(p, metric), *u;
        if (*end || !result_value(p, metric, &y))
            continue;
        if (m && json_object_object_get_ex(m, "unit", &u))
            unit = json_object_get_string(u);
        size_t len = (size_t)snprintf(label, sizeof label, "%s", p->arch ? p->arch : metric);
        for (int k = 0; k < o->nkeys; k++)
            if (k != xk && o->keys[k].nvalues > 1 && len < sizeof label)
                len += (size_t)snprintf(label + len, sizeof label - len, " %s=%s", o->keys[k].key,
                                        o->keys[k].values[p->value_index[k]]);
        int j = 0;
        while (j < ns && strcmp(s[j].label, label) != 0)
            j++;
        if (j == ns)
            snprintf(s[ns++].label, sizeof s[0].label, "%s", label);
        if (s[j].n < CHART_MAX_POINTS) {
            s[j].x[s[j].n] = x;
            s[j].y[s[j].n++] = y;
        }
    }
    struct chart_lines c = {.series = s, .nseries = ns, .xlabel = o->keys[xk].key};
    char ylabel[128];
    snprintf(ylabel, sizeof ylabel, "%s (%s)", metric, !strcmp(unit, "ps") ? "us" : unit);
    c.ylabel = ylabel;
    c.yscale = !strcmp(unit, "ps") ? 1e-6 : 1;
    const char *base = strrchr(o->scenario, '/') ? strrchr(o->scenario, '/') + 1 : o->scenario;
    snprintf(c.title, sizeof c.title, "%s: %s against %s", base, metric, o->keys[xk].key);
    int rc = 0;
    if (o->svg_path && chart_lines_write(&c, o->svg_path) < 0)
        rc = -1;
    if (o->png_path && chart_lines_write(&c, o->png_path) < 0)
        rc = -1;
    free(s);
    return rc;
}

int sweep_run(const struct sweep_opts *o)
{
    char scenario[PATH_MAX], out[PATH_MAX], csv[PATH_MAX + 16], name[128];
    int n = count_points(o), rc = 0;
    if (n < 0) {
        fprintf(stderr, "hopsim: sweep: more than %d points\n", SWEEP_MAX_POINTS);
        return 2;
    }
    if (!realpath(o->scenario, scenario)) {
        fprintf(stderr, "hopsim: sweep: %s: %s\n", o->scenario, strerror(errno));
        return 2;
    }
    const char *base = strrchr(scenario, '/') ? strrchr(scenario, '/') + 1 : scenario;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
    if (o->out_dir)
        snprintf(out, sizeof out, "%s", o->out_dir);
    else
        snprintf(out, sizeof out, "out/sweep-%s", name);
    char real_out[PATH_MAX];
    if (mkdir_p(out) < 0 || !realpath(out, real_out)) {
        fprintf(stderr, "hopsim: sweep: %s: %s\n", out, strerror(errno));
        return 2;
    }
    struct point *pts = calloc((size_t)n, sizeof *pts);
    if (!pts)
        return 2;
    for (int i = 0; i < n; i++)
        make_point(o, real_out, i, &pts[i]);
    /* every point loads (architecture, parameters, guest arguments) before any runs */
    for (int i = 0; i < n; i++) {
        static struct run_opts ro;
        memset(&ro, 0, sizeof ro);
        ro.scenario = scenario;
        if (o->seed) {
            ro.have_seed = true;
            ro.seed = strtoull(o->seed, NULL, 10);
        }
        for (int a = 0; a < pts[i].nargs && ro.nsets < SC_MAX_SETS; a++) {
            char *eq = strchr(pts[i].args[a], '=');
            struct sc_set *st = &ro.sets[ro.nsets++];
            snprintf(st->key, sizeof st->key, "%.*s", (int)(eq - pts[i].args[a]), pts[i].args[a]);
            snprintf(st->value, sizeof st->value, "%s", eq + 1);
        }
        ro.out_dir = pts[i].dir;
        if (run_check(&ro) != 0) {
            fprintf(stderr, "hopsim: sweep: point %d (%s%s%s) does not load; nothing was run\n", i,
                    pts[i].args[0], pts[i].nargs > 1 ? " " : "",
                    pts[i].nargs > 1 ? pts[i].args[1] : "");
            free(pts);
            return 2;
        }
    }
    printf("sweep: %s, %d point(s), results in %s\n", name, n, out);
    fflush(stdout);
    if ((o->slurm ? run_slurm(o, scenario, real_out, pts, n) : run_local(o, scenario, pts, n)) < 0)
        rc = 2;
    for (int i = 0; i < n && rc == 0; i++)
        read_back(&pts[i]);
    if (rc == 0) {
        snprintf(csv, sizeof csv, "%s/sweep.csv", out);
        if (write_csv(o, o->csv_path ? o->csv_path : csv, pts, n) < 0)
            rc = 1;
        if (print_summary(o, pts, n))
            rc = 1;
        printf("sweep: CSV %s\n", o->csv_path ? o->csv_path : csv);
        if ((o->svg_path || o->png_path) && draw(o, pts, n) < 0)
            rc = 1;
    }
    for (int i = 0; i < n; i++)
        json_object_put(pts[i].stats);
    free(pts);
    return rc;
}
