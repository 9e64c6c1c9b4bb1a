/* FNV-1a, 64 bits: the stable hash thumbd keys its files in OUT_DIR by
 * (memos, ledgers). Stable across machines and versions: never change it. */
#ifndef THUMBD_HASH_H
#define THUMBD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV0 0xcbf29ce484222325ULL

/* h folded with n bytes at p; start from HASH_FNV0. */
uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n);

/* The hash of the string s. */
uint64_t hash_str(const char *s);

#endif
