/*
 * Transactions of the xenstore model against hostile interleavings: the
 * reproducer of a domU that crashed the simulator (its transaction's copy
 * of a parent predated a child created outside it), and seeded random
 * request sequences from three domains, with transactions open across
 * each other's changes, after each of which the whole store is walked
 * (xs_check) and no request may have failed a connection.
 */
#include "xs_harness.h"

static void check_store(void)
{
    const char *bad = xs_check(xs);
    ck_assert_msg(!bad, "store invariant: %s", bad ? bad : "");
    ck_assert_uint_eq(xs_faults(xs), 0);
}

START_TEST(test_repro_rm_child_created_outside)
{
    /* TRANSACTION_START; WRITE co/ain/0/t in it; WRITE x outside; RM x in it */
    uint32_t tx = tx_start(&D[1]);
    write_ok(&D[1], tx, "co/ain/0/t", "1");
    write_ok(&D[1], 0, "x", "2");
    /* x does not exist in the transaction's view and its parent does: OK */
    expect_ok(one(&D[1], XS_RM, tx, "x"), XS_RM);
    check_store();
    /* the home changed under the transaction: the commit must retry */
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "EAGAIN");
    check_store();
    read_is(&D[1], 0, "x", "2");
    read_err(&D[1], 0, "co/ain/0/t", "ENOENT");
    /* the connection is intact and the retry goes through */
    tx = tx_start(&D[1]);
    write_ok(&D[1], tx, "co/ain/0/t", "1");
    expect_ok(one(&D[1], XS_RM, tx, "x"), XS_RM);
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
    read_is(&D[1], 0, "co/ain/0/t", "1");
    read_err(&D[1], 0, "x", "ENOENT");
    check_store();
}
END_TEST

START_TEST(test_tx_sees_one_snapshot)
{
    write_ok(&D[1], 0, "a/b", "old");
    uint32_t tx = tx_start(&D[1]);
    /* changes outside after the start are invisible inside, whatever is
       touched first */
    write_ok(&D[1], 0, "a/c", "new");
    expect_ok(one(&D[1], XS_RM, 0, "a/b"), XS_RM);
    read_is(&D[1], tx, "a/b", "old");
    read_err(&D[1], tx, "a/c", "ENOENT");
    expect_body(one(&D[1], XS_DIRECTORY, tx, "a"), XS_DIRECTORY, ARG("b"));
    /* removing a subtree that gained a child outside */
    expect_ok(one(&D[1], XS_RM, tx, "a"), XS_RM);
    check_store();
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "EAGAIN");
    read_is(&D[1], 0, "a/c", "new");
    read_err(&D[1], 0, "a/b", "ENOENT");
    check_store();
}
END_TEST

START_TEST(test_tx_recreate_outside)
{
    /* a node removed and re-created outside is a conflict, not a match */
    write_ok(&D[1], 0, "r", "1");
    uint32_t tx = tx_start(&D[1]);
    read_is(&D[1], tx, "r", "1");
    expect_ok(one(&D[1], XS_RM, 0, "r"), XS_RM);
    write_ok(&D[1], 0, "r", "1");
    write_ok(&D[1], tx, "s", "2");
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "EAGAIN");
    read_err(&D[1], 0, "s", "ENOENT");
    check_store();
}
END_TEST

/* ---- seeded random interleavings ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const paths[] = {
    "a",
    "a/b",
    "a/b/c",
    "a/d",
    "e",
    "e/f/g",
    "/local/domain/1/a",
    "/local/domain/2/a/b",
    "/local/domain/1/e/f",
    "/tool",
    "/q",
    "/q/r",
    "/local/domain",
    "/local/domain/1",
};

/* Every reply is a reply (never a dropped connection); returns its type. */
static uint32_t rand_request(struct tdom *d, uint32_t *tx, uint32_t *ntx)
{
    const char *p = paths[rnd(sizeof(paths) / sizeof(paths[0]))];
    uint32_t t = *ntx && rnd(3) ? tx[rnd(*ntx)] : 0;
    struct msg *m;
    switch (rnd(9)) {
    case 0:
    case 1:
        m = do_write(d, t, p, rnd(2) ? "v" : "");
        break;
    case 2:
        m = one(d, XS_MKDIR, t, p);
        break;
    case 3:
        m = one(d, XS_RM, t, p);
        break;
    case 4: {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "%s%c%c%d%c%c%d", p, 0, 'n', d->id, 0, "nrwb"[rnd(4)],
                         (int)rnd(3));
        m = rpc(d, XS_SET_PERMS, t, buf, (uint32_t)n + 1);
        break;
    }
    case 5:
        m = one(d, rnd(2) ? XS_READ : XS_DIRECTORY, t, p);
        break;
    case 6:
        if (*ntx < 4) {
            m = rpc(d, XS_TRANSACTION_START, 0, ARG(""));
            if (m->h.type == XS_TRANSACTION_START)
                tx[(*ntx)++] = (uint32_t)strtoul(m->body, NULL, 10);
            break;
        }
        /* fall through */
    default:
        if (!*ntx) {
            m = one(d, XS_READ, 0, p);
            break;
        }
        uint32_t i = rnd(*ntx);
        m = one(d, XS_TRANSACTION_END, tx[i], rnd(4) ? "T" : "F");
        tx[i] = tx[--*ntx];
        break;
    }
    ck_assert_uint_eq(d->ring->error, 0);
    if (m->h.type == XS_ERROR)
        ck_assert_str_ne(m->body, "EIO");
    return m->h.type;
}

START_TEST(test_random_interleavings)
{
    uint32_t tx[3][4], ntx[3] = {0, 0, 0};
    uint64_t commits = 0, conflicts = 0;
    rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)_i;
    for (int step = 0; step < 4000; step++) {
        int dom = (int)rnd(3);
        struct tdom *d = &D[dom];
        uint32_t before = ntx[dom];
        uint32_t type = rand_request(d, tx[dom], &ntx[dom]);
        if (ntx[dom] < before && type == XS_TRANSACTION_END)
            commits++;
        else if (ntx[dom] < before)
            conflicts++;
        check_store();
        /* keep watch events and stray replies from piling up */
        d->nq = 0;
    }
    ck_assert_uint_gt(commits, 0);
    ck_assert_uint_gt(conflicts, 0);
}
END_TEST

static Suite *xenstore_txn_suite(void)
{
    Suite *s = suite_create("xenstore-txn");
    TCase *tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_repro_rm_child_created_outside);
    tcase_add_test(tc, test_tx_sees_one_snapshot);
    tcase_add_test(tc, test_tx_recreate_outside);
    tcase_add_loop_test(tc, test_random_interleavings, 0, 8);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xenstore_txn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
