/* A run's directories: IN_DIR and OUT_DIR opened, after the checks that can
 * be made before anything is created or written. */
#ifndef THUMBD_RUNDIRS_H
#define THUMBD_RUNDIRS_H

#include "thumbd/config.h"

/* In this order: opens IN_DIR (*in_fd); opens the --files-from list
 * (*list_fd: -1 without one, STDIN_FILENO for "-"; a missing or unreadable
 * list, or a directory, is an error); checks that the --report file can be
 * written (it is a writable file, or it does not exist and its directory is
 * writable: the report itself is opened, and truncated, only once OUT_DIR
 * is locked); opens OUT_DIR (*out_fd), creating it (mkdir -p) only if it
 * does not exist; refuses an OUT_DIR that is IN_DIR or holds it anywhere
 * above it, however either is spelled (confine_inside): thumbnails would be
 * written over their sources. Nothing is created until the list and the
 * report passed their checks, and OUT_DIR only when it does not exist: a
 * directory created then cannot hold IN_DIR.
 * Returns 0, or an exit code (EXIT_USAGE, EXIT_FATAL) after a message on
 * stderr; the descriptors it opened are set either way (-1: not opened),
 * for the caller to close. */
int rundirs_open(const thumbd_config *cfg, int *in_fd, int *out_fd, int *list_fd);

/* A single file given as IN ("thumbd photo.jpg out/"): *one is a copy of
 * cfg, in which, when cfg->in_dir names something that is not a directory
 * (stat, links followed), in_dir is the file's directory and in_file its
 * name, both in *held (malloc'd, for the caller to free; NULL otherwise).
 * The run then thumbnails that one file into OUT_DIR/<name>.<ext>, as if
 * its directory were IN_DIR and it the only file in it. --prune and
 * --files-from need a directory: with a file, a message on stderr and
 * EXIT_USAGE. Returns 0 or an exit code. */
int rundirs_single(const thumbd_config *cfg, thumbd_config *one, char **held);

#endif
