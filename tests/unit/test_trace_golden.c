/*
 * The trace writer's bytes are a contract (traces/FORMAT.md: speedscope,
 * hop_nesting.jq, the view's replay, follow and sweep read them), so a
 * faster writer must write exactly what the old one wrote. This suite
 * drives the trace API with a fixed pseudo-random workload that reaches
 * every formatting path -- hop spans, suppressed notifications, flow
 * events, sub-spans with and without request and hop, instants, extra
 * lanes, counters, names that need JSON escaping or CSV quoting (quotes,
 * commas, newlines, control bytes, valid and invalid UTF-8), one name
 * buffer whose contents change between calls, times past 2^49 ps and near
 * 2^64, negative and extreme arguments -- and compares the SHA-256 of the
 * JSON and the CSV with the digests of the writer as it was before it was
 * made faster (commit 2722181). Several MiB are written, so the output
 * buffer is flushed many times at arbitrary record boundaries.
 *
 * The digests change only when the format changes on purpose; then
 * traces/FORMAT.md changes with them and the new digests are printed by
 * this test's failure message.
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static char tmpdir[64];

/* The span kinds there were when the digests were taken (up to `refill`): kinds appended since
 * (FORMAT.md: only ever appended) go through the same formatting, and drawing from more would
 * change the workload, not the writer. */
#define GOLDEN_KINDS (SPAN_REFILL + 1)
_Static_assert(GOLDEN_KINDS <= SPAN_KIND_COUNT, "kinds are only ever appended");

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t below(uint64_t n)
{
    return rnd() % n;
}

static const char *const fixed_names[] = {"memory_op",
                                          "grant_table_op",
                                          "dom0",
                                          "wake",
                                          "read",
                                          "data-in",
                                          "local",
                                          "x,y",
                                          "say \"hi\"",
                                          "tab\there",
                                          "line\nbreak",
                                          "caf\xc3\xa9",
                                          "bad\xff byte",
                                          "\xe2\x82\xac euro",
                                          "",
                                          "back\\slash"};
#define NFIXED (sizeof(fixed_names) / sizeof(fixed_names[0]))

static void sha256_hex(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ck_assert(ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL));
    static char buf[1 << 16];
    for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;)
        ck_assert(EVP_DigestUpdate(ctx, buf, n));
    unsigned char md[32];
    unsigned len = 0;
    ck_assert(EVP_DigestFinal_ex(ctx, md, &len) && len == 32);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* One request's way: H1..H8 over the places, with notifications as the hypervisor moves them. */
static void workload(struct trace *t, int rounds)
{
    uint16_t pl[6];
    pl[0] = trace_place(t, PLACE_CPU, 0, "cpu0");
    pl[1] = trace_place(t, PLACE_CPU, 1, "cpu1");
    pl[2] = trace_place(t, PLACE_DOMAIN, 0, "d0 dom0");
    pl[3] = trace_place(t, PLACE_DOMAIN, 1, "d1 \"front\",end");
    pl[4] = trace_place(t, PLACE_DEVICE, 70000, "sas_hba\n\x01\xc3\xa9\xff");
    pl[5] = trace_place(t, PLACE_LINK, -3, "wire");
    char changing[32]; /* one buffer, new contents: a writer must not cache by address alone */
    simtime_t now = 1000;
    for (int i = 0; i < rounds; i++) {
        uint64_t id =
            i % 97 == 0 ? 0xffffffffffff0000ull + (uint64_t)i : 0x100000000ull + (uint64_t)i;
        if (i == rounds / 2)
            now = (1ull << 49) + 12345; /* us_grid's wide path */
        if (i == rounds - 3)
            now = UINT64_MAX - (1ull << 40);
        simtime_t t0 = now;
        trace_hop(t, id, HOP_H1, pl[3], now);
        for (int hop = HOP_H2; hop <= HOP_H8; hop++) {
            now += below(5) ? below(4000000) : below(1000);
            int nspans = (int)below(4);
            for (int s = 0; s < nspans; s++) {
                const char *name;
                switch (below(4)) {
                case 0:
                    name = NULL;
                    break;
                case 1:
                    snprintf(changing, sizeof(changing), "sym_%u", (unsigned)below(40));
                    name = changing;
                    break;
                default:
                    name = fixed_names[below(NFIXED)];
                }
                simtime_t st = now - below(3000000) % (now - t0 + 1);
                simtime_t en = below(6) ? st + below(2000000) : st;
                int64_t arg =
                    below(10) ? (int64_t)below(5000) - 100 : (below(2) ? INT64_MIN : INT64_MAX);
                trace_span(t, &(struct trace_span){.req = below(5) ? id : HOPSIM_NOREQ,
                                                   .hop = below(3) ? HOP_NONE : (uint8_t)hop,
                                                   .kind = (uint16_t)(1 + below(GOLDEN_KINDS - 1)),
                                                   .place = pl[below(6)],
                                                   .start = st,
                                                   .end = en,
                                                   .name = name,
                                                   .arg = arg});
            }
            if (hop == HOP_H3 || hop == HOP_H7) {
                if (below(4) == 0) { /* suppressed: straight to H4 / H8 */
                    hop++;
                    trace_hop(t, id, hop, pl[2 + below(2)], now);
                    continue;
                }
                trace_hop_mark(t, id, hop - 1, pl[3], now, (uint32_t)below(3));
                trace_hop_advance_posted(t, pl[3], hop - 1, hop, pl[below(2)], now,
                                         (uint32_t)below(3));
                trace_hop_advance(t, pl[3], hop - 1, hop, pl[below(2)], now);
                continue;
            }
            trace_hop(t, id, hop, pl[below(6)], now);
        }
        if (i % 50 == 0)
            trace_counter(t, pl[below(6)], below(2) ? "guest.ok" : "q\"uote", now,
                          (int64_t)below(1000) - 500);
        if (i % 7 != 3) /* some stay in flight to the end */
            trace_done(t, id, now + below(100));
    }
}

/* Digests of the writer at 2722181 for workload(t, 3000). */
static const char *const want_json =
    "79a902e92ebe4719f492748493a428e1b6c77c9b2ecc49a1a2a0302f26d1feb2";
static const char *const want_csv =
    "3e903baacc35faf5a0d1e34106aab3b788b2f75df60bd5db96290047e26e082f";

START_TEST(test_golden)
{
    char json[128], csv[128], err[256] = "";
    snprintf(json, sizeof(json), "%s/g.json", tmpdir);
    snprintf(csv, sizeof(csv), "%s/g.csv", tmpdir);
    struct trace *t = trace_open(
        &(struct trace_opts){.json_path = json, .csv_path = csv, .title = "golden \"t\"\n"}, err,
        sizeof(err));
    ck_assert_msg(t, "%s", err);
    workload(t, 3000);
    ck_assert_int_eq(trace_close(t, err, sizeof(err)), 0);
    ck_assert_int_gt(file_size(json), 4 << 20); /* many buffer flushes */
    char hj[65], hc[65];
    sha256_hex(json, hj);
    sha256_hex(csv, hc);
    ck_assert_msg(!strcmp(hj, want_json) && !strcmp(hc, want_csv),
                  "trace bytes changed: JSON %s (want %s), CSV %s (want %s)", hj, want_json, hc,
                  want_csv);
    unlink(json);
    unlink(csv);
}
END_TEST

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hopsim-golden-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    Suite *s = suite_create("trace_golden");
    TCase *tc = tcase_create("golden");
    tcase_add_test(tc, test_golden);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rmdir(tmpdir);
    return failed ? 1 : 0;
}
