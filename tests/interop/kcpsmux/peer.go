// Command peer is our Go test peer for the KCP+smux conformance tests and the
// core bench: the real kcp-go v5 and smux v2 (Debian's
// golang-github-xtaci-kcp-dev and golang-github-xtaci-smux-dev), configured
// exactly as Snowflake 2.5.1 configures them (KCP-SMUX.md §5 and §8.2), moving
// a bulk transfer over one smux stream with the TypeScript stack (or another
// copy of itself) on the other end.
//
// Built by scripts/build-interop.sh in GOPATH mode. Modes:
//
//	peer -mode server -addr 127.0.0.1:0 -send N -recv N   listen on UDP (kcp.ServeConn), accept one stream
//	peer -mode client -addr HOST:PORT -send N -recv N     dial over UDP (kcp.NewConn2), open one stream
//	peer -mode memory -send N                             Go client and server in one process over an
//	                                                      in-memory packet link (the bench's reference)
//
// The transfer protocol on the stream (tests/interop/kcpsmux/transfer.ts is the
// TypeScript twin): each side writes its `send` bytes of random data while it
// reads the peer's `recv` bytes; once it has read them it writes the sha256 of
// what it read (32 bytes) and reads the peer's 32-byte digest of what the peer
// read. Then the client closes the stream (FIN) and lingers so the FIN gets
// through; the server waits for that FIN (EOF), closes its stream and lingers.
//
// Output on stdout, one line each: "listening HOST:PORT" (server mode) or
// "ready" (the others) once the data is generated, then a JSON report; then the
// peer waits for stdin to close before exiting, so the harness can read
// /proc/<pid>/stat at both lines and count only the transfer's CPU time.
//
// Loss is injected with -loss P: a seeded dropper around the packet conn drops
// each packet with probability P, on sending and on receiving.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"math/rand"
	"net"
	"os"
	"sync"
	"time"

	kcp "github.com/xtaci/kcp-go/v5"
	"github.com/xtaci/smux"
)

// Snowflake's values (client/lib/snowflake.go, server/lib/snowflake.go).
const (
	windowSize = 65535   // kcp SetWindowSize(WindowSize, WindowSize)
	streamSize = 1048576 // smux MaxStreamBuffer (StreamSize)
	digestSize = sha256.Size
	chunkSize  = 64 * 1024
)

// mixedWriteSizes are the write sizes cycled through with -verify: around
// KCP's mss (1376) and smux's frame size (32768), and a write of one byte.
// transfer.ts uses the same list. Benches write 64 KiB at a time.
var mixedWriteSizes = []int{1, 7, 100, 1375, 1376, 1377, 4096, 32767, 32768, 32769, 65536, 100000}

var (
	socketBuffer int
	verify       bool
)

type report struct {
	Mode           string  `json:"mode"`
	Sent           int     `json:"sent"`
	SentSha256     string  `json:"sentSha256"`
	Received       int     `json:"received"`
	ReceivedSha256 string  `json:"receivedSha256"`
	PeerDigestOK   bool    `json:"peerDigestOk"`
	FinReceived    bool    `json:"finReceived"`
	Seconds        float64 `json:"seconds"`
	Conv           uint32  `json:"conv"`
	StreamID       uint32  `json:"streamId"`
	Dropped        uint64  `json:"dropped"`
	Error          string  `json:"error,omitempty"`
}

func main() {
	mode := flag.String("mode", "", "client, server or memory")
	addr := flag.String("addr", "127.0.0.1:0", "server: UDP address to listen on; client: server's UDP address")
	send := flag.Int("send", 10<<20, "bytes to send")
	recv := flag.Int("recv", -1, "bytes to expect from the peer (default: same as -send)")
	loss := flag.Float64("loss", 0, "probability of dropping each packet, both directions")
	seed := flag.Int64("seed", 1, "seed of the data and of the dropper")
	linger := flag.Duration("linger", time.Second, "how long to keep the KCP session alive after closing the stream")
	finWait := flag.Duration("fin-wait", 10*time.Second, "how long the server waits for the client's FIN")
	timeout := flag.Duration("timeout", 120*time.Second, "give up (exit 2) after this long")
	queue := flag.Int("queue", 1024, "memory mode: packet queue capacity per direction (drop when full)")
	flag.IntVar(&socketBuffer, "socket-buffer", 0, "UDP SO_RCVBUF/SO_SNDBUF in bytes (0: the kernel's default)")
	flag.BoolVar(&verify, "verify", true, "sha256 both ways (false: all-zero digests, for benches: Go 1.19's sha256 has no SHA-NI and would dominate the CPU figures)")
	flag.Parse()
	if *recv < 0 {
		*recv = *send
	}
	time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "peer: timed out after %v\n", *timeout)
		os.Exit(2)
	})

	var rep report
	var err error
	switch *mode {
	case "server":
		rep, err = runServer(*addr, randomData(*send, *seed), *recv, *loss, *seed, *linger, *finWait)
	case "client":
		rep, err = runClient(*addr, randomData(*send, *seed), *recv, *loss, *seed, *linger)
	case "memory":
		rep, err = runMemory(randomData(*send, *seed), *loss, *seed, *queue)
	default:
		fmt.Fprintln(os.Stderr, "peer: -mode must be client, server or memory")
		os.Exit(2)
	}
	rep.Mode = *mode
	if err != nil {
		rep.Error = err.Error()
	}
	line, _ := json.Marshal(rep)
	fmt.Println(string(line))
	io.Copy(io.Discard, os.Stdin) // the harness reads our CPU time, then closes stdin
	if err != nil {
		os.Exit(1)
	}
}

// configureKCP applies Snowflake's KCP settings (KCP-SMUX.md §5).
func configureKCP(conn *kcp.UDPSession) {
	conn.SetStreamMode(true)
	conn.SetWindowSize(windowSize, windowSize)
	conn.SetNoDelay(0, 0, 0, 1)
}

// smuxConfig is Snowflake's smux config (KCP-SMUX.md §8.2): v2, keepalive
// timeout 10 min on the client and 4 min on the 2.5.1 server.
func smuxConfig(server bool) *smux.Config {
	config := smux.DefaultConfig()
	config.Version = 2
	config.KeepAliveTimeout = 10 * time.Minute
	if server {
		config.KeepAliveTimeout = 4 * time.Minute
	}
	config.MaxStreamBuffer = streamSize
	return config
}

// endpoint is one side of a Snowflake-style session: a KCP session, an smux
// session over it, and the one stream.
type endpoint struct {
	listener *kcp.Listener // server side only
	conn     *kcp.UDPSession
	sess     *smux.Session
	stream   *smux.Stream
}

// acceptEndpoint serves KCP on pconn (kcp.ServeConn, as the Snowflake server)
// and accepts one KCP session and one smux stream.
func acceptEndpoint(pconn net.PacketConn) (*endpoint, error) {
	listener, err := kcp.ServeConn(nil, 0, 0, pconn)
	if err != nil {
		return nil, err
	}
	e := &endpoint{listener: listener}
	if e.conn, err = listener.AcceptKCP(); err == nil {
		configureKCP(e.conn)
		if e.sess, err = smux.Server(e.conn, smuxConfig(true)); err == nil {
			e.stream, err = e.sess.AcceptStream()
		}
	}
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// dialEndpoint starts a KCP session to raddr on pconn (kcp.NewConn2, as the
// Snowflake client) and opens one smux stream.
func dialEndpoint(raddr net.Addr, pconn net.PacketConn) (*endpoint, error) {
	conn, err := kcp.NewConn2(raddr, nil, 0, 0, pconn)
	if err != nil {
		return nil, err
	}
	configureKCP(conn)
	e := &endpoint{conn: conn}
	if e.sess, err = smux.Client(conn, smuxConfig(false)); err == nil {
		e.stream, err = e.sess.OpenStream()
	}
	if err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *endpoint) close() {
	if e.sess != nil {
		e.sess.Close()
	}
	if e.conn != nil {
		e.conn.Close()
	}
	if e.listener != nil {
		e.listener.Close()
	}
}

// serve runs the server's side of the transfer: after it, wait for the
// client's FIN, close the stream and linger so our FIN gets through.
func (e *endpoint) serve(data []byte, recv int, finWait, linger time.Duration) (report, error) {
	rep, err := transfer(e.stream, data, recv)
	rep.Conv = e.conn.GetConv()
	if err == nil {
		rep.FinReceived = waitFin(e.stream, finWait)
		e.stream.Close()
		time.Sleep(linger)
	}
	return rep, err
}

// run runs the client's side of the transfer: after it, close the stream and
// linger so the FIN gets through.
func (e *endpoint) run(data []byte, recv int, linger time.Duration) (report, error) {
	rep, err := transfer(e.stream, data, recv)
	rep.Conv = e.conn.GetConv()
	if err == nil {
		e.stream.Close()
		time.Sleep(linger)
	}
	return rep, err
}

func runServer(addr string, data []byte, recv int, loss float64, seed int64, linger, finWait time.Duration) (report, error) {
	udp, err := listenUDP(addr)
	if err != nil {
		return report{}, err
	}
	defer udp.Close()
	fmt.Printf("listening %s\n", udp.LocalAddr())
	pconn, dropper := withLoss(udp, loss, seed)
	e, err := acceptEndpoint(pconn)
	if err != nil {
		return report{}, err
	}
	defer e.close()
	rep, err := e.serve(data, recv, finWait, linger)
	rep.Dropped = dropper.count()
	return rep, err
}

func runClient(addr string, data []byte, recv int, loss float64, seed int64, linger time.Duration) (report, error) {
	fmt.Println("ready")
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return report{}, err
	}
	udp, err := listenUDP("127.0.0.1:0")
	if err != nil {
		return report{}, err
	}
	defer udp.Close()
	pconn, dropper := withLoss(udp, loss, seed)
	e, err := dialEndpoint(raddr, pconn)
	if err != nil {
		return report{}, err
	}
	defer e.close()
	rep, err := e.run(data, recv, linger)
	rep.Dropped = dropper.count()
	return rep, err
}

func listenUDP(addr string) (*net.UDPConn, error) {
	laddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	udp, err := net.ListenUDP("udp", laddr)
	if err == nil && socketBuffer > 0 {
		udp.SetReadBuffer(socketBuffer)
		udp.SetWriteBuffer(socketBuffer)
	}
	return udp, err
}

// runMemory moves data from a Go client to a Go server over an
// in-memory packet link (bounded channels, drop when full, as Snowflake's
// QueuePacketConn), and returns the client's report.
func runMemory(data []byte, loss float64, seed int64, queue int) (report, error) {
	fmt.Println("ready")
	a, b := memoryPair(queue)
	// Loss on the client's end only, both ways: `loss` per direction.
	clientConn, dropper := withLoss(a, loss, seed)
	serverConn := net.PacketConn(b)
	type result struct {
		rep report
		err error
	}
	server := make(chan result, 1)
	go func() {
		e, err := acceptEndpoint(serverConn)
		if err != nil {
			server <- result{err: err}
			return
		}
		defer e.close()
		rep, err := e.serve(nil, len(data), 10*time.Second, 0)
		server <- result{rep, err}
	}()
	e, err := dialEndpoint(b.LocalAddr(), clientConn)
	if err != nil {
		return report{}, err
	}
	defer e.close()
	rep, err := e.run(data, 0, 0)
	if err != nil {
		return rep, err
	}
	srv := <-server
	if srv.err != nil {
		return rep, fmt.Errorf("server: %w", srv.err)
	}
	if !srv.rep.FinReceived || srv.rep.Received != len(data) {
		return rep, errors.New("server did not get the whole stream and its FIN")
	}
	rep.Dropped = dropper.count()
	return rep, nil
}

// transfer runs the bulk-transfer protocol described in the package doc on one
// stream and reports what was sent and received; the clock runs from the start
// until the peer's digest has arrived.
func transfer(stream *smux.Stream, data []byte, recv int) (report, error) {
	start := time.Now()
	sentSum := newHash()
	sentSum.Write(data)
	sentDigest := sentSum.Sum(nil)
	rep := report{Sent: len(data), SentSha256: hex.EncodeToString(sentDigest), StreamID: stream.ID()}
	received := make(chan []byte, 1) // the digest of what we read, for the writer
	writeErr := make(chan error, 1)
	go func() {
		for off, i := 0, 0; off < len(data); off, i = off+writeSize(i), i+1 {
			end := off + writeSize(i)
			if end > len(data) {
				end = len(data)
			}
			if _, err := stream.Write(data[off:end]); err != nil {
				writeErr <- err
				return
			}
		}
		digest, ok := <-received
		if !ok {
			writeErr <- errors.New("read failed")
			return
		}
		_, err := stream.Write(digest)
		writeErr <- err
	}()

	hash := newHash()
	buf := make([]byte, chunkSize)
	remaining := recv
	for remaining > 0 {
		n, err := stream.Read(buf[:min(len(buf), remaining)])
		hash.Write(buf[:n])
		remaining -= n
		rep.Received += n
		if err != nil {
			close(received)
			return rep, fmt.Errorf("read after %d bytes: %w", rep.Received, err)
		}
	}
	sum := hash.Sum(nil)
	rep.ReceivedSha256 = hex.EncodeToString(sum)
	received <- sum
	peerDigest := make([]byte, digestSize)
	if _, err := io.ReadFull(stream, peerDigest); err != nil {
		return rep, fmt.Errorf("reading the peer's digest: %w", err)
	}
	rep.PeerDigestOK = bytes.Equal(peerDigest, sentDigest)
	if err := <-writeErr; err != nil {
		return rep, fmt.Errorf("write: %w", err)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// writeSize is the size of the i-th write: mixed with -verify, else 64 KiB.
func writeSize(i int) int {
	if verify {
		return mixedWriteSizes[i%len(mixedWriteSizes)]
	}
	return chunkSize
}

// newHash is sha256, or with -verify=false a hash that reads nothing and sums to zeros.
func newHash() hash.Hash {
	if verify {
		return sha256.New()
	}
	return zeroHash{}
}

type zeroHash struct{}

func (zeroHash) Write(p []byte) (int, error) { return len(p), nil }
func (zeroHash) Sum(b []byte) []byte         { return append(b, make([]byte, digestSize)...) }
func (zeroHash) Reset()                      {}
func (zeroHash) Size() int                   { return digestSize }
func (zeroHash) BlockSize() int              { return sha256.BlockSize }

// waitFin reads until EOF (the peer's FIN); false on extra data, error or timeout.
func waitFin(stream *smux.Stream, wait time.Duration) bool {
	stream.SetReadDeadline(time.Now().Add(wait))
	n, err := stream.Read(make([]byte, 1))
	return n == 0 && err == io.EOF
}

func randomData(n int, seed int64) []byte {
	data := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(data)
	return data
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// lossyConn drops packets with a seeded probability on both WriteTo and ReadFrom.
type lossyConn struct {
	net.PacketConn
	mu      sync.Mutex
	rng     *rand.Rand
	loss    float64
	dropped uint64
}

// withLoss wraps conn in a dropper when loss > 0; otherwise conn is used as is
// (a bare *net.UDPConn lets kcp-go batch its syscalls).
func withLoss(conn net.PacketConn, loss float64, seed int64) (net.PacketConn, *lossyConn) {
	if loss <= 0 {
		return conn, nil
	}
	l := &lossyConn{PacketConn: conn, rng: rand.New(rand.NewSource(seed ^ 0x5eed)), loss: loss}
	return l, l
}

func (l *lossyConn) drop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rng.Float64() < l.loss {
		l.dropped++
		return true
	}
	return false
}

func (l *lossyConn) count() uint64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

func (l *lossyConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if l.drop() {
		return len(p), nil
	}
	return l.PacketConn.WriteTo(p, addr)
}

func (l *lossyConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := l.PacketConn.ReadFrom(p)
		if err != nil || !l.drop() {
			return n, addr, err
		}
	}
}

// memoryAddr names an end of the in-memory link.
type memoryAddr string

func (a memoryAddr) Network() string { return "memory" }
func (a memoryAddr) String() string  { return string(a) }

// memoryConn is one end of an in-memory packet link: WriteTo copies the packet
// into the peer's bounded queue and drops it when the queue is full.
type memoryConn struct {
	local, remote memoryAddr
	in, out       chan []byte
	closeOnce     sync.Once
	done          chan struct{}
}

func memoryPair(queue int) (*memoryConn, *memoryConn) {
	ab, ba := make(chan []byte, queue), make(chan []byte, queue)
	a := &memoryConn{local: "client", remote: "server", in: ba, out: ab, done: make(chan struct{})}
	b := &memoryConn{local: "server", remote: "client", in: ab, out: ba, done: make(chan struct{})}
	return a, b
}

func (c *memoryConn) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case packet := <-c.in:
		return copy(p, packet), c.remote, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *memoryConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	select {
	case c.out <- append([]byte(nil), p...):
	default: // queue full: drop, like UDP and Snowflake's QueuePacketConn
	}
	return len(p), nil
}

func (c *memoryConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return nil
}

func (c *memoryConn) LocalAddr() net.Addr                { return c.local }
func (c *memoryConn) SetDeadline(t time.Time) error      { return nil }
func (c *memoryConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *memoryConn) SetWriteDeadline(t time.Time) error { return nil }
