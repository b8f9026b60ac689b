package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sync"

	"github.com/pion/webrtc/v3"
)

// maxMessageSize is the largest message we send or can receive: pion's data
// channel read loop reads into a 65535-byte buffer and fails on anything larger.
const maxMessageSize = math.MaxUint16

// sendBufferLimit bounds one channel's bufferedAmount. A send that would go
// past it fails (the W3C OperationError), so a sender that ignores
// back-pressure gets an error instead of unbounded memory.
const sendBufferLimit = 16 << 20

// channel is one RTCDataChannel of a peer.
type channel struct {
	peer   *peer
	handle int32
	dc     *webrtc.DataChannel
	remote bool // opened by the other side: announced to TS when it opens

	openOnce  sync.Once
	closeOnce sync.Once

	mu           sync.Mutex
	lowThreshold uint64 // bufferedAmountLowThreshold as TS last set it
}

// channelInfo describes a remote channel in an eventPeerDataChannel event.
type channelInfo struct {
	Label             string  `json:"label"`
	Ordered           bool    `json:"ordered"`
	MaxPacketLifeTime *uint16 `json:"maxPacketLifeTime"`
	MaxRetransmits    *uint16 `json:"maxRetransmits"`
	Protocol          string  `json:"protocol"`
	Negotiated        bool    `json:"negotiated"`
	ID                *uint16 `json:"id"`
}

// adopt gives dc a handle and wires its callbacks to events; nil when the
// peer closed meanwhile.
func (p *peer) adopt(dc *webrtc.DataChannel, remote bool) *channel {
	c := &channel{peer: p, dc: dc, remote: remote}
	c.handle = handles.add(c)
	p.mu.Lock()
	if p.channels == nil { // closed
		p.mu.Unlock()
		handles.remove(c.handle)
		return nil
	}
	p.channels[c.handle] = c
	p.mu.Unlock()

	dc.OnOpen(c.opened)
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		// pion runs OnOpen on its own goroutine, racing the read loop: make
		// "open" precede the first message as the W3C API promises.
		c.opened()
		kind := byte(eventChannelBinary)
		if m.IsString {
			kind = eventChannelText
		}
		p.emit(kind, c.handle, nil, m.Data)
	})
	dc.OnBufferedAmountLow(c.bufferedAmountLow)
	dc.OnError(func(err error) {
		p.emit(eventChannelError, c.handle, nil, []byte(err.Error()))
	})
	dc.OnClose(c.closed)
	return c
}

func (c *channel) bufferedAmountLow() {
	var amount [4]byte
	binary.LittleEndian.PutUint32(amount[:], uint32(c.bufferedAmount()))
	c.peer.emit(eventChannelLow, c.handle, nil, amount[:])
}

func (c *channel) setLowThreshold(threshold uint64) {
	c.mu.Lock()
	c.lowThreshold = threshold
	c.mu.Unlock()
	c.dc.SetBufferedAmountLowThreshold(threshold)
}

// opened reports the open once (after announcing a remote channel, so that
// TS's "datachannel" event comes first and the channel is already open in it).
func (c *channel) opened() {
	c.openOnce.Do(func() {
		if c.remote {
			// pion 3.1 drops a low-threshold handler and threshold set on an
			// accepted channel before it opens: apply them again now.
			c.mu.Lock()
			c.dc.SetBufferedAmountLowThreshold(c.lowThreshold)
			c.mu.Unlock()
			c.dc.OnBufferedAmountLow(c.bufferedAmountLow)
		}
		if c.remote {
			info, _ := json.Marshal(channelInfo{
				Label:             c.dc.Label(),
				Ordered:           c.dc.Ordered(),
				MaxPacketLifeTime: c.dc.MaxPacketLifeTime(),
				MaxRetransmits:    c.dc.MaxRetransmits(),
				Protocol:          c.dc.Protocol(),
				Negotiated:        c.dc.Negotiated(),
				ID:                c.dc.ID(),
			})
			var head [4]byte
			binary.LittleEndian.PutUint32(head[:], uint32(c.handle))
			c.peer.emit(eventPeerDataChannel, c.peer.handle, head[:], info)
		}
		id := int32(-1)
		if v := c.dc.ID(); v != nil {
			id = int32(*v)
		}
		var payload [4]byte
		binary.LittleEndian.PutUint32(payload[:], uint32(id))
		c.peer.emit(eventChannelOpen, c.handle, nil, payload[:])
	})
}

// closed reports the close once and releases the handle.
func (c *channel) closed() {
	c.closeOnce.Do(func() {
		c.peer.emit(eventChannelClose, c.handle, nil, nil)
		handles.remove(c.handle)
		c.peer.mu.Lock()
		if c.peer.channels != nil {
			delete(c.peer.channels, c.handle)
		}
		c.peer.mu.Unlock()
	})
}

func (c *channel) bufferedAmount() int {
	amount := c.dc.BufferedAmount()
	if amount > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(amount)
}

// send queues one message and returns the new bufferedAmount. pion copies the
// bytes into SCTP chunks before returning, so data may be the caller's buffer.
func (c *channel) send(data []byte, isString bool) (int, error) {
	if len(data) > maxMessageSize {
		return 0, fmt.Errorf("message of %d bytes exceeds the %d-byte limit", len(data), maxMessageSize)
	}
	if state := c.dc.ReadyState(); state != webrtc.DataChannelStateOpen {
		return 0, fmt.Errorf("data channel is %s", state)
	}
	if buffered := c.bufferedAmount(); buffered+len(data) > sendBufferLimit {
		return 0, fmt.Errorf("send buffer full: %d bytes queued, limit %d", buffered, sendBufferLimit)
	}
	var err error
	if isString {
		err = c.dc.SendText(string(data))
	} else {
		err = c.dc.Send(data)
	}
	if err != nil {
		return 0, err
	}
	return c.bufferedAmount(), nil
}
