package trailintegrity_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logvault/logvault/internal/trailintegrity"
	"github.com/logvault/logvault/internal/trailintegrity/digesttest"
)

// FuzzParse: any stored bytes either fail to parse, or give a digest with
// every required field, hashes of the bytes as stored and as uncompressed,
// a signing string, and the same digest when re-encoded.
func FuzzParse(f *testing.F) {
	s, err := digesttest.NewSigner()
	if err != nil {
		f.Fatal(err)
	}
	chain, err := digesttest.Trail{Signer: s, Bucket: "trail-bucket"}.Build(3, 2)
	if err != nil {
		f.Fatal(err)
	}
	for _, d := range chain.Digests {
		f.Add(d.Body)
		raw, _ := trailintegrity.Uncompress(d.Body)
		f.Add(raw)
		f.Add(d.Body[:len(d.Body)/2])
	}
	for _, seed := range []string{"", "{}", "null", "[]", "\x1f\x8b", `{"digestStartTime":"x"}`,
		`{"digestStartTime":"a","digestEndTime":"b","digestS3Bucket":"c","digestS3Object":"d","digestPublicKeyFingerprint":"e","logFiles":null,"previousDigestSignature":"\ud800"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, stored []byte) {
		file, err := trailintegrity.Parse(stored)
		if err != nil {
			if file != nil {
				t.Fatalf("error %v with a file", err)
			}
			if strings.ContainsAny(err.Error(), "\n") {
				t.Errorf("error %q is not one line", err)
			}
			return
		}
		d := file.Digest
		for name, v := range map[string]string{"digestStartTime": d.DigestStartTime, "digestEndTime": d.DigestEndTime, "digestS3Bucket": d.DigestS3Bucket,
			"digestS3Object": d.DigestS3Object, "digestPublicKeyFingerprint": d.DigestPublicKeyFingerprint} {
			if v == "" {
				t.Fatalf("parsed a digest without %s", name)
			}
		}
		raw, err := trailintegrity.Uncompress(stored)
		if err != nil {
			t.Fatalf("Parse succeeded but Uncompress fails: %v", err)
		}
		if want := sha256.Sum256(stored); file.StoredSHA256 != hex.EncodeToString(want[:]) {
			t.Errorf("StoredSHA256 %s is not the hash of the stored bytes", file.StoredSHA256)
		}
		if want := sha256.Sum256(raw); file.SHA256 != hex.EncodeToString(want[:]) {
			t.Errorf("SHA256 %s is not the hash of the uncompressed bytes", file.SHA256)
		}
		if ss := trailintegrity.SigningString(&d, file.SHA256); !strings.Contains(ss, file.SHA256) {
			t.Errorf("signing string %q does not hold the content hash", ss)
		}
		again, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := trailintegrity.Parse(again)
		if err != nil {
			t.Fatalf("re-encoded digest does not parse: %v", err)
		}
		if !reflect.DeepEqual(back.Digest, d) {
			t.Errorf("round trip changed the digest:\n%+v\n%+v", back.Digest, d)
		}
	})
}

// FuzzParsePublicKeys: ListPublicKeys JSON either fails with one line, or
// gives RSA keys each reachable by its listed and computed fingerprints.
func FuzzParsePublicKeys(f *testing.F) {
	s, err := digesttest.NewSigner()
	if err != nil {
		f.Fatal(err)
	}
	keys := s.PublicKeysJSON(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	f.Add(keys)
	f.Add(bytes.ReplaceAll(keys, []byte("PublicKeyList"), []byte("publicKeyList")))
	for _, seed := range []string{"", "[]", "{}", `{"PublicKeyList":[{"Value":"!!"}]}`, `[{"Value":"MAA=","Fingerprint":"x"}]`, `{"PublicKeyList":null}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := trailintegrity.ParsePublicKeys(data)
		if err != nil {
			if ks != nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q with keys %v", err, ks)
			}
			return
		}
		if len(ks) == 0 {
			t.Fatal("no error and no keys")
		}
		for fp, k := range ks {
			if k == nil || k.Key == nil || k.Key.N == nil || k.Key.N.Sign() <= 0 {
				t.Fatalf("key %q is not an RSA public key: %+v", fp, k)
			}
			if got, ok := ks.Lookup(fp); !ok || got != k {
				t.Errorf("Lookup(%q) does not find its key", fp)
			}
		}
	})
}

// TestParseGzipBomb: a digest that inflates past any real digest's size is
// refused without being held in memory.
func TestParseGzipBomb(t *testing.T) {
	bomb := digesttest.Gzip(make([]byte, 65<<20))
	if _, err := trailintegrity.Parse(bomb); err == nil || !strings.Contains(err.Error(), "more than 64 MiB uncompressed") {
		t.Fatalf("Parse of a 65 MiB gzip bomb: %v, want a refusal naming the limit", err)
	}
}
