package testkit

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

// NewServer starts an httptest server for a new tenant; the test's Cleanup
// closes it.
func NewServer(tb testing.TB, opts chorustest.Options) (*httptest.Server, *chorustest.Tenant) {
	tb.Helper()
	t := chorustest.New(opts)
	srv := httptest.NewServer(t)
	tb.Cleanup(srv.Close)
	return srv, t
}

// Config is a valid configuration for a test server at base: the token
// "tok-123456", a budget that does not slow tests down, and extra JSON
// members (",\"key\":value…") appended.
func Config(tb testing.TB, base, extra string) *config.Config {
	tb.Helper()
	c, err := config.Parse([]byte(`{"api_token":"tok-123456","base_url":"`+base+`","requests_per_second":1000,"max_retries":4`+extra+`}`), time.Now(), "")
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Testdata is the path of the module's testdata folder, found from the
// test's working directory.
func Testdata(tb testing.TB, elem ...string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir, "testdata"}, elem...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testkit: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ServeFixtures serves the recorded API responses of testdata/api: one
// listing page, one conversation (EE8ED5BBBC254177B8201B9D84855949), users
// and teams.
func ServeFixtures(tb testing.TB) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	for path, file := range map[string]string{
		"/v3/engagements":                        "engagements_page.json",
		"/api/v1/conversations/" + FixtureCallID: "conversation.json",
		"/v3/users":                              "users.json",
		"/api/v1/teams":                          "teams.json",
	} {
		body, err := os.ReadFile(Testdata(tb, "api", file))
		if err != nil {
			tb.Fatal(err)
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// FixtureCallID is the call of testdata/api/conversation.json.
const FixtureCallID = "EE8ED5BBBC254177B8201B9D84855949"
