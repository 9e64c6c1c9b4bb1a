#include "thumbd/exif.h"

static unsigned rd16(const uint8_t *p, int le)
{
    return le ? (unsigned)(p[0] | p[1] << 8) : (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int exif_orientation(const uint8_t *d, size_t len)
{
    if (!d || len < 8)
        return 1;
    int le;
    if (d[0] == 'I' && d[1] == 'I')
        le = 1;
    else if (d[0] == 'M' && d[1] == 'M')
        le = 0;
    else
        return 1;
    if (rd16(d + 2, le) != 42)
        return 1;
    uint32_t ifd = rd32(d + 4, le);
    if (ifd > len || len - ifd < 2)
        return 1;
    unsigned n = rd16(d + ifd, le);
    if ((size_t)n * 12 > len - ifd - 2)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *e = d + ifd + 2 + (size_t)i * 12;
        if (rd16(e, le) != 0x0112)
            continue;
        /* SHORT by the standard; any integer type as exiftool and libexif
         * read it (gdk-pixbuf's test files use SLONG): BYTE, SBYTE; SHORT,
         * SSHORT; LONG, SLONG. A value that is negative as signed is out of
         * range either way. */
        unsigned type = rd16(e + 2, le);
        uint32_t v = type == 1 || type == 6   ? e[8]
                     : type == 3 || type == 8 ? rd16(e + 8, le)
                     : type == 4 || type == 9 ? rd32(e + 8, le)
                                              : 0;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}
