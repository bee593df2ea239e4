/*
 * Unit tests for the xenstore model (sim/xen/xenstore.c and xs_*.c).
 *
 * Every test drives the real wire protocol through xs_harness.h; the
 * toolstack side uses the xs_tool_* calls.
 */
#include "xs_harness.h"
/* ---- basic operations ---- */

START_TEST(test_write_read)
{
    write_ok(&D[1], 0, "/local/domain/1/a", "hello");
    read_is(&D[1], 0, "/local/domain/1/a", "hello");
    read_is(&D[1], 0, "a", "hello"); /* relative to /local/domain/1 */
    read_is(&D[0], 0, "/local/domain/1/a", "hello");
    write_ok(&D[1], 0, "a", "");
    read_is(&D[1], 0, "a", "");
    /* values are binary: embedded NULs survive */
    expect_ok(rpc(&D[1], XS_WRITE, 0, RAW("b\0x\0y")), XS_WRITE);
    expect_body(one(&D[1], XS_READ, 0, "b"), XS_READ, RAW("x\0y"));
}
END_TEST

START_TEST(test_read_errors)
{
    read_err(&D[1], 0, "/local/domain/1/missing", "ENOENT");
    read_err(&D[1], 0, "missing/deeper", "ENOENT");
    read_err(&D[1], 0, "//x", "EINVAL");
    read_err(&D[1], 0, "/local/domain/1/", "EINVAL");
    read_err(&D[1], 0, "/local/domain/1//a", "EINVAL");
    read_err(&D[1], 0, "/local/domain/1/a b", "EINVAL");
    read_err(&D[1], 0, "/local/domain/1/a.b", "EINVAL");
    read_err(&D[1], 0, "", "EINVAL");
    read_err(&D[1], 0, "@releaseDomain", "EINVAL");
    /* payload must be exactly one NUL-terminated string */
    expect_err(rpc(&D[1], XS_READ, 0, RAW("a")), "EINVAL");
    expect_err(rpc(&D[1], XS_READ, 0, RAW("a\0b\0")), "EINVAL");
    expect_err(rpc(&D[1], XS_READ, 0, NULL, 0), "EINVAL");
    /* relative paths are limited to XENSTORE_REL_PATH_MAX */
    char *longp = malloc(XENSTORE_REL_PATH_MAX + 2);
    memset(longp, 'a', XENSTORE_REL_PATH_MAX + 1);
    longp[XENSTORE_REL_PATH_MAX + 1] = '\0';
    read_err(&D[1], 0, longp, "EINVAL");
    longp[XENSTORE_REL_PATH_MAX] = '\0';
    read_err(&D[1], 0, longp, "ENOENT");
    free(longp);
    /* write with no NUL at all has no path */
    expect_err(rpc(&D[1], XS_WRITE, 0, RAW("abc")), "EINVAL");
}
END_TEST

START_TEST(test_write_creates_parents)
{
    write_ok(&D[1], 0, "x/y/z", "v");
    read_is(&D[1], 0, "x/y/z", "v");
    read_is(&D[1], 0, "x/y", "");
    expect_body(one(&D[1], XS_DIRECTORY, 0, "x"), XS_DIRECTORY, ARG("y"));
    /* created by dom1: owned by dom1, others get the parent's default */
    expect_body(one(&D[1], XS_GET_PERMS, 0, "x"), XS_GET_PERMS, ARG("n1"));
    expect_body(one(&D[1], XS_GET_PERMS, 0, "x/y/z"), XS_GET_PERMS, ARG("n1"));
}
END_TEST

START_TEST(test_mkdir)
{
    expect_ok(one(&D[1], XS_MKDIR, 0, "d/e"), XS_MKDIR);
    read_is(&D[1], 0, "d/e", "");
    write_ok(&D[1], 0, "d", "keep");
    expect_ok(one(&D[1], XS_MKDIR, 0, "d"), XS_MKDIR); /* exists: fine, value kept */
    read_is(&D[1], 0, "d", "keep");
    expect_err(one(&D[1], XS_MKDIR, 0, "d/"), "EINVAL");
    expect_err(one(&D[2], XS_MKDIR, 0, "/local/domain/1/d"), "EACCES");
}
END_TEST

START_TEST(test_rm)
{
    write_ok(&D[1], 0, "r/a/b", "1");
    write_ok(&D[1], 0, "r/c", "2");
    expect_ok(one(&D[1], XS_RM, 0, "r/a"), XS_RM);
    read_err(&D[1], 0, "r/a/b", "ENOENT");
    read_err(&D[1], 0, "r/a", "ENOENT");
    expect_body(one(&D[1], XS_DIRECTORY, 0, "r"), XS_DIRECTORY, ARG("c"));
    /* absent node whose parent exists: not an error (docs/misc/xenstore.txt) */
    expect_ok(one(&D[1], XS_RM, 0, "r/a"), XS_RM);
    /* absent parent too: ENOENT */
    expect_err(one(&D[1], XS_RM, 0, "r/a/b"), "ENOENT");
    expect_err(one(&D[0], XS_RM, 0, "/"), "EINVAL");
    expect_err(one(&D[1], XS_RM, 0, "/"), "EACCES");
    expect_err(one(&D[2], XS_RM, 0, "/local/domain/1/r"), "EACCES");
    read_is(&D[1], 0, "r/c", "2");
    ck_assert_int_eq(xs_tool_rm(xs, "/local/domain/1/r"), 0);
    read_err(&D[1], 0, "r", "ENOENT");
}
END_TEST

START_TEST(test_directory_sorted)
{
    write_ok(&D[1], 0, "c", "");
    write_ok(&D[1], 0, "a", "");
    write_ok(&D[1], 0, "b", "");
    write_ok(&D[1], 0, "B", "");
    expect_body(one(&D[1], XS_DIRECTORY, 0, "/local/domain/1"), XS_DIRECTORY, RAW("B\0a\0b\0c\0"));
    expect_body(one(&D[0], XS_DIRECTORY, 0, "/"), XS_DIRECTORY, RAW("local\0tool\0"));
    expect_err(one(&D[1], XS_DIRECTORY, 0, "nope"), "ENOENT");
    expect_err(one(&D[2], XS_DIRECTORY, 0, "/local/domain/1"), "EACCES");
    /* DIRECTORY_PART: generation, then the children from the offset, then an empty string */
    struct msg *m = rpc(&D[1], XS_DIRECTORY_PART, 0, RAW("/local/domain/1\0002\0"));
    ck_assert_uint_eq(m->h.type, XS_DIRECTORY_PART);
    size_t gl = strlen(m->body) + 1;
    ck_assert_uint_gt(gl, 1);
    ck_assert_uint_eq(m->h.len, gl + 7);
    ck_assert(memcmp(m->body + gl, "a\0b\0c\0\0", 7) == 0);
}
END_TEST

START_TEST(test_domain_path_and_misc)
{
    expect_body(one(&D[1], XS_GET_DOMAIN_PATH, 0, "5"), XS_GET_DOMAIN_PATH, ARG("/local/domain/5"));
    expect_err(one(&D[1], XS_GET_DOMAIN_PATH, 0, "x5"), "EINVAL");
    /* unknown types: ENOSYS, as xenstored and oxenstored answer */
    expect_err(rpc(&D[1], 999, 0, ARG("x")), "ENOSYS");
    expect_err(rpc(&D[1], XS_WATCH_EVENT, 0, ARG("x")), "ENOSYS");
    expect_err(rpc(&D[1], XS_ERROR, 0, ARG("x")), "ENOSYS");
    /* privileged operations */
    expect_err(one(&D[1], XS_INTRODUCE, 0, "3"), "EACCES");
    expect_err(one(&D[1], XS_IS_DOMAIN_INTRODUCED, 0, "2"), "EACCES");
    expect_err(one(&D[1], XS_DEBUG, 0, "print"), "EACCES");
    expect_err(one(&D[0], XS_DEBUG, 0, "print"), "EINVAL");
    expect_body(one(&D[0], XS_IS_DOMAIN_INTRODUCED, 0, "2"), XS_IS_DOMAIN_INTRODUCED, ARG("T"));
    expect_body(one(&D[0], XS_IS_DOMAIN_INTRODUCED, 0, "3"), XS_IS_DOMAIN_INTRODUCED, ARG("F"));
    expect_ok(one(&D[0], XS_RESUME, 0, "1"), XS_RESUME);
    expect_err(one(&D[0], XS_RESUME, 0, "3"), "ENOENT");
    expect_err(one(&D[1], XS_RESUME, 0, "1"), "EACCES");
    expect_err(one(&D[0], XS_INTRODUCE, 0, "3"), "ENOSYS");
}
END_TEST

START_TEST(test_tool_api)
{
    char buf[8];
    ck_assert_int_eq(xs_tool_write(xs, "/t/a/b", "hello world"), 0);
    ck_assert_int_eq(xs_tool_read(xs, "/t/a/b", buf, sizeof(buf)), 11);
    ck_assert_str_eq(buf, "hello w"); /* truncated, NUL-terminated */
    ck_assert_int_eq(xs_tool_read(xs, "/t/a", buf, sizeof(buf)), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_int_eq(xs_tool_read(xs, "/t/none", buf, sizeof(buf)), -ENOENT);
    ck_assert_int_eq(xs_tool_read(xs, "relative", buf, sizeof(buf)), -EINVAL);
    ck_assert_int_eq(xs_tool_write(xs, "/bad//path", "x"), -EINVAL);
    ck_assert_int_eq(xs_tool_mkdir(xs, "/t/m"), 0);
    ck_assert_int_eq(xs_tool_rm(xs, "/t"), 0);
    ck_assert_int_eq(xs_tool_read(xs, "/t/a/b", buf, sizeof(buf)), -ENOENT);
    ck_assert_int_eq(xs_tool_rm(xs, "/t/x"), -ENOENT);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1", 1, 'q', NULL, NULL, 0), -EINVAL);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/nope", 1, 'n', NULL, NULL, 0), -ENOENT);
    /* the guest sees what the toolstack wrote */
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/name", "guest1"), 0);
    read_is(&D[1], 0, "name", "guest1");
}
END_TEST

/* ---- permissions ---- */

START_TEST(test_perms_isolation)
{
    write_ok(&D[1], 0, "secret", "s");
    read_err(&D[2], 0, "/local/domain/1/secret", "EACCES");
    read_is(&D[0], 0, "/local/domain/1/secret", "s"); /* dom0 reads everything */
    read_is(&D[1], 0, "secret", "s");                 /* and the owner */
    expect_err(do_write(&D[2], 0, "/local/domain/1/secret", "x"), "EACCES");
    expect_err(do_write(&D[2], 0, "/local/domain/1/new", "x"), "EACCES");
    expect_err(do_write(&D[1], 0, "/local/domain/2/new", "x"), "EACCES");
    /* a missing node under an unreadable parent is EACCES, not ENOENT */
    read_err(&D[2], 0, "/local/domain/1/nothing", "EACCES");
    expect_err(one(&D[2], XS_GET_PERMS, 0, "/local/domain/1/secret"), "EACCES");
    /* the root belongs to dom0 */
    expect_err(do_write(&D[1], 0, "/top", "x"), "EACCES");
    write_ok(&D[0], 0, "/top", "x");
    read_err(&D[1], 0, "/top", "EACCES");
}
END_TEST

START_TEST(test_set_get_perms)
{
    write_ok(&D[1], 0, "a", "v");
    expect_body(one(&D[1], XS_GET_PERMS, 0, "a"), XS_GET_PERMS, ARG("n1"));
    expect_ok(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0n1\0r2\0")), XS_SET_PERMS);
    expect_body(one(&D[1], XS_GET_PERMS, 0, "a"), XS_GET_PERMS, RAW("n1\0r2\0"));
    read_is(&D[2], 0, "/local/domain/1/a", "v");
    expect_err(do_write(&D[2], 0, "/local/domain/1/a", "x"), "EACCES");
    /* only the owner (or dom0) may set perms, and a domU may not give a node away */
    expect_err(rpc(&D[2], XS_SET_PERMS, 0, RAW("/local/domain/1/a\0b2\0")), "EACCES");
    expect_err(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0n2\0")), "EPERM");
    expect_err(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0x1\0")), "EINVAL");
    expect_err(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0")), "EINVAL");
    expect_err(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0r\0")), "EINVAL");
    expect_err(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0n1\0r2\0r3\0r4\0r5\0r6\0")), "ENOSPC");
    /* write permission granted to dom2 */
    expect_ok(rpc(&D[1], XS_SET_PERMS, 0, RAW("a\0n1\0w2\0")), XS_SET_PERMS);
    write_ok(&D[2], 0, "/local/domain/1/a", "from2");
    read_err(&D[2], 0, "/local/domain/1/a", "EACCES");
    read_is(&D[1], 0, "a", "from2");
    /* dom0 can give a node away */
    expect_ok(rpc(&D[0], XS_SET_PERMS, 0, RAW("/local/domain/1/a\0r2\0")), XS_SET_PERMS);
    expect_body(one(&D[2], XS_GET_PERMS, 0, "/local/domain/1/a"), XS_GET_PERMS, ARG("r2"));
    read_is(&D[1], 0, "a", "from2"); /* default r */
    expect_err(do_write(&D[1], 0, "a", "x"), "EACCES");
}
END_TEST

START_TEST(test_new_node_perms)
{
    int doms[1] = {2};
    ck_assert_int_eq(xs_tool_mkdir(xs, "/local/domain/1/shared"), 0);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1/shared", 1, 'n', doms, "b", 1), 0);
    expect_body(one(&D[1], XS_GET_PERMS, 0, "shared"), XS_GET_PERMS, RAW("n1\0b2\0"));
    /* dom2 may create below (w on the parent) and owns what it creates */
    write_ok(&D[2], 0, "/local/domain/1/shared/x", "2");
    expect_body(one(&D[2], XS_GET_PERMS, 0, "/local/domain/1/shared/x"), XS_GET_PERMS,
                RAW("n2\0b2\0"));
    /* dom0 creates: the parent's perms copied as they are */
    write_ok(&D[0], 0, "/local/domain/1/shared/y", "0");
    expect_body(one(&D[1], XS_GET_PERMS, 0, "shared/y"), XS_GET_PERMS, RAW("n1\0b2\0"));
    /* dom1 created, dom1 owns */
    write_ok(&D[1], 0, "shared/z/deep", "1");
    expect_body(one(&D[1], XS_GET_PERMS, 0, "shared/z"), XS_GET_PERMS, RAW("n1\0b2\0"));
}
END_TEST

START_TEST(test_node_quota)
{
    char p[32];
    /* dom1 owns /local/domain/1: 1999 more nodes reach the 2000 quota */
    for (int i = 0; i < 1999; i++) {
        snprintf(p, sizeof(p), "q%d", i);
        write_ok(&D[1], 0, p, "");
    }
    expect_err(do_write(&D[1], 0, "one-more", ""), "ENOSPC");
    expect_err(do_write(&D[1], 0, "q0/child", ""), "ENOSPC");
    write_ok(&D[1], 0, "q0", "rewrite is fine");
    expect_ok(one(&D[1], XS_RM, 0, "q0"), XS_RM);
    write_ok(&D[1], 0, "one-more", "");
    /* dom0 is not limited */
    write_ok(&D[0], 0, "/local/domain/0/x", "");
}
END_TEST

/* ---- watches ---- */

START_TEST(test_watch_basic)
{
    watch(&D[1], "/local/domain/1/w", "tok");
    expect_no_event(&D[1]);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w/x", "1"), 0);
    expect_event(&D[1], "/local/domain/1/w/x", "tok");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w", "2"), 0);
    expect_event(&D[1], "/local/domain/1/w", "tok");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/wother", "3"), 0);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/other", "3"), 0);
    expect_no_event(&D[1]);
    /* the domain's own write: the event precedes the reply, as in xenstored */
    uint32_t id = send_msg(&D[1], XS_WRITE, 0, RAW("w/y\0v"));
    ck_assert_int_eq(pump(&D[1]), 0);
    ck_assert_uint_eq(D[1].nq, 2);
    ck_assert_uint_eq(D[1].q[0].h.type, XS_WATCH_EVENT);
    ck_assert_uint_eq(D[1].q[1].h.type, XS_WRITE);
    ck_assert_uint_eq(D[1].q[1].h.req_id, id);
    expect_event(&D[1], "/local/domain/1/w/y", "tok");
    struct msg m;
    ck_assert(take(&D[1], false, &m));
    expect_ok(&m, XS_WRITE);
    /* perms change and mkdir fire too */
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1/w", 1, 'r', NULL, NULL, 0), 0);
    expect_event(&D[1], "/local/domain/1/w", "tok");
    ck_assert_int_eq(xs_tool_mkdir(xs, "/local/domain/1/w/m"), 0);
    expect_event(&D[1], "/local/domain/1/w/m", "tok");
    /* duplicate watch */
    expect_err(two(&D[1], XS_WATCH, "/local/domain/1/w", "tok"), "EEXIST");
    expect_err(two(&D[1], XS_WATCH, "bad//path", "tok"), "EINVAL");
    expect_err(rpc(&D[1], XS_WATCH, 0, ARG("onlypath")), "EINVAL");
}
END_TEST

START_TEST(test_watch_relative)
{
    watch(&D[1], "dev", "t1");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/dev/vbd/state", "4"), 0);
    expect_event(&D[1], "dev/vbd/state", "t1");
    /* same path watched absolutely gets absolute events */
    watch(&D[1], "/local/domain/1/dev", "t2");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/dev/x", "1"), 0);
    expect_event(&D[1], "dev/x", "t1");
    expect_event(&D[1], "/local/domain/1/dev/x", "t2");
    expect_ok(two(&D[1], XS_UNWATCH, "dev", "t1"), XS_UNWATCH);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/dev/x", "2"), 0);
    expect_event(&D[1], "/local/domain/1/dev/x", "t2");
    expect_no_event(&D[1]);
}
END_TEST

START_TEST(test_watch_rm)
{
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w/x/y", "v"), 0);
    watch(&D[1], "/local/domain/1/w", "top");
    watch(&D[1], "/local/domain/1/w/x/y", "leaf");
    watch(&D[1], "/local/domain/1/w/x/y/nonexistent", "none");
    watch(&D[1], "/local/domain", "above");
    expect_ok(one(&D[1], XS_RM, 0, "w"), XS_RM);
    /* the removed node for watches on it and above, each removed descendant
       for watches set exactly on it */
    expect_event(&D[1], "/local/domain/1/w", "top");
    expect_event(&D[1], "/local/domain/1/w", "above");
    expect_event(&D[1], "/local/domain/1/w/x/y", "leaf");
    expect_no_event(&D[1]);
    /* rm of an absent node changes nothing and fires nothing */
    expect_ok(one(&D[1], XS_RM, 0, "w"), XS_RM);
    expect_no_event(&D[1]);
}
END_TEST

START_TEST(test_unwatch)
{
    watch(&D[1], "/local/domain/1/u", "t");
    expect_ok(two(&D[1], XS_UNWATCH, "/local/domain/1/u", "t"), XS_UNWATCH);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/u", "1"), 0);
    expect_no_event(&D[1]);
    expect_err(two(&D[1], XS_UNWATCH, "/local/domain/1/u", "t"), "ENOENT");
    expect_err(two(&D[1], XS_UNWATCH, "/local/domain/1/u", "other"), "ENOENT");
    /* RESET_WATCHES drops every watch */
    watch(&D[1], "/local/domain/1/u", "a");
    watch(&D[1], "/local/domain/1/v", "b");
    expect_ok(rpc(&D[1], XS_RESET_WATCHES, 0, ARG("")), XS_RESET_WATCHES);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/u", "2"), 0);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/v", "2"), 0);
    expect_no_event(&D[1]);
}
END_TEST

START_TEST(test_watch_permissions)
{
    write_ok(&D[1], 0, "priv", "0");
    /* dom2 may set a watch anywhere and gets the initial event... */
    watch(&D[2], "/local/domain/1/priv", "spy");
    /* ...but no event for a node it cannot read (nor read its parent) */
    write_ok(&D[1], 0, "priv", "1");
    expect_no_event(&D[2]);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/priv", "2"), 0);
    expect_no_event(&D[2]);
    /* granting read fires (the perms change) and later writes are seen */
    expect_ok(rpc(&D[1], XS_SET_PERMS, 0, RAW("priv\0n1\0r2\0")), XS_SET_PERMS);
    expect_event(&D[2], "/local/domain/1/priv", "spy");
    write_ok(&D[1], 0, "priv", "3");
    expect_event(&D[2], "/local/domain/1/priv", "spy");
    /* revoking: the change itself is still seen (old perms), then nothing */
    expect_ok(rpc(&D[1], XS_SET_PERMS, 0, RAW("priv\0n1\0")), XS_SET_PERMS);
    expect_event(&D[2], "/local/domain/1/priv", "spy");
    write_ok(&D[1], 0, "priv", "4");
    expect_no_event(&D[2]);
    /* dom0 always gets its events */
    watch(&D[0], "/local/domain/1/priv", "dom0");
    write_ok(&D[1], 0, "priv", "5");
    expect_event(&D[0], "/local/domain/1/priv", "dom0");
}
END_TEST

START_TEST(test_watch_parent_readable)
{
    /* as xenstored's watch_permitted: a readable parent is enough */
    int doms[1] = {2};
    ck_assert_int_eq(xs_tool_mkdir(xs, "/local/domain/1/pub"), 0);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1/pub", 1, 'n', doms, "r", 1), 0);
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/pub/x/y", "0"), 0);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1/pub/x", 1, 'n', NULL, NULL, 0), 0);
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/1/pub/x/y", 1, 'n', NULL, NULL, 0), 0);
    watch(&D[2], "/local/domain/1/pub", "p");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/pub/x", "1"), 0);
    expect_event(&D[2], "/local/domain/1/pub/x", "p");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/pub/x/y", "1"), 0);
    expect_no_event(&D[2]);
}
END_TEST

START_TEST(test_watch_queued_when_ring_full)
{
    char big[XENSTORE_RING_SIZE - sizeof(struct xsd_sockmsg) + 1];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/big", big), 0);
    watch(&D[1], "/local/domain/1/w", "t");
    clear_notes();
    /* the reply to this read fills rsp[] exactly; the guest does not consume yet */
    send_msg(&D[1], XS_READ, 0, ARG("big"));
    ck_assert_int_eq(xs_process(xs, 1, NULL), 0);
    struct xenstore_domain_interface *r = D[1].ring;
    ck_assert_uint_eq(r->rsp_prod - r->rsp_cons, XENSTORE_RING_SIZE);
    ck_assert_int_eq(notes[1], 1);
    clear_notes();
    uint32_t prod = r->rsp_prod;
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w", "fire"), 0);
    ck_assert_uint_eq(r->rsp_prod, prod); /* nothing fits: queued */
    ck_assert_int_eq(notes[1], 0);
    pull(&D[1]); /* the guest consumes the read reply */
    struct msg m;
    ck_assert(take(&D[1], false, &m));
    expect_body(&m, XS_READ, big, sizeof(big) - 1);
    expect_no_event(&D[1]);
    ck_assert_int_eq(xs_process(xs, 1, NULL), 0); /* flushes the queue first */
    ck_assert_int_eq(notes[1], 1);
    expect_event(&D[1], "/local/domain/1/w", "t");
}
END_TEST

START_TEST(test_watch_limit)
{
    char p[32];
    for (int i = 0; i < 128; i++) {
        snprintf(p, sizeof(p), "w%d", i);
        watch(&D[1], p, "t");
    }
    expect_err(two(&D[1], XS_WATCH, "w128", "t"), "E2BIG");
    expect_ok(two(&D[1], XS_UNWATCH, "w0", "t"), XS_UNWATCH);
    watch(&D[1], "w128", "t");
}
END_TEST

START_TEST(test_special_watches)
{
    watch(&D[0], "@releaseDomain", "rel");
    watch(&D[0], "@introduceDomain", "intro");
    watch(&D[2], "@releaseDomain", "rel2"); /* initial event even for a domU */
    watch(&D[1], "/local/domain/1/w", "t");
    clear_notes();
    xs_release(xs, 1);
    expect_event(&D[0], "@releaseDomain", "rel");
    expect_no_event(&D[0]);
    expect_no_event(&D[2]); /* special node perms: dom0 only by default */
    ck_assert_int_eq(notes[0], 1);
    ck_assert_int_eq(notes[2], 0);
    /* the released domain is not served and gets no more events */
    uint32_t prod = D[1].ring->rsp_prod;
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w", "x"), 0);
    ck_assert_uint_eq(D[1].ring->rsp_prod, prod);
    ck_assert_int_eq(notes[1], 0);
    ck_assert_int_eq(xs_process(xs, 1, NULL), -ENOENT);
    /* re-introduce: @introduceDomain fires, old watches are gone */
    memset(D[1].ring, 0, sizeof(*D[1].ring));
    D[1].rxlen = D[1].nq = 0;
    ck_assert_int_eq(xs_introduce(xs, 1, D[1].ring), 0);
    ck_assert_int_eq(xs_introduce(xs, 1, D[1].ring), -EEXIST);
    expect_event(&D[0], "@introduceDomain", "intro");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w", "y"), 0);
    expect_no_event(&D[1]);
    /* granting read on the special node lets dom2 see releases */
    int doms[1] = {2};
    ck_assert_int_eq(xs_tool_set_perms(xs, "@releaseDomain", 0, 'n', doms, "r", 1), 0);
    expect_err(rpc(&D[2], XS_SET_PERMS, 0, RAW("@releaseDomain\0b2\0")), "EACCES");
    xs_release(xs, 1);
    expect_event(&D[2], "@releaseDomain", "rel2");
    expect_event(&D[0], "@releaseDomain", "rel");
    /* dom0 may release over its ring too */
    ck_assert_int_eq(xs_introduce(xs, 3, D[3].ring), 0);
    expect_event(&D[0], "@introduceDomain", "intro");
    expect_ok(one(&D[0], XS_RELEASE, 0, "3"), XS_RELEASE);
    expect_event(&D[0], "@releaseDomain", "rel");
    expect_err(one(&D[0], XS_RELEASE, 0, "3"), "ENOENT");
}
END_TEST

START_TEST(test_notify_domid)
{
    watch(&D[2], "/local/domain/2/n", "t");
    clear_notes();
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/2/n", "1"), 0);
    ck_assert_int_eq(notes[2], 1);
    ck_assert_int_eq(notes[0] + notes[1] + notes[3] + notes_other, 0);
    expect_event(&D[2], "/local/domain/2/n", "t");
    clear_notes();
    /* dom1's request: dom1 notified for its reply, dom2 for the event */
    ck_assert_int_eq(xs_tool_set_perms(xs, "/local/domain/2/n", 2, 'n', (int[]){1}, "b", 1), 0);
    expect_event(&D[2], "/local/domain/2/n", "t");
    clear_notes();
    write_ok(&D[1], 0, "/local/domain/2/n", "2");
    ck_assert_int_eq(notes[1], 1);
    ck_assert_int_eq(notes[2], 1);
    ck_assert_int_eq(notes[0], 0);
    expect_event(&D[2], "/local/domain/2/n", "t");
    /* nothing written, nobody notified */
    clear_notes();
    ck_assert_int_eq(xs_process(xs, 1, NULL), 0);
    ck_assert_int_eq(notes[0] + notes[1] + notes[2] + notes[3], 0);
}
END_TEST

START_TEST(test_counts)
{
    watch(&D[0], "/local/domain/1", "t");
    send_msg(&D[1], XS_WRITE, 0, RAW("a\0v"));
    send_msg(&D[1], XS_READ, 0, ARG("a"));
    send_msg(&D[1], XS_READ, 0, ARG("nope"));
    struct xs_counts c = {0};
    ck_assert_int_eq(xs_process(xs, 1, &c), 0);
    ck_assert_uint_eq(c.requests, 3);
    ck_assert_uint_eq(c.errors, 1);
    ck_assert_uint_eq(c.watch_events, 1);
    expect_event(&D[0], "/local/domain/1/a", "t");
    pull(&D[1]);
    ck_assert_uint_eq(D[1].nq, 3);
    expect_ok(&D[1].q[0], XS_WRITE);
    expect_body(&D[1].q[1], XS_READ, RAW("v"));
    expect_err(&D[1].q[2], "ENOENT");
    ck_assert_int_eq(xs_process(xs, 9, &c), -ENOENT);
}
END_TEST

/* ---- transactions ---- */

START_TEST(test_tx_isolation_commit)
{
    watch(&D[0], "/local/domain/1", "w");
    uint32_t tx = tx_start(&D[1]);
    write_ok(&D[1], tx, "t/a", "1");
    read_is(&D[1], tx, "t/a", "1"); /* sees its own writes */
    expect_body(one(&D[1], XS_DIRECTORY, tx, "t"), XS_DIRECTORY, ARG("a"));
    read_err(&D[1], 0, "t/a", "ENOENT"); /* others do not */
    read_err(&D[0], 0, "/local/domain/1/t", "ENOENT");
    expect_no_event(&D[0]); /* events wait for the commit */
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
    read_is(&D[0], 0, "/local/domain/1/t/a", "1");
    expect_event(&D[0], "/local/domain/1/t/a", "w");
    expect_no_event(&D[0]);
    /* the id is gone */
    read_err(&D[1], tx, "t/a", "ENOENT");
    /* rm inside a transaction */
    tx = tx_start(&D[1]);
    expect_ok(one(&D[1], XS_RM, tx, "t"), XS_RM);
    read_err(&D[1], tx, "t/a", "ENOENT");
    read_is(&D[1], 0, "t/a", "1");
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
    read_err(&D[1], 0, "t", "ENOENT");
    expect_event(&D[0], "/local/domain/1/t", "w");
    expect_no_event(&D[0]);
}
END_TEST

START_TEST(test_tx_abort)
{
    uint32_t tx = tx_start(&D[1]);
    write_ok(&D[1], tx, "ab", "1");
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "F"), XS_TRANSACTION_END);
    read_err(&D[1], 0, "ab", "ENOENT");
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "ENOENT");
}
END_TEST

START_TEST(test_tx_conflict)
{
    write_ok(&D[1], 0, "c", "0");
    uint32_t tx = tx_start(&D[1]);
    read_is(&D[1], tx, "c", "0");
    write_ok(&D[0], 0, "/local/domain/1/c", "1"); /* another domain writes what tx read */
    read_is(&D[1], tx, "c", "0");                 /* snapshot of the first access */
    write_ok(&D[1], tx, "d", "x");
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "EAGAIN");
    read_err(&D[1], 0, "d", "ENOENT"); /* discarded */
    read_is(&D[1], 0, "c", "1");
    read_err(&D[1], tx, "c", "ENOENT"); /* and ended */
    /* a node read as absent and created meanwhile is a conflict too */
    tx = tx_start(&D[1]);
    read_err(&D[1], tx, "n", "ENOENT");
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/n", "x"), 0);
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "EAGAIN");
    /* unrelated writes do not conflict */
    tx = tx_start(&D[1]);
    read_is(&D[1], tx, "c", "1");
    write_ok(&D[2], 0, "/local/domain/2/z", "z");
    write_ok(&D[1], tx, "c", "2");
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
    read_is(&D[1], 0, "c", "2");
}
END_TEST

START_TEST(test_tx_errors_and_limit)
{
    read_err(&D[1], 99, "c", "ENOENT"); /* unknown tx_id */
    expect_err(one(&D[1], XS_TRANSACTION_END, 0, "T"), "ENOENT");
    uint32_t tx = tx_start(&D[1]);
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "X"), "EINVAL");
    expect_err(rpc(&D[1], XS_TRANSACTION_START, tx, ARG("")), "EBUSY");
    /* transaction ids are per domain */
    read_err(&D[2], tx, "/local/domain/2", "ENOENT");
    uint32_t ids[16];
    ids[0] = tx;
    for (int i = 1; i < 16; i++) {
        ids[i] = tx_start(&D[1]);
        ck_assert_uint_ne(ids[i], ids[i - 1]);
    }
    expect_err(rpc(&D[1], XS_TRANSACTION_START, 0, ARG("")), "ENOSPC");
    expect_ok(one(&D[1], XS_TRANSACTION_END, ids[3], "F"), XS_TRANSACTION_END);
    tx_start(&D[1]);
    /* watches ignore tx_id */
    expect_ok(rpc(&D[1], XS_WATCH, 12345, RAW("/local/domain/1\0t\0")), XS_WATCH);
    expect_event(&D[1], "/local/domain/1", "t");
}
END_TEST

/* ---- the ring ---- */

START_TEST(test_ring_wrap)
{
    /* indices near 2^32: messages wrap the ring end and the index space */
    struct xenstore_domain_interface *r = D[3].ring;
    r->req_cons = r->req_prod = r->rsp_cons = r->rsp_prod = 0xFFFFFFF9u;
    make_home(3);
    ck_assert_int_eq(xs_introduce(xs, 3, r), 0);
    write_ok(&D[3], 0, "wrapped", "across the end");
    ck_assert_uint_lt(r->req_prod, 0x100); /* crossed 2^32 */
    ck_assert_uint_lt(r->rsp_prod, 0x100);
    read_is(&D[3], 0, "wrapped", "across the end");
    ck_assert_uint_eq(r->req_cons, r->req_prod);
    ck_assert_uint_eq(r->error, XENSTORE_ERROR_NONE);
}
END_TEST

START_TEST(test_ring_streaming)
{
    /* payloads larger than the ring stream through it both ways */
    char v[3000];
    for (size_t i = 0; i < sizeof(v); i++)
        v[i] = (char)('a' + i % 26);
    expect_ok(do_write_n(&D[1], 0, "big", v, sizeof(v)), XS_WRITE);
    expect_body(one(&D[1], XS_READ, 0, "big"), XS_READ, v, sizeof(v));
    /* a request split across xs_process calls: header now, payload later */
    struct xsd_sockmsg h = {XS_READ, 77, 0, 4};
    guest_put(&D[1], &h, sizeof(h));
    guest_put(&D[1], "bi", 2);
    ck_assert_int_eq(pump(&D[1]), 0);
    ck_assert_uint_eq(D[1].nq, 0);
    guest_put(&D[1], "g", 2);
    ck_assert_int_eq(pump(&D[1]), 0);
    for (int i = 0; i < 8 && D[1].nq == 0; i++)
        pump(&D[1]);
    struct msg m;
    ck_assert(take(&D[1], false, &m));
    ck_assert_uint_eq(m.h.req_id, 77);
    expect_body(&m, XS_READ, v, sizeof(v));
    /* a full 4096-byte payload is accepted */
    char *full = malloc(XENSTORE_PAYLOAD_MAX);
    memset(full, 'z', XENSTORE_PAYLOAD_MAX);
    memcpy(full, "f", 2);
    expect_ok(rpc(&D[1], XS_WRITE, 0, full, XENSTORE_PAYLOAD_MAX), XS_WRITE);
    free(full);
}
END_TEST

START_TEST(test_ring_oversize_len)
{
    watch(&D[1], "/local/domain/1/w", "t");
    struct xenstore_domain_interface *r = D[1].ring;
    struct xsd_sockmsg h = {XS_READ, 1, 0, XENSTORE_PAYLOAD_MAX + 1};
    guest_put(&D[1], &h, sizeof(h));
    uint32_t prod = r->rsp_prod;
    ck_assert_int_eq(xs_process(xs, 1, NULL), -EPROTO);
    ck_assert_uint_eq(r->error, XENSTORE_ERROR_PROTO);
    ck_assert_uint_eq(r->rsp_prod, prod); /* no reply */
    ck_assert_int_eq(xs_process(xs, 1, NULL), -EPROTO);
    /* its watches are gone; other domains are served as before */
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/1/w", "x"), 0);
    ck_assert_uint_eq(r->rsp_prod, prod);
    write_ok(&D[2], 0, "fine", "yes");
    read_is(&D[2], 0, "fine", "yes");
    ck_assert_uint_eq(D[2].ring->error, XENSTORE_ERROR_NONE);
    /* the toolstack can still release it */
    xs_release(xs, 1);
    ck_assert_int_eq(xs_process(xs, 1, NULL), -ENOENT);
}
END_TEST

START_TEST(test_ring_bad_index)
{
    struct xenstore_domain_interface *r = D[1].ring;
    r->req_prod = r->req_cons + XENSTORE_RING_SIZE + 1;
    ck_assert_int_eq(xs_process(xs, 1, NULL), -EPROTO);
    ck_assert_uint_eq(r->error, XENSTORE_ERROR_RINGIDX);
    /* a corrupt response index is caught when output is written */
    struct xenstore_domain_interface *r2 = D[2].ring;
    watch(&D[2], "/local/domain/2/w", "t");
    r2->rsp_cons = r2->rsp_prod + 5; /* consumer ahead of producer */
    ck_assert_int_eq(xs_tool_write(xs, "/local/domain/2/w", "x"), 0);
    ck_assert_uint_eq(r2->error, XENSTORE_ERROR_RINGIDX);
    ck_assert_int_eq(xs_process(xs, 2, NULL), -EPROTO);
    write_ok(&D[0], 0, "/still", "served");
    ck_assert_int_eq(xs_introduce(xs, -1, r), -EINVAL);
    ck_assert_int_eq(xs_introduce(xs, 4, NULL), -EINVAL);
}
END_TEST

START_TEST(test_ring_backpressure)
{
    /* many requests while the guest reads nothing: the store stops reading
       requests once replies are queued, and resumes as the guest drains */
    char v[101];
    memset(v, 'v', 100);
    v[100] = '\0';
    write_ok(&D[1], 0, "v", v);
    for (int i = 0; i < 50; i++) /* 50 * 18 bytes: fits req[] */
        send_msg(&D[1], XS_READ, 0, ARG("v"));
    uint32_t first = D[1].next_req - 49;
    ck_assert_int_eq(xs_process(xs, 1, NULL), 0);
    struct xenstore_domain_interface *r = D[1].ring;
    ck_assert_uint_ne(r->req_cons, r->req_prod);
    ck_assert_uint_eq(r->rsp_prod - r->rsp_cons, XENSTORE_RING_SIZE);
    for (int i = 0; i < 40 && D[1].nq < 50; i++)
        pump(&D[1]);
    ck_assert_uint_eq(D[1].nq, 50);
    ck_assert_uint_eq(r->req_cons, r->req_prod);
    for (uint32_t i = 0; i < 50; i++) {
        ck_assert_uint_eq(D[1].q[i].h.req_id, first + i);
        expect_body(&D[1].q[i], XS_READ, v, 100);
    }
}
END_TEST

START_TEST(test_directory_part_paging)
{
    /* 60 children of 100 bytes: DIRECTORY is E2BIG, DIRECTORY_PART pages it */
    char name[128], expect[60 * 101];
    uint32_t elen = 0;
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof(name), "d/%02d", i);
        memset(name + 4, 'x', 98);
        name[102] = '\0';
        char abs[160];
        snprintf(abs, sizeof(abs), "/local/domain/1/%s", name);
        ck_assert_int_eq(xs_tool_mkdir(xs, abs), 0);
        memcpy(expect + elen, name + 2, 101);
        elen += 101;
    }
    expect_err(one(&D[1], XS_DIRECTORY, 0, "d"), "E2BIG");
    char got[60 * 101], req[32], gen0[24] = "";
    uint32_t glen = 0, off = 0;
    for (int pages = 0;; pages++) {
        ck_assert_int_lt(pages, 4);
        int n = snprintf(req, sizeof(req), "d%c%u", '\0', off);
        struct msg *m = rpc(&D[1], XS_DIRECTORY_PART, 0, req, (uint32_t)n + 1);
        ck_assert_uint_eq(m->h.type, XS_DIRECTORY_PART);
        ck_assert_uint_le(m->h.len, XENSTORE_PAYLOAD_MAX);
        if (pages == 0)
            strcpy(gen0, m->body);
        ck_assert_str_eq(m->body, gen0); /* unchanged node, same generation */
        uint32_t gl = (uint32_t)strlen(m->body) + 1, len = m->h.len - gl;
        bool last = len >= 2 && m->body[gl + len - 1] == '\0' && m->body[gl + len - 2] == '\0';
        if (last)
            len--;
        memcpy(got + glen, m->body + gl, len);
        glen += len;
        off += len;
        if (last)
            break;
    }
    ck_assert_uint_eq(glen, elen);
    ck_assert(memcmp(got, expect, elen) == 0);
}
END_TEST

START_TEST(test_watch_root)
{
    watch(&D[0], "/", "all");
    write_ok(&D[1], 0, "x", "1");
    expect_event(&D[0], "/local/domain/1/x", "all");
    ck_assert_int_eq(xs_tool_rm(xs, "/local/domain/1/x"), 0);
    expect_event(&D[0], "/local/domain/1/x", "all");
    /* special events match only watches on their own name */
    xs_release(xs, 2);
    expect_no_event(&D[0]);
}
END_TEST

START_TEST(test_tx_perms_and_limit)
{
    watch(&D[2], "/local/domain/1/p", "w2");
    write_ok(&D[1], 0, "p", "v");
    expect_no_event(&D[2]);
    uint32_t tx = tx_start(&D[1]);
    expect_ok(rpc(&D[1], XS_SET_PERMS, tx, RAW("p\0n1\0r2\0")), XS_SET_PERMS);
    expect_body(one(&D[1], XS_GET_PERMS, tx, "p"), XS_GET_PERMS, RAW("n1\0r2\0"));
    read_err(&D[2], 0, "/local/domain/1/p", "EACCES"); /* not yet committed */
    expect_no_event(&D[2]);
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
    expect_event(&D[2], "/local/domain/1/p", "w2");
    read_is(&D[2], 0, "/local/domain/1/p", "v");
    /* a domU transaction may touch at most 1024 nodes; it can still be ended */
    tx = tx_start(&D[1]);
    char p[32];
    int i;
    struct msg *m = NULL;
    for (i = 0; i < 1100; i++) {
        snprintf(p, sizeof(p), "n%d", i);
        m = one(&D[1], XS_READ, tx, p);
        if (m->h.type == XS_ERROR && strcmp(m->body, "ENOSPC") == 0)
            break;
        expect_err(m, "ENOENT");
    }
    ck_assert_int_ge(i, 1000);
    ck_assert_int_lt(i, 1100);
    expect_ok(one(&D[1], XS_TRANSACTION_END, tx, "F"), XS_TRANSACTION_END);
    /* dom0 has no such limit */
    tx = tx_start(&D[0]);
    for (i = 0; i < 1100; i++) {
        snprintf(p, sizeof(p), "/n%d", i);
        expect_err(one(&D[0], XS_READ, tx, p), "ENOENT");
    }
    expect_ok(one(&D[0], XS_TRANSACTION_END, tx, "T"), XS_TRANSACTION_END);
}
END_TEST

START_TEST(test_tx_quota_at_commit)
{
    /* creations in a transaction count against the quota at commit */
    char p[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(p, sizeof(p), "a/%d", i); /* "a" plus 1000 children */
        write_ok(&D[1], 0, p, "");
    }
    uint32_t tx = tx_start(&D[1]);
    for (int i = 0; i < 997; i++) { /* home + 1001 + "b" + 997 = 2000: allowed */
        snprintf(p, sizeof(p), "b/%d", i);
        write_ok(&D[1], tx, p, "");
    }
    expect_err(do_write(&D[1], tx, "b/more", ""), "ENOSPC");
    write_ok(&D[1], 0, "c", ""); /* outside: 2001 after commit */
    expect_err(one(&D[1], XS_TRANSACTION_END, tx, "T"), "ENOSPC");
    read_err(&D[1], 0, "b", "ENOENT");
    read_is(&D[1], 0, "c", "");
}
END_TEST

static Suite *xenstore_suite(void)
{
    Suite *s = suite_create("xenstore");
    struct {
        const char *name;
        const TTest *fn;
    } tests[] = {
        {"ops", test_write_read},
        {"ops", test_read_errors},
        {"ops", test_write_creates_parents},
        {"ops", test_mkdir},
        {"ops", test_rm},
        {"ops", test_directory_sorted},
        {"ops", test_directory_part_paging},
        {"ops", test_domain_path_and_misc},
        {"ops", test_tool_api},
        {"perms", test_perms_isolation},
        {"perms", test_set_get_perms},
        {"perms", test_new_node_perms},
        {"perms", test_node_quota},
        {"watch", test_watch_basic},
        {"watch", test_watch_relative},
        {"watch", test_watch_rm},
        {"watch", test_unwatch},
        {"watch", test_watch_permissions},
        {"watch", test_watch_parent_readable},
        {"watch", test_watch_queued_when_ring_full},
        {"watch", test_watch_limit},
        {"watch", test_special_watches},
        {"watch", test_notify_domid},
        {"watch", test_counts},
        {"watch", test_watch_root},
        {"tx", test_tx_isolation_commit},
        {"tx", test_tx_abort},
        {"tx", test_tx_conflict},
        {"tx", test_tx_errors_and_limit},
        {"tx", test_tx_perms_and_limit},
        {"tx", test_tx_quota_at_commit},
        {"ring", test_ring_wrap},
        {"ring", test_ring_streaming},
        {"ring", test_ring_oversize_len},
        {"ring", test_ring_bad_index},
        {"ring", test_ring_backpressure},
    };
    TCase *tc = NULL;
    const char *cur = NULL;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
        if (!cur || strcmp(cur, tests[i].name) != 0) {
            cur = tests[i].name;
            tc = tcase_create(cur);
            tcase_add_checked_fixture(tc, setup, teardown);
            tcase_set_timeout(tc, 60);
            suite_add_tcase(s, tc);
        }
        tcase_add_test(tc, tests[i].fn);
    }
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(xenstore_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
