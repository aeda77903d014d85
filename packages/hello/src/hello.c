/*
 * hello — the flagship program of scratchpack.
 *
 * Prints a short message naming the platform it was built for, then exits 0.
 * One write(2) and nothing else, so the static binary stays tiny on every platform.
 * SCRATCHPACK_PLATFORM is set by the build (e.g. "linux/arm64/v8").
 */
#include <unistd.h>

#ifndef SCRATCHPACK_PLATFORM
#error "build with -DSCRATCHPACK_PLATFORM=\"os/arch[/variant]\""
#endif

static const char message[] =
    "\n"
    "Hello from scratchpack!\n"
    "This message comes from a FROM-scratch image built for " SCRATCHPACK_PLATFORM ":\n"
    "one static binary and nothing else, packed without a Docker daemon.\n"
    "\n";

int main(void) {
    const long n = sizeof message - 1;
    return write(1, message, n) == n ? 0 : 1;
}
