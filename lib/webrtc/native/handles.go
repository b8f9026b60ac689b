package main

import (
	"fmt"
	"sync"
)

// handleTable maps the positive int32 handles the TS side holds to Go
// objects, so no Go pointer ever crosses the C boundary. Handles are not
// reused until the counter wraps (2^31 allocations), which turns a stale
// handle from TS into a clear "no such handle" error instead of a wrong object.
type handleTable struct {
	mu      sync.RWMutex
	next    int32
	objects map[int32]interface{}
}

var handles = handleTable{objects: make(map[int32]interface{})}

func (t *handleTable) add(object interface{}) int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		t.next++
		if t.next <= 0 {
			t.next = 1
		}
		if _, taken := t.objects[t.next]; !taken {
			t.objects[t.next] = object
			return t.next
		}
	}
}

func (t *handleTable) get(h int32) interface{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.objects[h]
}

func (t *handleTable) remove(h int32) {
	t.mu.Lock()
	delete(t.objects, h)
	t.mu.Unlock()
}

func (t *handleTable) count() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.objects)
}

func lookupPeer(h int32) (*peer, error) {
	if p, ok := handles.get(h).(*peer); ok {
		return p, nil
	}
	return nil, fmt.Errorf("peer connection is closed (no handle %d)", h)
}

func lookupChannel(h int32) (*channel, error) {
	if c, ok := handles.get(h).(*channel); ok {
		return c, nil
	}
	return nil, fmt.Errorf("data channel is closed (no handle %d)", h)
}
