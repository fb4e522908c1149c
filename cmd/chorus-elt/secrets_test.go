package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

// The planted token is cliToken. runCLI fails any test whose stdout or
// stderr carries it, read before run's token filter, or whose filter had to
// remove it. These tests also search the state files, the Parquet files
// (decoded values and raw bytes), the warehouse tables (bookkeeping ones
// included), the errors of every command when the API is hostile (it echoes
// the Authorization header back, escaped or not), and the formatted config.

// treeSearch counts what searchTree searched.
type treeSearch struct{ files, states, parquets, dbs, dbValues int }

// searchTree looks for the token in every file under dir but the inputs
// that hold it (the configs and the token file the test wrote): the bytes
// (and, in text files, JSON-escaped), and the decoded values of Parquet
// files and DuckDB tables.
func searchTree(t *testing.T, dir string, inputs ...string) treeSearch {
	t.Helper()
	var n treeSearch
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		for _, in := range inputs {
			if p == in {
				return nil
			}
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n.files++
		binary := strings.HasSuffix(p, ".parquet") || strings.Contains(filepath.Base(p), ".duckdb")
		switch {
		case bytes.Contains(b, []byte(cliToken)):
			t.Errorf("token found in the bytes of %s", p)
		case !binary:
			noToken(t, p, string(b))
		}
		switch {
		case strings.HasSuffix(p, "state.json"):
			n.states++
			if len(b) < 20 {
				t.Errorf("%s: a state file of %d bytes", p, len(b))
			}
		case strings.HasSuffix(p, ".parquet"):
			n.parquets++
			noToken(t, "the decoded values of "+p, parquetText(t, p))
		case strings.HasSuffix(p, ".duckdb"):
			n.dbs++
			n.dbValues += searchWarehouse(t, p)
		}
		return nil
	})
	if walkErr != nil {
		t.Fatalf("walk %s: %v", dir, walkErr)
	}
	return n
}

// parquetText decodes every row of a Parquet file with the pure-Go reader
// and returns them as text, JSON escapes decoded too.
func parquetText(t *testing.T, path string) string {
	t.Helper()
	rows := testkit.ReadParquet(t, path)
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 0 && len(b) < 10 {
		t.Fatalf("%s: decoded nothing", path)
	}
	var v any
	_ = json.Unmarshal(b, &v) // not every text is JSON; what is, is searched decoded too
	return fmt.Sprint(v) + string(b)
}

// searchWarehouse queries every table of chorus_raw and chorus (the
// ledger, the stored state and the models' ledger included) and searches
// every value; it returns how many.
func searchWarehouse(t *testing.T, path string) (values int) {
	t.Helper()
	names, tables := warehouseTables(t, path)
	if len(names) < 9 {
		t.Fatalf("only %d tables in %s", len(names), path)
	}
	for _, name := range names {
		for _, r := range tables[name] {
			for col, v := range r {
				values++
				noToken(t, path+": "+name+"."+col, fmt.Sprint(v))
			}
		}
	}
	return values
}

// TestTokenNeverWritten plants the token and runs every command that
// produces output against the simulated tenant, at debug level, in both log
// formats; then searches stdout and stderr as the commands wrote them (the
// Airbyte and Singer messages, the log lines, the errors), the state files,
// the Parquet files and the warehouse.
func TestTokenNeverWritten(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 9, Calls: 12, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := "duckdb:" + filepath.Join(dir, "chorus.duckdb")
	out := filepath.Join(dir, "out")
	raw := cliOpts{unfiltered: true}
	// cli runs a command that must succeed and searches its output.
	cli := func(args ...string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, raw, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout, stderr)
		}
		if stdout == "" && stderr == "" {
			t.Fatalf("%v wrote nothing: nothing was searched", args)
		}
		noToken(t, fmt.Sprintf("the stdout of %v", args), stdout)
		noToken(t, fmt.Sprintf("the stderr of %v", args), stderr)
	}

	cli("run", "--config", cfg, "--warehouse", db, "--out", out)
	tenant.Advance(3 * time.Hour)
	// Text logs, and the state in the warehouse.
	cli("--log-format", "text", "run", "--config", cfg, "--warehouse", db, "--out", filepath.Join(dir, "out2"), "--state", "warehouse")
	cli("extract", "--config", cfg, "--out", filepath.Join(dir, "x"), "--streams", "calls,utterances,users")
	// The token from a file and from the environment.
	tokFile := filepath.Join(dir, "token.txt")
	writeFile(t, tokFile, []byte(cliToken+"\n"), 0o600)
	fileCfg := filepath.Join(dir, "file-config.json")
	writeFile(t, fileCfg, []byte(fmt.Sprintf(`{"api_token_file":%q,"base_url":%q,"requests_per_second":1000}`, tokFile, srv.URL)), 0o600)
	envCfg := filepath.Join(dir, "env-config.json")
	writeFile(t, envCfg, []byte(fmt.Sprintf(`{"base_url":%q,"requests_per_second":1000,"auth_scheme":"bearer"}`, srv.URL)), 0o600)
	t.Setenv(config.TokenEnv, cliToken)
	catalog := filepath.Join(dir, "catalog.json")
	writeFile(t, catalog, []byte(`{"streams":[{"stream":{"name":"calls","json_schema":{}},"sync_mode":"incremental","destination_sync_mode":"append"},{"stream":{"name":"users","json_schema":{}},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`), 0o600)
	for _, args := range [][]string{
		{"check", "--config", fileCfg},
		{"check", "--config", envCfg},
		{"discover", "--config", envCfg},
		{"spec"},
		{"read", "--config", fileCfg, "--catalog", catalog},
		{"singer", "--config", envCfg},
		{"singer", "--config", envCfg, "--discover"},
		{"extract", "--config", envCfg, "--out", filepath.Join(dir, "env-out"), "--streams", "teams"},
		{"query", "--warehouse", db, "--json", "SELECT * FROM chorus_raw._chorus_state"},
	} {
		cli(args...)
	}
	n := searchTree(t, dir, cfg, tokFile)
	if n.files < 10 || n.states < 3 || n.parquets < 3 || n.dbs != 1 || n.dbValues < 1000 {
		t.Fatalf("searched only %+v", n)
	}
	t.Logf("searched %+v", n)
}

// hostile answers with the request's Authorization header echoed back in
// various ways.
func hostile(how string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch how {
		case "401 code":
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"errors":[{"code":%q,"title":"Unauthorized","detail":"token %s is not valid"}]}`, auth, auth)
		case "403 html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(403)
			fmt.Fprintf(w, "<html><body>Forbidden: %s</body></html>", auth)
		case "500 json":
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"errors":[{"code":"ZI0500","title":"Internal","detail":"no quota for %s"}]}`, auth)
		case "502 text":
			w.WriteHeader(502)
			fmt.Fprintf(w, "%s: upstream failed", auth)
		case "400 json escaped":
			w.WriteHeader(400)
			b, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"title": "Bad Request", "detail": "got " + auth}}})
			b = bytes.ReplaceAll(b, []byte("-"), []byte(`\u002d`)) // the token, JSON-escaped
			w.Write(b)
		case "200 html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html>Welcome %s</html>", auth)
		case "malformed status line":
			conn, bw, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_, _ = bw.WriteString(auth + "\r\n\r\n") // a broken server: errors do not matter
				bw.Flush()
				conn.Close()
			}
		case "cut body":
			w.Header().Set("Content-Length", "4096")
			fmt.Fprintf(w, `{"engagements":[{"engagement_id":"%s`, auth)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			panic("unknown hostile mode " + how)
		}
	}
}

// TestTokenNotInErrors: whatever a hostile API answers, the token it
// echoes never reaches stdout (protocol messages), stderr, or the state;
// nor do network errors carry it.
func TestTokenNotInErrors(t *testing.T) {
	var how atomic.Value
	var echoed atomic.Int64 // answers that echoed the token
	how.Store("401 code")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			echoed.Add(1)
		}
		hostile(how.Load().(string))(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, `,"max_retries":1`)
	bearer := filepath.Join(dir, "bearer.json")
	b, _ := os.ReadFile(cfg)
	writeFile(t, bearer, bytes.Replace(b, []byte(`{`), []byte(`{"auth_scheme":"bearer",`), 1), 0o600)
	catalog := filepath.Join(dir, "catalog.json")
	writeFile(t, catalog, []byte(`{"streams":[{"stream":{"name":"calls","json_schema":{}},"sync_mode":"incremental","destination_sync_mode":"append"}]}`), 0o600)

	for _, mode := range []string{"401 code", "403 html", "500 json", "502 text", "400 json escaped", "200 html", "malformed status line", "cut body"} {
		for _, args := range [][]string{
			{"extract", "--config", cfg, "--out", filepath.Join(dir, "out")},
			{"check", "--config", bearer},
			{"read", "--config", cfg, "--catalog", catalog},
			{"singer", "--config", bearer},
			{"run", "--config", cfg, "--warehouse", "duckdb:" + filepath.Join(dir, "w.duckdb"), "--out", filepath.Join(dir, "run-out")},
		} {
			t.Run(mode+"/"+args[0], func(t *testing.T) {
				how.Store(mode)
				echoed.Store(0)
				code, stdout, stderr := runCLI(t, cliOpts{unfiltered: true}, args...)
				if code == exitOK {
					t.Fatalf("a hostile API did not fail %s", args[0])
				}
				if echoed.Load() == 0 {
					t.Fatalf("the hostile API was not asked anything: nothing was tested")
				}
				noToken(t, "stdout", stdout)
				noToken(t, "stderr", stderr)
			})
		}
	}
	searchTree(t, dir, cfg, bearer)

	// A network error: nothing listens any more.
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	nd := t.TempDir()
	ncfg := writeConfig(t, nd, closedURL, cliToken, `,"max_retries":1`)
	code, _, stderr := runCLI(t, cliOpts{unfiltered: true}, "extract", "--config", ncfg, "--out", filepath.Join(nd, "out"))
	if code != exitFailure || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("network error: exit %d\n%s", code, stderr)
	}
}

// TestSecretFormatting: the config, however it is printed, logged,
// marshalled or panicked with, never shows the token.
func TestSecretFormatting(t *testing.T) {
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":"https://acme.chorus.ai"}`, cliToken)
	cfg, err := config.Parse([]byte(doc), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	add := func(what, s string) {
		outs = append(outs, what+": "+s)
	}
	add("fmt", fmt.Sprintf("%v %+v %#v %s %q %x", cfg, cfg, cfg, cfg.APIToken, cfg.APIToken, cfg.APIToken))
	add("fmt value", fmt.Sprintf("%v %+v %#v", *cfg, *cfg, *cfg))
	add("fmt in a slice and map", fmt.Sprintf("%v %+v %#v", []any{cfg}, map[string]any{"c": *cfg}, []config.Config{*cfg}))
	for _, m := range []func(any) ([]byte, error){json.Marshal, gojson.Marshal} {
		b, err := m(cfg)
		if err != nil {
			t.Fatal(err)
		}
		add("json", string(b))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("config", "cfg", cfg, "value", *cfg, "token", cfg.APIToken)
	}
	add("slog", logs.String())
	add("error", fmt.Errorf("bad config %v: %w", cfg, &config.Error{Msg: fmt.Sprint(cfg)}).Error())
	func() {
		defer func() { add("panic", fmt.Sprint(recover())) }()
		panic(fmt.Sprintf("unexpected config %+v", cfg))
	}()
	func() {
		defer func() { add("panic value", fmt.Sprintf("%v", recover())) }()
		panic(*cfg)
	}()
	for _, s := range outs {
		noToken(t, s, s)
	}
	if !strings.Contains(strings.Join(outs, "\n"), "[redacted]") {
		t.Fatal("the redaction marker is missing: did the token print as empty?")
	}

	// The client holds the token in an unexported field, where fmt cannot
	// call Secret's methods: the client formats itself (every verb is
	// covered by connector/client's TestNoVerbRendersTheToken).
	client := client.New(cfg, client.Options{})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		noToken(t, "fmt "+verb+" of a *client.Client", fmt.Sprintf(verb, client))
	}
}
