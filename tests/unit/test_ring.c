/*
 * The io/ring.h rules the block path relies on, exercised with Xen's own
 * macros on a shared page in host memory exactly as blkfront and blkback
 * use them: 32 slots per 4 KiB blkif ring, batching with
 * RING_PUSH_*_AND_CHECK_NOTIFY (a notify only when the other side asked
 * for one), RING_FINAL_CHECK_FOR_* re-arming, and the producer-overflow
 * check that lets a backend detect a frontend whose index jumped.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/blkif.h>
#include <xen/io/ring.h>

static void *page;
static blkif_front_ring_t front;
static blkif_back_ring_t back;

static void setup(void)
{
    page = aligned_alloc(4096, 4096);
    memset(page, 0, 4096);
    blkif_sring_t *s = page;
    SHARED_RING_INIT(s);
    FRONT_RING_INIT(&front, s, 4096);
    BACK_RING_INIT(&back, s, 4096);
}

static void teardown(void)
{
    free(page);
}

static void put_req(uint64_t id)
{
    blkif_request_t *r = RING_GET_REQUEST(&front, front.req_prod_pvt);
    memset(r, 0, sizeof(*r));
    r->operation = BLKIF_OP_READ;
    r->id = id;
    r->nr_segments = 1;
    front.req_prod_pvt++;
}

START_TEST(ring_has_32_slots)
{
    ck_assert_uint_eq(RING_SIZE(&front), 32);
    ck_assert_uint_eq(sizeof(blkif_request_t), 112);
    for (int i = 0; i < 32; i++)
        put_req((uint64_t)i);
    ck_assert(RING_FULL(&front));
}
END_TEST

START_TEST(batching_notifies_once_then_suppresses)
{
    int notify;
    /* the backend is idle and waiting: rsp side armed req_event = 1 at init */
    put_req(1);
    put_req(2);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    ck_assert_int_eq(notify, 1); /* one notify covers the whole batch */
    /* backend consumes without re-arming yet: more requests need no notify */
    put_req(3);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    ck_assert_int_eq(notify, 0);
    int more = 0, seen = 0;
    do {
        while (RING_HAS_UNCONSUMED_REQUESTS(&back)) {
            blkif_request_t r;
            RING_COPY_REQUEST(&back, back.req_cons, &r);
            back.req_cons++;
            ck_assert_uint_eq(r.id, (uint64_t)++seen);
        }
        RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
    } while (more);
    ck_assert_int_eq(seen, 3);
    /* re-armed: the next request must notify again */
    put_req(4);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    ck_assert_int_eq(notify, 1);
}
END_TEST

START_TEST(responses_notify_when_frontend_waits)
{
    int notify, more;
    put_req(9);
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
    back.req_cons++;
    blkif_response_t *rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt);
    rsp->id = 9;
    rsp->operation = BLKIF_OP_READ;
    rsp->status = BLKIF_RSP_OKAY;
    back.rsp_prod_pvt++;
    RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
    ck_assert_int_eq(notify, 1); /* rsp_event starts at 1 */
    ck_assert(RING_HAS_UNCONSUMED_RESPONSES(&front));
    ck_assert_uint_eq(RING_GET_RESPONSE(&front, front.rsp_cons)->id, 9);
    front.rsp_cons++;
    RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
    ck_assert_int_eq(more, 0);
}
END_TEST

START_TEST(producer_jump_is_detected)
{
    blkif_sring_t *s = page;
    put_req(1);
    RING_PUSH_REQUESTS(&front);
    ck_assert(!RING_REQUEST_PROD_OVERFLOW(&back, s->req_prod));
    s->req_prod += 1000; /* a hostile frontend */
    ck_assert(RING_REQUEST_PROD_OVERFLOW(&back, s->req_prod));
    s->req_prod = back.req_cons + RING_SIZE(&back);
    ck_assert(!RING_REQUEST_PROD_OVERFLOW(&back, s->req_prod)); /* exactly full is legal */
}
END_TEST

int main(void)
{
    Suite *su = suite_create("ring");
    TCase *tc = tcase_create("blkif");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ring_has_32_slots);
    tcase_add_test(tc, batching_notifies_once_then_suppresses);
    tcase_add_test(tc, responses_notify_when_frontend_waits);
    tcase_add_test(tc, producer_jump_is_detected);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
