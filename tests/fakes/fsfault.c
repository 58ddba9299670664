/*
 * LD_PRELOAD shim standing in for a misbehaving recorder (no test machine has a
 * USB card that fails on demand). It interposes libc's open/read/fsync family
 * for the `evidence` process under test:
 *   FSFAULT_EIO=<name>:<bytes>   reads of a file whose path ends in <name> fail
 *                                with EIO after <bytes> bytes (recorder yanked)
 *   FSFAULT_GROW=<name>          after the first read of <name>, append to it
 *                                (a file still being written)
 *   FSFAULT_DENY=<name>          opening <name> fails with EACCES
 *   FSFAULT_KILL_AT=<n>          SIGKILL self at the n-th durable-write call
 *                                (write/pwrite/fsync/fdatasync/rename/link...)
 *   FSFAULT_COUNT_FILE=<path>    at exit, write how many such calls were made
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536
enum { PLAIN = 0, EIO_FILE = 1, GROW_FILE = 2 };
static unsigned char kind[MAX_FD];
static long long done_bytes[MAX_FD];
static long long calls;

static int ends_with(const char *path, const char *env) {
    const char *want = getenv(env);
    if (!want || !path) return 0;
    char name[1024];
    strncpy(name, want, sizeof name - 1);
    name[sizeof name - 1] = 0;
    char *colon = strrchr(name, ':');
    if (colon && strcmp(env, "FSFAULT_EIO") == 0) *colon = 0;
    size_t lp = strlen(path), ln = strlen(name);
    return ln > 0 && lp >= ln && strcmp(path + lp - ln, name) == 0;
}

static long long eio_after(void) {
    const char *want = getenv("FSFAULT_EIO");
    const char *colon = want ? strrchr(want, ':') : NULL;
    return colon ? atoll(colon + 1) : 0;
}

static void tick(void) {
    calls++;
    const char *at = getenv("FSFAULT_KILL_AT");
    if (at && calls == atoll(at)) raise(SIGKILL);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("FSFAULT_COUNT_FILE");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (f) { fprintf(f, "%lld\n", calls); fclose(f); }
}

static int track(int fd, const char *path) {
    if (fd >= 0 && fd < MAX_FD) {
        kind[fd] = ends_with(path, "FSFAULT_EIO") ? EIO_FILE
                 : ends_with(path, "FSFAULT_GROW") ? GROW_FILE : PLAIN;
        done_bytes[fd] = 0;
    }
    return fd;
}

#define OPEN_WRAPPER(NAME, ...)                                                   \
    int NAME(__VA_ARGS__) {                                                       \
        static int (*real)() = NULL;                                              \
        if (!real) real = dlsym(RTLD_NEXT, #NAME);                                \
        mode_t mode = 0;                                                          \
        if (flags & (O_CREAT | O_TMPFILE)) {                                      \
            va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); \
        }                                                                         \
        if (ends_with(path, "FSFAULT_DENY")) { errno = EACCES; return -1; }      \
        return track(CALL_REAL, path);                                            \
    }

#define CALL_REAL real(path, flags, mode)
OPEN_WRAPPER(open, const char *path, int flags, ...)
OPEN_WRAPPER(open64, const char *path, int flags, ...)
#undef CALL_REAL
#define CALL_REAL real(dirfd, path, flags, mode)
OPEN_WRAPPER(openat, int dirfd, const char *path, int flags, ...)
OPEN_WRAPPER(openat64, int dirfd, const char *path, int flags, ...)
#undef CALL_REAL

static ssize_t after_read(int fd, ssize_t n) {
    if (fd < 0 || fd >= MAX_FD || n < 0) return n;
    if (kind[fd] == GROW_FILE && n > 0 && done_bytes[fd] == 0) {
        static int (*real_open)(const char *, int, ...) = NULL;
        if (!real_open) real_open = dlsym(RTLD_NEXT, "open");
        /* through the open file itself: the reader may have opened it by a name relative to a folder */
        char self_path[64];
        snprintf(self_path, sizeof self_path, "/proc/self/fd/%d", fd);
        int g = real_open(self_path, O_WRONLY | O_APPEND);
        if (g >= 0) { (void)!write(g, "still recording", 15); close(g); }
    }
    done_bytes[fd] += n;
    return n;
}

static int should_fail(int fd, size_t want) {
    return fd >= 0 && fd < MAX_FD && kind[fd] == EIO_FILE
        && done_bytes[fd] + (long long)want > eio_after() && done_bytes[fd] >= eio_after();
}

ssize_t read(int fd, void *buf, size_t count) {
    static ssize_t (*real)(int, void *, size_t) = NULL;
    if (!real) real = dlsym(RTLD_NEXT, "read");
    if (should_fail(fd, count)) { errno = EIO; return -1; }
    if (fd >= 0 && fd < MAX_FD && kind[fd] == EIO_FILE && done_bytes[fd] + (long long)count > eio_after())
        count = eio_after() - done_bytes[fd];
    return after_read(fd, real(fd, buf, count));
}

ssize_t readv(int fd, const struct iovec *iov, int iovcnt) {
    static ssize_t (*real)(int, const struct iovec *, int) = NULL;
    if (!real) real = dlsym(RTLD_NEXT, "readv");
    size_t want = 0;
    for (int i = 0; i < iovcnt; i++) want += iov[i].iov_len;
    if (should_fail(fd, want)) { errno = EIO; return -1; }
    if (fd >= 0 && fd < MAX_FD && kind[fd] == EIO_FILE && done_bytes[fd] + (long long)want > eio_after()) {
        static ssize_t (*real_read)(int, void *, size_t) = NULL;
        if (!real_read) real_read = dlsym(RTLD_NEXT, "read");
        return after_read(fd, real_read(fd, iov[0].iov_base,
                                        eio_after() - done_bytes[fd] < (long long)iov[0].iov_len
                                            ? eio_after() - done_bytes[fd] : iov[0].iov_len));
    }
    return after_read(fd, real(fd, iov, iovcnt));
}

#define COUNTED(RET, NAME, PARAMS, ARGS)                                          \
    RET NAME PARAMS {                                                             \
        static RET (*real) PARAMS = NULL;                                         \
        if (!real) real = dlsym(RTLD_NEXT, #NAME);                                \
        tick();                                                                   \
        return real ARGS;                                                         \
    }

COUNTED(ssize_t, write, (int fd, const void *buf, size_t n), (fd, buf, n))
COUNTED(ssize_t, pwrite, (int fd, const void *buf, size_t n, off_t o), (fd, buf, n, o))
COUNTED(ssize_t, pwrite64, (int fd, const void *buf, size_t n, off_t o), (fd, buf, n, o))
COUNTED(int, fsync, (int fd), (fd))
COUNTED(int, fdatasync, (int fd), (fd))
COUNTED(int, rename, (const char *a, const char *b), (a, b))
COUNTED(int, renameat, (int da, const char *a, int db, const char *b), (da, a, db, b))
COUNTED(int, link, (const char *a, const char *b), (a, b))
COUNTED(int, linkat, (int da, const char *a, int db, const char *b, int f), (da, a, db, b, f))
COUNTED(int, unlink, (const char *a), (a))
