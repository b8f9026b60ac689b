package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"
)

// peer is one RTCPeerConnection: pion's PeerConnection, the context queue its
// events go to, and the data channels it owns (released with it).
type peer struct {
	queue  *eventQueue
	ctx    int32
	handle int32
	cfg    *peerConfig
	pc     *webrtc.PeerConnection
	closed int32 // atomic; 1 once close started

	mu          sync.Mutex
	channels    map[int32]*channel
	gathering   string      // last iceGatheringState sent to TS
	gatherTimer *time.Timer // the iceGatheringTimeoutMs deadline, if running
}

func newPeer(ctx int32, rawConfig []byte) (int32, error) {
	queue := contextQueue(ctx)
	if queue == nil {
		return 0, fmt.Errorf("no WebRTC context %d", ctx)
	}
	cfg, err := parsePeerConfig(rawConfig)
	if err != nil {
		return 0, err
	}
	p := &peer{queue: queue, ctx: ctx, cfg: cfg, channels: make(map[int32]*channel), gathering: "new"}
	api, err := cfg.api(&eventLoggerFactory{peer: p})
	if err != nil {
		return 0, err
	}
	pc, err := api.NewPeerConnection(cfg.configuration())
	if err != nil {
		return 0, err
	}
	p.pc = pc
	p.handle = handles.add(p)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.emit(eventPeerConnection, p.handle, nil, []byte(s.String()))
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		p.emit(eventPeerICEConnection, p.handle, nil, []byte(s.String()))
	})
	pc.OnSignalingStateChange(func(s webrtc.SignalingState) {
		p.emit(eventPeerSignaling, p.handle, nil, []byte(s.String()))
	})
	pc.OnICEGatheringStateChange(func(s webrtc.ICEGathererState) {
		switch s {
		case webrtc.ICEGathererStateGathering:
			p.setGathering("gathering")
		case webrtc.ICEGathererStateComplete:
			p.setGathering("complete")
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.adopt(dc, true) })
	return p.handle, nil
}

func (p *peer) isClosed() bool { return atomic.LoadInt32(&p.closed) != 0 }

func (p *peer) emit(kind byte, handle int32, head []byte, payload []byte) {
	p.queue.push(p, kind, handle, head, payload)
}

// setGathering reports an iceGatheringState change once; pion's own
// "complete" after our timeout's is not repeated.
func (p *peer) setGathering(state string) {
	p.mu.Lock()
	changed := p.gathering != state
	p.gathering = state
	if state == "complete" && p.gatherTimer != nil {
		p.gatherTimer.Stop()
		p.gatherTimer = nil
	}
	p.mu.Unlock()
	if changed {
		p.emit(eventPeerICEGathering, p.handle, nil, []byte(state))
	}
}

func (p *peer) createOffer() ([]byte, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(offer)
}

func (p *peer) createAnswer() ([]byte, error) {
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(answer)
}

// setDescription applies a {"type","sdp"} description. Setting the local one
// starts gathering; with iceGatheringTimeoutMs, gathering is declared complete
// at the deadline with the candidates found so far.
func (p *peer) setDescription(remote bool, raw []byte) error {
	var desc webrtc.SessionDescription
	if err := json.Unmarshal(raw, &desc); err != nil {
		if errors.Is(err, webrtc.ErrUnknownType) {
			return errors.New("bad session description: type is not offer, pranswer, answer or rollback")
		}
		return fmt.Errorf("bad session description: %w", err)
	}
	if desc.Type == webrtc.SDPType(0) {
		return errors.New("bad session description: missing type")
	}
	if remote {
		return p.pc.SetRemoteDescription(desc)
	}
	if err := p.pc.SetLocalDescription(desc); err != nil {
		return err
	}
	if timeout := p.cfg.gatheringTimeout(); timeout > 0 {
		p.mu.Lock()
		if p.gathering != "complete" && p.gatherTimer == nil && !p.isClosed() {
			p.gatherTimer = time.AfterFunc(timeout, func() { p.setGathering("complete") })
		}
		p.mu.Unlock()
	}
	return nil
}

// description returns the current local or remote description as JSON, or
// nothing when there is none. The local one carries every candidate gathered
// so far, minus local addresses when stripLocalAddresses is set.
func (p *peer) description(remote bool) ([]byte, error) {
	var desc *webrtc.SessionDescription
	if remote {
		desc = p.pc.RemoteDescription()
	} else {
		desc = p.pc.LocalDescription()
	}
	if desc == nil {
		return nil, nil
	}
	out := *desc
	if !remote && p.cfg.StripLocalAddresses {
		out.SDP = stripLocalAddresses(out.SDP, p.cfg.outboundIP)
	}
	return json.Marshal(out)
}

func (p *peer) createDataChannel(rawInit []byte) (int32, error) {
	var init struct {
		Label             string  `json:"label"`
		Ordered           *bool   `json:"ordered"`
		MaxPacketLifeTime *uint16 `json:"maxPacketLifeTime"`
		MaxRetransmits    *uint16 `json:"maxRetransmits"`
		Protocol          *string `json:"protocol"`
		Negotiated        *bool   `json:"negotiated"`
		ID                *uint16 `json:"id"`
	}
	if err := json.Unmarshal(rawInit, &init); err != nil {
		return 0, fmt.Errorf("bad data channel options: %w", err)
	}
	dc, err := p.pc.CreateDataChannel(init.Label, &webrtc.DataChannelInit{
		Ordered:           init.Ordered,
		MaxPacketLifeTime: init.MaxPacketLifeTime,
		MaxRetransmits:    init.MaxRetransmits,
		Protocol:          init.Protocol,
		Negotiated:        init.Negotiated,
		ID:                init.ID,
	})
	if err != nil {
		return 0, err
	}
	c := p.adopt(dc, false)
	if c == nil {
		return 0, errors.New("peer connection is closed")
	}
	return c.handle, nil
}

// close releases the peer's handle and its channels' handles, then closes
// pion's PeerConnection (which sends DTLS close_notify and stops ICE). Blocked
// deliveries of its messages are released first: they would wait for a TS
// pump that no longer polls for this peer.
func (p *peer) close() error {
	if !atomic.CompareAndSwapInt32(&p.closed, 0, 1) {
		return nil
	}
	handles.remove(p.handle)
	p.mu.Lock()
	for h := range p.channels {
		handles.remove(h)
	}
	p.channels = nil
	if p.gatherTimer != nil {
		p.gatherTimer.Stop()
		p.gatherTimer = nil
	}
	p.mu.Unlock()
	p.queue.releaseBlocked()
	err := p.pc.Close()
	p.queue.pushClosed(p.handle) // lets the pump notice if this was its last peer
	return err
}

// closeAllPeers closes every peer of a context in parallel, for process exit;
// it gives up waiting after closeAllTimeout so exit is never held up for long.
const closeAllTimeout = 2 * time.Second

func closeAllPeers(ctx int32) {
	var peers []*peer
	handles.mu.RLock()
	for _, object := range handles.objects {
		if p, ok := object.(*peer); ok && p.ctx == ctx {
			peers = append(peers, p)
		}
	}
	handles.mu.RUnlock()
	var wg sync.WaitGroup
	for _, p := range peers {
		wg.Add(1)
		go func(p *peer) {
			defer wg.Done()
			_ = p.close()
		}(p)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeAllTimeout):
	}
}
