package local

import "testing"

func TestValidRange(t *testing.T) {
	for _, tc := range []struct {
		r    string
		size int64
		want bool
	}{
		{"bytes=0-1023", 2048, true}, {"bytes=0-2047", 2048, true}, {"bytes=5-5", 6, true},
		{"bytes=0-2048", 2048, false}, {"bytes=0-99999999999", 2048, false}, {"bytes=10-5", 2048, false},
		{"bytes=-100", 2048, false}, {"foo", 2048, false}, {"bytes=0-10x", 2048, false}, {"bytes=01-10", 2048, false},
	} {
		if got := validRange(tc.r, tc.size); got != tc.want {
			t.Errorf("validRange(%q, %d) = %v, want %v", tc.r, tc.size, got, tc.want)
		}
	}
}

func TestParseCopySource(t *testing.T) {
	for cs, want := range map[string][3]string{
		"src/a%20b/c?versionId=v%2B1": {"src", "a b/c", "v+1"},
		"/src/k":                      {"src", "k", ""},
	} {
		b, k, v, ok := parseCopySource(cs)
		if !ok || [3]string{b, k, v} != want {
			t.Errorf("parseCopySource(%q) = %q %q %q %v, want %v", cs, b, k, v, ok, want)
		}
	}
	if _, _, _, ok := parseCopySource("nokey"); ok {
		t.Error("parseCopySource(\"nokey\") accepted a source without a key")
	}
}
