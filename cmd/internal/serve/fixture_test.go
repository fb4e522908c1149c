package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// The tests read one demo warehouse: the simulated tenant synced and
// transformed by pipeline.Demo, with a fixed clock. Expected values come
// from the tenant's ground truth (a tenant made with the same options is
// the same tenant) or from SQL written in the tests, never from the code
// under test.
const (
	demoCalls = 150
	demoSeed  = 5
)

var demoNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// Tokens the test servers accept.
const (
	testToken  = "serve-test-token-0123456789"
	testToken2 = "another-serve-token-abcdefghij"
	testSecret = "webhook-secret-0123456789abcdef"
)

type demoFixture struct {
	path   string
	w      warehouse.Warehouse
	tenant *chorustest.Tenant
}

var (
	demoOnce sync.Once
	demo     *demoFixture
	demoErr  error
	demoDir  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "serve-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	demoDir = dir
	code := m.Run()
	if demo != nil {
		demo.w.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// demoWarehouse builds the demo warehouse on first use and opens it read
// only (as serve would when nothing syncs into it).
func demoWarehouse(t testing.TB) *demoFixture {
	t.Helper()
	demoOnce.Do(func() {
		began := time.Now()
		path := filepath.Join(demoDir, "demo.duckdb")
		ctx := context.Background()
		_, demoErr = pipeline.Demo(ctx, pipeline.DemoOptions{DB: path, Calls: demoCalls, Seed: demoSeed, Now: demoNow,
			Run: pipeline.Options{Transform: transforms.Options{AsOf: demoNow}}})
		if demoErr != nil {
			return
		}
		w, err := warehouse.Open(ctx, "duckdb:"+path, warehouse.Options{ReadOnly: true})
		if err != nil {
			demoErr = err
			return
		}
		demo = &demoFixture{path: path, w: w,
			tenant: chorustest.New(chorustest.Options{Seed: demoSeed, Calls: demoCalls, Now: demoNow, ProcessingDelay: -1})}
		fmt.Fprintf(os.Stderr, "demo warehouse of %d calls built in %.1fs\n", demoCalls, time.Since(began).Seconds())
	})
	if demoErr != nil {
		t.Fatalf("demo warehouse: %v", demoErr)
	}
	return demo
}

// sqlRows runs test SQL against the demo warehouse.
func (f *demoFixture) sqlRows(t testing.TB, sql string) []map[string]any {
	t.Helper()
	rows, err := f.w.Query(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

// testServer serves the real handler over the demo warehouse; edit
// changes the options first. The logs go to the returned buffer.
func testServer(t testing.TB, edit func(*Options)) (*httptest.Server, *Server, *syncBuf) {
	t.Helper()
	f := demoWarehouse(t)
	logs := &syncBuf{}
	opts := Options{Warehouse: f.w, Tokens: []string{testToken, testToken2}, WebhookSecret: testSecret,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if edit != nil {
		edit(&opts)
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, s, logs
}

// syncBuf is a log buffer safe for the server's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// call makes a request with the token (none when token is "") and
// returns the status and body.
func call(t testing.TB, method, url, token string, body io.Reader, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// getJSON GETs path with the test token, wants status, and decodes the
// body into v (when not nil).
func getJSON(t testing.TB, ts *httptest.Server, path string, status int, v any) {
	t.Helper()
	code, body := call(t, http.MethodGet, ts.URL+path, testToken, nil)
	if code != status {
		t.Fatalf("GET %s: %d, want %d: %s", path, code, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

// wantError checks a JSON error answer: the status and a message holding
// every part.
func wantError(t testing.TB, ts *httptest.Server, method, path string, status int, parts ...string) {
	t.Helper()
	code, body := call(t, method, ts.URL+path, testToken, nil)
	if code != status {
		t.Errorf("%s %s: %d, want %d: %s", method, path, code, status, body)
		return
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s %s: not a JSON error: %s", method, path, body)
		return
	}
	for _, p := range parts {
		if !strings.Contains(e.Error, p) {
			t.Errorf("%s %s: error %q does not say %q", method, path, e.Error, p)
		}
	}
}

// num reads a number the DuckDB driver answered (a SUM of integers is a
// *big.Int, a DECIMAL has Float64).
func num(t testing.TB, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case interface{ Float64() float64 }:
		return x.Float64()
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}
