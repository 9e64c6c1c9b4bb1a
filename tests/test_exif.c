/* Unit tests for the EXIF orientation reader (src/exif.c) on hand-built TIFF
 * blocks. Every block is passed in a heap buffer of exactly its length, so
 * that AddressSanitizer catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "thumbd/exif.h"

enum { T_BYTE = 1, T_ASCII = 2, T_SHORT = 3, T_LONG = 4, T_SBYTE = 6, T_SSHORT = 8, T_SLONG = 9,
       T_FLOAT = 11 };

typedef struct ent {
    uint16_t tag, type;
    uint32_t count;
    uint32_t value;       /* SHORT: left-justified in the 4-byte field */
    uint16_t pad;         /* SHORT: what fills the unused half of the field */
} ent;

typedef struct blk {
    uint8_t b[512];
    size_t len;
    bool le;
} blk;

static void put16(blk *k, size_t at, unsigned v)
{
    if (k->le) {
        k->b[at] = (uint8_t)v;
        k->b[at + 1] = (uint8_t)(v >> 8);
    } else {
        k->b[at] = (uint8_t)(v >> 8);
        k->b[at + 1] = (uint8_t)v;
    }
}

static void put32(blk *k, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        k->b[at + (size_t)i] = (uint8_t)(v >> (k->le ? 8 * i : 8 * (3 - i)));
}

/* A TIFF header, padding up to ifd_off, an IFD of n entries (count field
 * `declared`), and a zero next-IFD pointer. */
static void build(blk *k, bool le, uint32_t ifd_off, const ent *e, int n, unsigned declared)
{
    memset(k, 0, sizeof *k);
    k->le = le;
    k->b[0] = k->b[1] = le ? 'I' : 'M';
    put16(k, 2, 42);
    put32(k, 4, ifd_off);
    for (size_t i = 8; i < ifd_off; i++)
        k->b[i] = 0xEE; /* padding that is not an IFD */
    put16(k, ifd_off, declared);
    size_t at = ifd_off + 2;
    for (int i = 0; i < n; i++, at += 12) {
        put16(k, at, e[i].tag);
        put16(k, at + 2, e[i].type);
        put32(k, at + 4, e[i].count);
        if (e[i].type == T_BYTE || e[i].type == T_SBYTE) {
            k->b[at + 8] = (uint8_t)e[i].value;
        } else if (e[i].type == T_SHORT || e[i].type == T_SSHORT) {
            put16(k, at + 8, e[i].value);
            put16(k, at + 10, e[i].pad);
        } else {
            put32(k, at + 8, e[i].value);
        }
    }
    put32(k, at, 0);
    k->len = at + 4;
}

/* exif_orientation on an exact-size heap copy of the first len bytes. */
static int orient_of(const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, data, len);
    int o = exif_orientation(copy, len);
    free(copy);
    return o;
}

static void test_short_and_long_both_orders(void **state)
{
    (void)state;
    for (int le = 0; le <= 1; le++) {
        for (uint32_t o = 1; o <= 8; o++) {
            blk k;
            ent e[1] = {{0x0112, T_SHORT, 1, o, 0}};
            build(&k, le, 8, e, 1, 1);
            if (orient_of(k.b, k.len) != (int)o)
                fail_msg("%s SHORT %u: got %d", le ? "II" : "MM", o, orient_of(k.b, k.len));
            /* The unused half of a SHORT's field must not matter. */
            e[0].pad = 0xFFFF;
            build(&k, le, 8, e, 1, 1);
            assert_int_equal(orient_of(k.b, k.len), (int)o);

            ent l[1] = {{0x0112, T_LONG, 1, o, 0}};
            build(&k, le, 8, l, 1, 1);
            if (orient_of(k.b, k.len) != (int)o)
                fail_msg("%s LONG %u: got %d", le ? "II" : "MM", o, orient_of(k.b, k.len));
        }
    }
}

/* Orientation stored with another integer type (gdk-pixbuf's test files
 * use SLONG): read as exiftool and libexif read it. */
static void test_other_integer_types(void **state)
{
    (void)state;
    static const uint16_t types[] = {T_BYTE, T_SBYTE, T_SSHORT, T_SLONG};
    for (int le = 0; le <= 1; le++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
            for (uint32_t o = 1; o <= 8; o++) {
                blk k;
                ent e[1] = {{0x0112, types[t], 1, o, 0xFFFF}};
                build(&k, le, 8, e, 1, 1);
                if (orient_of(k.b, k.len) != (int)o)
                    fail_msg("%s type %u value %u: got %d", le ? "II" : "MM", types[t], o,
                             orient_of(k.b, k.len));
            }
    /* Negative as signed, and a non-integer type: not an orientation. */
    blk k;
    ent neg[1] = {{0x0112, T_SLONG, 1, 0xFFFFFFFAu, 0}};
    build(&k, true, 8, neg, 1, 1);
    assert_int_equal(orient_of(k.b, k.len), 1);
    ent fl[1] = {{0x0112, T_FLOAT, 1, 6, 0}};
    build(&k, true, 8, fl, 1, 1);
    assert_int_equal(orient_of(k.b, k.len), 1);
}

static void test_among_other_tags_and_offset_ifd(void **state)
{
    (void)state;
    for (int le = 0; le <= 1; le++) {
        ent e[4] = {
            {0x010F, T_ASCII, 4, 0x41424300, 0},   /* Make "ABC" inline */
            {0x0110, T_ASCII, 40, 200, 0},         /* Model, pointing elsewhere */
            {0x0112, T_SHORT, 1, 6, 0},
            {0x011A, T_LONG, 1, 72, 0},
        };
        blk k;
        build(&k, le, 30, e, 4, 4); /* IFD not right after the header */
        assert_int_equal(orient_of(k.b, k.len), 6);
        /* Absent: 1. */
        e[2].tag = 0x0131;
        build(&k, le, 30, e, 4, 4);
        assert_int_equal(orient_of(k.b, k.len), 1);
    }
}

static void test_out_of_range_values(void **state)
{
    (void)state;
    const uint32_t bad[] = {0, 9, 255, 0xFFFF};
    for (int le = 0; le <= 1; le++)
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            blk k;
            ent e[1] = {{0x0112, T_SHORT, 1, bad[i], 0}};
            build(&k, le, 8, e, 1, 1);
            assert_int_equal(orient_of(k.b, k.len), 1);
            ent l[1] = {{0x0112, T_LONG, 1, bad[i] | 0x10000u, 0}};
            build(&k, le, 8, l, 1, 1);
            assert_int_equal(orient_of(k.b, k.len), 1);
        }
    /* A LONG whose low half alone would be a valid orientation. */
    blk k;
    ent l[1] = {{0x0112, T_LONG, 1, 0x00010003u, 0}};
    build(&k, true, 8, l, 1, 1);
    assert_int_equal(orient_of(k.b, k.len), 1);
}

static void test_bad_headers(void **state)
{
    (void)state;
    assert_int_equal(exif_orientation(NULL, 0), 1);
    assert_int_equal(exif_orientation(NULL, 100), 1);
    blk k;
    ent e[1] = {{0x0112, T_SHORT, 1, 3, 0}};
    build(&k, true, 8, e, 1, 1);
    assert_int_equal(orient_of(k.b, k.len), 3);
    blk m = k;
    m.b[0] = 'M'; /* "MI" */
    assert_int_equal(orient_of(m.b, m.len), 1);
    m = k;
    memcpy(m.b, "XX", 2);
    assert_int_equal(orient_of(m.b, m.len), 1);
    m = k;
    m.b[2] = 43; /* magic */
    assert_int_equal(orient_of(m.b, m.len), 1);
    m = k;
    m.b[2] = 0;
    m.b[3] = 42; /* big-endian magic in a little-endian block */
    assert_int_equal(orient_of(m.b, m.len), 1);
    for (size_t len = 0; len < 8; len++)
        assert_int_equal(orient_of(k.b, len), 1);
}

static void test_truncated_at_every_length(void **state)
{
    (void)state;
    for (int le = 0; le <= 1; le++) {
        ent e[3] = {
            {0x0100, T_LONG, 1, 4000, 0},
            {0x0112, T_SHORT, 1, 8, 0},
            {0x0101, T_LONG, 1, 3000, 0},
        };
        blk k;
        build(&k, le, 8, e, 3, 3);
        size_t entry_end = 8 + 2 + 12 * 2; /* end of the orientation entry */
        for (size_t len = 0; len <= k.len; len++) {
            int o = orient_of(k.b, len);
            if (len < entry_end)
                assert_int_equal(o, 1);
            else if (len == k.len)
                assert_int_equal(o, 8);
            else
                assert_true(o == 1 || o == 8);
        }
    }
}

static void test_offsets_outside(void **state)
{
    (void)state;
    for (int le = 0; le <= 1; le++) {
        blk k;
        ent e[1] = {{0x0112, T_SHORT, 1, 5, 0}};
        build(&k, le, 8, e, 1, 1);
        const uint32_t offs[] = {(uint32_t)k.len, (uint32_t)k.len + 1, (uint32_t)k.len - 1,
                                 (uint32_t)k.len - 2, 0xFFFFFFFFu, 0xFFFFFFFEu, 0x80000000u,
                                 0x7FFFFFFFu};
        for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
            blk m = k;
            put32(&m, 4, offs[i]);
            int o = orient_of(m.b, m.len);
            if (o != 1)
                fail_msg("IFD offset %#x of a %zu-byte block: got %d", offs[i], m.len, o);
        }
        /* An entry count far larger than the block. */
        const unsigned counts[] = {2, 3, 100, 0x1555, 0xFFFF};
        for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
            blk m = k;
            put16(&m, 8, counts[i]);
            assert_int_equal(orient_of(m.b, m.len), 1);
        }
        /* Zero entries. */
        blk z;
        build(&z, le, 8, NULL, 0, 0);
        assert_int_equal(orient_of(z.b, z.len), 1);
    }
}

static uint32_t rng_state = 0x12345678u;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void test_garbage_never_out_of_bounds(void **state)
{
    (void)state;
    uint8_t buf[96];
    /* Random bytes behind a valid header. */
    for (int iter = 0; iter < 60000; iter++) {
        size_t len = rnd() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rnd();
        if (len >= 4 && iter % 2) {
            bool le = iter % 4 == 1;
            memcpy(buf, le ? "II" : "MM", 2);
            buf[2] = le ? 42 : 0;
            buf[3] = le ? 0 : 42;
            if (len >= 8 && iter % 8 < 4) { /* a plausible IFD offset */
                uint32_t off = rnd() % (uint32_t)(len + 4);
                for (int b = 0; b < 4; b++)
                    buf[4 + b] = (uint8_t)(off >> (le ? 8 * b : 8 * (3 - b)));
            }
        }
        int o = orient_of(buf, len);
        assert_true(o >= 1 && o <= 8);
    }
    /* Mutations of a valid block: flipped bytes and truncation. */
    ent e[3] = {
        {0x0100, T_LONG, 1, 4000, 0},
        {0x0112, T_SHORT, 1, 7, 0},
        {0x0101, T_LONG, 1, 3000, 0},
    };
    for (int iter = 0; iter < 40000; iter++) {
        blk k;
        build(&k, iter % 2, 8 + (uint32_t)(iter % 5) * 2, e, 3, 3);
        int flips = 1 + (int)(rnd() % 4);
        for (int f = 0; f < flips; f++)
            k.b[rnd() % k.len] = (uint8_t)rnd();
        size_t len = rnd() % 3 ? k.len : rnd() % (k.len + 1);
        int o = orient_of(k.b, len);
        assert_true(o >= 1 && o <= 8);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_and_long_both_orders),
        cmocka_unit_test(test_other_integer_types),
        cmocka_unit_test(test_among_other_tags_and_offset_ifd),
        cmocka_unit_test(test_out_of_range_values),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_truncated_at_every_length),
        cmocka_unit_test(test_offsets_outside),
        cmocka_unit_test(test_garbage_never_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
