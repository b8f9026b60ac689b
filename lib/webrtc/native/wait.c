// The TS event pump's one call per batch. swrtc_wait_poll runs on a Deno
// worker thread (`nonblocking: true`): it copies every ready event into the
// caller's buffer (swrtc_poll, Go), and when there is none it sleeps in
// poll(2) on the context's eventfd, which Go signals when the queue becomes
// non-empty, then copies. Sleeping here in C rather than in a Go callback
// keeps the Go scheduler out of the wait (a goroutine blocked inside a
// callback pins Deno's thread and costs a locked-thread hand-off per wake),
// and doing the copy on the worker thread leaves the JS thread only the
// dispatch.
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "_cgo_export.h"

int swrtc_eventfd_new(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

void swrtc_eventfd_signal(int fd) {
	uint64_t one = 1;
	// EAGAIN (counter at its maximum) still leaves the fd readable: nothing to do.
	(void)!write(fd, &one, sizeof one);
}

// swrtc_wait_poll returns what swrtc_poll returns (bytes of events copied, or
// minus the size of an event larger than cap), waiting up to timeout_ms for
// the first event; 0 when none came in time. A signal whose events an earlier
// call already took is slept through rather than returned as an empty batch.
int32_t swrtc_wait_poll(int32_t ctx, int32_t fd, uint8_t *buf, int32_t cap, int32_t timeout_ms) {
	for (;;) {
		int32_t n = swrtc_poll(ctx, buf, cap);
		if (n != 0) return n;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) <= 0) return 0;
		uint64_t count;
		(void)!read(fd, &count, sizeof count);
	}
}
