/* Content detection (--detect content): whether a file is an image thumbd
 * reads, told by its first bytes, whatever its name. The scan asks it of
 * every regular file; the decoders pick their codec by the same bytes. */
#ifndef THUMBD_SNIFF_H
#define THUMBD_SNIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the first bytes say. */
typedef enum sniff_kind {
    SNIFF_NONE,    /* not an image format thumbd reads */
    SNIFF_NATIVE,  /* JPEG or PNG: the native path's */
    SNIFF_VIPS,    /* GIF, WebP, TIFF, HEIF/AVIF, JPEG XL, JPEG 2000, PDF, SVG, BMP, ICO: libvips's */
} sniff_kind;

/* The most bytes a detection reads: one small read per file. */
enum { SNIFF_BYTES = 64 };

/* The kind of the n (<= SNIFF_BYTES used) first bytes of a file: JPEG
 * (FF D8 FF), PNG (its 8-byte signature), GIF87a/GIF89a, RIFF....WEBP,
 * TIFF (II*\0, MM\0*), ISO-BMFF whose ftyp box names a HEIF or AVIF brand
 * (heic heix heif avif avis mif1 msf1, as major or compatible brand), JPEG XL
 * (FF 0A, or its 12-byte container signature), JPEG 2000 (the 12-byte
 * signature box), PDF (%PDF-), and SVG, conservatively: after an optional
 * UTF-8 BOM, white space, an XML declaration and comments, "<svg" or
 * "<!DOCTYPE svg" within the bytes given, and BMP and ICO as bmpico_sniff
 * accepts them. Anything else is SNIFF_NONE. */
sniff_kind sniff_bytes(const uint8_t *h, size_t n);

/* The kind of the file name in the directory dirfd (AT_FDCWD allowed; name
 * may be a relative path when the caller has confined it), from one read of
 * its first SNIFF_BYTES. It is opened O_NONBLOCK (a FIFO that replaced the
 * file since it was statted never blocks the scan), O_NOCTTY, and
 * O_NOFOLLOW unless follow; what is not a regular file once open is not
 * read. SNIFF_NONE with *err set (errno) when it cannot be opened or read,
 * 0 otherwise. */
sniff_kind sniff_file(int dirfd, const char *name, bool follow, int *err);

/* The same of a descriptor the caller opened (not closed here). */
sniff_kind sniff_fd(int fd, int *err);

#endif
