#include "thumbd/escape.h"

#include <stdarg.h>
#include <stdbool.h>

int escape_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL */
    if (len == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)))
        return 0;
    return len;
}

void escape_fputs(const char *s, FILE *f)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int len = c >= 0x80 ? escape_utf8_len(p) : 1;
        bool c1 = len == 2 && c == 0xC2 && p[1] < 0xA0; /* U+0080..U+009F: CSI is U+009B */
        if (c == '\\') {
            fputs("\\\\", f);
        } else if (c == '\n' || c == '\t' || c == '\r') {
            putc('\\', f);
            putc(c == '\n' ? 'n' : c == '\t' ? 't' : 'r', f);
        } else if (c < 0x20 || c == 0x7F || len == 0) {
            fprintf(f, "\\x%02x", c);
        } else if (c1) {
            fprintf(f, "\\x%02x\\x%02x", c, p[1]);
            p++;
        } else {
            fwrite(p, 1, (size_t)len, f);
            p += len - 1;
        }
        p++;
    }
}

void escape_line(FILE *f, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    escape_fputs(buf, f);
    putc('\n', f);
}
