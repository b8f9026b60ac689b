package main

// int swrtc_eventfd_new(void);
// void swrtc_eventfd_signal(int fd);
import "C"

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Event framing, as swrtc_poll writes it (little-endian), one event after another:
//
//	kind u8 | handle i32 | length u32 | payload (length bytes)
//
// lib/webrtc/events.ts decodes it; keep the two in step (and bump abiVersion).
const eventHeaderSize = 9

const (
	eventChannelOpen       = 1  // payload: id i32 (-1 when the stream has none yet)
	eventChannelBinary     = 2  // payload: message bytes
	eventChannelText       = 3  // payload: message as UTF-8
	eventChannelClose      = 4  // payload: empty; the handle is gone afterwards
	eventChannelLow        = 5  // payload: bufferedAmount u32 at the time pion signalled "low"
	eventChannelError      = 6  // payload: error message
	eventPeerConnection    = 7  // payload: connectionState (W3C spelling)
	eventPeerICEConnection = 8  // payload: iceConnectionState
	eventPeerICEGathering  = 9  // payload: iceGatheringState
	eventPeerSignaling     = 10 // payload: signalingState
	eventPeerDataChannel   = 11 // payload: channel handle u32, then channelInfo JSON
	eventPeerLog           = 12 // payload: level u8 (0 debug .. 3 error), then the message
	eventPeerClosed        = 13 // payload: empty; close finished (its only use: waking the pump)
)

// maxQueuedBytes bounds a context's queue of unpolled events. At the bound a
// data channel's message delivery blocks (pion's read loop for that channel
// stops, SCTP's receive window fills and the remote sender is slowed down:
// back-pressure, nothing lost) until the TS pump drains the queue or the peer
// is closed. Log events are dropped at the bound; state events are few per
// handle and always queued.
const maxQueuedBytes = 4 << 20

// eventQueue is one context's outbox: a byte buffer of framed events.
type eventQueue struct {
	mu    sync.Mutex
	space *sync.Cond // signalled when poll makes room or a peer closes
	fd    C.int      // eventfd signalled when events may be ready (wait.c)
	buf   []byte
	start int // events before start were already polled
}

var (
	contextsMu sync.Mutex
	contexts   []*eventQueue // context id = index + 1
)

// newContext gives one JS realm (main thread or worker) its own event queue, so
// that two realms which load the library never steal each other's events.
// Contexts live as long as the process (one per realm).
func newContext() (int32, error) {
	fd := C.swrtc_eventfd_new()
	if fd < 0 {
		return 0, fmt.Errorf("cannot create an eventfd for the WebRTC event queue")
	}
	q := &eventQueue{fd: fd}
	q.space = sync.NewCond(&q.mu)
	contextsMu.Lock()
	defer contextsMu.Unlock()
	contexts = append(contexts, q)
	return int32(len(contexts)), nil
}

func contextQueue(id int32) *eventQueue {
	contextsMu.Lock()
	defer contextsMu.Unlock()
	if id <= 0 || int(id) > len(contexts) {
		return nil
	}
	return contexts[id-1]
}

func (q *eventQueue) queued() int { return len(q.buf) - q.start }

// push appends one event. Message events block at the bound as described at
// maxQueuedBytes; events of a closed peer are dropped (TS no longer wants them).
func (q *eventQueue) push(p *peer, kind byte, handle int32, head []byte, payload []byte) {
	q.mu.Lock()
	if kind == eventChannelBinary || kind == eventChannelText {
		for q.queued() > maxQueuedBytes && !p.isClosed() {
			q.space.Wait()
		}
	}
	if p.isClosed() || (kind == eventPeerLog && q.queued() > maxQueuedBytes) {
		q.mu.Unlock()
		return
	}
	q.append(kind, handle, head, payload)
}

// pushClosed queues eventPeerClosed, which (unlike other events of a closed
// peer) is never dropped: it wakes the pump so that it sees the peer gone.
func (q *eventQueue) pushClosed(handle int32) {
	q.mu.Lock()
	q.append(eventPeerClosed, handle, nil, nil)
}

// append adds one framed event and signals the eventfd if the queue was
// empty; called with q.mu held, which it releases.
func (q *eventQueue) append(kind byte, handle int32, head []byte, payload []byte) {
	wasEmpty := q.queued() == 0
	var header [eventHeaderSize]byte
	header[0] = kind
	binary.LittleEndian.PutUint32(header[1:], uint32(handle))
	binary.LittleEndian.PutUint32(header[5:], uint32(len(head)+len(payload)))
	q.buf = append(q.buf, header[:]...)
	q.buf = append(q.buf, head...)
	q.buf = append(q.buf, payload...)
	q.mu.Unlock()
	if wasEmpty {
		q.wake()
	}
}

// releaseBlocked wakes producers blocked in push so they can see that their
// peer has closed.
func (q *eventQueue) releaseBlocked() {
	q.mu.Lock()
	q.space.Broadcast()
	q.mu.Unlock()
}

// wake makes a pending or the next swrtc_wait_poll on this context look at the queue.
func (q *eventQueue) wake() { C.swrtc_eventfd_signal(q.fd) }

// poll moves as many whole events as fit into out and returns the byte count;
// when even the first event does not fit it returns minus that event's size so
// the caller can grow its buffer and call again.
func (q *eventQueue) poll(out []byte) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	end := q.start
	for end+eventHeaderSize <= len(q.buf) {
		size := eventHeaderSize + int(binary.LittleEndian.Uint32(q.buf[end+5:]))
		if end+size-q.start > len(out) {
			if end == q.start {
				return -size
			}
			break
		}
		end += size
	}
	n := copy(out, q.buf[q.start:end])
	q.start = end
	switch {
	case q.start == len(q.buf):
		q.buf, q.start = q.buf[:0], 0
		if cap(q.buf) > 2*maxQueuedBytes {
			q.buf = nil // give back a buffer grown by a burst of state events
		}
	case q.start > maxQueuedBytes:
		// Producers kept appending while we drained: move the rest down so
		// the buffer does not grow with everything ever queued.
		q.buf = q.buf[:copy(q.buf, q.buf[q.start:])]
		q.start = 0
	}
	q.space.Broadcast()
	return n
}
