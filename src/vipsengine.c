/* Loads the libvips engine module on first use (see vipsengine.h and
 * vipsmod.h) and forwards to it. */
#include "thumbd/vipsengine.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "thumbd/vipsmod.h"

#ifndef THUMBD_MODULE_DIR
#define THUMBD_MODULE_DIR "/usr/local/lib/thumbd"
#endif
#define MODULE_NAME "thumbd_vips.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct {
    vipsmod_make_fn make;
    vipsmod_encode_fn encode;
    vipsmod_can_save_fn can_save;
    vipsmod_thread_end_fn thread_end;
    vipsmod_start_fn start;
    char why[TD_ERRLEN];
} mod;
/* Set once load has filled mod completely: read without pthread_once by
 * vipsengine_thread_end, which must not wait for (or start) a load. */
static atomic_bool ready;

static void *try_open(const char *path, char *opened, size_t len)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h)
        snprintf(opened, len, "%.*s", PATH_MAX - 1, path); /* no path is longer */
    return h;
}

/* The first module that loads, from the places vipsengine.h lists; its
 * path in opened. */
static void *open_module(char *opened, size_t len)
{
    void *h = NULL;
    const char *env = getenv("THUMBD_VIPS_MODULE");
    char path[PATH_MAX + 32];
    if (env && *env)
        h = try_open(env, opened, len);
    if (!h) {
        /* Beside the executable: the build tree, or a self-contained install. */
        ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
        if (n > 0) {
            path[n] = '\0';
            char *slash = strrchr(path, '/');
            if (slash) {
                strcpy(slash + 1, MODULE_NAME);
                h = try_open(path, opened, len);
            }
        }
    }
    if (!h)
        h = try_open(THUMBD_MODULE_DIR "/" MODULE_NAME, opened, len);
    return h;
}

/* Whether the module at h was built for this thumbd (vipsmod.h). */
static bool same_abi(void *h, const char *path)
{
    const int *abi = dlsym(h, "vipsmod_abi");
    int v = abi ? *abi : 0;
    if (v == VIPSMOD_ABI)
        return true;
    snprintf(mod.why, sizeof mod.why,
             "%.150s is from another version of thumbd (ABI %d, expected %d): reinstall thumbd", path, v,
             VIPSMOD_ABI);
    return false;
}

static void load(void)
{
    char path[PATH_MAX + 32];
    void *h = open_module(path, sizeof path);
    if (!h) {
        snprintf(mod.why, sizeof mod.why,
                 "the libvips engine is not available (%s not found or not loadable: %s)",
                 MODULE_NAME, dlerror());
        return;
    }
    if (!same_abi(h, path)) {
        dlclose(h);
        return;
    }
    mod.make = (vipsmod_make_fn)dlsym(h, "vipsmod_make");
    mod.encode = (vipsmod_encode_fn)dlsym(h, "vipsmod_encode");
    mod.can_save = (vipsmod_can_save_fn)dlsym(h, "vipsmod_can_save");
    mod.thread_end = (vipsmod_thread_end_fn)dlsym(h, "vipsmod_thread_end");
    mod.start = (vipsmod_start_fn)dlsym(h, "vipsmod_start");
    if (!mod.make || !mod.encode || !mod.can_save || !mod.thread_end || !mod.start) {
        snprintf(mod.why, sizeof mod.why, "the libvips engine module %s is incomplete", MODULE_NAME);
        mod.make = NULL;
        return;
    }
    atomic_store_explicit(&ready, true, memory_order_release);
}

static bool loaded(char *err)
{
    pthread_once(&once, load);
    if (!mod.make && err)
        td_fail(err, TD_EIO, "%s", mod.why); /* the installation's fault, not the file's */
    return mod.make != NULL;
}

td_status vipsengine_make(const vipsengine_params *p, int fd, cancel_token *tok, vipsengine_thumb *th,
                          char err[TD_ERRLEN])
{
    memset(th, 0, sizeof *th);
    return loaded(err) ? mod.make(p, fd, tok, th, err) : TD_EIO;
}

td_status vipsengine_encode(const vipsengine_thumb *th, out_kind kind, int quality, FILE *out,
                            char err[TD_ERRLEN])
{
    return loaded(err) ? mod.encode(th, kind, quality, out, err) : TD_EIO;
}

bool vipsengine_start(void)
{
    return loaded(NULL) && mod.start();
}

bool vipsengine_can_save(out_kind kind)
{
    return loaded(NULL) && mod.can_save(kind);
}

void vipsengine_thread_end(void)
{
    /* Only if some task loaded it: never load libvips just to unload it. */
    if (atomic_load_explicit(&ready, memory_order_acquire))
        mod.thread_end();
}
