/*
 * Unit tests for the view (sim/view/): the trace model fed live from the
 * trace listener equals the model replayed from the JSON the same trace
 * wrote; where-is-each-request queries, next-event stepping, per-request
 * ordering, the histogram bins; time parsing; and an off-screen frame whose
 * pixels show each hop's colour where the layout puts the span and the
 * in-flight markers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <SDL2/SDL.h>

#include "trace.h"
#include "vdraw.h"
#include "view.h"
#include "vmodel.h"

#define US 1000000ull

static void listen_model(void *ctx, const struct trace_rec *r)
{
    ck_assert_int_eq(vmodel_add(ctx, r), 0);
}

/*
 * Three places; request 1 goes H1@dom1 [0,10us) H2@dom1 [10,12) H3@cpu0
 * [12,20) H4@dom0 [20,30) H5@disk [30,80); request 2 starts at 25 us in H1
 * and is left open; a sub-span and a counter.
 */
static void drive(struct trace *t)
{
    uint16_t cpu = trace_place(t, PLACE_CPU, 0, "cpu0");
    uint16_t d0 = trace_place(t, PLACE_DOMAIN, 0, "dom0");
    uint16_t d1 = trace_place(t, PLACE_DOMAIN, 1, "dom1");
    uint16_t disk = trace_place(t, PLACE_DEVICE, 0, "disk");
    trace_hop(t, 1, HOP_H1, d1, 0);
    trace_hop(t, 1, HOP_H2, d1, 10 * US);
    trace_span(t, &(struct trace_span){.req = 1,
                                       .kind = SPAN_HYPERCALL,
                                       .place = d1,
                                       .start = 11 * US,
                                       .end = 12 * US,
                                       .name = "event_channel_op",
                                       .arg = 4});
    trace_hop(t, 1, HOP_H3, cpu, 12 * US);
    trace_hop(t, 1, HOP_H4, d0, 20 * US);
    trace_hop(t, 2, HOP_H1, d1, 25 * US);
    trace_hop(t, 1, HOP_H5, disk, 30 * US);
    trace_counter(t, d1, "guest_value", 40 * US, 7);
    trace_done(t, 1, 80 * US);
}

static struct vmodel live;
static char json_path[64];

static void setup(void)
{
    snprintf(json_path, sizeof(json_path), "/tmp/hopsim-view-XXXXXX");
    int fd = mkstemp(json_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    vmodel_init(&live, "t");
    char err[256];
    struct trace_opts o = {
        .json_path = json_path, .title = "t", .listen = listen_model, .listen_ctx = &live};
    struct trace *t = trace_open(&o, err, sizeof(err));
    ck_assert_ptr_nonnull(t);
    drive(t);
    ck_assert_int_eq(trace_close(t, err, sizeof(err)), 0);
}

static void teardown(void)
{
    vmodel_fini(&live);
    unlink(json_path);
}

START_TEST(live_equals_replay)
{
    struct vmodel rep;
    char err[256];
    vmodel_init(&rep, NULL);
    ck_assert_int_eq(vmodel_load_json(&rep, json_path, err, sizeof(err)), 0);
    ck_assert_str_eq(rep.title, "t");
    ck_assert_uint_eq(rep.nplaces, live.nplaces);
    for (uint32_t i = 0; i < rep.nplaces; i++) {
        ck_assert_str_eq(rep.places[i].name, live.places[i].name);
        ck_assert_int_eq(rep.places[i].kind, live.places[i].kind);
        ck_assert_int_eq(rep.places[i].id, live.places[i].id);
    }
    /* every closed hop span of the live model is in the replay, exactly */
    size_t closed = 0;
    for (size_t i = 0; i < live.nhops; i++) {
        const struct vspan *l = &live.hops[i];
        if (l->end == VM_OPEN)
            continue;
        closed++;
        bool found = false;
        for (size_t j = 0; j < rep.nhops && !found; j++) {
            const struct vspan *r = &rep.hops[j];
            found = r->req == l->req && r->hop == l->hop && r->place == l->place &&
                    r->start == l->start && r->end == l->end;
        }
        ck_assert_msg(found, "live hop span %zu (H%d) missing from the replay", i, l->hop);
    }
    ck_assert_uint_eq(closed, 5);
    ck_assert_uint_eq(rep.nhops, 5); /* the open span is not in the file */
    ck_assert_uint_eq(rep.nsubs, live.nsubs);
    for (size_t i = 0; i < rep.nsubs; i++) {
        ck_assert_uint_eq(rep.subs[i].start, live.subs[i].start);
        ck_assert_uint_eq(rep.subs[i].end, live.subs[i].end);
        ck_assert_int_eq(rep.subs[i].kind, live.subs[i].kind);
        ck_assert_int_eq(rep.subs[i].arg, live.subs[i].arg);
        ck_assert_str_eq(vmodel_name(&rep, rep.subs[i].name),
                         vmodel_name(&live, live.subs[i].name));
    }
    vmodel_fini(&rep);
}
END_TEST

START_TEST(where_at)
{
    struct vwhere w[8];
    size_t total;
    ck_assert_uint_eq(vmodel_at(&live, 5 * US, w, 8, &total), 1);
    ck_assert_int_eq(w[0].hop, HOP_H1);
    ck_assert_uint_eq(w[0].req, 1);
    /* a span owns [start, end): at 12 us request 1 is in H3, not H2 */
    vmodel_at(&live, 12 * US, w, 8, &total);
    ck_assert_int_eq(w[0].hop, HOP_H3);
    ck_assert_str_eq(live.places[w[0].place].name, "cpu0");
    /* at 26 us: request 1 in H4 at dom0, request 2 (open) in H1 */
    ck_assert_uint_eq(vmodel_at(&live, 26 * US, w, 8, &total), 2);
    ck_assert_int_eq(w[0].hop + w[1].hop, HOP_H4 + HOP_H1);
    /* after completion only the open request remains */
    ck_assert_uint_eq(vmodel_at(&live, 90 * US, w, 8, &total), 1);
    ck_assert_uint_eq(w[0].req, 2);
    /* max bounds what is written, total counts everything */
    ck_assert_uint_eq(vmodel_at(&live, 26 * US, w, 1, &total), 1);
    ck_assert_uint_eq(total, 2);
}
END_TEST

START_TEST(stepping_and_request)
{
    ck_assert_uint_eq(vmodel_next_event(&live, 0), 10 * US);
    ck_assert_uint_eq(vmodel_next_event(&live, 10 * US), 11 * US); /* the hypercall */
    ck_assert_uint_eq(vmodel_next_event(&live, 30 * US), 40 * US); /* the counter */
    ck_assert_uint_eq(vmodel_next_event(&live, 80 * US), 80 * US); /* nothing after */
    size_t idx[8];
    ck_assert_uint_eq(vmodel_request(&live, 1, idx, 8), 5);
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(live.hops[idx[i]].hop, HOP_H1 + (int)i);
}
END_TEST

START_TEST(histogram)
{
    struct vhist h;
    vmodel_hist(&live, 29 * US, &h);
    ck_assert_uint_eq(h.count[HOP_H1], 1);
    ck_assert_uint_eq(h.count[HOP_H3], 1);
    ck_assert_uint_eq(h.count[HOP_H4], 0); /* ends at 30 us: not yet */
    ck_assert_uint_eq(h.count[HOP_H5], 0);
    ck_assert_uint_eq(h.sum[HOP_H3], 8 * US);
    vmodel_hist(&live, 100 * US, &h);
    ck_assert_uint_eq(h.count[HOP_H5], 1);
    ck_assert_uint_eq(h.bin[HOP_H5][vmodel_bin_of(50 * US)], 1);
    /* bins: 10 ns, four per decade, monotonic, clamped at both ends */
    ck_assert_uint_eq(vmodel_bin_low(0), 10000);
    ck_assert_uint_eq(vmodel_bin_low(4), 100000);
    for (int b = 1; b < VM_BINS; b++)
        ck_assert_uint_gt(vmodel_bin_low(b), vmodel_bin_low(b - 1));
    ck_assert_int_eq(vmodel_bin_of(1), 0);
    ck_assert_int_eq(vmodel_bin_of(UINT64_MAX / 2), VM_BINS - 1);
    ck_assert_int_eq(vmodel_bin_of(1 * US), 8); /* 1 us = 10 ns * 10^2 */
}
END_TEST

START_TEST(parse_time)
{
    simtime_t t;
    ck_assert_int_eq(view_parse_time("1ms", &t), 0);
    ck_assert_uint_eq(t, 1000000000ull);
    ck_assert_int_eq(view_parse_time("2.5us", &t), 0);
    ck_assert_uint_eq(t, 2500000ull);
    ck_assert_int_eq(view_parse_time("40ns", &t), 0);
    ck_assert_uint_eq(t, 40000ull);
    ck_assert_int_eq(view_parse_time("7", &t), 0);
    ck_assert_uint_eq(t, 7);
    ck_assert_int_eq(view_parse_time("5parsecs", &t), -1);
    ck_assert_int_eq(view_parse_time("-1ms", &t), -1);
    ck_assert_int_eq(view_parse_time("1e30s", &t), -1);
    ck_assert_int_eq(view_parse_time("", &t), -1);
}
END_TEST

static uint32_t px_at(SDL_Surface *s, int x, int y)
{
    uint32_t p;
    memcpy(&p, (uint8_t *)s->pixels + y * s->pitch + x * 4, 4);
    uint8_t r, g, b;
    SDL_GetRGB(p, s->format, &r, &g, &b);
    return (uint32_t)r << 16 | (uint32_t)g << 8 | b;
}

static uint32_t hop_rgb(int hop)
{
    SDL_Color c = vdraw_hop_color(hop);
    return (uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b;
}

START_TEST(frame_pixels)
{
    int w = 1280, h = 720;
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_RGBA32);
    SDL_Renderer *r = SDL_CreateSoftwareRenderer(s);
    ck_assert_ptr_nonnull(r);
    struct vfont f;
    char err[256];
    ck_assert_msg(vfont_open(&f, err, sizeof(err)) == 0, "%s", err);
    struct vview v = {.m = &live};
    snprintf(v.label, sizeof(v.label), "unit");
    struct vstate st = {
        .play = 26 * US, .width = 40 * US, .selected = HOPSIM_NOREQ, .speed = 1, .paused = true};
    struct vlayout L[1];
    vdraw_frame(r, &f, &v, 1, 0, false, &st, w, h, L);
    SDL_RenderPresent(r);
    ck_assert_int_eq(L[0].x0, VD_LABEL_W);
    /* window: play - 3/4 width .. play + 1/4 width, never before 0 */
    ck_assert_uint_eq(L[0].t0, 0); /* 26 - 30 us clamps to the start */
    ck_assert_uint_eq(L[0].t1, L[0].t0 + 40 * US);
    int band = vdraw_hop_band(&L[0]);
    /* H3 on cpu0 (place 0) over [12, 20) us: its middle is H3's colour */
    int x = (vdraw_x(&L[0], 12 * US) + vdraw_x(&L[0], 20 * US)) / 2;
    int y = vdraw_lane_top(&L[0], 0) + band / 2;
    ck_assert_uint_eq(px_at(s, x, y), hop_rgb(HOP_H3));
    ck_assert_int_eq(vdraw_expect_hop(&L[0], &live, &st, 0, x), HOP_H3);
    /* H4 on dom0 (place 1) began at 20 us and is drawn up to the playhead only */
    x = vdraw_x(&L[0], 23 * US);
    y = vdraw_lane_top(&L[0], 1) + band / 2;
    ck_assert_uint_eq(px_at(s, x, y), hop_rgb(HOP_H4));
    int after = vdraw_x(&L[0], 28 * US);
    ck_assert_uint_ne(px_at(s, after, y), hop_rgb(HOP_H4));
    /* in-flight markers: request 1 in H4 at dom0, request 2 in H1 at dom1 */
    int mx, my;
    vdraw_marker_pos(&L[0], 1, 0, &mx, &my);
    ck_assert_uint_eq(px_at(s, mx, my), hop_rgb(HOP_H4));
    vdraw_marker_pos(&L[0], 2, 0, &mx, &my);
    ck_assert_uint_eq(px_at(s, mx, my), hop_rgb(HOP_H1));
    /* the disk lane has nothing yet at 26 us: no H5 anywhere in its band */
    y = vdraw_lane_top(&L[0], 3) + band / 2;
    for (int cx = L[0].x0; cx < L[0].x1; cx++)
        ck_assert_uint_ne(px_at(s, cx, y), hop_rgb(HOP_H5));
    /* picking: a click on the H3 span selects request 1 */
    x = (vdraw_x(&L[0], 12 * US) + vdraw_x(&L[0], 20 * US)) / 2;
    size_t k = vdraw_pick(&L[0], &live, x, vdraw_lane_top(&L[0], 0) + band / 2);
    ck_assert_uint_ne(k, SIZE_MAX);
    ck_assert_uint_eq(live.hops[k].req, 1);
    vfont_close(&f);
    SDL_DestroyRenderer(r);
    SDL_FreeSurface(s);
    TTF_Quit();
}
END_TEST

START_TEST(bad_files)
{
    struct vmodel m;
    char err[256];
    vmodel_init(&m, NULL);
    ck_assert_int_eq(vmodel_load_json(&m, "/nonexistent/x.json", err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.json"));
    char p[] = "/tmp/hopsim-view-bad-XXXXXX";
    int fd = mkstemp(p);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "[1,2,3]", 7), 7);
    close(fd);
    ck_assert_int_eq(vmodel_load_json(&m, p, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "no traceEvents"));
    unlink(p);
    vmodel_fini(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("view");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, live_equals_replay);
    tcase_add_test(tc, where_at);
    tcase_add_test(tc, stepping_and_request);
    tcase_add_test(tc, histogram);
    tcase_add_test(tc, frame_pixels);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("input");
    tcase_add_test(tc2, parse_time);
    tcase_add_test(tc2, bad_files);
    suite_add_tcase(s, tc2);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
