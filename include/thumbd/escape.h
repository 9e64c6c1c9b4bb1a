/* Text for a person: names and messages that may hold a file name are
 * written with their control characters escaped, as `ls -b` does, so that
 * a name cannot add lines to a log or send codes to a terminal. */
#ifndef THUMBD_ESCAPE_H
#define THUMBD_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* The length (2 to 4) of the well-formed UTF-8 sequence at p (no
 * overlongs, no surrogates, at most U+10FFFF), or 0 if p does not start
 * one. p is NUL-terminated: a sequence cut short by the end is not one. */
int escape_utf8_len(const unsigned char *p);

/* Writes s to f with: a backslash as \\, newline, tab and carriage return
 * as \n, \t, \r, every other byte below 0x20, 0x7f, the bytes of a C1
 * control (U+0080..U+009F) and every byte that is not part of well-formed
 * UTF-8 as \xHH. Everything else is copied as it is. */
void escape_fputs(const char *s, FILE *f);

/* Formats like fprintf, writes the result through escape_fputs, then a
 * newline: one line, whatever the arguments hold. A result longer than
 * 4 KiB is cut there. */
void escape_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
