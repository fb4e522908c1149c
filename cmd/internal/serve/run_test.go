package serve

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTokenLists(t *testing.T) {
	for _, c := range []struct {
		env  string
		file string // "" : no file test
		want []string
	}{
		{"a-token-0123456789abcdef", "a-token-0123456789abcdef\n", []string{"a-token-0123456789abcdef"}},
		{" one-token-0123456789 , two-token-0123456789 ,", "# serve tokens\none-token-0123456789\n\ntwo-token-0123456789\r\n", []string{"one-token-0123456789", "two-token-0123456789"}},
		{"", "# only a comment\n\n", nil},
		{",,", " , \n", nil},
	} {
		if got := SplitTokens(c.env); !slices.Equal(got, c.want) {
			t.Errorf("SplitTokens(%q) = %q, want %q", c.env, got, c.want)
		}
		path := filepath.Join(t.TempDir(), "tokens")
		if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTokens(path)
		switch {
		case c.want == nil && (err == nil || !strings.Contains(err.Error(), "no token")):
			t.Errorf("ReadTokens(%q) = %q, %v; want an error saying no token", c.file, got, err)
		case c.want != nil && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("ReadTokens(%q) = %q, %v; want %q", c.file, got, err, c.want)
		}
	}
	if _, err := ReadTokens(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadTokens of a missing file: no error")
	}
}
