// Command webrtc-go-peer is the Go side of the WebRTC binding's cross-process
// test and bench (built by scripts/build-ffi.sh into build/ffi/). It speaks
// the same stdio protocol as tests/webrtc/peer_program.ts, so a test or bench
// can pair any two of them:
//
//  1. Signalling, one JSON line each way (non-trickle, gathering complete):
//     the offerer prints {"type":"offer","sdp":...}, reads the answer line; the
//     answerer reads the offer line, prints its answer.
//  2. Over one data channel ("bench", ordered, reliable) each side sends -send
//     random bytes (slices of a 1 MiB random pool) in -size-byte messages, keeping bufferedAmount under 1 MiB
//     (bufferedamountlow at 256 KiB), and receives until it has -expect bytes.
//  3. It prints one result line {"sent","sentSha256","received",
//     "receivedSha256","seconds","cpuSeconds"} (seconds and CPU from channel
//     open to done), then waits for stdin to close, closes and exits.
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/webrtc/v3"
)

const (
	highWater = 1 << 20
	lowWater  = 256 << 10
	// poolSize: messages are slices of one random pool at shifting offsets,
	// so making data costs next to nothing in the measured window.
	poolSize = 1 << 20
	// setupTimeout bounds signalling and connection set-up.
	setupTimeout = 30 * time.Second
)

type result struct {
	Sent           int     `json:"sent"`
	SentSha256     string  `json:"sentSha256"`
	Received       int     `json:"received"`
	ReceivedSha256 string  `json:"receivedSha256"`
	Seconds        float64 `json:"seconds"`
	CPUSeconds     float64 `json:"cpuSeconds"`
}

func main() {
	role := flag.String("role", "offer", "offer or answer")
	send := flag.Int("send", 0, "bytes to send")
	expect := flag.Int("expect", 0, "bytes to receive")
	size := flag.Int("size", 1200, "message size in bytes")
	flag.Parse()
	if err := run(*role, *send, *expect, *size); err != nil {
		fmt.Fprintln(os.Stderr, "webrtc-go-peer:", err)
		os.Exit(1)
	}
}

func cpuSeconds() float64 {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

func run(role string, send, expect, size int) error {
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()

	channels := make(chan *webrtc.DataChannel, 1)
	stdin := bufio.NewReader(os.Stdin)
	readDescription := func() (webrtc.SessionDescription, error) {
		var d webrtc.SessionDescription
		line, err := stdin.ReadBytes('\n')
		if err != nil {
			return d, fmt.Errorf("reading description: %w", err)
		}
		return d, json.Unmarshal(line, &d)
	}
	writeLine := func(v interface{}) error {
		line, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(append(line, '\n'))
		return err
	}
	setLocal := func(d webrtc.SessionDescription) error {
		gathered := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(d); err != nil {
			return err
		}
		<-gathered
		return writeLine(pc.LocalDescription())
	}

	if role == "offer" {
		dc, err := pc.CreateDataChannel("bench", nil)
		if err != nil {
			return err
		}
		channels <- dc
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := setLocal(offer); err != nil {
			return err
		}
		answer, err := readDescription()
		if err != nil {
			return err
		}
		if err := pc.SetRemoteDescription(answer); err != nil {
			return err
		}
	} else {
		pc.OnDataChannel(func(dc *webrtc.DataChannel) { channels <- dc })
		offer, err := readDescription()
		if err != nil {
			return err
		}
		if err := pc.SetRemoteDescription(offer); err != nil {
			return err
		}
		answer, err := pc.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := setLocal(answer); err != nil {
			return err
		}
	}

	var dc *webrtc.DataChannel
	select {
	case dc = <-channels:
	case <-time.After(setupTimeout):
		return fmt.Errorf("no data channel after %v", setupTimeout)
	}
	opened := make(chan struct{})
	received := make(chan struct{})
	low := make(chan struct{}, 1)
	receivedHash := sha256.New()
	receivedBytes := 0
	dc.OnOpen(func() { close(opened) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		receivedHash.Write(m.Data)
		receivedBytes += len(m.Data)
		if receivedBytes == expect {
			close(received)
		}
	})
	if dc.ReadyState() != webrtc.DataChannelStateOpen {
		select {
		case <-opened:
		case <-time.After(setupTimeout):
			return fmt.Errorf("data channel not open after %v", setupTimeout)
		}
	}
	// Only once open: pion 3.1 forgets both when set on an accepted channel before.
	dc.SetBufferedAmountLowThreshold(lowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	start, startCPU := time.Now(), cpuSeconds()
	if expect == 0 {
		close(received)
	}

	sentHash := sha256.New()
	pool := make([]byte, poolSize+size)
	if _, err := rand.Read(pool); err != nil {
		return err
	}
	for sent := 0; sent < send; {
		n := size
		if send-sent < n {
			n = send - sent
		}
		offset := (sent / 7) % poolSize
		message := pool[offset : offset+n]
		for dc.BufferedAmount() > highWater {
			<-low
		}
		if err := dc.Send(message); err != nil {
			return err
		}
		sentHash.Write(message)
		sent += n
	}
	<-received
	err = writeLine(result{
		Sent:           send,
		SentSha256:     hex.EncodeToString(sentHash.Sum(nil)),
		Received:       receivedBytes,
		ReceivedSha256: hex.EncodeToString(receivedHash.Sum(nil)),
		Seconds:        time.Since(start).Seconds(),
		CPUSeconds:     cpuSeconds() - startCPU,
	})
	if err != nil {
		return err
	}
	_, _ = stdin.ReadBytes('\n') // until stdin closes
	return nil
}
