// Package main is the native half of Snowflake's WebRTC binding for Deno: a
// c-shared library over pion/webrtc v3 that lib/webrtc/ loads with Deno.dlopen.
//
// The C ABI (this file) passes only integers and caller-owned byte buffers:
// peer connections and data channels are named by positive int32 handles,
// never by Go pointers. Calls that can fail return a negative number -n and
// leave an n-byte UTF-8 error message at the start of the caller's `out`
// buffer; on success they return a handle, a byte count written to `out`, or
// 0. Events (data channel messages, state changes) are not delivered by
// callbacks: they queue per context, and swrtc_wait_poll (wait.c) waits for
// them on a Deno worker thread and copies every ready event into the caller's
// buffer in one call (framing in events.go).
//
// Bump abiVersion whenever a signature or the event framing changes;
// lib/webrtc/symbols.ts checks it when loading.
package main

// #include <stdint.h>
import "C"

import (
	"runtime"
	"unsafe"
)

const abiVersion = 3

func main() {}

// bytesOf views a caller-owned buffer without copying; the slice is valid only
// during the call, so anything kept past it must be copied.
func bytesOf(p *C.uint8_t, n C.int32_t) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export swrtc_abi_version
func swrtc_abi_version() C.int32_t { return abiVersion }

//export swrtc_context_new
func swrtc_context_new(out *C.uint8_t, outCap C.int32_t) C.int32_t {
	ctx, err := newContext()
	return result(bytesOf(out, outCap), int(ctx), err)
}

//export swrtc_context_fd
func swrtc_context_fd(ctx C.int32_t) C.int32_t {
	if q := contextQueue(int32(ctx)); q != nil {
		return C.int32_t(q.fd)
	}
	return -1
}

//export swrtc_poll
func swrtc_poll(ctx C.int32_t, buf *C.uint8_t, capacity C.int32_t) C.int32_t {
	q := contextQueue(int32(ctx))
	if q == nil {
		return 0
	}
	return C.int32_t(q.poll(bytesOf(buf, capacity)))
}

//export swrtc_handle_count
func swrtc_handle_count() C.int32_t { return C.int32_t(handles.count()) }

//export swrtc_goroutine_count
func swrtc_goroutine_count() C.int32_t { return C.int32_t(runtime.NumGoroutine()) }

//export swrtc_close_all
func swrtc_close_all(ctx C.int32_t) { closeAllPeers(int32(ctx)) }

//export swrtc_pc_new
func swrtc_pc_new(ctx C.int32_t, cfg *C.uint8_t, cfgLen C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	h, err := newPeer(int32(ctx), bytesOf(cfg, cfgLen))
	return result(bytesOf(out, outCap), int(h), err)
}

//export swrtc_pc_create_offer
func swrtc_pc_create_offer(pc C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	return withPeer(pc, out, outCap, (*peer).createOffer)
}

//export swrtc_pc_create_answer
func swrtc_pc_create_answer(pc C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	return withPeer(pc, out, outCap, (*peer).createAnswer)
}

//export swrtc_pc_set_description
func swrtc_pc_set_description(pc C.int32_t, remote C.int32_t, desc *C.uint8_t, descLen C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	input := bytesOf(desc, descLen)
	return withPeer(pc, out, outCap, func(p *peer) ([]byte, error) {
		return nil, p.setDescription(remote != 0, input)
	})
}

//export swrtc_pc_get_description
func swrtc_pc_get_description(pc C.int32_t, remote C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	return withPeer(pc, out, outCap, func(p *peer) ([]byte, error) {
		return p.description(remote != 0)
	})
}

//export swrtc_pc_signaling_state
func swrtc_pc_signaling_state(pc C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	return withPeer(pc, out, outCap, func(p *peer) ([]byte, error) {
		return []byte(p.pc.SignalingState().String()), nil
	})
}

//export swrtc_pc_create_data_channel
func swrtc_pc_create_data_channel(pc C.int32_t, init *C.uint8_t, initLen C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	buf := bytesOf(out, outCap)
	p, err := lookupPeer(int32(pc))
	if err != nil {
		return result(buf, 0, err)
	}
	h, err := p.createDataChannel(bytesOf(init, initLen))
	return result(buf, int(h), err)
}

//export swrtc_pc_close
func swrtc_pc_close(pc C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	buf := bytesOf(out, outCap)
	p, err := lookupPeer(int32(pc))
	if err != nil {
		return result(buf, 0, err)
	}
	return result(buf, 0, p.close())
}

//export swrtc_dc_send
func swrtc_dc_send(dc C.int32_t, data *C.uint8_t, dataLen C.int32_t, isString C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	buf := bytesOf(out, outCap)
	c, err := lookupChannel(int32(dc))
	if err != nil {
		return result(buf, 0, err)
	}
	buffered, err := c.send(bytesOf(data, dataLen), isString != 0)
	return result(buf, buffered, err)
}

//export swrtc_dc_buffered_amount
func swrtc_dc_buffered_amount(dc C.int32_t) C.int32_t {
	c, err := lookupChannel(int32(dc))
	if err != nil {
		return 0
	}
	return C.int32_t(c.bufferedAmount())
}

//export swrtc_dc_set_buffered_amount_low_threshold
func swrtc_dc_set_buffered_amount_low_threshold(dc C.int32_t, threshold C.uint32_t) {
	if c, err := lookupChannel(int32(dc)); err == nil {
		c.setLowThreshold(uint64(threshold))
	}
}

//export swrtc_dc_close
func swrtc_dc_close(dc C.int32_t, out *C.uint8_t, outCap C.int32_t) C.int32_t {
	buf := bytesOf(out, outCap)
	c, err := lookupChannel(int32(dc))
	if err != nil {
		return result(buf, 0, err)
	}
	return result(buf, 0, c.dc.Close())
}

// withPeer runs f on the peer named by h and writes its output bytes to out.
func withPeer(h C.int32_t, out *C.uint8_t, outCap C.int32_t, f func(*peer) ([]byte, error)) C.int32_t {
	buf := bytesOf(out, outCap)
	p, err := lookupPeer(int32(h))
	if err != nil {
		return result(buf, 0, err)
	}
	data, err := f(p)
	if err != nil {
		return result(buf, 0, err)
	}
	return output(buf, data)
}
