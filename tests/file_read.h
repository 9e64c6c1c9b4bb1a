/* Reading a whole file, shared by the e2e test programs (through e2e_util.h)
 * and the generators in tests/gen/. Any context: it fails no test. */
#ifndef THUMBD_FILE_READ_H
#define THUMBD_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

/* Reads the whole file (read until EOF, the buffer grows as needed). On
 * success *data is a malloc'ed buffer the caller frees (not NUL-terminated)
 * and *len its size, and returns 0; returns -1 if the file cannot be opened
 * or read or memory runs out (*data and *len are then untouched; errno
 * tells why). */
int read_file(const char *path, uint8_t **data, size_t *len);

#endif
