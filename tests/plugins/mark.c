/*
 * mark.c — a shared object that leaves a mark when any of its code runs:
 * its constructor, which runs at dlopen() before libdi can look for an
 * entry symbol (it has none), appends a line to the file $DI_TEST_MARK.
 * The trust tests make libdi refuse it in every way a configuration or a
 * file system could smuggle it in; the mark must never appear.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void leave_mark(void)
{
    const char *path = getenv("DI_TEST_MARK");
    int fd = path ? open(path, O_WRONLY | O_CREAT | O_APPEND, 0600) : -1;
    if (fd >= 0) {
        ssize_t n = write(fd, "ran\n", 4);
        (void)n;
        close(fd);
    }
}
