package schema

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// kindsDoc is docs/kinds.md, whose table of kinds is rendered from the
// registry: TestKindsDoc fails when it is stale, and LOGVAULT_UPDATE_DOCS=1
// rewrites it.
const kindsDoc = "../../docs/kinds.md"

const (
	beginTable = "<!-- kinds table: generated from internal/schema (LOGVAULT_UPDATE_DOCS=1 go test ./internal/schema) -->"
	endTable   = "<!-- end of kinds table -->"
)

func renderKinds() string {
	var b strings.Builder
	b.WriteString("| kind (`logvault-kind`) | holds | vault prefix | shipped by | overwrites | source key layouts (AWS's documentation) |\n|---|---|---|---|---|---|\n")
	for _, s := range Kinds() {
		fn := s.Function
		if fn == "" {
			fn = "`logvault drill`"
		} else {
			fn = "`" + fn + "`"
		}
		if s.Fallback {
			fn += " (any key no layout matches)"
		}
		over := "suspicious"
		if s.OverwritesExpected {
			over = "expected"
		}
		var layouts []string
		for _, l := range s.Layouts {
			layouts = append(layouts, "`"+l+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | `%s/` | %s | %s | %s |\n", s.Kind, s.Name, s.Prefix, fn, over, strings.Join(layouts, "<br>"))
	}
	return b.String()
}

func TestKindsDoc(t *testing.T) {
	raw, err := os.ReadFile(kindsDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginTable), strings.Index(doc, endTable)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", kindsDoc, beginTable, endTable)
	}
	want := doc[:i] + beginTable + "\n" + renderKinds() + doc[j:]
	if want == doc {
		return
	}
	if os.Getenv("LOGVAULT_UPDATE_DOCS") != "" {
		if err := os.WriteFile(kindsDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: its table of kinds is not the registry's (LOGVAULT_UPDATE_DOCS=1 go test ./internal/schema rewrites it)", kindsDoc)
}
