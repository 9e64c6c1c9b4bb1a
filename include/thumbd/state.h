/* What a run keeps in OUT_DIR between runs: the lock that keeps two runs
 * apart, the fingerprint of the options the thumbnails were made with, and
 * the marker that tells a killed run from a finished one. */
#ifndef THUMBD_STATE_H
#define THUMBD_STATE_H

#include <stdbool.h>

#include "thumbd/config.h"
#include "thumbd/status.h"

#define STATE_LOCK_FILE ".thumbd.lock"
#define STATE_FILE ".thumbd.state"

typedef struct state_handle {
    int lock_fd;               /* OUT_DIR's lock: exclusive, or shared by shards */
    int shard_fd;              /* this shard's own lock, or -1 */
    char marker[64];           /* this run's running marker */
    char state_name[64];       /* this run's fingerprint file */
} state_handle;

/* Takes OUT_DIR for this run, waiting up to wait_s seconds (0: not at all)
 * while another run holds it: TD_ELOCKED then. An unsharded run holds the lock
 * alone; the shards of one split share it, each holding its own shard lock.
 * A run that holds the lock alone and finds a killed run's marker sweeps its
 * temporary files. flock: a killed run's lock is released by the kernel. */
td_status state_acquire(int out_fd, const thumbd_config *cfg, double wait_s, state_handle *h,
                        char err[TD_ERRLEN]);

/* Releases the lock; clean: the run ended normally, so its marker goes. */
void state_release(int out_fd, state_handle *h, bool clean);

/* The options that shape a thumbnail, as text. */
void state_fingerprint(const thumbd_config *cfg, char *buf, size_t len);

/* The fingerprint OUT_DIR's last complete run (of this shard) saved, into
 * buf; false if there is none. */
bool state_previous(int out_fd, const state_handle *h, char *buf, size_t len);

/* The options two fingerprints differ in, for a person: "size 200x200 ->
 * 320x320, quality 85 -> 90" (a key one of them lacks shows "(none)").
 * false (buf empty) if no key=value pair differs. */
bool state_describe_change(const char *old_fp, const char *new_fp, char *buf, size_t len);

/* True if OUT_DIR's thumbnails (of this shard) were made with these options. */
bool state_matches(int out_fd, const state_handle *h, const char *fingerprint);

/* Forgets every fingerprint (the whole tree's and every shard's) other
 * than this one: a run with these options is about to make thumbnails
 * that they do not describe. A shard's first run leaves the fingerprints
 * of shards that ran before it with the same options. True if it forgot
 * one. */
bool state_forget_others(int out_fd, const char *fingerprint);

/* Records the fingerprint, atomically. Call after a run that covered its
 * whole tree (or shard) without being interrupted. The failure message
 * says what the missing state costs. */
td_status state_save(int out_fd, const state_handle *h, const char *fingerprint,
                     char err[TD_ERRLEN]);

#endif
