// Package faults is a fault-injecting HTTPS proxy for the local stack: it
// sits on loopback between the functions and S3 or STS, terminates TLS with
// the stack's own server certificate (so the SDK clients stay real and
// verify it through AWS_CA_BUNDLE), re-originates TLS upstream, and breaks a
// seeded, deterministic share of the requests in the ways S3 and STS fail:
// HTTP 500s, 503 SlowDown, connections reset in the middle of request and
// response bodies, responses stalled past the client's timeout, truncated
// responses, STS throttling, and assumed-role sessions that expire while
// they are in use. Every injected fault is counted by kind.
package faults

import (
	"math/rand/v2"
	"sort"
)

// Kind is one kind of injected fault.
type Kind string

// The faults the proxy injects.
const (
	// None forwards the request untouched.
	None Kind = ""
	// HTTP500 answers 500 InternalError without forwarding the request.
	HTTP500 Kind = "http-500"
	// HTTP500AfterUpstream forwards the request, so the server acts on it,
	// then answers 500 InternalError instead of the server's response: the
	// client cannot tell that its write happened.
	HTTP500AfterUpstream Kind = "http-500-after-upstream"
	// SlowDown answers 503 SlowDown without forwarding the request.
	SlowDown Kind = "503-slowdown"
	// ResetRequestBody reads part of the request body, then resets the
	// connection (TCP RST); only requests with a body are eligible.
	ResetRequestBody Kind = "reset-mid-request-body"
	// ResetResponseBody forwards the request, sends the status, the headers
	// and part of the body, then resets the connection; only responses with
	// a body are eligible.
	ResetResponseBody Kind = "reset-mid-response-body"
	// Truncated is ResetResponseBody ending with a clean close (FIN) instead
	// of a reset: the body is shorter than its Content-Length.
	Truncated Kind = "truncated-response"
	// Stall forwards the request, then holds the response until the client
	// gives up (its context deadline) or the proxy's MaxStall passes.
	Stall Kind = "stall-past-client-timeout"
	// Throttling answers STS's 400 Throttling ("Rate exceeded"); STS only.
	Throttling Kind = "sts-throttling"
	// ExpiredToken answers 400 ExpiredToken for every request signed with an
	// assumed-role session once the session has expired (see
	// Options.SessionLife): the session never works again, as on AWS.
	ExpiredToken Kind = "expired-token"
)

// Kinds lists every fault kind in the order the schedule draws them.
var Kinds = []Kind{HTTP500, HTTP500AfterUpstream, SlowDown, ResetRequestBody, ResetResponseBody, Truncated, Stall, Throttling, ExpiredToken}

// Rates is the probability, per request, of each drawn kind (ExpiredToken
// is not drawn: sessions expire by Options.SessionLife).
type Rates map[Kind]float64

// Total is the probability that a request draws any fault.
func (r Rates) Total() float64 {
	t := 0.0
	for _, k := range Kinds {
		t += r[k]
	}
	return t
}

// Schedule decides, deterministically from a seed, which fault the n-th
// request gets: the same seed and rates give the same sequence of decisions
// whatever the timing, so a campaign can be rerun fault for fault (which
// request is n-th still depends on the order concurrent requests arrive).
type Schedule struct {
	Seed  uint64
	Rates Rates
}

// Decision is what the schedule says about one request.
type Decision struct {
	Kind Kind
	// Frac, in [0,1), says where in a body a reset or truncation happens.
	Frac float64
}

// Decide returns the decision for request number n (0-based).
func (s Schedule) Decide(n uint64) Decision {
	rng := rand.New(rand.NewPCG(s.Seed, n))
	u := rng.Float64()
	d := Decision{Frac: rng.Float64()}
	acc := 0.0
	for _, k := range Kinds {
		acc += s.Rates[k]
		if u < acc {
			d.Kind = k
			return d
		}
	}
	return d
}

// SessionLife draws how many requests the i-th assumed-role session seen
// serves before it expires, uniformly in [min, max]; 0 means never.
func (s Schedule) SessionLife(i uint64, min, max int) int {
	if max <= 0 {
		return 0
	}
	if max <= min {
		return min
	}
	rng := rand.New(rand.NewPCG(s.Seed^0x5e55_1011, i))
	return min + rng.IntN(max-min+1)
}

// Counts are faults injected by kind.
type Counts map[Kind]int64

// Add adds other's counts to c.
func (c Counts) Add(other Counts) {
	for k, v := range other {
		c[k] += v
	}
}

// Total is the number of faults injected.
func (c Counts) Total() int64 {
	var t int64
	for _, v := range c {
		t += v
	}
	return t
}

// Sorted returns the kinds in c in the order of Kinds, then any others by name.
func (c Counts) Sorted() []Kind {
	var out []Kind
	seen := map[Kind]bool{}
	for _, k := range Kinds {
		if _, ok := c[k]; ok {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []Kind
	for k := range c {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i] < rest[j] })
	return append(out, rest...)
}
