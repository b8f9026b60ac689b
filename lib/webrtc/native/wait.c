// Waking the TS event pump without the Go scheduler: each context has an
// eventfd that Go signals when its queue becomes non-empty, and swrtc_wait
// (run by Deno on a worker thread, `nonblocking: true`) sleeps in poll(2) on
// it. Blocking inside a Go callback instead would pin a goroutine to Deno's
// thread and cost a locked-thread hand-off on every wake-up.
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int swrtc_eventfd_new(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void swrtc_eventfd_signal(int fd) {
	uint64_t one = 1;
	// EAGAIN (counter at its maximum) still leaves the fd readable: nothing to do.
	(void)!write(fd, &one, sizeof one);
}

// swrtc_wait blocks until the context's eventfd is signalled or timeout_ms
// passes; returns 1 when signalled (and clears the signal), 0 on timeout, -1
// on error.
int32_t swrtc_wait(int32_t fd, int32_t timeout_ms) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	if (n <= 0) return n;
	uint64_t count;
	(void)!read(fd, &count, sizeof count);
	return 1;
}
