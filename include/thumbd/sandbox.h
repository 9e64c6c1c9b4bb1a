/* Least privilege for a worker process (isolation.h), applied once it has
 * its configuration and libvips is started (when the run asks for it),
 * before its first task. What each mechanism leaves a worker:
 *
 * - PR_SET_NO_NEW_PRIVS: no set-uid/set-gid or file-capability gain
 *   through exec (which seccomp refuses anyway); required for an
 *   unprivileged seccomp filter and Landlock.
 * - rlimits: RLIMIT_CORE 0 (a crashing decoder writes no core file with
 *   the image's pixels in it); RLIMIT_DATA = --max-memory + MEMGATE_SLACK
 *   + SANDBOX_DATA_BASE when --max-memory is not 0: what one image may
 *   reserve and what a worker holds besides, so that an allocation the
 *   estimates missed fails (malloc returns NULL: "out of memory"; GLib's
 *   g_malloc ends the worker, a failed record) rather than the kernel
 *   OOM-killing the pod.
 * - seccomp-bpf (libseccomp), default allow, these refused with EPERM (an
 *   error, not a kill, so a library that probes goes on): execve,
 *   execveat, fork, vfork, clone without CLONE_THREAD (threads stay
 *   allowed: libvips has a thread pool), socket and socketpair, connect,
 *   bind, listen, accept, accept4, ptrace, process_vm_readv/writev,
 *   kexec_load/kexec_file_load, mount, umount2, pivot_root, chroot, the
 *   setuid/setgid family, bpf, perf_event_open, keyctl, add_key,
 *   request_key, init/finit/delete_module, reboot, swapon, swapoff,
 *   unshare, setns; clone3 gets ENOSYS so that glibc falls back to clone,
 *   whose flags the filter can see. The inherited socket to the run's
 *   process keeps working (send and recv are not refused).
 * - Landlock (where the kernel has it): every filesystem right is handled;
 *   allowed are read below IN_DIR (the descriptor ISO_FD_IN; below / with
 *   --follow-symlinks, whose links may lead anywhere), read, write,
 *   create, remove and rename below OUT_DIR (ISO_FD_OUT), and read-only:
 *   /usr, /etc/fonts, /etc/ld.so.cache, /var/cache/fontconfig (the dynamic
 *   loader, libvips's loaders, fontconfig for SVG/PDF text), the
 *   directory of the executable and the libvips module (vipsengine.h), the
 *   worker's own /proc/self, /dev/null, /dev/urandom. With ABI 6 or newer
 *   it may also signal no process outside its own domain (it can still
 *   raise signals at itself). Nothing else can be opened: no file outside
 *   the trees, no write anywhere but OUT_DIR.
 *
 * A mechanism the kernel lacks or refuses (ENOSYS, EOPNOTSUPP, EPERM in a
 * container whose own seccomp profile is stricter) is left out and named
 * in the notice; the worker goes on with the others. */
#ifndef THUMBD_SANDBOX_H
#define THUMBD_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

/* RLIMIT_DATA counts address space (the heap, private mappings, thread
 * stacks), not resident pages: what a worker with libvips started and
 * its threads maps besides the memory its images reserve (28 MB measured,
 * docs/memory.md), with room for what the estimates leave out. */
#define SANDBOX_DATA_BASE (192ull << 20)

enum { SANDBOX_NOTICE_LEN = 512 };

/* RLIMIT_DATA for a --max-memory of max_memory bytes; 0: none (no
 * --max-memory, no backstop; and always in ASan and TSan builds, whose
 * runtimes reserve more address space than any such limit). */
uint64_t sandbox_data_limit(uint64_t max_memory);

/* Applies every mechanism above to the calling process, its descriptors
 * in_fd and out_fd being IN_DIR and OUT_DIR. With follow_symlinks
 * (--follow-symlinks: IN_DIR's links may lead anywhere), Landlock allows
 * reading below / instead of IN_DIR; writing stays confined to OUT_DIR.
 * Returns true when all were applied; false with notice naming each one
 * left out and why ("seccomp: ...; Landlock: ..."), which the caller
 * reports once. */
bool sandbox_apply(int in_fd, int out_fd, uint64_t max_memory, bool follow_symlinks,
                   char notice[SANDBOX_NOTICE_LEN]);

#endif
