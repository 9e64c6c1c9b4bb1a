/* The ledger: records written and read back, names that need escaping,
 * which record counts, lines cut short, a hash collision, rewrites, and
 * appends racing a rewrite. */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e_util.h"
#include "thumbd/hash.h"
#include "thumbd/ledger.h"

typedef struct fixture {
    char root[64];
    int out_fd;
    ledger l;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/thumbd-ledger-XXXXXX");
    if (!f || !mkdtemp(f->root))
        return -1;
    f->out_fd = open(f->root, O_RDONLY | O_DIRECTORY);
    ledger_open(&f->l, f->out_fd, true);
    *state = f;
    return f->l.dir_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ledger_close(&f->l);
    close(f->out_fd);
    rm_tree(f->root);
    free(f);
    return 0;
}

static const struct timespec T1 = {1700000000, 123456789}, T2 = {1700000001, 5};

/* The path of rel_dir's ledger file. */
static void ledger_path(const fixture *f, const char *rel_dir, char *buf, size_t n)
{
    pathf(buf, n, "%s/" LEDGER_DIR "/%016llx", f->root, (unsigned long long)hash_str(rel_dir));
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    char err[TD_ERRLEN];
    const char *odd = "a b%c\nd\t\x1b.jpg";
    char src[64], out[64];
    pathf(src, sizeof src, "dir x/%s", odd);
    pathf(out, sizeof out, "dir x/%s.png", odd);
    assert_int_equal(ledger_note_thumb(&f->l, src, out, 0xabcdef0123456789ULL, 4242, &T1, 77, err), TD_OK);
    assert_int_equal(ledger_note_failure(&f->l, "dir x/bad.jpg", 9, 10, &T2, "corrupt: x\ny", err), TD_OK);
    assert_int_equal(ledger_note_mkdir(&f->l, "dir x/sub dir", err), TD_OK);
    /* Another directory's ledger is another file. */
    assert_int_equal(ledger_note_failure(&f->l, "top.jpg", 1, 1, &T1, "r", err), TD_OK);

    ledger_dir *d = ledger_load(&f->l, "dir x");
    assert_non_null(d);
    assert_int_equal(d->n, 3);
    const ledger_entry *e = ledger_latest(d, odd);
    assert_non_null(e);
    assert_int_equal(e->kind, 'T');
    assert_true(e->fp == 0xabcdef0123456789ULL);
    assert_true(ledger_same_source(e, 4242, &T1));
    assert_false(ledger_same_source(e, 4243, &T1));
    assert_false(ledger_same_source(e, 4242, &T2));
    assert_int_equal(e->ino, 77);
    char want_out[64];
    pathf(want_out, sizeof want_out, "%s.png", odd);
    assert_string_equal(e->out, want_out);
    e = ledger_latest(d, "bad.jpg");
    assert_non_null(e);
    assert_int_equal(e->kind, 'F');
    assert_string_equal(e->out, "corrupt: x\ny");
    assert_null(ledger_latest(d, "top.jpg"));
    assert_int_equal(d->v[2].kind, 'D');
    assert_string_equal(d->v[2].src, "sub dir");
    ledger_dir_free(d);

    d = ledger_load(&f->l, "");
    assert_non_null(ledger_latest(d, "top.jpg"));
    ledger_dir_free(d);
    d = ledger_load(&f->l, "nowhere");
    assert_int_equal(d->n, 0);
    assert_null(ledger_latest(d, "x"));
    ledger_dir_free(d);

    /* A thumbnail outside its source's directory is refused. */
    assert_int_not_equal(ledger_note_thumb(&f->l, "a/x.jpg", "b/x.jpg", 1, 1, &T1, 1, err), TD_OK);
}

static void test_last_record_counts(void **state)
{
    fixture *f = *state;
    char err[TD_ERRLEN];
    ledger_note_thumb(&f->l, "s/a.jpg", "s/a.jpg", 1, 10, &T1, 5, err);
    ledger_note_failure(&f->l, "s/a.jpg", 2, 11, &T2, "broken", err);
    ledger_note_thumb(&f->l, "s/b.jpg", "s/b.jpg", 1, 10, &T1, 6, err);
    ledger_note_thumb(&f->l, "s/b.jpg", "s/b.png", 3, 12, &T2, 7, err);
    ledger_dir *d = ledger_load(&f->l, "s");
    assert_int_equal(ledger_latest(d, "a.jpg")->kind, 'F');
    assert_string_equal(ledger_latest(d, "b.jpg")->out, "b.png");
    /* Live: a's failure and its thumbnail (still a file thumbd made), both
     * of b's thumbnails (two paths). */
    bool keep[4];
    assert_int_equal(ledger_live(d, keep), 4);
    ledger_dir_free(d);
    /* The same thumbnail path again: the older record no longer counts. */
    ledger_note_thumb(&f->l, "s/b.jpg", "s/b.png", 3, 13, &T2, 8, err);
    d = ledger_load(&f->l, "s");
    bool keep2[5];
    assert_int_equal(ledger_live(d, keep2), 4);
    assert_false(keep2[3]);
    assert_int_equal(ledger_rewrite(&f->l, "s", d, NULL, err), TD_OK);
    ledger_dir_free(d);
    d = ledger_load(&f->l, "s");
    assert_int_equal(d->n, 4);
    assert_int_equal(ledger_latest(d, "b.jpg")->size, 13);
    assert_int_equal(ledger_latest(d, "a.jpg")->kind, 'F');
    /* Nothing kept: the file goes. */
    bool none[4] = {false, false, false, false};
    assert_int_equal(ledger_rewrite(&f->l, "s", d, none, err), TD_OK);
    ledger_dir_free(d);
    char p[300];
    ledger_path(f, "s", p, sizeof p);
    assert_int_equal(access(p, F_OK), -1);
}

static void append_raw(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
    close(fd);
}

/* A source made at several sizes: a T record per thumbnail, each found by
 * its path (the last one for that path), the source's last one counting
 * for it; a rewrite keeps every path's. */
static void test_thumbs_by_path(void **state)
{
    fixture *f = *state;
    char err[TD_ERRLEN];
    ledger_note_thumb(&f->l, "m/a.jpg", "m/a_100x100.jpg", 1, 10, &T1, 5, err);
    ledger_note_thumb(&f->l, "m/a.jpg", "m/a_200x200.jpg", 2, 10, &T1, 6, err);
    ledger_note_thumb(&f->l, "m/a.jpg", "m/a_400x400.jpg", 2, 10, &T1, 7, err);
    ledger_note_thumb(&f->l, "m/a.jpg", "m/a_200x200.jpg", 2, 11, &T2, 8, err);
    ledger_dir *d = ledger_load(&f->l, "m");
    assert_non_null(d);
    const ledger_entry *e = ledger_thumb_at(d, "a_100x100.jpg");
    assert_true(e && e->fp == 1 && e->ino == 5);
    e = ledger_thumb_at(d, "a_200x200.jpg");
    assert_true(e && e->ino == 8 && e->size == 11);
    e = ledger_thumb_at(d, "a_400x400.jpg");
    assert_true(e && e->ino == 7 && !strcmp(e->src, "a.jpg"));
    assert_null(ledger_thumb_at(d, "a_800x800.jpg"));
    assert_int_equal(ledger_latest(d, "a.jpg")->ino, 8);
    assert_int_equal(ledger_rewrite(&f->l, "m", d, NULL, err), TD_OK);
    ledger_dir_free(d);
    d = ledger_load(&f->l, "m");
    assert_int_equal(d->n, 3);
    assert_non_null(ledger_thumb_at(d, "a_100x100.jpg"));
    ledger_dir_free(d);
}

static void test_damage_is_skipped(void **state)
{
    fixture *f = *state;
    char err[TD_ERRLEN], p[300];
    ledger_note_thumb(&f->l, "d/a.jpg", "d/a.jpg", 1, 10, &T1, 5, err);
    ledger_path(f, "d", p, sizeof p);
    append_raw(p, "T zz 1 2 3 4 x y\nnonsense\nF 0000000000000001 1 2 3 b.jpg %ZZ\n"
                  "T 0000000000000001 10 1 2 5 e.jpg e.jpg extra\n"
                  "T 0000000000000001 10 1 2 18446744073709551615 big.jpg big.jpg\n");
    append_raw(p, "T 0000000000000001 10 1 2 5 c.jpg c.jpg"); /* cut short by a kill */
    ledger_dir *d = ledger_load(&f->l, "d");
    assert_int_equal(d->n, 2);
    assert_non_null(ledger_latest(d, "a.jpg"));
    assert_null(ledger_latest(d, "c.jpg"));
    assert_null(ledger_latest(d, "e.jpg")); /* a field too many */
    assert_true(ledger_latest(d, "big.jpg")->ino == UINT64_MAX); /* 64-bit inodes */
    ledger_dir_free(d);

    /* A file at d's name whose header names another directory (a hash
     * collision, a foreign file) is not read. */
    char q[300];
    ledger_path(f, "e", q, sizeof q);
    FILE *fp = fopen(q, "w");
    fputs("thumbd-ledger 1 other/\nT 0000000000000001 10 1 2 5 a.jpg a.jpg\n", fp);
    fclose(fp);
    d = ledger_load(&f->l, "e");
    assert_int_equal(d->n, 0);
    ledger_dir_free(d);
}

typedef struct racer {
    const ledger *l;
    int id;
} racer;

enum { RACERS = 3, PER_RACER = 300 };

static void *append_many(void *arg)
{
    racer *r = arg;
    char err[TD_ERRLEN], src[64];
    for (int i = 0; i < PER_RACER; i++) {
        pathf(src, sizeof src, "r/%d-%d.jpg", r->id, i);
        if (ledger_note_thumb(r->l, src, src, 1, i, &T1, (uint64_t)i, err) != TD_OK)
            fail_msg("append: %s", err);
    }
    return NULL;
}

/* Rewrites racing appends lose no record: a rewrite that would lose one is
 * not made. */
static void test_rewrite_races_appends(void **state)
{
    fixture *f = *state;
    char err[TD_ERRLEN];
    ledger_note_thumb(&f->l, "r/seed.jpg", "r/seed.jpg", 1, 1, &T1, 1, err);
    pthread_t th[RACERS];
    racer rs[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (racer){&f->l, i};
        assert_int_equal(pthread_create(&th[i], NULL, append_many, &rs[i]), 0);
    }
    int rewrites = 0;
    for (int k = 0; k < 200; k++) {
        ledger_dir *d = ledger_load(&f->l, "r");
        rewrites += ledger_rewrite(&f->l, "r", d, NULL, err) == TD_OK;
        ledger_dir_free(d);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    ledger_dir *d = ledger_load(&f->l, "r");
    assert_int_equal(d->n, RACERS * PER_RACER + 1);
    /* Alone, a rewrite goes through (how many did during the appends
     * depends on the machine's load: any number keeps every record). */
    assert_int_equal(ledger_rewrite(&f->l, "r", d, NULL, err), TD_OK);
    ledger_dir_free(d);
    d = ledger_load(&f->l, "r");
    assert_int_equal(d->n, RACERS * PER_RACER + 1);
    ledger_dir_free(d);
    printf("  %d of 200 rewrites went through during the appends\n", rewrites);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_record_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thumbs_by_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_races_appends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
