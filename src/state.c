#include "thumbd/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "thumbd/clock.h"
#include "thumbd/fsutil.h"
#include "thumbd/hash.h"
#include "thumbd/outname.h"

/* Running markers start with the temporary prefix, so a sweep removes them.
 * They live in a directory of their own: creating and removing them every
 * run in OUT_DIR itself would change its ctime, and void the memo of the
 * top directory's thumbnails (memo.h). */
#define MARKER_DIR ".thumbd.run"
#define MARKER_PREFIX FS_TEMP_PREFIX "running"

static bool sharded(const thumbd_config *cfg)
{
    return cfg->shard_count > 1;
}

/* flock with LOCK_NB, retried until the monotonic deadline. */
static bool lock_until(int fd, int op, double deadline)
{
    for (;;) {
        if (flock(fd, op | LOCK_NB) == 0)
            return true;
        if (errno != EWOULDBLOCK && errno != EINTR)
            return false;
        if (clock_now_s() >= deadline)
            return false;
        usleep(50 * 1000);
    }
}

/* The markers' directory, open; with create, made if missing (and made
 * anew if something else, a symlink say, took its name). -1 on failure. */
static int marker_dir(int out_fd, bool create)
{
    int fd = openat(out_fd, MARKER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 || !create)
        return fd;
    if (errno != ENOENT)
        unlinkat(out_fd, MARKER_DIR, 0);
    if (mkdirat(out_fd, MARKER_DIR, 0755) != 0 && errno != EEXIST)
        return -1;
    return openat(out_fd, MARKER_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static bool killed_run_left_marker(int out_fd)
{
    int fd = marker_dir(out_fd, false);
    DIR *d = fd >= 0 ? fs_opendir_at(fd) : NULL;
    bool found = false;
    struct dirent *de;
    while (d && !found && (de = readdir(d)) != NULL)
        found = !strncmp(de->d_name, MARKER_PREFIX, sizeof MARKER_PREFIX - 1);
    if (d)
        closedir(d);
    if (fd >= 0)
        close(fd);
    return found;
}

static int open_lock(int out_fd, const char *name)
{
    return openat(out_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
}

td_status state_acquire(int out_fd, const thumbd_config *cfg, double wait_s, state_handle *h,
                        char err[TD_ERRLEN])
{
    h->lock_fd = h->shard_fd = -1;
    /* A shard starting beside others may find the lock held exclusively for
     * the instant another shard looks for a killed run's marker: shards wait
     * at least a moment for it. */
    double deadline = clock_now_s() + (sharded(cfg) && wait_s < 2.0 ? 2.0 : wait_s);
    if (sharded(cfg)) {
        snprintf(h->marker, sizeof h->marker, MARKER_PREFIX "-shard-%d-of-%d", cfg->shard_index,
                 cfg->shard_count);
        snprintf(h->state_name, sizeof h->state_name, STATE_FILE "-shard-%d-of-%d",
                 cfg->shard_index, cfg->shard_count);
    } else {
        snprintf(h->marker, sizeof h->marker, MARKER_PREFIX);
        snprintf(h->state_name, sizeof h->state_name, STATE_FILE);
    }
    h->lock_fd = open_lock(out_fd, STATE_LOCK_FILE);
    if (h->lock_fd < 0)
        return td_fail(err, TD_EIO, "cannot create the lock file %s: %s", STATE_LOCK_FILE,
                       strerror(errno));
    /* Alone (exclusive): the only moment a sweep cannot hit another run's
     * temporary files. Shards then share the lock. */
    bool alone = flock(h->lock_fd, LOCK_EX | LOCK_NB) == 0;
    if (alone && killed_run_left_marker(out_fd))
        fs_sweep_temps(out_fd);
    bool ok = sharded(cfg) ? lock_until(h->lock_fd, LOCK_SH, deadline)
                           : alone || lock_until(h->lock_fd, LOCK_EX, deadline);
    if (ok && sharded(cfg)) {
        char name[80];
        snprintf(name, sizeof name, ".thumbd-shard-%d-of-%d.lock", cfg->shard_index, cfg->shard_count);
        h->shard_fd = open_lock(out_fd, name);
        ok = h->shard_fd >= 0 && lock_until(h->shard_fd, LOCK_EX, deadline);
    }
    if (!ok) {
        state_release(out_fd, h, false);
        return td_fail(err, TD_ELOCKED,
                       "another thumbd is writing this output directory (%s is locked); try again "
                       "later, or wait for it with --wait-lock SECONDS",
                       sharded(cfg) ? "the shard" : STATE_LOCK_FILE);
    }
    int dfd = marker_dir(out_fd, true);
    int fd = dfd < 0 ? -1 : openat(dfd, h->marker, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (dfd >= 0) {
        int e = errno;
        close(dfd);
        errno = e;
    }
    if (fd < 0) {
        int e = errno;
        state_release(out_fd, h, false);
        return td_fail(err, TD_EIO, "output directory is not writable: %s", strerror(e));
    }
    close(fd);
    return TD_OK;
}

void state_release(int out_fd, state_handle *h, bool clean)
{
    int dfd = clean && h->marker[0] ? marker_dir(out_fd, false) : -1;
    if (dfd >= 0) {
        unlinkat(dfd, h->marker, 0);
        close(dfd);
    }
    if (h->shard_fd >= 0)
        close(h->shard_fd);
    if (h->lock_fd >= 0)
        close(h->lock_fd);
    h->shard_fd = h->lock_fd = -1;
}

/* " name=TEMPLATE" for a --name other than the default (whose
 * fingerprint stays what it was before templates existed: no output
 * directory is redone for them); " name=#HASH" for a long template or one
 * with spaces or control bytes, which keeps the fingerprint one short line. */
static void name_field(const char *tmpl, char *buf, size_t len)
{
    if (!tmpl || !strcmp(tmpl, OUTNAME_DEFAULT))
        return;
    bool plain = strlen(tmpl) <= 64;
    for (const unsigned char *p = (const unsigned char *)tmpl; *p && plain; p++)
        plain = *p > ' ' && *p != 0x7f;
    if (plain)
        snprintf(buf, len, " name=%s", tmpl);
    else
        snprintf(buf, len, " name=#%016llx", (unsigned long long)hash_str(tmpl));
}

/* " size=200x200 fit=cover" for one size; for several, each with its
 * fit ("size=200x200:cover,1024x1024:inside"), or "size=#HASH" when that
 * is longer than a short line's share. */
static void size_field(const thumbd_config *cfg, char *buf, size_t len)
{
    config_size b[CONFIG_MAX_SIZES];
    int n = config_boxes(cfg, b);
    if (n == 1) {
        snprintf(buf, len, "size=%dx%d fit=%s", b[0].w, b[0].h,
                 b[0].fit == FIT_COVER ? "cover" : "inside");
        return;
    }
    char list[CONFIG_MAX_SIZES * 32] = "";
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        char one[48];
        int k = snprintf(one, sizeof one, "%s%dx%d:%s", i ? "," : "", b[i].w, b[i].h,
                         b[i].fit == FIT_COVER ? "cover" : "inside");
        if (k > 0 && at + (size_t)k < sizeof list) {
            memcpy(list + at, one, (size_t)k + 1);
            at += (size_t)k;
        }
    }
    if (at <= 80 && at + 6 <= len) {
        memcpy(buf, "size=", 5);
        memcpy(buf + 5, list, at + 1);
    } else
        snprintf(buf, len, "size=#%016llx", (unsigned long long)hash_str(list));
}

void state_fingerprint(const thumbd_config *cfg, char *buf, size_t len)
{
    /* Bump "pipeline" when a change of thumbd alters its thumbnails. */
    static const char *const formats[] = {"auto", "jpeg", "png", "webp", "avif"};
    static const char *const engines[] = {"auto", "native", "vips"};
    char name[96] = "", size[112];
    name_field(cfg->name_template, name, sizeof name);
    size_field(cfg, size, sizeof size);
    snprintf(buf, len,
             "thumbd-state 1 pipeline=1 %s filter=%s enlarge=%d format=%s "
             "quality=%d engine=%s%s\n",
             size, resize_filter_name(cfg->filter), cfg->enlarge, formats[cfg->format],
             cfg->quality, engines[cfg->engine], name);
}

/* The text of the state file name in out_fd into buf; false if there is
 * none (or it is empty). */
static bool read_state(int out_fd, const char *name, char *buf, size_t len)
{
    int fd = openat(out_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* True if the state file name in out_fd holds exactly fingerprint. */
static bool holds(int out_fd, const char *name, const char *fingerprint)
{
    char buf[512];
    return read_state(out_fd, name, buf, sizeof buf) && !strcmp(buf, fingerprint);
}

bool state_previous(int out_fd, const state_handle *h, char *buf, size_t len)
{
    return read_state(out_fd, h->state_name, buf, len);
}

/* The value of key in a fingerprint ("key=value" words), as *val with its
 * length; false if it has no such key. */
static bool value_of(const char *fp, const char *key, size_t klen, const char **val, size_t *vlen)
{
    for (const char *p = fp; *p;) {
        size_t w = strcspn(p, " \n");
        if (w > klen && !strncmp(p, key, klen) && p[klen] == '=') {
            *val = p + klen + 1;
            *vlen = w - klen - 1;
            return true;
        }
        p += w;
        p += strspn(p, " \n");
    }
    return false;
}

/* Appends "key old -> new" to buf (at *at) for each key of a whose value
 * differs in b; with only_missing, only the keys b lacks. */
static void diff_keys(const char *a, const char *b, bool a_is_old, bool only_missing, char *buf,
                      size_t len, size_t *at)
{
    for (const char *p = a; *p;) {
        size_t w = strcspn(p, " \n"), k = strcspn(p, "=");
        const char *bv;
        size_t bl;
        if (k < w) {
            bool has = value_of(b, p, k, &bv, &bl);
            if (has ? !only_missing && (bl != w - k - 1 || strncmp(bv, p + k + 1, bl))
                    : only_missing) {
                int vl = (int)(w - k - 1), ol = has ? (int)bl : 6;
                const char *ov = has ? bv : "(none)";
                int n = a_is_old ? snprintf(buf + *at, len - *at, "%s%.*s %.*s -> %.*s",
                                            *at ? ", " : "", (int)k, p, vl, p + k + 1, ol, ov)
                                 : snprintf(buf + *at, len - *at, "%s%.*s %.*s -> %.*s",
                                            *at ? ", " : "", (int)k, p, ol, ov, vl, p + k + 1);
                if (n > 0)
                    *at = *at + (size_t)n < len ? *at + (size_t)n : len - 1;
            }
        }
        p += w;
        p += strspn(p, " \n");
    }
}

bool state_describe_change(const char *old_fp, const char *new_fp, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    diff_keys(old_fp, new_fp, true, false, buf, len, &at);
    diff_keys(old_fp, new_fp, true, true, buf, len, &at);
    diff_keys(new_fp, old_fp, false, true, buf, len, &at);
    return at > 0;
}

bool state_forget_others(int out_fd, const char *fingerprint)
{
    DIR *d = fs_opendir_at(out_fd);
    if (!d)
        return false;
    bool forgot = false;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, STATE_FILE, sizeof STATE_FILE - 1) &&
            !holds(out_fd, de->d_name, fingerprint))
            forgot |= unlinkat(out_fd, de->d_name, 0) == 0;
    closedir(d);
    return forgot;
}

bool state_matches(int out_fd, const state_handle *h, const char *fingerprint)
{
    return holds(out_fd, h->state_name, fingerprint);
}

td_status state_save(int out_fd, const state_handle *h, const char *fingerprint, char err[TD_ERRLEN])
{
    if (state_matches(out_fd, h, fingerprint))
        return TD_OK; /* rewriting it would change OUT_DIR's ctime (see MARKER_DIR) */
    fs_atomic a;
    char why[TD_ERRLEN];
    td_status st = fs_atomic_begin(&a, out_fd, h->state_name, why);
    if (st == TD_OK) {
        fputs(fingerprint, a.f);
        st = fs_atomic_commit(&a, NULL, why);
    }
    if (st != TD_OK)
        td_fail(err, st, "cannot save the state file %s (%.100s): no thumbnail or progress is lost "
                         "(the ledger keeps them), but memos made with other options may stay",
                h->state_name, why);
    return st;
}
