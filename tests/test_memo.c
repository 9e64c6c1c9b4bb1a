/* Unit tests for the per-directory memos of up-to-date thumbnails
 * (src/memo.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "thumbd/memo.h"

#include "e2e_util.h"

typedef struct fixture {
    char root[64];        /* OUT_DIR */
    int root_fd;
    int twin_fd;          /* OUT_DIR/a */
    memo_run run;         /* a run that started 10 s from now: the twin is not racy */
} fixture;

#define FP "size=200x200 fit=inside"
#define FP_OTHER "size=100x100 fit=inside"

static const struct timespec T1 = {1700000000, 123456789}, T2 = {1700000000, 123456790};

static struct timespec from_now(time_t s)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += s;
    return t;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->root, "/tmp/thumbd-test-memo-XXXXXX");
    if (!mkdtemp(f->root))
        return -1;
    f->root_fd = open(f->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->root_fd < 0 || mkdirat(f->root_fd, "a", 0755) != 0)
        return -1;
    f->twin_fd = openat(f->root_fd, "a", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct timespec start = from_now(10);
    memo_run_init(&f->run, f->root_fd, FP, 0, 0, &start);
    *state = f;
    return f->twin_fd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    memo_run_end(&f->run);
    close(f->twin_fd);
    close(f->root_fd);
    rm_tree(f->root);
    free(f);
    return 0;
}

/* memo_lookup as the code of the format it vouches for ('j', 'p'...), or 0. */
static char look(const memo_dir *m, const char *name, const struct timespec *mtime, int64_t size)
{
    out_kind kind;
    return memo_lookup(m, name, mtime, size, &kind) ? outname_code(kind) : 0;
}

static int memo_files(const fixture *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/" MEMO_DIR, f->root);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The next run (memo_run_init opens MEMO_DIR once a run): it sees the
 * memos written so far. */
static void next_run(fixture *f)
{
    struct timespec start = f->run.start;
    memo_run_end(&f->run);
    memo_run_init(&f->run, f->root_fd, FP, 0, 0, &start);
}

/* Writes a memo of "a" vouching for x.jpg (T1, JPEG) and y.png (T1, PNG)
 * in run r, then starts f's next run. */
static void write_memo(fixture *f, const memo_run *r)
{
    memo_dir *m = memo_begin(r, "a", f->twin_fd);
    assert_non_null(m);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0); /* nothing yet */
    memo_note(m, "y.png", &T1, 1000, OUT_PNG);
    memo_note(m, "x.jpg", &T1, 1000, OUT_JPEG);
    memo_end(m, true);
    next_run(f);
}

/* Lets the file system's clock tick, so that a change of the twin shows
 * in its ctime. */
static void tick(void)
{
    nanosleep(&(struct timespec){0, 30 * 1000 * 1000}, NULL);
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);
    assert_int_equal(memo_files(f), 1);
    memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 'j');
    assert_int_equal(look(m, "y.png", &T1, 1000), 'p');
    assert_int_equal(look(m, "x.jpg", &T2, 1000), 0);  /* the source changed */
    assert_int_equal(look(m, "x.jpg", &T1, 1001), 0);  /* behind a restored mtime */
    assert_int_equal(look(m, "z.jpg", &T1, 1000), 0);  /* never noted */
    assert_int_equal(look(m, "x.jp", &T1, 1000), 0);
    assert_int_equal(look(NULL, "x.jpg", &T1, 1000), 0);
    memo_end(m, true);
    /* A valid memo is not written again. */
    struct stat before, after;
    char path[128];
    snprintf(path, sizeof path, "%s/" MEMO_DIR, f->root);
    assert_int_equal(stat(path, &before), 0);
    tick();
    m = memo_begin(&f->run, "a", f->twin_fd);
    memo_note(m, "x.jpg", &T1, 1000, OUT_JPEG);
    memo_end(m, true);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ctim.tv_sec == after.st_ctim.tv_sec && before.st_ctim.tv_nsec == after.st_ctim.tv_nsec);
}

/* Any entry created, removed or renamed in the twin: the memo is void. */
static void test_twin_changes_void_it(void **state)
{
    fixture *f = *state;
    tick();
    write_memo(f, &f->run);
    tick();
    int fd = openat(f->twin_fd, "new.jpg", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);
    memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, false);

    write_memo(f, &f->run); /* a new one, for the twin as it is now */
    m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 'j');
    memo_end(m, true);
    tick();
    assert_int_equal(unlinkat(f->twin_fd, "new.jpg", 0), 0);
    m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, true);

    /* The twin replaced by another directory of the same name. */
    write_memo(f, &f->run);
    assert_int_equal(renameat(f->root_fd, "a", f->root_fd, "old"), 0);
    assert_int_equal(mkdirat(f->root_fd, "a", 0755), 0);
    int other = openat(f->root_fd, "a", O_RDONLY | O_DIRECTORY);
    m = memo_begin(&f->run, "a", other);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, true);
    close(other);
}

/* A twin changed within MEMO_RACY_S of the run's start: no memo. */
static void test_racy_twin_not_memoised(void **state)
{
    fixture *f = *state;
    memo_run now;
    struct timespec start = from_now(0);
    memo_run_init(&now, f->root_fd, FP, 0, 0, &start);
    write_memo(f, &now);
    memo_run_end(&now);
    assert_int_equal(memo_files(f), 0);
    /* ... nor when the visit was cut short, or nothing was noted */
    memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
    memo_note(m, "x.jpg", &T1, 1000, OUT_JPEG);
    memo_end(m, false);
    m = memo_begin(&f->run, "a", f->twin_fd);
    memo_end(m, true);
    assert_int_equal(memo_files(f), 0);
}

/* Other options, another shard, another directory: not this memo. */
static void test_keys(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);
    memo_run other;
    memo_run_init(&other, f->root_fd, FP_OTHER, 0, 0, &f->run.start);
    memo_dir *m = memo_begin(&other, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, false);
    memo_run shard;
    memo_run_init(&shard, f->root_fd, FP, 1, 2, &f->run.start);
    m = memo_begin(&shard, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, false);
    m = memo_begin(&f->run, "b", f->twin_fd); /* the same twin under another name */
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, false);
    m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 'j');
    memo_end(m, false);
    memo_run_end(&other);
    memo_run_end(&shard);
}

/* Memos are not read through a symlink planted at MEMO_DIR. */
static void test_memo_dir_symlink_ignored(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);
    assert_int_equal(renameat(f->root_fd, MEMO_DIR, f->root_fd, "elsewhere"), 0);
    assert_int_equal(symlinkat("elsewhere", f->root_fd, MEMO_DIR), 0);
    next_run(f);
    memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 0);
    memo_end(m, false);
}

/* Flips each byte of the memo in turn, then cuts it short: every damaged
 * file is refused (or, for a flip inside a name, no longer vouches for
 * x.jpg and y.png both). */
static void test_damaged_file_refused(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);
    char dir[128], path[400];
    snprintf(dir, sizeof dir, "%s/" MEMO_DIR, f->root);
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && de->d_name[0] == '.')
        ;
    assert_non_null(de);
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    closedir(d);
    FILE *fp = fopen(path, "rb");
    unsigned char good[512];
    size_t len = fread(good, 1, sizeof good, fp);
    fclose(fp);
    assert_true(len > 60 && len < sizeof good);
    for (size_t i = 0; i <= len; i++) {
        unsigned char bad[512];
        memcpy(bad, good, len);
        size_t n = len;
        if (i < len)
            bad[i] ^= 0x20;
        else
            n = len - 1;
        fp = fopen(path, "wb");
        assert_int_equal(fwrite(bad, 1, n, fp), n);
        fclose(fp);
        memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
        assert_false(look(m, "x.jpg", &T1, 1000) == 'j' && look(m, "y.png", &T1, 1000) == 'p');
        memo_end(m, false);
    }
}

typedef struct noter {
    memo_dir *m;
    int first;
} noter;

static void *note_many(void *arg)
{
    noter *n = arg;
    char name[32];
    for (int i = n->first; i < 4000; i += 2) {
        snprintf(name, sizeof name, "f%05d.jpg", i);
        memo_note(n->m, name, &T1, 1000, OUT_JPEG);
    }
    return NULL;
}

/* Two threads note at once (as the scanner's two probing threads do); the
 * memo holds every name. */
static void test_notes_from_two_threads(void **state)
{
    fixture *f = *state;
    memo_dir *m = memo_begin(&f->run, "a", f->twin_fd);
    noter a = {m, 0}, b = {m, 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, note_many, &a), 0);
    note_many(&b);
    pthread_join(th, NULL);
    memo_end(m, true);
    next_run(f);
    m = memo_begin(&f->run, "a", f->twin_fd);
    char name[32];
    for (int i = 0; i < 4000; i++) {
        snprintf(name, sizeof name, "f%05d.jpg", i);
        assert_int_equal(look(m, name, &T1, 1000), 'j');
    }
    memo_end(m, false);
}

static void test_forget(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);
    assert_int_equal(memo_files(f), 1);
    memo_forget(f->root_fd);
    assert_int_equal(memo_files(f), 0);
    memo_forget(f->root_fd); /* nothing to forget */
}

/* A memo whose twin is gone or replaced, and a file that is no memo, are
 * removed; a memo whose twin is still there stays, whatever its shard. */
static void test_prune(void **state)
{
    fixture *f = *state;
    write_memo(f, &f->run);                           /* "a": stays */
    assert_int_equal(mkdirat(f->root_fd, "b", 0755), 0);
    int b_fd = openat(f->root_fd, "b", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    memo_dir *m = memo_begin(&f->run, "b", b_fd);     /* "b": its twin goes */
    memo_note(m, "x.jpg", &T1, 1000, OUT_JPEG);
    memo_end(m, true);
    close(b_fd);
    memo_run other;                                   /* shard 1/2's memo of "a" */
    memo_run_init(&other, f->root_fd, FP, 1, 2, &f->run.start);
    m = memo_begin(&other, "a", f->twin_fd);
    memo_note(m, "x.jpg", &T1, 1000, OUT_JPEG);
    memo_end(m, true);
    memo_run_end(&other);
    char path[160];
    snprintf(path, sizeof path, "%s/" MEMO_DIR "/junk", f->root);
    FILE *junk = fopen(path, "w");
    assert_non_null(junk);
    fputs("not a memo", junk);
    fclose(junk);
    next_run(f);
    assert_int_equal(memo_files(f), 4);
    assert_int_equal(unlinkat(f->root_fd, "b", AT_REMOVEDIR), 0);
    assert_int_equal(memo_prune(&f->run), 2);         /* b's and junk */
    assert_int_equal(memo_files(f), 2);
    m = memo_begin(&f->run, "a", f->twin_fd);         /* a's still vouches */
    assert_int_equal(look(m, "x.jpg", &T1, 1000), 'j');
    memo_end(m, true);
    /* "a" replaced by another directory of the same name: its memos go. */
    assert_int_equal(renameat(f->root_fd, "a", f->root_fd, "old"), 0);
    assert_int_equal(mkdirat(f->root_fd, "a", 0755), 0);
    assert_int_equal(memo_prune(&f->run), 2);
    assert_int_equal(memo_files(f), 0);
    assert_int_equal(memo_prune(&f->run), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twin_changes_void_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racy_twin_not_memoised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo_dir_symlink_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notes_from_two_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
