#include "thumbd/sniff.h"

#include "thumbd/bmpico.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool has(const uint8_t *h, size_t n, size_t at, const char *s, size_t len)
{
    return n >= at + len && !memcmp(h + at, s, len);
}

/* An ISO-BMFF file whose first box is an ftyp naming a HEIF/AVIF brand. */
static bool is_heif(const uint8_t *h, size_t n)
{
    static const char *const brands[] = {"heic", "heix", "heif", "avif", "avis", "mif1", "msf1"};
    if (!has(h, n, 4, "ftyp", 4))
        return false;
    size_t box = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (box < 16 || box % 4)
        return false;
    size_t end = box < n ? box : n;
    for (size_t at = 8; at + 4 <= end; at += 4) {
        if (at == 12)
            continue; /* the minor version, not a brand */
        for (size_t b = 0; b < sizeof brands / sizeof *brands; b++)
            if (!memcmp(h + at, brands[b], 4))
                return true;
    }
    return false;
}

/* Past white space, an optional XML declaration and comments, an SVG root
 * (or its DOCTYPE). Anything else in the way, or the bytes running out,
 * says no: a generic XML file is not taken for an image. */
static bool is_svg(const uint8_t *h, size_t n)
{
    size_t i = has(h, n, 0, "\xEF\xBB\xBF", 3) ? 3 : 0;
    for (;;) {
        while (i < n && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' || h[i] == '\n'))
            i++;
        if (has(h, n, i, "<svg", 4) || has(h, n, i, "<!DOCTYPE svg", 13))
            return n > i + 4 && (has(h, n, i, "<!", 2) || h[i + 4] == ' ' || h[i + 4] == '>' ||
                                 h[i + 4] == '\n' || h[i + 4] == '\t' || h[i + 4] == '\r');
        const char *close = has(h, n, i, "<?xml", 5) ? "?>" : has(h, n, i, "<!--", 4) ? "-->" : NULL;
        if (!close)
            return false;
        size_t cl = strlen(close), j = i + 4;
        while (j + cl <= n && memcmp(h + j, close, cl))
            j++;
        if (j + cl > n)
            return false;
        i = j + cl;
    }
}

sniff_kind sniff_bytes(const uint8_t *h, size_t n)
{
    if (n > SNIFF_BYTES)
        n = SNIFF_BYTES;
    if (has(h, n, 0, "\xFF\xD8\xFF", 3) || has(h, n, 0, "\x89PNG\r\n\x1A\n", 8))
        return SNIFF_NATIVE;
    if (has(h, n, 0, "GIF87a", 6) || has(h, n, 0, "GIF89a", 6) ||
        (has(h, n, 0, "RIFF", 4) && has(h, n, 8, "WEBP", 4)) ||
        has(h, n, 0, "II*\0", 4) || has(h, n, 0, "MM\0*", 4) ||
        has(h, n, 0, "\xFF\x0A", 2) ||
        has(h, n, 0, "\0\0\0\x0CJXL \r\n\x87\n", 12) ||
        has(h, n, 0, "\0\0\0\x0CjP  \r\n\x87\n", 12) ||
        has(h, n, 0, "%PDF-", 5) || is_heif(h, n) || is_svg(h, n) ||
        bmpico_sniff(h, n) != BMPICO_NONE)
        return SNIFF_VIPS;
    return SNIFF_NONE;
}

sniff_kind sniff_fd(int fd, int *err)
{
    struct stat sb;
    uint8_t head[SNIFF_BYTES];
    *err = 0;
    if (fstat(fd, &sb) != 0) {
        *err = errno;
        return SNIFF_NONE;
    }
    if (!S_ISREG(sb.st_mode))
        return SNIFF_NONE;
    ssize_t got;
    do
        got = pread(fd, head, sizeof head, 0);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        *err = errno;
        return SNIFF_NONE;
    }
    return sniff_bytes(head, (size_t)got);
}

sniff_kind sniff_file(int dirfd, const char *name, bool follow, int *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0) {
        *err = errno;
        return SNIFF_NONE;
    }
    sniff_kind k = sniff_fd(fd, err);
    close(fd);
    return k;
}
