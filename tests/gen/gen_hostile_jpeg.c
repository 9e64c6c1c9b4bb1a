/* thumbd_hostile: JPEGs of thousands of scans and a flood of APP markers. */
#include "gen_hostile_util.h"

/* The scan script with the most scans libjpeg's encoder accepts: its
 * validator (jcmaster.c) lets each coefficient of each component be sent in
 * at most 11 scans (a first scan with Al = 10, then refinements Al = 9..0),
 * and AC scans carry one component. So: per component a DC first scan and 10
 * DC refinements, then for every AC coefficient 1..63 a single-coefficient
 * first scan and 10 single-coefficient refinements: 3 x 64 x 11 = 2112. */
static int many_scans_script(jpeg_scan_info *s, int ncomp, bool refine)
{
    int n = 0;
    int top = refine ? 10 : 0;
    for (int ci = 0; ci < ncomp; ci++)
        s[n++] = (jpeg_scan_info){1, {ci}, 0, 0, 0, top};
    for (int al = top; al >= 1; al--)
        for (int ci = 0; ci < ncomp; ci++)
            s[n++] = (jpeg_scan_info){1, {ci}, 0, 0, al, al - 1};
    for (int ci = 0; ci < ncomp; ci++)
        for (int k = 1; k < 64; k++)
            s[n++] = (jpeg_scan_info){1, {ci}, k, k, 0, top};
    for (int al = top; al >= 1; al--)
        for (int ci = 0; ci < ncomp; ci++)
            for (int k = 1; k < 64; k++)
                s[n++] = (jpeg_scan_info){1, {ci}, k, k, al, al - 1};
    return n;
}

typedef struct scan_seg {
    size_t start, end;       /* the DHT/DQT/... markers before the SOS, through its data */
    int comp, ss, ah;
} scan_seg;

/* Splits a JPEG into its scans. Returns how many; *eoi gets EOI's offset. */
static int jpeg_scans(const buf *b, scan_seg *v, int max, size_t *eoi)
{
    size_t i = 2, seg_start = 0;
    bool have_seg = false;
    int n = 0;
    while (i + 1 < b->n) {
        if (b->d[i] != 0xFF)
            die("unexpected byte in a JPEG we made at %zu", i);
        unsigned m = b->d[i + 1];
        if (m == 0xD9) {
            *eoi = i;
            return n;
        }
        size_t len = (size_t)b->d[i + 2] << 8 | b->d[i + 3];
        if (m == 0xDA) {
            size_t j = i + 2 + len;
            while (j + 1 < b->n && !(b->d[j] == 0xFF && b->d[j + 1] != 0 &&
                                     !(b->d[j + 1] >= 0xD0 && b->d[j + 1] <= 0xD7)))
                j++;
            if (n < max) {
                int ns = b->d[i + 4];
                const uint8_t *tail = b->d + i + 5 + 2 * ns;
                v[n] = (scan_seg){have_seg ? seg_start : i, j, b->d[i + 5], tail[0], tail[2] >> 4};
                n++;
            }
            have_seg = true;
            seg_start = j;
            i = j;
        } else {
            i += 2 + len;
        }
    }
    die("no EOI in a JPEG we made");
}

void make_many_scans(void)
{
    enum { W = 2048, H = 2048, MAXS = 3 * 64 * 11 };
    jpeg_scan_info *script = calloc(MAXS, sizeof *script);
    if (!script)
        die("out of memory");
    /* If some libjpeg refused the refinement layout, fall back to one scan
     * per coefficient (192 scans) and say so. */
    jpeg_job job = {.w = W, .h = H, .comps = 3, .quality = 90, .scans = script};
    job.nscans = many_scans_script(script, 3, true);
    bool ok = jpeg_encode_job(&job);
    if (!ok) {
        printf("many_scans.jpg: libjpeg refused the %d-scan script (%s); ", job.nscans, job.msg);
        job.nscans = many_scans_script(script, 3, false);
        ok = jpeg_encode_job(&job);
        if (!ok)
            die("libjpeg refused the %d-scan script too: %s", job.nscans, job.msg);
    }
    buf b = {0};
    buf_put(&b, job.mem, job.len);
    free(job.mem);
    write_file("scans/many_scans.jpg", b.d, b.n);

    /* dup_scans.jpg: repeat the smallest first-pass AC scan of component 1
     * (luma: the most blocks per scan), with the Huffman table written before
     * it, DUP_SCANS times after the first scan: before anything a decoder
     * needs is complete (jpeglf stops a file once nothing it keeps is left). */
    scan_seg *segs = calloc(MAXS + 8, sizeof *segs);
    if (!segs)
        die("out of memory");
    size_t eoi = 0;
    int ns = jpeg_scans(&b, segs, MAXS + 8, &eoi);
    int best = -1;
    for (int k = 0; k < ns; k++)
        if (segs[k].comp == 1 && segs[k].ss > 0 && segs[k].ah == 0 &&
            (best < 0 || segs[k].end - segs[k].start < segs[best].end - segs[best].start))
            best = k;
    if (best < 0)
        die("no AC scan of the first component in many_scans.jpg");
    buf d = {0};
    buf_put(&d, b.d, segs[0].end);
    for (int k = 0; k < DUP_SCANS; k++)
        buf_put(&d, b.d + segs[best].start, segs[best].end - segs[best].start);
    buf_put(&d, b.d + segs[0].end, b.n - segs[0].end);
    write_file("scans/dup_scans.jpg", d.d, d.n);
    printf("many_scans.jpg: %dx%d, %d scans (the most libjpeg's encoder accepts: 11 per "
           "coefficient and component), %zu bytes\n", W, H, ns, b.n);
    printf("dup_scans.jpg: %d scans (%d + %d repeats of a %zu-byte scan), %zu bytes\n",
           ns + DUP_SCANS, ns, DUP_SCANS, segs[best].end - segs[best].start, d.n);
    buf_free(&b);
    buf_free(&d);
    free(segs);
    free(script);
}

void make_appflood(void)
{
    buf b = {0};
    buf_put(&b, "\xFF\xD8", 2);
    uint8_t *seg = calloc(1, 65533);
    if (!seg)
        die("out of memory");
    for (int i = 0; i < FLOOD_MARKERS; i++) {
        memset(seg, 'F', 65533);
        if (i == 0)  /* a real (empty) Exif block first */
            memcpy(seg, "Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0", 20);
        else
            memcpy(seg, "thumbd-hostile flood", 20);
        buf_put(&b, "\xFF\xE1\xFF\xFF", 4);   /* APP1, length 65535 */
        buf_put(&b, seg, 65533);
    }
    free(seg);
    buf small = {0};
    jpeg_simple(64, 64, 3, false, &small);
    buf_put(&b, small.d + 2, small.n - 2);   /* the rest of a real JPEG, after its SOI */
    write_file("appflood/app1_flood.jpg", b.d, b.n);
    printf("app1_flood.jpg: %d APP1 markers of 65535 bytes before a 64x64 image, %zu bytes\n",
           FLOOD_MARKERS, b.n);
    buf_free(&small);
    buf_free(&b);
}
