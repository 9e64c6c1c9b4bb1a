/* thumbd_hostile: the command line, and the good, named, mislabelled, empty, truncated, bit-flipped and nested files. */
#include "gen_hostile_util.h"

/* Offset just after the first SOS header (where entropy-coded data starts). */
static size_t jpeg_data_start(const buf *b)
{
    size_t i = 2;
    while (i + 4 <= b->n && b->d[i] == 0xFF) {
        unsigned m = b->d[i + 1];
        size_t len = (size_t)b->d[i + 2] << 8 | b->d[i + 3];
        if (m == 0xDA)
            return i + 2 + len;
        i += 2 + len;
    }
    die("no SOS marker in a JPEG we made");
}

/* ------------------------------------------------------------------------ */
/* The corpus                                                                 */

typedef struct bases {
    buf jpg, png, prog, small_jpg, small_png;
} bases;

static void make_good(bases *B)
{
    jpeg_simple(600, 400, 3, false, &B->jpg);
    png_simple(500, 300, PNG_COLOR_TYPE_RGB, &B->png);
    jpeg_simple(640, 480, 3, true, &B->prog);
    jpeg_simple(160, 120, 3, false, &B->small_jpg);
    png_simple(120, 90, PNG_COLOR_TYPE_RGB, &B->small_png);
    write_file("good/photo.jpg", B->jpg.d, B->jpg.n);
    write_file("good/photo_rgb.png", B->png.d, B->png.n);
    write_file("good/prog.jpg", B->prog.d, B->prog.n);
    buf b = {0};
    png_simple(240, 240, PNG_COLOR_TYPE_RGB_ALPHA, &b);
    write_file("good/alpha.png", b.d, b.n);
    b.n = 0;
    png_simple(300, 200, PNG_COLOR_TYPE_GRAY, &b);
    write_file("good/gray8.png", b.d, b.n);
    b.n = 0;
    jpeg_simple(256, 256, 1, false, &b);
    write_file("good/gray.jpg", b.d, b.n);
    buf_free(&b);
}

static void make_names(const bases *B)
{
    static const char *names[] = {
        "line1\nline2.jpg",
        "\nleading-newline.png",
        "tab\there.jpg",
        "cr\rreturn.png",
        "bad\xff\xfe.jpg",
        ("lone\x80" "byte.png"),
        "overlong\xc0\xaf.jpg",
        "-rf.jpg",
        "--help.png",
        "-.jpg",
        "--.png",
        " lead space.jpg",
        "quote\"and\\back.png",
        "\x1b[31mansi.jpg",
        "percent%s%n.png",
        "utf8-caf\xc3\xa9-\xe2\x9c\x93.jpg",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "names/%s", names[i]);
        const char *dot = strrchr(names[i], '.');
        const buf *b = !strcmp(dot, ".png") ? &B->small_png : &B->small_jpg;
        write_file(rel, b->d, b->n);
    }
}

static void make_wrongext(const bases *B)
{
    write_file("wrongext/png_named.jpg", B->small_png.d, B->small_png.n);
    write_file("wrongext/jpeg_named.png", B->small_jpg.d, B->small_jpg.n);
    static const char text[] = "This is not an image, whatever its name says.\n";
    write_file("wrongext/text.jpg", text, sizeof text - 1);
    static const char html[] = "<!DOCTYPE html><html><body>not a PNG</body></html>\n";
    write_file("wrongext/html.png", html, sizeof html - 1);
    static const char notes[] = "not an image name: only counted\n";
    write_file("wrongext/notes.txt", notes, sizeof notes - 1);
}

static void make_empty(void)
{
    write_file("empty/empty_a.jpg", "", 0);
    write_file("empty/empty_b.jpeg", "", 0);
    write_file("empty/empty_c.png", "", 0);
}

/* n cut offsets: half spread over the headers [1, hdr + 32), half over the
 * image data up to 64 bytes before the end. */
static int cut_offsets(size_t len, size_t hdr, int n, size_t *out)
{
    int k = 0;
    size_t hi = hdr + 32;
    for (int i = 0; i < n / 2; i++) {
        size_t off = 1 + (size_t)i * (hi - 1) / (size_t)(n / 2);
        if (k == 0 || off > out[k - 1])
            out[k++] = off;
    }
    size_t last = len - 64;
    for (int i = 0; i < n - n / 2; i++) {
        size_t off = hi + (size_t)i * (last - hi) / (size_t)(n - n / 2 - 1);
        if (k == 0 || off > out[k - 1])
            out[k++] = off;
    }
    return k;
}

static void make_truncated(const bases *B)
{
    size_t offs[64];
    struct {
        const buf *b;
        const char *dir, *ext;
        int n;
        size_t hdr;
    } sets[3] = {
        {&B->jpg, "jpg", "jpg", N_CUTS, jpeg_data_start(&B->jpg)},
        {&B->png, "png", "png", N_CUTS, 0},
        {&B->prog, "prog", "jpg", N_CUTS_PROG, jpeg_data_start(&B->prog)},
    };
    /* PNG: headers end where the first IDAT's data starts */
    const uint8_t *idat = memmem(B->png.d, B->png.n, "IDAT", 4);
    if (!idat)
        die("no IDAT in a PNG we made");
    sets[1].hdr = (size_t)(idat - B->png.d) + 4;
    int total = 0;
    for (int s = 0; s < 3; s++) {
        int n = cut_offsets(sets[s].b->n, sets[s].hdr, sets[s].n, offs);
        for (int i = 0; i < n; i++) {
            char rel[128];
            snprintf(rel, sizeof rel, "truncated/%s/cut_%07zu.%s", sets[s].dir, offs[i],
                     sets[s].ext);
            write_file(rel, sets[s].b->d, offs[i]);
        }
        total += n;
    }
    printf("truncated: %d files (JPEG %zu bytes, PNG %zu bytes, progressive JPEG %zu bytes)\n",
           total, B->jpg.n, B->png.n, B->prog.n);
}

static void make_bitflips(const bases *B)
{
    struct {
        const buf *b;
        const char *dir, *ext;
        int n;
        size_t keep;   /* bytes left alone: the signature stays recognisable */
    } sets[3] = {
        {&B->jpg, "jpg", "jpg", N_FLIPS, 3},
        {&B->png, "png", "png", N_FLIPS, 8},
        {&B->prog, "prog", "jpg", N_FLIPS_PROG, 3},
    };
    for (int s = 0; s < 3; s++) {
        uint8_t *copy = malloc(sets[s].b->n);
        if (!copy)
            die("out of memory");
        for (int i = 0; i < sets[s].n; i++) {
            memcpy(copy, sets[s].b->d, sets[s].b->n);
            int flips = 1 + i % 4;
            for (int k = 0; k < flips; k++) {
                size_t at = sets[s].keep + (size_t)(rnd() % (sets[s].b->n - sets[s].keep));
                copy[at] ^= (uint8_t)(1u << (rnd() % 8));
            }
            char rel[128];
            snprintf(rel, sizeof rel, "bitflip/%s/flip_%02d.%s", sets[s].dir, i, sets[s].ext);
            write_file(rel, copy, sets[s].b->n);
        }
        free(copy);
    }
}

/* DEEP_LEVELS nested directories under base ("d", or 32-byte names), an
 * image at the middle level and one at the bottom. Made through directory
 * descriptors, so paths longer than PATH_MAX work. */
static void make_nested(const char *base, bool long_names, const bases *B,
                        const char *mid_name, const char *bottom_name)
{
    mkparents_at(g_root, base);
    if (mkdirat(g_root, base, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", base, strerror(errno));
    int fd = openat(g_root, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        die("open %s: %s", base, strerror(errno));
    for (int lv = 1; lv <= DEEP_LEVELS; lv++) {
        char name[64] = "d";
        if (long_names)
            snprintf(name, sizeof name, "level-%03d-padding-to-32-bytes-x", lv);
        if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST)
            die("mkdir %s level %d: %s", base, lv, strerror(errno));
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (next < 0)
            die("open %s level %d: %s", base, lv, strerror(errno));
        close(fd);
        fd = next;
        if (lv == DEEP_LEVELS / 2)
            write_at(fd, mid_name, B->small_png.d, B->small_png.n);
    }
    write_at(fd, bottom_name, B->small_jpg.d, B->small_jpg.n);
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: thumbd_hostile OUTDIR\n");
        return 2;
    }
    if (mkdir(argv[1], 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", argv[1], strerror(errno));
    g_root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (g_root < 0)
        die("open %s: %s", argv[1], strerror(errno));
    bases B;
    memset(&B, 0, sizeof B);
    make_good(&B);
    make_names(&B);
    make_wrongext(&B);
    make_empty();
    make_truncated(&B);
    make_bitflips(&B);
    make_huge();
    make_dims();
    make_bombs();
    make_many_scans();
    make_appflood();
    make_nested("deep", false, &B, "middle.png", "bottom.jpg");
    make_nested("deeplong", true, &B, "middle.png", "bottom.jpg");
    printf("deep: %d levels; deeplong: %d levels of 32-byte names (the deepest path is "
           "longer than PATH_MAX)\n", DEEP_LEVELS, DEEP_LEVELS);
    buf_free(&B.jpg);
    buf_free(&B.png);
    buf_free(&B.prog);
    buf_free(&B.small_jpg);
    buf_free(&B.small_png);
    close(g_root);
    return 0;
}
