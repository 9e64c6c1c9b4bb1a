/* libFuzzer target: one image through the whole per-image pipeline
 * (pipeline_make: sniff, decode, shrink, colour, orientation, resize; then
 * pipeline_encode to memory), exactly as a worker runs it but for the file.
 *
 * Built twice (tests/fuzz/CMakeLists.txt):
 *   FUZZ_JPEG  fuzz_jpeg: only inputs with the JPEG signature are decoded
 *   FUZZ_PNG   fuzz_png:  only inputs with the PNG signature are decoded;
 *              every chunk's CRC is recomputed first (see fix_png_crcs)
 *
 * Input layout: IMAGE BYTES || OPTION BYTE. The last byte chooses the
 * options (fit, box, enlarge, format, quality, memory gate) and is not part
 * of the image; the seeds (seeds.sh) are whole image files with one option
 * byte appended, so every seed is a valid image followed by its options.
 *
 * Environment (for reproducing outside libFuzzer, never needed to fuzz):
 *   THUMBD_FUZZ_DUMP=FILE  writes the image bytes exactly as the pipeline
 *                          reads them (after the CRC fix-up) to FILE and
 *                          prints the equivalent thumbd options to stderr.
 *   THUMBD_FUZZ_VERBOSE=1  prints the pipeline's error message, if any.
 *
 * The target also checks the pipeline's contracts and aborts (a crash
 * libFuzzer reports) when one is broken: a failure must carry a message and
 * leave nothing in th; the memory gate must be empty again; a success must
 * give a thumbnail inside the box that encodes, with the signature of
 * pipeline_format. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "thumbd/codec.h"
#include "thumbd/config.h"
#include "thumbd/memgate.h"
#include "thumbd/pipeline.h"

#if defined(FUZZ_JPEG) == defined(FUZZ_PNG)
#error "define exactly one of FUZZ_JPEG and FUZZ_PNG"
#endif

#ifdef FUZZ_JPEG
static const char want_kind = 'j';
#else
static const char want_kind = 'p';
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Large enough for every legitimate seed, small enough that a mutated
 * header asking for a huge (but allowed) image decodes in well under the
 * 10 s timeout under ASan; the other limits keep their defaults. */
enum { FUZZ_MAX_PIXELS = 4000000 };

/* The boxes the option byte chooses from: the default; a tiny one (at 16x16
 * a progressive JPEG needs only 1/8 scale, which takes the DC-only decoder,
 * src/jpegdc.c); a wide one; and a degenerate 1-pixel-wide one. The larger
 * progressive seeds take the default and the wide box to 2/8 or 4/8 scale,
 * src/jpeglf.c. */
static const int boxes[4][2] = {{200, 200}, {16, 16}, {120, 40}, {1, 250}};

/* Option byte: bit 0 fit inside (else cover), bits 1-2 box, bit 3 enlarge,
 * bits 4-5 format (auto, jpeg, png, auto), bit 6 a 1 MiB memory gate,
 * bit 7 quality 1 (else 85). */
static void apply_options(uint8_t o, thumbd_config *cfg, bool *gate)
{
    cfg->fit = (o & 1) ? FIT_INSIDE : FIT_COVER;
    cfg->width = boxes[(o >> 1) & 3][0];
    cfg->height = boxes[(o >> 1) & 3][1];
    cfg->enlarge = (o >> 3) & 1;
    static const out_format formats[4] = {FORMAT_AUTO, FORMAT_JPEG, FORMAT_PNG, FORMAT_AUTO};
    cfg->format = formats[(o >> 4) & 3];
    *gate = (o >> 6) & 1;
    cfg->quality = (o >> 7) ? 1 : 85;
}

#ifdef FUZZ_PNG
/* CRC-32 of PNG chunks (ISO 3309 / ITU-T V.42, reflected 0xEDB88320). */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    static uint32_t table[256];
    static bool ready;
    if (!ready) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = true;
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* Rewrites the CRC of every whole chunk after the signature. Without this
 * nearly every mutation of a PNG dies at libpng's CRC check, and the fuzzer
 * never reaches the code behind it; the check itself is libpng's, not ours. */
static void fix_png_crcs(uint8_t *p, size_t n)
{
    size_t off = 8;
    while (n - off >= 12) {
        uint32_t len = (uint32_t)p[off] << 24 | (uint32_t)p[off + 1] << 16 |
                       (uint32_t)p[off + 2] << 8 | p[off + 3];
        if (len > n - off - 12)
            break; /* a chunk cut short: left for libpng to refuse */
        uint32_t crc = crc32_png(p + off + 4, (size_t)len + 4);
        uint8_t *q = p + off + 8 + len;
        q[0] = (uint8_t)(crc >> 24);
        q[1] = (uint8_t)(crc >> 16);
        q[2] = (uint8_t)(crc >> 8);
        q[3] = (uint8_t)crc;
        off += 12 + (size_t)len;
    }
}
#endif

/* THUMBD_FUZZ_DUMP: the image and the command line that reproduces it. */
static void dump(const uint8_t *img, size_t n, const thumbd_config *cfg, bool gate)
{
    const char *path = getenv("THUMBD_FUZZ_DUMP");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(img, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
    static const char *const fmt[] = {"auto", "jpeg", "png"};
    fprintf(stderr,
            "fuzz: wrote %zu bytes to %s; thumbd -s %dx%d --fit %s%s -f %s -q %d"
            " --max-pixels %d%s\n",
            n, path, cfg->width, cfg->height, cfg->fit == FIT_INSIDE ? "inside" : "cover",
            cfg->enlarge ? " --enlarge" : "", fmt[cfg->format], cfg->quality, FUZZ_MAX_PIXELS,
            gate ? " --max-memory 1M" : "");
}

/* Aborts with a message: a broken contract is a finding. */
static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz: contract broken: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void check_output(const uint8_t *out, size_t n, out_kind fmt)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (fmt == OUT_JPEG && (n < 4 || out[0] != 0xFF || out[1] != 0xD8 || out[n - 2] != 0xFF ||
                            out[n - 1] != 0xD9))
        fail("pipeline_encode wrote no complete JPEG", NULL);
    if (fmt == OUT_PNG && (n < 8 || memcmp(out, png_sig, 8) != 0))
        fail("pipeline_encode wrote no PNG", NULL);
}

/* PNGs of even length are read from a memfd, a regular file whose size
 * png.c can see, so that small ones take pngpix's whole-buffer strategy
 * (libdeflate); the others from fmemopen, which has no size: streaming. */
static FILE *open_image(uint8_t *img, size_t n)
{
#ifdef FUZZ_PNG
    if (n % 2 == 0) {
        int fd = memfd_create("fuzz_png", 0);
        FILE *f = fd >= 0 ? fdopen(fd, "w+b") : NULL;
        if (!f) {
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        if (fwrite(img, 1, n, f) != n || fseek(f, 0, SEEK_SET) != 0) {
            fclose(f);
            return NULL;
        }
        return f;
    }
#endif
    return fmemopen(img, n, "rb");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t n = size - 1;
    if (codec_sniff(data, n) != want_kind)
        return 0; /* the other decoder's (or no decoder's) input */

    thumbd_config cfg;
    config_defaults(&cfg);
    cfg.max_memory = config_memory_auto(&cfg); /* what config_parse resolves "auto" to */
    cfg.max_pixels = FUZZ_MAX_PIXELS;
    bool use_gate;
    apply_options(data[n], &cfg, &use_gate);

    /* A private copy of exactly the image bytes: fmemopen never reads past
     * it, and ASan sees any access beyond it. */
    uint8_t *img = malloc(n);
    if (!img)
        abort();
    memcpy(img, data, n);
#ifdef FUZZ_PNG
    fix_png_crcs(img, n);
#endif
    dump(img, n, &cfg, use_gate);

    FILE *in = open_image(img, n);
    if (!in)
        abort();
    memgate *gate = use_gate ? memgate_create(1u << 20) : NULL;
    if (use_gate && !gate)
        abort();
    cancel_token tok;
    cancel_init(&tok, 0);
    pipeline_thumb th;
    char err[TD_ERRLEN];
    memset(err, 0, sizeof err);

    td_status st = pipeline_make(&cfg, gate, false, in, &tok, &th, err);
    if (getenv("THUMBD_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz: pipeline_make: %d %s\n", (int)st, err);

    if (st != TD_OK) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            fail("a failure without a message", NULL);
        if (st != TD_EINPUT && st != TD_ELIMIT && st != TD_ENOMEM)
            fail("unexpected status for an in-memory decode", err);
        if (th.px)
            fail("th holds pixels after a failure", err);
    } else {
        if (!th.px || th.w < 1 || th.h < 1 || th.w > cfg.width || th.h > cfg.height)
            fail("a thumbnail outside the box", NULL);
        char *buf = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&buf, &len);
        if (!out)
            abort();
        out_kind fmt = pipeline_format(&cfg, &th);
        td_status est = pipeline_encode(&cfg, &th, out, err);
        if (fclose(out) != 0)
            abort();
        if (est != TD_OK)
            fail("pipeline_encode failed on a good thumbnail", err);
        check_output((const uint8_t *)buf, len, fmt);
        free(buf);
        pipeline_thumb_free(&th);
    }

    if (gate && memgate_in_use(gate) != 0)
        fail("the decoder's memory reservation was not returned", NULL);
    memgate_destroy(gate);
    fclose(in);
    free(img);
    return 0;
}
