/* inflate: zlib against libdeflate on the IDAT streams of real PNGs.
 *
 *   inflate [-r REPEATS] FILE.png...
 *
 * For each PNG, parses the chunks itself, concatenates the IDAT data (one
 * zlib stream) and inflates it three ways, each REPEATS times (default 5),
 * keeping the least thread CPU time (the machine's other load disturbs the
 * least):
 *
 *   zlib-stream  zlib's inflate() fed 8192 bytes of input at a time into a
 *                one-row output buffer (filter byte + row), which is how
 *                libpng 1.6 drives it (PNG_IDAT_READ_SIZE = 8192, one
 *                png_read_row at a time): memory is zlib's state and 32 KiB
 *                window, the input buffer and one row;
 *   zlib-whole   one inflate() call, whole input to whole output: the same
 *                library without the per-row calls;
 *   libdeflate   libdeflate_zlib_decompress(), whole input to whole output:
 *                the only way libdeflate 1.14 works, so it needs the whole
 *                compressed stream and the whole raw (filtered) image in
 *                memory at once.
 *
 * Prints one line per file (tab-separated: name, width, height, colour
 * type, bit depth, interlace, compressed bytes, raw bytes, CPU ms of each
 * way, memory bytes of streaming and of whole-buffer) and a summary on
 * stderr. Every output is checked against the others (same length, same
 * Adler-32 checked by both libraries).
 *
 * Exit status: 0 if every file was measured, 1 if any failed, 2 on usage.
 */
#include <libdeflate.h>
#include <zlib.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct png_stream {
    uint32_t width, height;
    int bit_depth, colour_type, interlace;
    unsigned char *idat; /* the concatenated IDAT data */
    size_t idat_len;
    size_t raw_len;  /* inflated size: filter bytes and rows, every pass */
    size_t row_len;  /* the largest filtered row, filter byte included */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int channels(int colour_type)
{
    switch (colour_type) {
    case 0: return 1; /* grey */
    case 2: return 3; /* RGB */
    case 3: return 1; /* palette */
    case 4: return 2; /* grey + alpha */
    case 6: return 4; /* RGBA */
    default: return 0;
    }
}

/* Bytes of one filtered row of w pixels, filter byte included. */
static size_t row_bytes(const struct png_stream *s, uint32_t w)
{
    if (w == 0)
        return 0;
    return 1 + ((size_t)w * (size_t)channels(s->colour_type) * (size_t)s->bit_depth + 7) / 8;
}

/* Reads PATH and fills s. Returns 0, or -1 with a message in err. */
static int load(const char *path, struct png_stream *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    unsigned char sig[8], hdr[8];
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (fread(sig, 1, 8, fp) != 8 || memcmp(sig, png_sig, 8) != 0) {
        snprintf(err, errlen, "not a PNG");
        fclose(fp);
        return -1;
    }
    size_t cap = 0;
    int have_ihdr = 0;
    while (fread(hdr, 1, 8, fp) == 8) {
        uint32_t len = be32(hdr);
        if (len > 0x7fffffffu) {
            snprintf(err, errlen, "bad chunk length");
            break;
        }
        if (memcmp(hdr + 4, "IHDR", 4) == 0 && len == 13) {
            unsigned char ih[13];
            if (fread(ih, 1, 13, fp) != 13)
                break;
            s->width = be32(ih);
            s->height = be32(ih + 4);
            s->bit_depth = ih[8];
            s->colour_type = ih[9];
            s->interlace = ih[12];
            have_ihdr = 1;
            len = 0;
        } else if (memcmp(hdr + 4, "IDAT", 4) == 0) {
            if (s->idat_len + len > cap) {
                cap = (s->idat_len + len) * 2;
                unsigned char *p = realloc(s->idat, cap);
                if (!p) {
                    snprintf(err, errlen, "out of memory");
                    break;
                }
                s->idat = p;
            }
            if (fread(s->idat + s->idat_len, 1, len, fp) != len)
                break;
            s->idat_len += len;
            len = 0;
        } else if (memcmp(hdr + 4, "IEND", 4) == 0) {
            fclose(fp);
            if (!have_ihdr || s->idat_len == 0 || channels(s->colour_type) == 0) {
                snprintf(err, errlen, "no IHDR or no IDAT");
                return -1;
            }
            if (s->interlace) { /* Adam7: 7 passes of sub-images */
                static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, dx[7] = {8, 8, 4, 4, 2, 2, 1};
                static const int y0[7] = {0, 0, 4, 0, 2, 0, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
                for (int p = 0; p < 7; p++) {
                    uint32_t pw = s->width > (uint32_t)x0[p] ? (s->width - x0[p] + dx[p] - 1) / dx[p] : 0;
                    uint32_t ph = s->height > (uint32_t)y0[p] ? (s->height - y0[p] + dy[p] - 1) / dy[p] : 0;
                    if (pw && ph)
                        s->raw_len += (size_t)ph * row_bytes(s, pw);
                }
            } else {
                s->raw_len = (size_t)s->height * row_bytes(s, s->width);
            }
            s->row_len = row_bytes(s, s->width);
            return 0;
        }
        if (len && fseek(fp, len, SEEK_CUR) != 0)
            break;
        if (fseek(fp, 4, SEEK_CUR) != 0) /* CRC */
            break;
    }
    if (!err[0])
        snprintf(err, errlen, "truncated file");
    fclose(fp);
    return -1;
}

/* zlib the way libpng drives it: 8 KiB of input at a time, one row of
 * output at a time. Returns the bytes inflated, or 0 on error. */
static size_t zlib_stream(const struct png_stream *s, unsigned char *row)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return 0;
    size_t in_off = 0, total = 0;
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
        if (z.avail_in == 0) {
            if (in_off == s->idat_len)
                break;
            size_t n = s->idat_len - in_off < 8192 ? s->idat_len - in_off : 8192;
            z.next_in = s->idat + in_off;
            z.avail_in = (uInt)n;
            in_off += n;
        }
        if (z.avail_out == 0) {
            z.next_out = row;
            z.avail_out = (uInt)s->row_len;
        }
        uInt before = z.avail_out;
        ret = inflate(&z, Z_NO_FLUSH);
        total += before - z.avail_out;
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
            break;
    }
    inflateEnd(&z);
    return ret == Z_STREAM_END ? total : 0;
}

static size_t zlib_whole(const struct png_stream *s, unsigned char *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK)
        return 0;
    z.next_in = s->idat;
    z.avail_in = (uInt)s->idat_len;
    z.next_out = out;
    z.avail_out = (uInt)s->raw_len;
    int ret = inflate(&z, Z_FINISH);
    size_t total = s->raw_len - z.avail_out;
    inflateEnd(&z);
    return ret == Z_STREAM_END ? total : 0;
}

static size_t with_libdeflate(struct libdeflate_decompressor *d, const struct png_stream *s,
                              unsigned char *out)
{
    size_t actual = 0;
    if (libdeflate_zlib_decompress(d, s->idat, s->idat_len, out, s->raw_len, &actual) !=
        LIBDEFLATE_SUCCESS)
        return 0;
    return actual;
}

int main(int argc, char **argv)
{
    int reps = 5, first = 1;
    if (argc > 2 && strcmp(argv[1], "-r") == 0) {
        reps = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || reps < 1) {
        fprintf(stderr, "usage: %s [-r REPEATS] FILE.png...\n", argv[0]);
        return 2;
    }
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        fprintf(stderr, "inflate: libdeflate_alloc_decompressor failed\n");
        return 1;
    }
    /* zlib's inflate state: sizeof(struct inflate_state) is about 7 KiB, plus
     * the 32 KiB window (windowBits 15, what PNG encoders write). */
    const size_t zlib_state = 7 * 1024 + 32 * 1024;
    int failed = 0, n = 0;
    double t_stream = 0, t_whole = 0, t_deflate = 0;
    double raw_total = 0, idat_total = 0;
    size_t max_whole = 0, max_stream = 0;
    int over_budget = 0;
    const size_t budget = 40u << 20; /* thumbd's default --max-memory */

    printf("file\twidth\theight\tcolour_type\tbit_depth\tinterlace\tidat_bytes\traw_bytes"
           "\tzlib_stream_ms\tzlib_whole_ms\tlibdeflate_ms\tstream_mem_bytes\twhole_mem_bytes\n");
    for (int i = first; i < argc; i++) {
        struct png_stream s;
        char err[128] = "";
        if (load(argv[i], &s, err, sizeof err) != 0) {
            fprintf(stderr, "inflate: %s: %s\n", argv[i], err);
            free(s.idat);
            failed = 1;
            continue;
        }
        unsigned char *row = malloc(s.row_len);
        unsigned char *out = malloc(s.raw_len);
        if (!row || !out) {
            fprintf(stderr, "inflate: %s: out of memory\n", argv[i]);
            free(row), free(out), free(s.idat);
            failed = 1;
            continue;
        }
        double best[3] = {1e30, 1e30, 1e30};
        size_t got[3] = {0, 0, 0};
        for (int r = 0; r < reps; r++) {
            double t0 = cpu_s();
            got[0] = zlib_stream(&s, row);
            double t1 = cpu_s();
            got[1] = zlib_whole(&s, out);
            double t2 = cpu_s();
            got[2] = with_libdeflate(d, &s, out);
            double t3 = cpu_s();
            if (t1 - t0 < best[0]) best[0] = t1 - t0;
            if (t2 - t1 < best[1]) best[1] = t2 - t1;
            if (t3 - t2 < best[2]) best[2] = t3 - t2;
        }
        free(row);
        free(out);
        if (got[0] != s.raw_len || got[1] != s.raw_len || got[2] != s.raw_len) {
            fprintf(stderr, "inflate: %s: inflated %zu / %zu / %zu bytes, expected %zu\n", argv[i],
                    got[0], got[1], got[2], s.raw_len);
            free(s.idat);
            failed = 1;
            continue;
        }
        size_t stream_mem = zlib_state + 8192 + s.row_len;
        size_t whole_mem = s.idat_len + s.raw_len;
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        printf("%s\t%u\t%u\t%d\t%d\t%d\t%zu\t%zu\t%.3f\t%.3f\t%.3f\t%zu\t%zu\n", name, s.width,
               s.height, s.colour_type, s.bit_depth, s.interlace, s.idat_len, s.raw_len,
               best[0] * 1e3, best[1] * 1e3, best[2] * 1e3, stream_mem, whole_mem);
        n++;
        t_stream += best[0];
        t_whole += best[1];
        t_deflate += best[2];
        raw_total += (double)s.raw_len;
        idat_total += (double)s.idat_len;
        if (whole_mem > max_whole) max_whole = whole_mem;
        if (stream_mem > max_stream) max_stream = stream_mem;
        if (whole_mem > budget) over_budget++;
        free(s.idat);
    }
    libdeflate_free_decompressor(d);
    if (n > 0) {
        double mb = raw_total / 1e6;
        fprintf(stderr,
                "inflate: %d files, %.1f MB compressed, %.1f MB inflated, best of %d, thread CPU time\n"
                "inflate: zlib-stream %.3f s (%.0f MB/s), zlib-whole %.3f s (%.0f MB/s), "
                "libdeflate %.3f s (%.0f MB/s)\n"
                "inflate: libdeflate / zlib-stream speedup %.2f; zlib-whole / zlib-stream %.2f\n"
                "inflate: memory: streaming at most %.1f KiB; whole-buffer at most %.1f MB; "
                "%d files need more than the 40 MiB budget whole\n",
                n, idat_total / 1e6, mb, reps, t_stream, mb / t_stream, t_whole, mb / t_whole,
                t_deflate, mb / t_deflate, t_stream / t_deflate, t_stream / t_whole,
                (double)max_stream / 1024, (double)max_whole / 1e6, over_budget);
    }
    return failed;
}
