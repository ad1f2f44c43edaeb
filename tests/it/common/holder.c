/* Test holder process: keeps secret test blobs alive in known places of its memory so
 * integration tests can dump it and check attribution.
 *   argv[1]  blob copied onto main()'s stack
 *   argv[2]  blob copied into an initialised global (.data of the executable: "module")
 *   argv[3..] blobs read into malloc()ed heap buffers
 * Every file is unlinked after reading. Prints READY, then blocks until stdin closes.
 * Built at test time by tests/it/common/mod.rs; never shipped. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BLOB (64 * 1024)

/* Initialised (non-zero) so it lives in .data, a file-backed mapping of the executable. */
static unsigned char g_blob[MAX_BLOB] = {1};

static size_t slurp(const char *path, unsigned char *out, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(3); }
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, out + n, cap - n)) > 0) n += (size_t)r;
    close(fd);
    unlink(path);
    return n;
}

int main(int argc, char **argv) {
    unsigned char stack_blob[MAX_BLOB];
    if (argc < 3) return 2;
    slurp(argv[1], stack_blob, sizeof stack_blob);
    slurp(argv[2], g_blob, sizeof g_blob);
    for (int i = 3; i < argc; i++) {
        unsigned char *heap = malloc(MAX_BLOB);
        slurp(argv[i], heap, MAX_BLOB);
        __asm__ volatile("" : : "r"(heap) : "memory");
    }
    __asm__ volatile("" : : "r"(stack_blob), "r"(g_blob) : "memory");
    printf("READY\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {}
    __asm__ volatile("" : : "r"(stack_blob) : "memory");
    return 0;
}
