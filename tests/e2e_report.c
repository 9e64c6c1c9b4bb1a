/* The one report loader of the end-to-end test programs: see e2e_util.h. */
#include "e2e_util.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cmocka.h>

bool e2e_report_load(const char *path, e2e_report *rep, unsigned flags)
{
    memset(rep, 0, sizeof *rep);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    bool lone_ok = !(flags & E2E_REPORT_NO_LONE_SURROGATES);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int cap_r = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (rep->n == cap_r) {
            cap_r = cap_r ? cap_r * 2 : 64;
            rep->v = realloc(rep->v, (size_t)cap_r * sizeof *rep->v);
            rep->line = realloc(rep->line, (size_t)cap_r * sizeof *rep->line);
            assert_true(rep->v && rep->line);
        }
        if (e2e_jrec_parse(line, &rep->v[rep->n], E2E_JREC_MAX, lone_ok)) {
            rep->line[rep->n] = strdup(line);
            assert_non_null(rep->line[rep->n]);
            rep->n++;
        } else {
            e2e_jrec_free(&rep->v[rep->n]);
            if (!rep->bad++)
                snprintf(rep->first_bad, sizeof rep->first_bad, "%s", line);
        }
    }
    free(line);
    fclose(f);
    return true;
}

void e2e_report_must_load(const char *path, e2e_report *rep)
{
    if (!e2e_report_load(path, rep, 0))
        fail_msg("no report at %s", path);
    if (rep->bad)
        fail_msg("%s: %d lines are not a record, the first: %s", path, rep->bad, rep->first_bad);
}

void e2e_report_free(e2e_report *rep)
{
    for (int i = 0; i < rep->n; i++) {
        e2e_jrec_free(&rep->v[i]);
        free(rep->line[i]);
    }
    free(rep->v);
    free(rep->line);
    memset(rep, 0, sizeof *rep);
}

const e2e_jrec *e2e_report_find(const e2e_report *rep, const char *src, int *count)
{
    const e2e_jrec *hit = NULL;
    int n = 0;
    for (int i = 0; i < rep->n; i++) {
        const char *s = e2e_str(&rep->v[i], "src");
        if (s && !strcmp(s, src)) {
            if (!hit)
                hit = &rep->v[i];
            n++;
        }
    }
    if (count)
        *count = n;
    return hit;
}

const e2e_jrec *e2e_report_one(const e2e_report *rep, const char *src)
{
    int n;
    const e2e_jrec *r = e2e_report_find(rep, src, &n);
    if (n > 1)
        fail_msg("%d records for '%s' (one expected)", n, src);
    return r;
}

const char *e2e_report_text(const e2e_report *rep, const e2e_jrec *r)
{
    return r ? rep->line[r - rep->v] : "(no record)";
}

int e2e_report_count(const e2e_report *rep, const char *status)
{
    int n = 0;
    for (int i = 0; i < rep->n; i++)
        n += e2e_is(&rep->v[i], status);
    return n;
}

const char *e2e_str(const e2e_jrec *r, const char *key)
{
    const e2e_jfield *f = r ? e2e_jrec_get(r, key) : NULL;
    return f && f->type == E2E_J_STR ? f->s : NULL;
}

const char *e2e_str_or(const e2e_jrec *r, const char *key, const char *dflt)
{
    const char *s = e2e_str(r, key);
    return s ? s : dflt;
}

double e2e_num(const e2e_jrec *r, const char *key)
{
    const e2e_jfield *f = r ? e2e_jrec_get(r, key) : NULL;
    return f && (f->type == E2E_J_NUM || f->type == E2E_J_BOOL) ? f->n : NAN;
}

bool e2e_is_null(const e2e_jrec *r, const char *key)
{
    const e2e_jfield *f = r ? e2e_jrec_get(r, key) : NULL;
    return f && f->type == E2E_J_NULL;
}

bool e2e_is(const e2e_jrec *r, const char *status)
{
    const char *s = e2e_str(r, "status");
    return s && !strcmp(s, status);
}
