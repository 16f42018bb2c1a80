package faults

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Service shapes the error documents the proxy answers with.
type Service string

// The services the proxy can stand in front of.
const (
	S3  Service = "s3"
	STS Service = "sts"
)

// Options configure a Proxy.
type Options struct {
	// Upstream is the real endpoint, e.g. https://127.0.0.1:34567.
	Upstream string
	// Service is S3 or STS.
	Service Service
	// ServerCert is what the proxy presents to clients (the stack's own
	// server certificate, so clients verify it with the stack's CA).
	ServerCert tls.Certificate
	// UpstreamCAs verifies the upstream's certificate.
	UpstreamCAs *x509.CertPool
	// Schedule decides the faults; its Seed makes a run repeatable.
	Schedule Schedule
	// SessionLife, when its max is positive, expires every assumed-role
	// session (a request carrying X-Amz-Security-Token) after a number of
	// its requests drawn in [min, max]; from then on each request signed
	// with it is answered ExpiredToken. S3 only.
	SessionLife [2]int
	// MaxStall caps a Stall when the client never gives up (default 2 minutes).
	MaxStall time.Duration
	// Trace, when set, gets one line per request: its number, method,
	// path and query, and the fault injected ("-" for none). Requests carry
	// no secrets there (signatures travel in headers).
	Trace io.Writer
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	// URL is where clients reach the proxy (https://127.0.0.1:port).
	URL string

	opts     Options
	srv      *http.Server
	ln       net.Listener
	upstream *http.Transport
	closing  chan struct{}
	once     sync.Once

	seq      atomic.Uint64
	requests atomic.Int64
	retries  atomic.Int64
	enabled  atomic.Bool
	counts   map[Kind]*atomic.Int64

	traceMu  sync.Mutex
	mu       sync.Mutex
	sessions map[string]*session // by access key id
	secrets  map[string]bool     // session tokens and secret keys seen
}

type session struct {
	life, used int
}

// LoadStackTLS reads the local stack's server certificate and CA from its
// directory (D/tls/server.pem, server-key.pem, ca.pem; see internal/local).
func LoadStackTLS(stackDir string) (tls.Certificate, *x509.CertPool, error) {
	dir := filepath.Join(stackDir, "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("faults: stack certificate: %w", err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("faults: stack CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return tls.Certificate{}, nil, errors.New("faults: stack CA: no certificate in ca.pem")
	}
	return cert, pool, nil
}

// Start listens on a free loopback port and serves until Close.
func Start(o Options) (*Proxy, error) {
	if o.Service != S3 && o.Service != STS {
		return nil, fmt.Errorf("faults: service %q is neither s3 nor sts", o.Service)
	}
	if !strings.HasPrefix(o.Upstream, "https://") {
		return nil, fmt.Errorf("faults: upstream %q is not an https URL", o.Upstream)
	}
	if o.MaxStall <= 0 {
		o.MaxStall = 2 * time.Minute
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{o.ServerCert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"}, // HTTP/1.1 only: faults need the raw connection
	})
	if err != nil {
		return nil, fmt.Errorf("faults: listen: %w", err)
	}
	p := &Proxy{
		URL:     "https://" + ln.Addr().String(),
		opts:    o,
		ln:      ln,
		closing: make(chan struct{}),
		upstream: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: o.UpstreamCAs, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true, // bytes pass through as the server sent them
		},
		counts:   map[Kind]*atomic.Int64{},
		sessions: map[string]*session{},
		secrets:  map[string]bool{},
	}
	for _, k := range Kinds {
		p.counts[k] = new(atomic.Int64)
	}
	p.enabled.Store(true)
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nullLogger()}
	go p.srv.Serve(ln)
	return p, nil
}

// Close stops the proxy, ending stalled requests.
func (p *Proxy) Close() error {
	p.once.Do(func() { close(p.closing) })
	err := p.srv.Close()
	p.upstream.CloseIdleConnections()
	return err
}

// SetEnabled switches injection on or off (requests are still forwarded).
func (p *Proxy) SetEnabled(on bool) { p.enabled.Store(on) }

// Counts returns the faults injected so far, by kind (zeros included).
func (p *Proxy) Counts() Counts {
	c := Counts{}
	for k, v := range p.counts {
		if k == Throttling && p.opts.Service != STS || k == ExpiredToken && p.opts.Service != S3 {
			continue
		}
		c[k] = v.Load()
	}
	return c
}

// Requests is the number of requests received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// SDKRetries is the number of requests the SDK marked as a retry attempt
// (amz-sdk-request: attempt=N with N > 1).
func (p *Proxy) SDKRetries() int64 { return p.retries.Load() }

// Secrets returns the credentials that went through the proxy: the session
// tokens requests carried and, behind STS, the secret keys and tokens
// AssumeRole minted; tests check that no log holds any of them.
func (p *Proxy) Secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.secrets))
	for s := range p.secrets {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func (p *Proxy) noteSecret(s string) {
	if s == "" {
		return
	}
	p.mu.Lock()
	p.secrets[s] = true
	p.mu.Unlock()
}

// mintedRE finds the credentials in an AssumeRole response.
var mintedRE = regexp.MustCompile(`<(SecretAccessKey|SessionToken)>([^<]+)</`)

// Sessions is the number of distinct assumed-role sessions seen.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

func (p *Proxy) count(k Kind) { p.counts[k].Add(1) }

// injected counts a fault and traces it.
func (p *Proxy) injected(n uint64, r *http.Request, k Kind) {
	p.count(k)
	p.trace(n, r, k)
}

// trace writes request n's line to Options.Trace.
func (p *Proxy) trace(n uint64, r *http.Request, k Kind) {
	if p.opts.Trace == nil {
		return
	}
	if k == None {
		k = "-"
	}
	p.traceMu.Lock()
	defer p.traceMu.Unlock()
	fmt.Fprintf(p.opts.Trace, "%s %d %s %s %s attempt=%d %s\n", time.Now().UTC().Format("15:04:05.000"), n, p.opts.Service, r.Method, r.URL.RequestURI(), attempt(r), k)
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if attempt(r) > 1 {
		p.retries.Add(1)
	}
	n := p.seq.Add(1) - 1
	p.noteSecret(r.Header.Get("X-Amz-Security-Token"))
	if !p.enabled.Load() {
		p.forward(w, r, n, Decision{})
		return
	}
	if p.expired(r) {
		p.injected(n, r, ExpiredToken)
		drain(r)
		p.writeError(w, r, http.StatusBadRequest, "ExpiredToken", "The provided token has expired.")
		return
	}
	d := p.opts.Schedule.Decide(n)
	switch d.Kind {
	case HTTP500:
		p.injected(n, r, d.Kind)
		drain(r)
		p.internalError(w, r)
	case SlowDown:
		if p.opts.Service != S3 {
			p.forward(w, r, n, Decision{})
			return
		}
		p.injected(n, r, d.Kind)
		drain(r)
		p.writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
	case Throttling:
		if p.opts.Service != STS {
			p.forward(w, r, n, Decision{})
			return
		}
		p.injected(n, r, d.Kind)
		drain(r)
		p.writeError(w, r, http.StatusBadRequest, "Throttling", "Rate exceeded")
	case ResetRequestBody:
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
			p.forward(w, r, n, Decision{})
			return
		}
		p.injected(n, r, d.Kind)
		limit := int64(1)
		if r.ContentLength > 1 {
			limit = 1 + int64(d.Frac*float64(r.ContentLength-1))
		}
		io.Copy(io.Discard, io.LimitReader(r.Body, limit))
		reset(w)
	default:
		p.forward(w, r, n, d)
	}
}

// forward sends r upstream and relays the response, applying d's fault to
// the response when it is one of the response faults.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, n uint64, d Decision) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.opts.Upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Host = r.Host // the client signed this host
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	out.ContentLength = r.ContentLength
	if r.ContentLength == 0 {
		out.Body = http.NoBody
	}
	resp, err := p.upstream.RoundTrip(out)
	if err != nil {
		// The client went away (its timeout) or the upstream failed: a gateway error.
		p.trace(n, r, "upstream-error")
		http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if p.opts.Service == STS {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		for _, m := range mintedRE.FindAllStringSubmatch(string(body), -1) {
			p.noteSecret(m[2])
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}

	switch d.Kind {
	case HTTP500AfterUpstream:
		p.injected(n, r, d.Kind)
		io.Copy(io.Discard, resp.Body)
		p.internalError(w, r)
		return
	case Stall:
		p.injected(n, r, d.Kind)
		select {
		case <-r.Context().Done(): // the client gave up
		case <-time.After(p.opts.MaxStall):
		case <-p.closing:
		}
		reset(w)
		return
	}
	bodyful := r.Method != http.MethodHead && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified && resp.ContentLength != 0
	if (d.Kind == ResetResponseBody || d.Kind == Truncated) && !bodyful {
		d.Kind = None
	}
	for _, h := range hopHeaders {
		resp.Header.Del(h)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if resp.ContentLength >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)
	if d.Kind == None {
		p.trace(n, r, None)
		io.Copy(w, resp.Body)
		return
	}
	p.injected(n, r, d.Kind)
	size := resp.ContentLength
	if size < 0 {
		size = 64 << 10
	}
	cut := int64(d.Frac * float64(size)) // at most size-1: the body always comes short
	io.Copy(w, io.LimitReader(resp.Body, cut))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	if d.Kind == ResetResponseBody {
		reset(w)
		return
	}
	closeConn(w)
}

// hopHeaders are per-connection headers a proxy must not pass on.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// expired reports whether r is signed with an assumed-role session that has
// used up its life; it counts the session's requests.
func (p *Proxy) expired(r *http.Request) bool {
	min, max := p.opts.SessionLife[0], p.opts.SessionLife[1]
	if p.opts.Service != S3 || max <= 0 || r.Header.Get("X-Amz-Security-Token") == "" {
		return false
	}
	key := accessKey(r.Header.Get("Authorization"))
	if key == "" {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[key]
	if !ok {
		s = &session{life: p.opts.Schedule.SessionLife(uint64(len(p.sessions)), min, max)}
		p.sessions[key] = s
	}
	s.used++
	return s.used > s.life
}

// accessKey returns the access key id of a SigV4 Authorization header.
func accessKey(authz string) string {
	_, rest, ok := strings.Cut(authz, "Credential=")
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(rest, "/")
	return key
}

// attempt returns the SDK's attempt number from amz-sdk-request.
func attempt(r *http.Request) int {
	for _, part := range strings.Split(r.Header.Get("Amz-Sdk-Request"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "attempt="); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func (p *Proxy) internalError(w http.ResponseWriter, r *http.Request) {
	if p.opts.Service == STS {
		p.writeError(w, r, http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
		return
	}
	p.writeError(w, r, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
}

// writeError answers with the service's error document (none for HEAD, as S3 does).
func (p *Proxy) writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	id := requestID()
	w.Header().Set("x-amz-request-id", id)
	w.Header().Set("x-amzn-RequestId", id)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	var body string
	if p.opts.Service == STS {
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		body = fmt.Sprintf(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, typ, code, msg, id)
	} else {
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId><HostId>logvault-faults</HostId></Error>`, code, msg, id)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// drain reads what is left of the request body, so the answer is not
// mistaken for a connection failure.
func drain(r *http.Request) {
	if r.Body != nil {
		io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
	}
}

// reset ends the connection with a TCP RST.
func reset(w http.ResponseWriter) {
	conn := hijack(w)
	if conn == nil {
		return
	}
	if tc, ok := conn.(*tls.Conn); ok {
		if raw, ok := tc.NetConn().(*net.TCPConn); ok {
			raw.SetLinger(0)
			raw.Close()
			return
		}
	}
	if raw, ok := conn.(*net.TCPConn); ok {
		raw.SetLinger(0)
	}
	conn.Close()
}

// closeConn ends the connection cleanly (TLS close_notify, then FIN).
func closeConn(w http.ResponseWriter) {
	if conn := hijack(w); conn != nil {
		conn.Close()
	}
}

func hijack(w http.ResponseWriter) net.Conn {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if buf != nil && buf.Writer.Buffered() > 0 {
		buf.Flush()
	}
	return conn
}

func requestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return strings.ToUpper(hex.EncodeToString(b))
}

// nullLogger keeps the server's complaints about the connections it broke
// on purpose out of the output.
func nullLogger() *log.Logger { return log.New(io.Discard, "", 0) }
