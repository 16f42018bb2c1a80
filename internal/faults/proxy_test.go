package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestScheduleIsDeterministicAndFollowsRates(t *testing.T) {
	rates := Rates{HTTP500: 0.05, SlowDown: 0.10, Stall: 0.01}
	a, b := Schedule{Seed: 7, Rates: rates}, Schedule{Seed: 7, Rates: rates}
	other := Schedule{Seed: 8, Rates: rates}
	const n = 200000
	got := Counts{}
	differ := 0
	for i := uint64(0); i < n; i++ {
		da := a.Decide(i)
		if db := b.Decide(i); da != db {
			t.Fatalf("request %d: %v and %v with the same seed", i, da, db)
		}
		if other.Decide(i).Kind != da.Kind {
			differ++
		}
		if da.Frac < 0 || da.Frac >= 1 {
			t.Fatalf("Frac %v out of [0,1)", da.Frac)
		}
		got[da.Kind]++
	}
	if differ == 0 {
		t.Error("another seed gave the same schedule")
	}
	for k, want := range rates {
		share := float64(got[k]) / n
		if math.Abs(share-want) > want*0.1 {
			t.Errorf("%s drawn for %.4f of requests, want %.4f", k, share, want)
		}
	}
	if got[ResetRequestBody] != 0 || got[Throttling] != 0 {
		t.Errorf("kinds without a rate were drawn: %v", got)
	}
	for i := uint64(0); i < 100; i++ {
		if l := a.SessionLife(i, 3, 9); l < 3 || l > 9 {
			t.Fatalf("session life %d outside [3,9]", l)
		}
	}
	if a.SessionLife(0, 0, 0) != 0 {
		t.Error("SessionLife without a max should be 0 (never expires)")
	}
}

// upstream is a TLS test server that records the requests it served.
type upstream struct {
	*httptest.Server
	hits atomic.Int64
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Host == "" || r.Header.Get("Connection") != "" {
			http.Error(w, "bad forwarding", http.StatusTeapot)
			return
		}
		switch r.Method {
		case http.MethodPut:
			w.Header().Set("ETag", `"etag"`)
			w.Header().Set("X-Got", string(rune('0'+len(body)%10)))
		case http.MethodGet:
			w.Write(bytes.Repeat([]byte("logvault"), 128<<10)) // 1 MiB
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func startProxy(t *testing.T, up *upstream, o Options) (*Proxy, *http.Client) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(up.Certificate())
	o.Upstream, o.ServerCert, o.UpstreamCAs = up.URL, up.TLS.Certificates[0], pool
	if o.Service == "" {
		o.Service = S3
	}
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return p, client
}

func TestEachFault(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20)
	tests := []struct {
		kind     Kind
		service  Service
		method   string
		upstream bool                                       // whether the upstream must have served the request
		check    func(*http.Response, []byte, error) string // "" when the client saw the fault
	}{
		{None, S3, http.MethodGet, true, func(r *http.Response, b []byte, err error) string {
			if err != nil || r.StatusCode != 200 || len(b) != 1<<20 {
				return "a clean GET did not come back whole"
			}
			return ""
		}},
		{HTTP500, S3, http.MethodPut, false, status(500, "InternalError")},
		{HTTP500AfterUpstream, S3, http.MethodPut, true, status(500, "InternalError")},
		{SlowDown, S3, http.MethodPut, false, status(503, "SlowDown")},
		{Throttling, STS, http.MethodPost, false, status(400, "Throttling")},
		{HTTP500, STS, http.MethodPost, false, status(500, "InternalFailure")},
		{ResetRequestBody, S3, http.MethodPut, false, failed},
		{ResetResponseBody, S3, http.MethodGet, true, failed},
		{Truncated, S3, http.MethodGet, true, func(r *http.Response, b []byte, err error) string {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				return "want io.ErrUnexpectedEOF reading the body, got " + errString(err)
			}
			return ""
		}},
		{Stall, S3, http.MethodGet, true, func(r *http.Response, b []byte, err error) string {
			if !errors.Is(err, context.DeadlineExceeded) {
				return "want the client's deadline to pass, got " + errString(err)
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.service)+"/"+string(tt.kind)+"/"+tt.method, func(t *testing.T) {
			up := newUpstream(t)
			p, client := startProxy(t, up, Options{Service: tt.service, Schedule: Schedule{Seed: 1, Rates: Rates{tt.kind: 1}}})
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var body io.Reader
			if tt.method != http.MethodGet {
				body = bytes.NewReader(big)
			}
			req, _ := http.NewRequestWithContext(ctx, tt.method, p.URL+"/bucket/key?x=1", body)
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/s3/aws4_request")
			resp, err := client.Do(req)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if msg := tt.check(resp, got, err); msg != "" {
				t.Error(msg)
			}
			if served := up.hits.Load() > 0; served != tt.upstream {
				t.Errorf("upstream served the request: %v, want %v", served, tt.upstream)
			}
			c := p.Counts()
			if tt.kind != None && c[tt.kind] != 1 {
				t.Errorf("counts %v, want one %s", c, tt.kind)
			}
			if tt.kind == None && c.Total() != 0 {
				t.Errorf("counts %v, want none", c)
			}
		})
	}
}

func TestResetOnlyWhereThereIsABody(t *testing.T) {
	up := newUpstream(t)
	p, client := startProxy(t, up, Options{Schedule: Schedule{Seed: 1, Rates: Rates{ResetRequestBody: 0.5, ResetResponseBody: 0.5}}})
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest(http.MethodHead, p.URL+"/bucket/key", nil)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("HEAD %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	if c := p.Counts(); c.Total() != 0 {
		t.Errorf("faults injected into body-less exchanges: %v", c)
	}
}

func TestSessionsExpire(t *testing.T) {
	up := newUpstream(t)
	p, client := startProxy(t, up, Options{SessionLife: [2]int{2, 2}, Schedule: Schedule{Seed: 3}})
	do := func(method, key, token string) (int, string) {
		req, _ := http.NewRequest(method, p.URL+"/bucket/key", nil)
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261126/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00")
		if token != "" {
			req.Header.Set("X-Amz-Security-Token", token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 2; i++ {
		if code, _ := do(http.MethodGet, "ASIAONE", "token-one"); code != 200 {
			t.Fatalf("request %d of a fresh session: %d", i, code)
		}
	}
	if code, body := do(http.MethodGet, "ASIAONE", "token-one"); code != 400 || !strings.Contains(body, "<Code>ExpiredToken</Code>") {
		t.Errorf("third request of a 2-request session: %d %q, want 400 ExpiredToken", code, body)
	}
	if code, body := do(http.MethodHead, "ASIAONE", "token-one"); code != 400 || body != "" {
		t.Errorf("HEAD with an expired session: %d %q, want a bodiless 400 as S3 sends", code, body)
	}
	if code, _ := do(http.MethodGet, "ASIATWO", "token-two"); code != 200 {
		t.Errorf("a new session was refused: %d", code)
	}
	for i := 0; i < 5; i++ {
		if code, _ := do(http.MethodGet, "AKIDLONGTERM", ""); code != 200 {
			t.Errorf("long-term keys never expire, got %d", code)
		}
	}
	if c := p.Counts(); c[ExpiredToken] != 2 || p.Sessions() != 2 {
		t.Errorf("counts %v, sessions %d; want 2 ExpiredToken, 2 sessions", c, p.Sessions())
	}
	if got := strings.Join(p.Secrets(), ","); got != "token-one,token-two" {
		t.Errorf("Secrets() = %s, want the two session tokens seen", got)
	}
}

func TestMintedCredentialsAreNoted(t *testing.T) {
	up := newUpstream(t)
	sts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAX</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>t0k3n</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>`)
	}))
	defer sts.Close()
	up.Server = sts
	p, client := startProxy(t, up, Options{Service: STS})
	resp, err := client.Post(p.URL+"/", "application/x-www-form-urlencoded", strings.NewReader("Action=AssumeRole"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "<SessionToken>t0k3n</SessionToken>") {
		t.Errorf("the response did not pass through whole: %s", body)
	}
	if got := strings.Join(p.Secrets(), ","); got != "s3cr3t,t0k3n" {
		t.Errorf("Secrets() = %s, want the minted secret key and token", got)
	}
}

func TestDisabledForwardsEverything(t *testing.T) {
	up := newUpstream(t)
	p, client := startProxy(t, up, Options{Schedule: Schedule{Seed: 1, Rates: Rates{HTTP500: 1}}})
	p.SetEnabled(false)
	resp, err := client.Get(p.URL + "/bucket/key")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET with injection off: %v %v", resp, err)
	}
	resp.Body.Close()
	if p.Counts().Total() != 0 || p.Requests() != 1 {
		t.Errorf("counts %v requests %d", p.Counts(), p.Requests())
	}
}

func status(code int, errCode string) func(*http.Response, []byte, error) string {
	return func(r *http.Response, b []byte, err error) string {
		if err != nil {
			return "request failed: " + err.Error()
		}
		if r.StatusCode != code || !strings.Contains(string(b), "<Code>"+errCode+"</Code>") {
			return "got " + r.Status + " " + string(b)
		}
		return ""
	}
}

func failed(r *http.Response, b []byte, err error) string {
	if err == nil {
		return "the exchange succeeded; want a connection failure"
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
