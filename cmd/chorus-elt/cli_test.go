package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"
)

// The one way the tests run the CLI in-process: runCLI. Whatever the test,
// it fails when the planted token (cliToken) reached stdout or stderr —
// searched in what the commands wrote *before* run's token filter
// (redactor) saw it, and counted in the filter's replacements, since a
// token the filter caught is a leak all the same. (Subprocess runs, see
// TestMain, write their output unfiltered too.)

const cliToken = "cli-PLANTED-token-93b1"

// cliOpts changes how runCLI runs a command.
type cliOpts struct {
	ctx context.Context // nil: context.Background() (a ctx with a deadline makes a hanging case fail)
	// unfiltered turns the token filter off for the caller: stdout and
	// stderr come back as the commands wrote them, before run's redactor.
	// (The filter still runs, as in production; runCLI checks both sides.)
	unfiltered bool
}

// cliStream is one of the in-process run's stdout or stderr. run wraps it
// in its token filter, which hands it (tokenWitness) both what it was given
// and what it let through.
type cliStream struct {
	mu       sync.Mutex
	filtered bytes.Buffer // what reached the stream
	raw      bytes.Buffer // what the commands wrote
	replaced int          // tokens the filter removed
}

// Write takes what bypasses the filter (the CLI framework's help text).
func (s *cliStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filtered.Write(p)
	s.raw.Write(p)
	return len(p), nil
}

func (s *cliStream) WriteRedacted(out, in []byte, replaced int) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filtered.Write(out)
	s.raw.Write(in)
	s.replaced += replaced
	return len(out), nil
}

// runCLI runs chorus-elt in-process with JSON logs at debug level and
// returns the exit code, stdout and stderr (filtered, unless o.unfiltered).
// It fails the test (and goes on) when the token shows in the unfiltered
// output or the filter replaced it anywhere.
func runCLI(t testing.TB, o cliOpts, args ...string) (int, string, string) {
	t.Helper()
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	var out, errs cliStream
	code := run(ctx, nil, append([]string{"chorus-elt", "--log-format", "json", "--log-level", "debug"}, args...), &out, &errs)
	for _, s := range []struct {
		name string
		s    *cliStream
	}{{"stdout", &out}, {"stderr", &errs}} {
		if s.s.replaced > 0 {
			t.Errorf("chorus-elt %s: the token filter removed the token %d times from %s: it was written there", strings.Join(args, " "), s.s.replaced, s.name)
		}
		for _, where := range tokenLeaks(s.s.raw.String()) {
			t.Errorf("chorus-elt %s: the token is on %s (%s)", strings.Join(args, " "), s.name, where)
		}
	}
	if o.unfiltered {
		return code, out.raw.String(), errs.raw.String()
	}
	return code, out.filtered.String(), errs.filtered.String()
}

// unfilteredFile is a file the subprocess CLI (TestMain) writes to: it
// writes what the commands wrote, before the token filter, so that the
// parent test sees a leak in the output it reads.
type unfilteredFile struct{ f *os.File }

func (u unfilteredFile) Write(p []byte) (int, error) { return u.f.Write(p) }

func (u unfilteredFile) WriteRedacted(_, in []byte, _ int) (int, error) { return u.f.Write(in) }

// tokenLeaks says where cliToken shows in text: as is, hex-encoded, or in
// a JSON string once decoded (an API answer can echo it with its characters
// escaped, \u002d for "-"), in the text as a whole or in any of its lines.
func tokenLeaks(text string) []string {
	var where []string
	tok := []byte(cliToken)
	if i := strings.Index(text, cliToken); i >= 0 {
		where = append(where, "as is: "+excerpt(text, i))
	}
	for _, h := range []string{hex.EncodeToString(tok), strings.ToUpper(hex.EncodeToString(tok))} {
		if i := strings.Index(text, h); i >= 0 {
			where = append(where, "hex-encoded: "+excerpt(text, i))
		}
	}
	if !strings.Contains(text, `\u`) && !strings.Contains(text, `\/`) {
		return where // nothing JSON could unescape into the token
	}
	docs := append([]string{text}, strings.Split(text, "\n")...)
	for i, d := range docs {
		dec := json.NewDecoder(strings.NewReader(d))
		for {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			if s := jsonStrings(v); strings.Contains(s, cliToken) && !strings.Contains(d, cliToken) {
				what := "the whole text"
				if i > 0 {
					what = fmt.Sprintf("line %d", i)
				}
				where = append(where, "JSON-escaped, in "+what+": "+excerpt(d, 0))
				break
			}
		}
	}
	return where
}

// jsonStrings joins every string (keys too) of a decoded JSON value.
func jsonStrings(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
			b.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				b.WriteString(k)
				b.WriteByte('\n')
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-200), min(len(s), i+200)
	return fmt.Sprintf("%q", s[lo:hi])
}

// noToken fails the test when the token shows in text (what names it).
func noToken(t testing.TB, what, text string) {
	t.Helper()
	for _, where := range tokenLeaks(text) {
		t.Errorf("the token is in %s (%s)", what, where)
	}
}

// TestTokenLeaksFinds checks the search itself, and that the runner's
// streams see through the filter: a token the redactor replaced is counted
// and present in the unfiltered text.
func TestTokenLeaksFinds(t *testing.T) {
	for _, s := range []string{
		"x " + cliToken,
		`{"msg":"` + strings.ReplaceAll(cliToken, "-", `\u002d`) + `"}`,
		"a\n" + `{"errors":[{"detail":"` + strings.ReplaceAll(cliToken, "-", `\u002D`) + `"}]}` + "\nb",
		hex.EncodeToString([]byte(cliToken)),
	} {
		if len(tokenLeaks(s)) == 0 {
			t.Errorf("tokenLeaks missed the token in %q", s)
		}
	}
	if w := tokenLeaks(`{"msg":"cli-planted-token", "x":"\u002d"}` + "\n[redacted]"); len(w) != 0 {
		t.Errorf("false positive: %v", w)
	}
	var s cliStream
	r := clienv.NewRedactor(&s)
	r.SetSecret(cliToken)
	if _, err := io.WriteString(r, "a "+cliToken+" b "+cliToken+"\n"); err != nil {
		t.Fatal(err)
	}
	if s.replaced != 2 || strings.Contains(s.filtered.String(), cliToken) || !strings.Contains(s.raw.String(), cliToken) {
		t.Fatalf("replaced %d, filtered %q, raw %q", s.replaced, s.filtered.String(), s.raw.String())
	}
}

// writeFile writes a test's input file, failing the test if it cannot.
func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}
