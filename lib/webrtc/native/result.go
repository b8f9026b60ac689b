package main

// #include <stdint.h>
import "C"

import (
	"fmt"
)

// result returns value, or on error writes the message into out and returns
// minus its length. A message longer than out is cut at out's length.
func result(out []byte, value int, err error) C.int32_t {
	if err == nil {
		return C.int32_t(value)
	}
	message := err.Error()
	if message == "" {
		message = "unknown error"
	}
	n := copy(out, message)
	if n == 0 {
		// The caller gave no room for the message: still report failure.
		return -1
	}
	return C.int32_t(-n)
}

// output copies data into out and returns its length; data larger than out is
// an error rather than a silent cut (the TS side sizes out for any SDP).
func output(out []byte, data []byte) C.int32_t {
	if len(data) > len(out) {
		return result(out, 0, fmt.Errorf("result of %d bytes exceeds the %d-byte output buffer", len(data), len(out)))
	}
	return C.int32_t(copy(out, data))
}
