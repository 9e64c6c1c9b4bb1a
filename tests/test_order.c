/* Unit tests for --order (src/order.c): the comparators, urgent entries
 * first, ties in scan order, the listing's round trip, and its memory per
 * entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/order.h"

static thumbd_task *mk(uint64_t id, const char *rel, int64_t size, time_t mtime, long nsec, bool urgent)
{
    thumbd_task *t = task_new(id, rel, size, (struct timespec){mtime, nsec});
    assert_non_null(t);
    t->urgent = urgent;
    return t;
}

/* Builds a list of the tasks, sorts it by k and returns the ids in order. */
static void sorted_ids(order_kind k, thumbd_task **v, size_t n, uint64_t *ids)
{
    order_list *l = order_list_new();
    assert_non_null(l);
    for (size_t i = 0; i < n; i++)
        assert_true(order_list_add(l, v[i]));
    order_list_sort(l, k);
    assert_int_equal(order_list_len(l), n);
    for (size_t i = 0; i < n; i++)
        ids[i] = order_list_at(l, i)->id_urgent >> 1;
    order_list_free(l);
}

static void test_parse_and_names(void **state)
{
    (void)state;
    const char *names[] = {"path", "newest", "oldest", "largest", "smallest"};
    for (int i = 0; i < 5; i++) {
        order_kind k = ORDER_PATH;
        assert_true(order_parse(names[i], &k));
        assert_int_equal(k, i);
        assert_string_equal(order_name(k), names[i]);
    }
    order_kind k = ORDER_NEWEST;
    assert_false(order_parse("Newest", &k));
    assert_false(order_parse("", &k));
    assert_false(order_parse("size", &k));
    assert_int_equal(k, ORDER_NEWEST); /* untouched */
}

/* Five files: ids are scan (path) order; mtimes and sizes shuffled, with
 * one tie in each key (ties keep path order), and nanoseconds that decide. */
static void test_each_order(void **state)
{
    (void)state;
    thumbd_task *v[5] = {
        mk(1, "a.jpg", 300, 1000, 0, false),
        mk(2, "b.jpg", 100, 3000, 0, false),
        mk(3, "c.jpg", 500, 2000, 0, false),
        mk(4, "d.jpg", 100, 3000, 1, false),   /* 1 ns newer than b */
        mk(5, "e.jpg", 300, 1000, 0, false),   /* same mtime and size as a */
    };
    uint64_t got[5];
    sorted_ids(ORDER_PATH, v, 5, got);
    assert_memory_equal(got, ((uint64_t[]){1, 2, 3, 4, 5}), sizeof got);
    sorted_ids(ORDER_NEWEST, v, 5, got);
    assert_memory_equal(got, ((uint64_t[]){4, 2, 3, 1, 5}), sizeof got);
    sorted_ids(ORDER_OLDEST, v, 5, got);
    assert_memory_equal(got, ((uint64_t[]){1, 5, 3, 2, 4}), sizeof got);
    sorted_ids(ORDER_LARGEST, v, 5, got);
    assert_memory_equal(got, ((uint64_t[]){3, 1, 5, 2, 4}), sizeof got);
    sorted_ids(ORDER_SMALLEST, v, 5, got);
    assert_memory_equal(got, ((uint64_t[]){2, 4, 1, 5, 3}), sizeof got);
    for (int i = 0; i < 5; i++)
        task_free(v[i]);
}

/* Urgent entries come before all others, in every order, and are ordered
 * among themselves by the same key. */
static void test_urgent_first(void **state)
{
    (void)state;
    thumbd_task *v[4] = {
        mk(1, "new.jpg", 10, 9000, 0, false),
        mk(2, "old-urgent.jpg", 10, 1000, 0, true),
        mk(3, "mid.jpg", 10, 5000, 0, false),
        mk(4, "new-urgent.jpg", 10, 8000, 0, true),
    };
    uint64_t got[4];
    sorted_ids(ORDER_NEWEST, v, 4, got);
    assert_memory_equal(got, ((uint64_t[]){4, 2, 1, 3}), sizeof got);
    sorted_ids(ORDER_PATH, v, 4, got);
    assert_memory_equal(got, ((uint64_t[]){2, 4, 1, 3}), sizeof got);
    order_entry a = {.mtime_ns = 1, .id_urgent = 2 << 1 | 1}, b = {.mtime_ns = 2, .id_urgent = 1 << 1};
    assert_true(order_compare(ORDER_OLDEST, &a, &b) < 0);
    assert_true(order_compare(ORDER_OLDEST, &b, &a) > 0);
    assert_int_equal(order_compare(ORDER_OLDEST, &a, &a), 0);
    for (int i = 0; i < 4; i++)
        task_free(v[i]);
}

/* A task made from an entry is the task that went in, pre-1970 mtimes
 * included. */
static void test_task_round_trip(void **state)
{
    (void)state;
    order_list *l = order_list_new();
    assert_non_null(l);
    thumbd_task *a = mk(7, "dir/x y.png", 123456789012LL, 1700000000, 999999999, true);
    thumbd_task *b = mk(8, "old.jpg", 5, -2, 250000000, false);
    assert_true(order_list_add(l, a));
    assert_true(order_list_add(l, b));
    for (size_t i = 0; i < 2; i++) {
        thumbd_task *want = i ? b : a, *got = order_list_task(l, i);
        assert_non_null(got);
        assert_int_equal(got->id, want->id);
        assert_string_equal(got->rel, want->rel);
        assert_int_equal(got->size, want->size);
        assert_int_equal(got->mtime.tv_sec, want->mtime.tv_sec);
        assert_int_equal(got->mtime.tv_nsec, want->mtime.tv_nsec);
        assert_int_equal(got->urgent, want->urgent);
        assert_int_equal(got->res.worker, -1);
        task_free(got);
    }
    task_free(a);
    task_free(b);
    order_list_free(l);
}

/* The memory a listing costs: for a million paths of 38 bytes (a typical
 * "2024/06/17/IMG_20240617_120000_123.jpg"): 32 bytes of entry, the
 * path with its NUL and some growth slack: under 100 bytes a file. The
 * figure printed here is the one in the README. */
static void test_memory_per_million(void **state)
{
    (void)state;
    enum { N = 1000000 };
    order_list *l = order_list_new();
    assert_non_null(l);
    thumbd_task *t = mk(0, "", 0, 0, 0, false);
    char rel[64];
    for (int i = 0; i < N; i++) {
        snprintf(rel, sizeof rel, "2024/%02d/%02d/IMG_20240617_%06d_123.jpg", i % 12 + 1, i % 28 + 1, i);
        free(t->rel);
        t->rel = strdup(rel);
        assert_non_null(t->rel);
        assert_int_equal(strlen(rel), 38);
        t->id = (uint64_t)i + 1;
        t->mtime.tv_sec = (time_t)((int64_t)i * 7919 % 100000);
        assert_true(order_list_add(l, t));
    }
    order_list_sort(l, ORDER_NEWEST);
    size_t bytes = order_list_bytes(l);
    printf("order list: %zu files, %.1f MB, %.1f bytes per file\n", (size_t)N, bytes / 1e6,
           (double)bytes / N);
    assert_true(bytes < (size_t)N * 100);
    assert_true(bytes >= (size_t)N * (32 + 39));
    for (size_t i = 1; i < (size_t)N; i++)
        assert_true(order_list_at(l, i - 1)->mtime_ns >= order_list_at(l, i)->mtime_ns);
    task_free(t);
    order_list_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_names),
        cmocka_unit_test(test_each_order),
        cmocka_unit_test(test_urgent_first),
        cmocka_unit_test(test_task_round_trip),
        cmocka_unit_test(test_memory_per_million),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
