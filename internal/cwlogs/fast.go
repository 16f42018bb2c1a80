package cwlogs

// The fast paths of Decode and NDJSON. encoding/json spent about two thirds
// of the applogs function's CPU time (make bench, row 3): it scans the
// input twice (validation, then decoding), and re-checks every byte of
// every string on the way out. The parser below reads the exact shapes
// CloudWatch Logs sends in one pass, and the renderer skips clean runs of
// bytes eight at a time. Both are held to encoding/json's results: the
// parser accepts a strict subset of JSON and gives up (ok == false) on
// anything else — unknown or duplicate keys, null, numbers that are not
// plain integers, keys with escapes — and Decode then runs encoding/json,
// so errors and corner cases are exactly encoding/json's; the renderer
// writes the bytes encoding/json's Encoder (SetEscapeHTML(false)) writes.
// fast_internal_test.go checks both against encoding/json, with fuzzing.

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/bits"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/klauspost/compress/gzip"
)

// parser reads JSON from b at i.
type parser struct {
	b     []byte
	i     int
	arena []byte // decoded strings that have escapes
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// lit consumes c (after whitespace).
func (p *parser) lit(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// peek is the next byte after whitespace (0 at the end).
func (p *parser) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// end reports whether only whitespace is left.
func (p *parser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// rawString consumes a string and returns the bytes between its quotes.
func (p *parser) rawString() ([]byte, bool) {
	if !p.lit('"') {
		return nil, false
	}
	start := p.i
	for j := start; ; {
		k := bytes.IndexByte(p.b[j:], '"')
		if k < 0 {
			return nil, false
		}
		q := j + k
		n := 0
		for m := q - 1; m >= start && p.b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 { // not escaped: the closing quote
			p.i = q + 1
			return p.b[start:q], true
		}
		j = q + 1
	}
}

// key consumes an object key followed by a colon; keys with escapes are
// left to encoding/json.
func (p *parser) key() ([]byte, bool) {
	k, ok := p.rawString()
	if !ok || bytes.IndexByte(k, '\\') >= 0 || !p.lit(':') {
		return nil, false
	}
	return k, true
}

// str consumes a string value and returns what encoding/json decodes it
// to. A string without escapes or invalid UTF-8 is not copied: it shares
// the parser's input (see fastData); the others are decoded into arena.
func (p *parser) str() (string, bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", false
	}
	start := p.i + 1
	clean := true
	for i := start; ; {
		if i < len(p.b) {
			i += plainLen(p.b[i:])
		}
		if i >= len(p.b) {
			return "", false
		}
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			raw := p.b[start:i]
			if clean {
				return unsafe.String(unsafe.SliceData(raw), len(raw)), true
			}
			return p.unquote(raw)
		case c == '\\':
			clean = false
			i += 2 // the escaped byte, whatever it is, cannot end the string
		case c < 0x20:
			return "", false // raw control characters are not JSON
		default:
			r, size := utf8.DecodeRune(p.b[i:])
			if r == utf8.RuneError && size == 1 {
				clean = false // encoding/json replaces it with U+FFFD
			}
			i += size
		}
	}
}

// message consumes a log event's message. When its JSON string is already
// what appendString would write for its value (canonical), the string is
// not decoded: raw holds it, quotes included, and the renderer copies it.
// Otherwise it is decoded as str does and raw is nil. Canonical: no escape
// but \" \\ \b \f \n \r \t, \u00xx (lowercase hex) for the other
// control characters, \u2028 and \u2029; no raw U+2028 or U+2029; valid
// UTF-8.
func (p *parser) message() (s string, raw []byte, ok bool) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return "", nil, false
	}
	start := p.i
	for i := start + 1; ; {
		if i < len(p.b) {
			i += plainLen(p.b[i:])
		}
		if i >= len(p.b) {
			return "", nil, false
		}
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			return "", p.b[start:p.i], true
		case c == '\\':
			n := canonicalEscape(p.b[i:])
			if n == 0 {
				s, ok := p.str() // p.i is still at the opening quote
				return s, nil, ok
			}
			i += n
		case c < 0x20:
			return "", nil, false
		default:
			r, size := utf8.DecodeRune(p.b[i:])
			if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
				s, ok := p.str()
				return s, nil, ok
			}
			i += size
		}
	}
}

// canonicalEscape is the length of the escape at the start of b (b[0] is a
// backslash) when appendString writes that escape for the character it
// stands for, else 0.
func canonicalEscape(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch b[1] {
	case '"', '\\', 'b', 'f', 'n', 'r', 't':
		return 2
	case 'u':
		if len(b) < 6 {
			return 0
		}
		for _, c := range b[2:6] {
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return 0 // appendString writes lowercase hex
			}
		}
		switch r := getu4(b); {
		case r == '\u2028' || r == '\u2029':
			return 6
		case r < 0x20 && r != '\b' && r != '\f' && r != '\n' && r != '\r' && r != '\t':
			return 6
		}
	}
	return 0
}

// unquote decodes raw into the arena and returns it as a string.
func (p *parser) unquote(raw []byte) (string, bool) {
	if cap(p.arena)-len(p.arena) < len(raw)+2*utf8.UTFMax {
		p.arena = make([]byte, 0, max(len(raw)+2*utf8.UTFMax, len(p.b)/4, 4096))
	}
	start := len(p.arena)
	out, ok := unquote(p.arena, raw)
	if !ok {
		return "", false
	}
	p.arena = out
	if len(out) == start {
		return "", true
	}
	// The arena is only appended to, so bytes once handed out never change.
	return unsafe.String(&out[start], len(out)-start), true
}

// int64 consumes an integer as encoding/json decodes it into an int64:
// no fraction, no exponent, no leading zeros, no overflow.
func (p *parser) int64() (int64, bool) {
	p.ws()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || (p.b[digits] == '0' && p.i-digits > 1) {
		return 0, false
	}
	if p.i < len(p.b) {
		switch p.b[p.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
	return n, err == nil
}

// Fields of the subscription JSON, as bits, to refuse duplicates.
const (
	fMessageType = 1 << iota
	fOwner
	fLogGroup
	fLogStream
	fFilters
	fEvents
	fPolicyLevel
)

// fastData decodes a subscription message as encoding/json would into
// events.CloudwatchLogsData, or reports !ok for encoding/json to do it.
// The strings it returns may share b's memory: b must not change after.
func fastData(b []byte) (*Batch, bool) {
	p := &parser{b: b}
	d := &Batch{}
	if !p.lit('{') {
		return d, false
	}
	seen := 0
	if p.peek() == '}' {
		p.i++
		return d, p.end()
	}
	for {
		k, ok := p.key()
		if !ok {
			return d, false
		}
		var f int
		switch string(k) {
		case "messageType":
			f = fMessageType
			d.MessageType, ok = p.str()
		case "owner":
			f = fOwner
			d.Owner, ok = p.str()
		case "logGroup":
			f = fLogGroup
			d.LogGroup, ok = p.str()
		case "logStream":
			f = fLogStream
			d.LogStream, ok = p.str()
		case "subscriptionFilters":
			f = fFilters
			d.SubscriptionFilters, ok = p.strings()
		case "logEvents":
			f = fEvents
			d.events, ok = p.logEvents()
		case "policyLevel": // sent for account-level policies; not a field of CloudwatchLogsData
			f = fPolicyLevel
			_, ok = p.str()
		default:
			return d, false
		}
		if !ok || seen&f != 0 {
			return d, false
		}
		seen |= f
		if p.lit(',') {
			continue
		}
		if !p.lit('}') {
			return d, false
		}
		return d, p.end()
	}
}

func (p *parser) strings() ([]string, bool) {
	if !p.lit('[') {
		return nil, false
	}
	out := []string{}
	if p.peek() == ']' {
		p.i++
		return out, true
	}
	for {
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		if p.lit(',') {
			continue
		}
		return out, p.lit(']')
	}
}

// Fields of a log event.
const (
	fID = 1 << iota
	fTimestamp
	fMessage
)

func (p *parser) logEvents() ([]event, bool) {
	if !p.lit('[') {
		return nil, false
	}
	// A delivery holds about 1 MB of events; guess the count from the size.
	out := make([]event, 0, max(len(p.b)/256, 1))
	if p.peek() == ']' {
		p.i++
		return out, true
	}
	for {
		if !p.lit('{') {
			return nil, false
		}
		var e event
		seen := 0
		if p.peek() == '}' {
			p.i++
		} else {
			for {
				k, ok := p.key()
				if !ok {
					return nil, false
				}
				var f int
				switch string(k) {
				case "id":
					f = fID
					e.id, ok = p.str()
				case "timestamp":
					f = fTimestamp
					e.timestamp, ok = p.int64()
				case "message":
					f = fMessage
					e.message, e.raw, ok = p.message()
				default:
					return nil, false
				}
				if !ok || seen&f != 0 {
					return nil, false
				}
				seen |= f
				if p.lit(',') {
					continue
				}
				if !p.lit('}') {
					return nil, false
				}
				break
			}
		}
		out = append(out, e)
		if p.lit(',') {
			continue
		}
		return out, p.lit(']')
	}
}

// fastEnvelope returns awslogs.data of {"awslogs":{"data":"..."}},
// base64-decoded, or !ok for encoding/json to read the event.
func fastEnvelope(payload []byte) ([]byte, bool) {
	p := &parser{b: payload}
	if !p.lit('{') {
		return nil, false
	}
	if k, ok := p.key(); !ok || string(k) != "awslogs" || !p.lit('{') {
		return nil, false
	}
	if k, ok := p.key(); !ok || string(k) != "data" {
		return nil, false
	}
	raw, ok := p.rawString()
	if !ok || !p.lit('}') || !p.lit('}') || !p.end() || len(raw) == 0 {
		return nil, false
	}
	// base64 skips \r and \n, which a JSON string cannot hold raw; escapes
	// and other bytes are left to encoding/json (and base64's own checks).
	if bytes.IndexByte(raw, '\\') >= 0 || bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
	n, err := base64.StdEncoding.Decode(out, raw)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// SWAR masks: a byte of a little-endian 8-byte word per lane.
const (
	lanes01 = 0x0101010101010101
	lanes20 = 0x2020202020202020
	lanes22 = 0x2222222222222222 // '"'
	lanes5c = 0x5c5c5c5c5c5c5c5c // '\\'
	lanes80 = 0x8080808080808080
)

// special8 marks, with the high bit of its lane, each byte of w that is
// < 0x20, >= 0x80, '"' or '\\': the bytes a JSON string cannot hold as
// they are (or, for >= 0x80, that must be checked as UTF-8). The lowest
// mark is exact (a borrow only carries upwards from a marked byte), which
// is all plainLen needs.
func special8(w uint64) uint64 {
	ctl := (w - lanes20) | w // byte < 0x20 or >= 0x80
	q := w ^ lanes22
	bs := w ^ lanes5c
	zero := (q-lanes01)&^q | (bs-lanes01)&^bs // a zero lane: '"' or '\\'
	return (ctl | zero) & lanes80
}

// plainLen is how many leading bytes of s need no escaping and no UTF-8
// check, eight at a time.
func plainLen(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := special8(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			break
		}
	}
	return i
}

// bytesOf views s as bytes, read only, without copying.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unquote appends the decoded inside of a JSON string to b, as
// encoding/json decodes it (invalid UTF-8 and lone surrogates become
// U+FFFD); !ok where encoding/json would reject the JSON (a raw control
// character, an unknown escape).
func unquote(b, s []byte) ([]byte, bool) {
	r := 0
	for r < len(s) {
		if n := plainLen(s[r:]); n > 0 {
			b = append(b, s[r:r+n]...)
			r += n
			continue
		}
		switch c := s[r]; {
		case c == '\\':
			r++
			if r >= len(s) {
				return nil, false
			}
			switch s[r] {
			case '"', '\\', '/':
				b = append(b, s[r])
				r++
			case 'b':
				b = append(b, '\b')
				r++
			case 'f':
				b = append(b, '\f')
				r++
			case 'n':
				b = append(b, '\n')
				r++
			case 'r':
				b = append(b, '\r')
				r++
			case 't':
				b = append(b, '\t')
				r++
			case 'u':
				rr := getu4(s[r-1:])
				if rr < 0 {
					return nil, false
				}
				r += 5
				if utf16.IsSurrogate(rr) {
					// A valid pair is consumed whole; otherwise the lone
					// surrogate becomes U+FFFD and what follows is read on
					// its own (and rejected there if it is no valid escape).
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						r += 6
						b = utf8.AppendRune(b, dec)
						break
					}
					rr = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, rr)
			default:
				return nil, false
			}
		case c < ' ' || c == '"':
			return nil, false
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			b = utf8.AppendRune(b, rr)
		}
	}
	return b, true
}

// getu4 decodes \uXXXX from the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json's
// Encoder with SetEscapeHTML(false) writes it.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	sb := bytesOf(s)
	start := 0
	for i := 0; i < len(s); {
		if n := plainLen(sb[i:]); n > 0 {
			i += n
			continue
		}
		if b := s[i]; b < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// renderChunk is how much NDJSON is rendered before it is handed to gzip.
const renderChunk = 64 << 10

var (
	gzipWriters = sync.Pool{New: func() any {
		zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
		return zw
	}}
	renderBufs = sync.Pool{New: func() any { b := make([]byte, 0, renderChunk+8<<10); return &b }}
)

// render writes b's events as NDJSON lines into zw.
func render(zw io.Writer, b *Batch) error {
	// The fields every line ends with, encoded once.
	tail := []byte(`,"owner":`)
	tail = appendString(tail, b.Owner)
	tail = append(tail, `,"logGroup":`...)
	tail = appendString(tail, b.LogGroup)
	tail = append(tail, `,"logStream":`...)
	tail = appendString(tail, b.LogStream)
	tail = append(tail, "}\n"...)

	bp := renderBufs.Get().(*[]byte)
	defer renderBufs.Put(bp)
	buf := (*bp)[:0]
	for _, e := range b.events {
		buf = append(buf, `{"id":`...)
		buf = appendString(buf, e.id)
		buf = append(buf, `,"timestamp":`...)
		buf = strconv.AppendInt(buf, e.timestamp, 10)
		buf = append(buf, `,"message":`...)
		if e.raw != nil {
			buf = append(buf, e.raw...) // canonical already (see message)
		} else {
			buf = appendString(buf, e.message)
		}
		buf = append(buf, tail...)
		if len(buf) >= renderChunk {
			if _, err := zw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := zw.Write(buf); err != nil {
		return err
	}
	if cap(buf) <= 4*renderChunk { // keep pooled buffers small
		*bp = buf[:0]
	}
	return nil
}

// inflatedSize guesses how many bytes the gzip stream raw inflates to,
// from its trailer, bounded (the payload is not trusted) by a generous
// compression ratio and the decoding limit.
func inflatedSize(raw []byte) int {
	if len(raw) < 18 {
		return bytes.MinRead
	}
	n := int(binary.LittleEndian.Uint32(raw[len(raw)-4:]))
	return min(n, 64*len(raw), maxDecoded) + bytes.MinRead
}

// readAll reads r to its end, or limit bytes, into a buffer of size hint.
func readAll(r io.Reader, hint int, limit int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, hint))
	_, err := buf.ReadFrom(io.LimitReader(r, limit))
	return buf.Bytes(), err
}
