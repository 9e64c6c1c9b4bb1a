/* End-to-end tests, part 2: the thumbnails' pixels: orientation, CMYK, ICC,
 * alpha, PNG variants, geometry (helpers: e2e_runs.h). */
#include "e2e_runs.h"

/* All 8 EXIF orientations (and a PNG eXIf orientation 6) come out upright:
 * 200x200 with --fit cover, 200x150 with --fit inside. */
static void test_orientation(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->cat, "orient"))
            continue;
        n++;
        check_image(RUN_MAIN, e, TOL_ORIENT, BOX, BOX);
        check_image(RUN_INSIDE, e, TOL_ORIENT, 200, 150);
    }
    CHECK(n == 9, "%d orientation images in expected.txt, want 9", n);
    end_checks();
}

/* Adobe CMYK and YCCK JPEGs (inverted ink) match the naive conversion. */
static void test_cmyk_adobe(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/cmyk_adobe.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("color/ycck_adobe.jpg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* A CMYK JPEG without the Adobe marker holds plain ink values. */
static void test_cmyk_plain(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/cmyk_plain.jpg"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* Embedded ICC profiles (JPEG APP2, PNG iCCP) are converted to sRGB: the
 * references were computed by lcms2 in the generator. */
static void test_icc(void **state)
{
    (void)state;
    begin_checks();
    check_image(RUN_MAIN, find_expect("color/icc.jpg"), TOL_COLOR, BOX, BOX);
    check_image(RUN_MAIN, find_expect("color/png/icc.png"), TOL_COLOR, BOX, BOX);
    end_checks();
}

/* Alpha PNGs give PNGs: transparent stays alpha 0, opaque alpha 255, the 50%
 * band ~128, and no dark fringe where opaque meets transparent black. */
static void test_alpha(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].cat, "alpha")) {
            n++;
            check_image(RUN_MAIN, &g_exp[i], TOL_COLOR, BOX, BOX);
        }
    CHECK(n == 4, "%d alpha images in expected.txt, want 4", n);
    end_checks();
}

/* Grey 1/2/4/8/16-bit, RGB 16-bit, palettes of 1/2/4/8 bits, Adam7. */
static void test_png_variants(void **state)
{
    (void)state;
    begin_checks();
    int n = 0;
    for (int i = 0; i < g_nexp; i++)
        if (!strcmp(g_exp[i].cat, "png")) {
            n++;
            check_image(RUN_MAIN, &g_exp[i], TOL_COLOR, BOX, BOX);
        }
    CHECK(n == 12, "%d PNG variants in expected.txt, want 12", n);
    end_checks();
}

/* cover: exactly the box; inside: aspect kept; small images not enlarged
 * unless --enlarge. */
static void test_geometry(void **state)
{
    (void)state;
    begin_checks();
    const expect *wide = find_expect("size/wide.jpg"), *tall = find_expect("size/tall.png"),
                 *small = find_expect("size/small.jpg");
    assert_non_null(wide);
    assert_non_null(tall);
    assert_non_null(small);

    /* cover: every ok image at least as large as the box is exactly 200x200 */
    for (int i = 0; i < g_nexp; i++) {
        const expect *e = &g_exp[i];
        if (strcmp(e->status, "ok") || !strcmp(e->cat, "big") || e == small)
            continue;
        const rec *x = find_rec(get_run(RUN_MAIN), e->name, NULL);
        if (x && e2e_str(x, "status") && !strcmp(e2e_str(x, "status"), "ok"))
            CHECK(rec_num(x, "out_w") == BOX && rec_num(x, "out_h") == BOX,
                  "[cover] %s: %lldx%lld, want %dx%d", e->name, rec_num(x, "out_w"),
                  rec_num(x, "out_h"), BOX, BOX);
    }
    check_image(RUN_MAIN, wide, TOL_ORIENT, BOX, BOX);
    check_image(RUN_MAIN, tall, TOL_ORIENT, BOX, BOX);

    /* inside */
    check_image(RUN_INSIDE, wide, TOL_ORIENT, 200, 50);
    check_image(RUN_INSIDE, tall, TOL_ORIENT, 50, 200);
    check_image(RUN_INSIDE, small, TOL_ORIENT, 120, 80);

    /* cover without --enlarge: never scaled up */
    pixels px;
    if (load_thumb(RUN_MAIN, small, &px, NULL)) {
        CHECK(px.w <= 120 && px.h <= 80, "[cover] size/small.jpg: %dx%d, enlarged beyond 120x80",
              px.w, px.h);
        free(px.rgba);
    }

    /* --enlarge: inside 200x133 (or 134), cover 200x200 */
    if (load_thumb(RUN_ENLARGE_INSIDE, small, &px, NULL)) {
        CHECK(px.w == 200 && (px.h == 133 || px.h == 134),
              "[enlarge-inside] size/small.jpg: %dx%d, want 200x133 or 200x134", px.w, px.h);
        check_probes(RUN_ENLARGE_INSIDE, small, &px, TOL_ORIENT);
        free(px.rgba);
    }
    check_image(RUN_ENLARGE_COVER, small, TOL_ORIENT, BOX, BOX);
    run *r = get_run(RUN_ENLARGE_INSIDE);
    CHECK(r->exit_code == 0, "[enlarge-inside] exit %d on size/, want 0", r->exit_code);
    end_checks();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orientation),
        cmocka_unit_test(test_cmyk_adobe),
        cmocka_unit_test(test_cmyk_plain),
        cmocka_unit_test(test_icc),
        cmocka_unit_test(test_alpha),
        cmocka_unit_test(test_png_variants),
        cmocka_unit_test(test_geometry),
    };
    return e2e_runs_run(argc, argv, tests, sizeof tests / sizeof tests[0]);
}
