// A Turbo Tunnel client made of Go Snowflake 2.5.1's own pieces (Debian's
// golang-snowflake-dev: turbotunnel, encapsulation, websocketconn; kcp-go and
// smux with Snowflake's settings), talking straight to a server's WebSocket
// as a proxy would relay it. Used by tests/server/go_interop_test.ts to check
// that our server speaks exactly what Go clients send.
//
// Usage: go-client URL BYTES — sends BYTES of a fixed pattern on one stream,
// reads BYTES back (the test's ORPort echoes), and prints
// "ok <sha256 of what came back>" or exits non-zero.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/encapsulation"
	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/turbotunnel"
	"git.torproject.org/pluggable-transports/snowflake.git/v2/common/websocketconn"
	"github.com/gorilla/websocket"
	"github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"
)

type dummyAddr struct{}

func (dummyAddr) Network() string { return "dummy" }
func (dummyAddr) String() string  { return "dummy" }

// encapsulationPacketConn is client/lib/turbotunnel.go's: packets over a byte stream.
type encapsulationPacketConn struct {
	io.ReadWriteCloser
	bw *bufio.Writer
}

func (c *encapsulationPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	data, err := encapsulation.ReadData(c.ReadWriteCloser)
	if err != nil {
		return 0, dummyAddr{}, err
	}
	return copy(p, data), dummyAddr{}, nil
}

func (c *encapsulationPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if _, err := encapsulation.WriteData(c.bw, p); err != nil {
		return 0, err
	}
	return len(p), c.bw.Flush()
}

func (c *encapsulationPacketConn) LocalAddr() net.Addr                { return dummyAddr{} }
func (c *encapsulationPacketConn) SetDeadline(t time.Time) error      { return nil }
func (c *encapsulationPacketConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *encapsulationPacketConn) SetWriteDeadline(t time.Time) error { return nil }

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func main() {
	url := os.Args[1]
	size, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail("bad size: %v", err)
	}
	clientID := turbotunnel.NewClientID()
	pconn := turbotunnel.NewRedialPacketConn(dummyAddr{}, dummyAddr{}, func(ctx context.Context) (net.PacketConn, error) {
		ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
		if err != nil {
			return nil, err
		}
		conn := websocketconn.New(ws)
		if _, err := conn.Write(turbotunnel.Token[:]); err != nil {
			return nil, err
		}
		if _, err := conn.Write(clientID[:]); err != nil {
			return nil, err
		}
		return &encapsulationPacketConn{ReadWriteCloser: conn, bw: bufio.NewWriter(conn)}, nil
	})
	defer pconn.Close()
	kconn, err := kcp.NewConn2(dummyAddr{}, nil, 0, 0, pconn)
	if err != nil {
		fail("kcp: %v", err)
	}
	defer kconn.Close()
	kconn.SetStreamMode(true)
	kconn.SetWindowSize(65535, 65535)
	kconn.SetNoDelay(0, 0, 0, 1)
	config := smux.DefaultConfig()
	config.Version = 2
	config.KeepAliveTimeout = 10 * time.Minute
	config.MaxStreamBuffer = 1048576
	sess, err := smux.Client(kconn, config)
	if err != nil {
		fail("smux: %v", err)
	}
	defer sess.Close()
	stream, err := sess.OpenStream()
	if err != nil {
		fail("open stream: %v", err)
	}
	defer stream.Close()

	go func() {
		buf := make([]byte, 65536)
		for sent := 0; sent < size; {
			n := len(buf)
			if size-sent < n {
				n = size - sent
			}
			for i := 0; i < n; i++ {
				buf[i] = byte((sent + i) * 31)
			}
			if _, err := stream.Write(buf[:n]); err != nil {
				fail("write: %v", err)
			}
			sent += n
		}
	}()
	hash := sha256.New()
	if _, err := io.CopyN(hash, stream, int64(size)); err != nil {
		fail("read: %v", err)
	}
	fmt.Printf("ok %s\n", hex.EncodeToString(hash.Sum(nil)))
}
