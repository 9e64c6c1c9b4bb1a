/* Helpers shared by the directory walk's unit tests (test_scan.c,
 * test_scanedge.c): temporary trees and a collector of the tasks a walk emits. */
#include "scan_util.h"

/* ---- building and removing the tree ---- */

void path_join(char *dst, size_t n, const char *a, const char *b)
{
    int w = snprintf(dst, n, "%s/%s", a, b);
    assert_true(w > 0 && (size_t)w < n);
}

void mkdir_at(const tree *t, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(mkdir(p, 0755), 0);
}

void file_at(const tree *t, const char *rel, size_t size)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)(i & 0xFF), f);
    assert_int_equal(fclose(f), 0);
}

void symlink_at(const tree *t, const char *target, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(symlink(target, p), 0);
}

void fifo_at(const tree *t, const char *rel)
{
    char p[512];
    path_join(p, sizeof p, t->in, rel);
    assert_int_equal(mkfifo(p, 0644), 0);
}

int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (flag == FTW_DP)
        chmod(path, 0755);
    remove(path);
    return 0;
}

char created[4][64];

void tree_remove(const tree *t)
{
    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    for (int i = 0; i < 4; i++)
        if (!strcmp(created[i], t->root))
            created[i][0] = '\0';
}

int remove_created(void **state)
{
    (void)state;
    for (int i = 0; i < 4; i++) {
        if (created[i][0])
            nftw(created[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
        created[i][0] = '\0';
    }
    return 0;
}

void tree_new(tree *t)
{
    memset(t, 0, sizeof *t);
    strcpy(t->root, "/tmp/thumbd-test-scan-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    for (int i = 0; i < 4; i++)
        if (!created[i][0]) {
            strcpy(created[i], t->root);
            break;
        }
    path_join(t->in, sizeof t->in, t->root, "in");
    path_join(t->out, sizeof t->out, t->in, "out");
    assert_int_equal(mkdir(t->in, 0755), 0);
}

/* ---- collecting what the scanner emits ---- */

bool collect(thumbd_task *t, void *ctx)
{
    collector *c = ctx;
    if (c->n < 64) {
        seen_task *s = &c->v[c->n];
        s->id = t->id;
        snprintf(s->rel, sizeof s->rel, "%s", t->rel);
        s->size = t->size;
        s->mtime = t->mtime;
        s->has_preset = t->preset_error != NULL;
        snprintf(s->preset, sizeof s->preset, "%s", t->preset_error ? t->preset_error : "");
    }
    c->n++;
    task_free(t);
    return !(c->emit_false_at && c->n == c->emit_false_at);
}

void expect_rels(const collector *c, const char *const *want, int n)
{
    for (int i = 0; i < n && i < c->n; i++) {
        if (strcmp(c->v[i].rel, want[i]) != 0)
            fail_msg("emission %d: got '%s', want '%s'", i, c->v[i].rel, want[i]);
    }
    if (c->n != n) {
        for (int i = 0; i < c->n; i++)
            print_message("  emitted[%d] = %s\n", i, c->v[i].rel);
        fail_msg("emitted %d tasks, want %d", c->n, n);
    }
}
