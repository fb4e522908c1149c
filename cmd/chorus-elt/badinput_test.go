package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// The bad-input corpus: every kind of broken input a user, a platform or an
// API can hand the CLI, run through the real command line in-process. Each
// case asserts the documented exit code (2: usage, config, state, token; 1:
// a failure such as an API that keeps answering garbage), one clear
// single-line error on stderr naming the problem, and that neither the
// state, the extract directory nor the warehouse changed.

// misbehave answers a request instead of the tenant when it returns true.
type misbehave func(w http.ResponseWriter, r *http.Request) bool

// answer replies status/body to requests whose path starts with prefix.
func answer(prefix string, status int, ctype, body string) misbehave {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			return false
		}
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body) // a client that left has no one to tell
		return true
	}
}

// hangUp closes the connection without an answer.
func hangUp(prefix string) misbehave {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	}
}

const custHeader = "customer_id,name,domains,crm_account_id,csm_email,csm_name\n"

const htmlPage = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad Gateway</h1>\n<p>The proxy server received an invalid response.</p></body></html>\n"

type badCase struct {
	name  string
	files map[string]string // written into the case directory; {url} {dir} {start} are expanded
	serve misbehave         // how the API misbehaves; nil: the simulated tenant
	args  []string          // {dir} is expanded
	code  int
	want  string // the error line must contain it
}

// cfgDoc is a config that works against the test server, plus extra keys.
func cfgDoc(extra string) string {
	return `{"api_token":"` + cliToken + `","base_url":"{url}","start_date":"{start}","requests_per_second":1000,"max_concurrency":4,"max_retries":1` + extra + `}`
}

func TestBadInput(t *testing.T) {
	t.Setenv(config.TokenEnv, "")
	tenant := chorustest.New(chorustest.Options{Seed: 7, Calls: 12, Token: cliToken, ProcessingDelay: -1})
	var mode atomic.Pointer[misbehave]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := mode.Load(); m != nil && (*m)(w, r) {
			return
		}
		tenant.ServeHTTP(w, r)
	}))
	defer srv.Close()
	start := time.Now().Add(-31 * 24 * time.Hour).Format("2006-01-02")
	expand := func(s, dir string) string {
		return strings.NewReplacer("{url}", srv.URL, "{dir}", dir, "{start}", start).Replace(s)
	}

	// The baseline every case starts from: one good run into DuckDB, with
	// its state file and Parquet files.
	base := t.TempDir()
	writeFile(t, filepath.Join(base, "c.json"), []byte(expand(cfgDoc(""), base)), 0o600)
	if code, _, stderr := runCLI(t, cliOpts{}, "run", "--config", filepath.Join(base, "c.json"), "--warehouse", "duckdb:"+filepath.Join(base, "db.duckdb"), "--out", filepath.Join(base, "out")); code != exitOK {
		t.Fatalf("baseline run: exit %d\n%s", code, stderr)
	}
	baseDB := dbDigest(t, filepath.Join(base, "db.duckdb"))

	good := []string{"--config", "{dir}/c.json"}
	extract := func(extra ...string) []string {
		return append(append([]string{"extract"}, good...), append([]string{"--out", "{dir}/out"}, extra...)...)
	}
	withCfg := func(cmd string, cfg string, extra ...string) []string {
		args := []string{cmd, "--config", "{dir}/" + cfg}
		if cmd == "extract" {
			args = append(args, "--out", "{dir}/out")
		}
		return append(args, extra...)
	}
	cfgFile := func(doc string) map[string]string { return map[string]string{"bad.json": doc} }
	stateFile := func(doc string) map[string]string { return map[string]string{"out/state.json": doc} }
	catalogFile := func(doc string) map[string]string { return map[string]string{"catalog.json": doc} }
	readArgs := append(append([]string{"read"}, good...), "--catalog", "{dir}/catalog.json")
	singerArgs := append(append([]string{"singer"}, good...), "--catalog", "{dir}/catalog.json")
	abStream := func(name, mode string) string {
		return `{"stream":{"name":"` + name + `","json_schema":{},"supported_sync_modes":["full_refresh","incremental"]},"sync_mode":"` + mode + `","destination_sync_mode":"append"}`
	}
	// wide is a config whose single slice covers the whole range, so that an
	// API failure happens before any checkpoint; with a fresh state file the
	// details of every call are fetched.
	wide := map[string]string{"wide.json": cfgDoc(`,"slice_hours":2000`)}
	details := []string{"extract", "--config", "{dir}/wide.json", "--out", "{dir}/out", "--state", "{dir}/fresh-state.json"}
	const jsonAPIType = "application/vnd.api+json"
	baseState, _ := os.ReadFile(filepath.Join(base, "out", "state.json"))

	cases := []badCase{
		// ---- configuration ----
		{name: "config/missing token", files: cfgFile(`{"base_url":"{url}"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "api_token" is required`},
		{name: "config/base_url without scheme", files: cfgFile(`{"api_token":"x-token","base_url":"chorus.ai"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "base_url": "chorus.ai" is not an http(s) URL`},
		{name: "config/base_url ftp", files: cfgFile(`{"api_token":"x-token","base_url":"ftp://chorus.ai"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "base_url"`},
		{name: "config/base_url with credentials", files: cfgFile(`{"api_token":"x-token","base_url":"https://u:p@chorus.ai"}`), args: withCfg("extract", "bad.json"), code: 2, want: "must not carry credentials"},
		{name: "config/unknown key", files: cfgFile(`{"api_token":"x-token","speed":3}`), args: withCfg("extract", "bad.json"), code: 2, want: `unknown key "speed"`},
		{name: "config/bad start_date", files: cfgFile(`{"api_token":"x-token","start_date":"last tuesday"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "start_date": "last tuesday" is not a date`},
		{name: "config/start_date in the future", files: cfgFile(`{"api_token":"x-token","start_date":"2999-01-01"}`), args: withCfg("extract", "bad.json"), code: 2, want: "is in the future"},
		{name: "config/negative rate", files: cfgFile(`{"api_token":"x-token","requests_per_second":-1}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "requests_per_second" must be positive`},
		{name: "config/negative max_retries", files: cfgFile(`{"api_token":"x-token","max_retries":-2}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "max_retries" must be positive`},
		{name: "config/negative lookback_days", files: cfgFile(`{"api_token":"x-token","lookback_days":-3}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "lookback_days" must be positive`},
		{name: "config/number as string", files: cfgFile(`{"api_token":"x-token","max_concurrency":"four"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "max_concurrency" must be a number, not a JSON string`},
		{name: "config/token as number", files: cfgFile(`{"api_token":12345}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "api_token" must be a string`},
		{name: "config/max_concurrency too high", files: cfgFile(`{"api_token":"x-token","max_concurrency":1000}`), args: withCfg("extract", "bad.json"), code: 2, want: "at most 256"},
		{name: "config/bad timeout", files: cfgFile(`{"api_token":"x-token","timeout":"soon"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "timeout"`},
		{name: "config/bad auth_scheme", files: cfgFile(`{"api_token":"x-token","auth_scheme":"basic"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "auth_scheme": "basic" is not one of raw, bearer`},
		{name: "config/bad state_store", files: cfgFile(`{"api_token":"x-token","state_store":"s3"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "state_store"`},
		{name: "config/token with white space", files: cfgFile(`{"api_token":"abc def"}`), args: withCfg("extract", "bad.json"), code: 2, want: "white space"},
		{name: "config/not JSON", files: cfgFile("api_token = x\n"), args: withCfg("extract", "bad.json"), code: 2, want: "not a valid JSON object"},
		{name: "config/JSON array", files: cfgFile(`["x-token"]`), args: withCfg("extract", "bad.json"), code: 2, want: "the file must hold a JSON object, not a JSON array"},
		{name: "config/empty file", files: cfgFile(""), args: withCfg("extract", "bad.json"), code: 2, want: "config: "},
		{name: "config/trailing data", files: cfgFile(`{"api_token":"x-token"} {"api_token":"y"}`), args: withCfg("extract", "bad.json"), code: 2, want: "trailing data"},
		{name: "config/token file missing", files: cfgFile(`{"api_token_file":"{dir}/no-such-token.txt"}`), args: withCfg("extract", "bad.json"), code: 2, want: `key "api_token_file": cannot read`},
		{name: "config/config file missing", args: withCfg("extract", "missing.json"), code: 2, want: "cannot read"},
		{name: "config/check with a bad config", files: cfgFile(`{"api_token":"x-token","speed":3}`), args: withCfg("check", "bad.json"), code: 2, want: `unknown key "speed"`},
		{name: "config/run with a bad config", files: cfgFile(`{"api_token":"x-token","timeout":-5}`), args: withCfg("run", "bad.json", "--warehouse", "duckdb:{dir}/db.duckdb", "--out", "{dir}/out"), code: 2, want: `key "timeout" must be positive`},

		// ---- state ----
		{name: "state/truncated", files: stateFile(string(baseState[:len(baseState)/2])), args: extract(), code: 2, want: "state: not valid JSON"},
		{name: "state/newer version", files: stateFile(`{"format":"chorus-elt-state","version":3,"tenant":"x"}`), args: extract(), code: 2, want: "version 3 was written by a newer chorus-elt"},
		{name: "state/unknown format", files: stateFile(`{"format":"other-tool","version":2,"tenant":"x"}`), args: extract(), code: 2, want: `not a chorus-elt state document (format "other-tool"`},
		{name: "state/bad known call", files: stateFile(`{"format":"chorus-elt-state","version":2,"tenant":"127.0.0.1","calls":{"known":{"A":{"status":"complete"}}}}`), args: extract(), code: 2, want: `calls.known["A"] needs`},
		{name: "state/another tenant", files: stateFile(`{"version":1,"tenant":"other.chorus.ai"}`), args: extract(), code: 2, want: `belongs to tenant "other.chorus.ai"`},
		{name: "state/not JSON", files: stateFile("watermark=yesterday\n"), args: extract(), code: 2, want: "state: not valid JSON"},
		{name: "state/no version", files: stateFile(`{"calls":{}}`), args: extract(), code: 2, want: `no "version" key`},
		{name: "state/unknown field", files: stateFile(`{"version":1,"tenant":"{host}","cursor":5}`), args: extract(), code: 2, want: `unknown field "cursor"`},
		{name: "state/wrong type", files: stateFile(`{"version":1,"tenant":"{host}","calls":{"watermark":"soon"}}`), args: extract(), code: 2, want: "not a chorus-elt state document"},
		{name: "state/airbyte envelope garbage", files: map[string]string{"s.json": `[{"type":"STREAM","stream":{"stream_state":{"chorus_elt":{"version":"one"}}}}]`}, args: extract("--state", "{dir}/s.json"), code: 2, want: "state: not a chorus-elt state document"},
		{name: "state/airbyte list of garbage", files: map[string]string{"s.json": `[1, "two"]`}, args: extract("--state", "{dir}/s.json"), code: 2, want: "state: not valid JSON"},
		{name: "state/singer bookmarks not an object", files: map[string]string{"s.json": `{"bookmarks":5}`}, args: extract("--state", "{dir}/s.json"), code: 2, want: "bookmarks is not an object"},
		{name: "state/is a directory", files: map[string]string{"sdir/x": ""}, args: extract("--state", "{dir}/sdir"), code: 2, want: "state: cannot read"},
		{name: "state/read with garbage state", files: map[string]string{"catalog.json": `{"streams":[` + abStream("calls", "incremental") + `]}`, "s.json": "{{{"}, args: append(append([]string{}, readArgs...), "--state", "{dir}/s.json"), code: 2, want: "state: not valid JSON"},
		{name: "state/singer with another tenant's state", files: map[string]string{"s.json": `{"bookmarks":{"calls":{"chorus_elt":{"version":1,"tenant":"other.chorus.ai"}}}}`}, args: append(append([]string{"singer"}, good...), "--state", "{dir}/s.json"), code: 2, want: "belongs to tenant"},

		// ---- command line ----
		{name: "cli/unknown flag", args: extract("--nope"), code: 2, want: "flag provided but not defined: -nope"},
		{name: "cli/unknown command", args: []string{"explode"}, code: 2, want: `unknown command "explode"`},
		{name: "cli/missing --config", args: []string{"extract", "--out", "{dir}/out"}, code: 2, want: "--config FILE is required"},
		{name: "cli/missing --out", args: append([]string{"extract"}, good...), code: 2, want: "--out DIR is required"},
		{name: "cli/--start after --end", args: extract("--start", "2026-03-02", "--end", "2026-03-01"), code: 2, want: "--start must be before --end"},
		{name: "cli/--end without --start", args: extract("--end", "2026-03-01"), code: 2, want: "--end needs --start"},
		{name: "cli/bad --start", args: extract("--start", "yesterday"), code: 2, want: `--start: "yesterday" is not a date`},
		{name: "cli/bad --streams", args: extract("--streams", "calls,emails"), code: 2, want: `--streams: unknown stream "emails"`},
		{name: "cli/empty --streams entry", args: extract("--streams", "calls,"), code: 2, want: `unknown stream ""`},
		{name: "cli/bad --warehouse", args: append(append([]string{"run"}, good...), "--warehouse", "postgres://db/x", "--out", "{dir}/out"), code: 2, want: `warehouse "postgres://db/x"`},
		{name: "cli/missing --warehouse", args: append(append([]string{"run"}, good...), "--out", "{dir}/out"), code: 2, want: "--warehouse URL is required"},
		{name: "cli/load without --from", args: []string{"load", "--warehouse", "duckdb:{dir}/db.duckdb"}, code: 2, want: "--from DIR is required"},
		{name: "cli/query without SQL", args: []string{"query", "--warehouse", "duckdb:{dir}/db.duckdb"}, code: 2, want: "query takes one argument"},
		{name: "cli/bad --log-level", args: []string{"--log-level", "loud", "spec"}, code: 2, want: `--log-level "loud"`},
		{name: "cli/bad --log-format", args: []string{"--log-format", "xml", "spec"}, code: 2, want: `--log-format "xml"`},
		{name: "cli/demo with no calls", args: []string{"demo", "--db", "{dir}/demo.duckdb", "--calls", "0"}, code: 2, want: "--calls must be positive"},
		{name: "cli/fake-api bad faults", args: []string{"fake-api", "--faults", "500=2"}, code: 2, want: "--faults: faults: 500="},
		{name: "cli/flag value of the wrong type", args: []string{"demo", "--db", "{dir}/demo.duckdb", "--calls", "many"}, code: 2, want: "many"},

		// ---- customers CSV (transform, run --customers) ----
		{name: "customers/missing columns", files: map[string]string{"cust.csv": "customer_id,name\nc1,Acme\n"}, args: []string{"transform", "--warehouse", "duckdb:{dir}/db.duckdb", "--customers", "{dir}/cust.csv"}, code: 2, want: `missing column "domains"`},
		{name: "customers/duplicate ids", files: map[string]string{"cust.csv": custHeader + "c1,Acme,acme.example,,,\nc1,Acme 2,acme2.example,,,\n"}, args: []string{"transform", "--warehouse", "duckdb:{dir}/db.duckdb", "--customers", "{dir}/cust.csv"}, code: 2, want: `duplicate id "c1"`},
		{name: "customers/bad email", files: map[string]string{"cust.csv": custHeader + "c1,Acme,acme.example,,casey-at-seller,Casey\n"}, args: []string{"transform", "--warehouse", "duckdb:{dir}/db.duckdb", "--customers", "{dir}/cust.csv"}, code: 2, want: `"casey-at-seller" is not an email address`},
		{name: "customers/bad domain", files: map[string]string{"cust.csv": custHeader + "c1,Acme,acme dot example,,,\n"}, args: []string{"transform", "--warehouse", "duckdb:{dir}/db.duckdb", "--customers", "{dir}/cust.csv"}, code: 2, want: `is not a domain`},
		{name: "customers/file missing", args: []string{"transform", "--warehouse", "duckdb:{dir}/db.duckdb", "--customers", "{dir}/none.csv"}, code: 2, want: "none.csv"},
		{name: "customers/run --customers with several problems", files: map[string]string{"cust.csv": custHeader + ",Acme,acme.example,,,\nc2,,x,,bad,\n"}, args: append(append([]string{"run"}, good...), "--warehouse", "duckdb:{dir}/db.duckdb", "--out", "{dir}/out", "--customers", "{dir}/cust.csv"), code: 2, want: "problem"},

		// ---- configured catalogs ----
		{name: "catalog/unknown stream", files: catalogFile(`{"streams":[` + abStream("emails", "incremental") + `]}`), args: readArgs, code: 2, want: `catalog: unknown stream "emails"`},
		{name: "catalog/bad sync_mode", files: catalogFile(`{"streams":[` + abStream("calls", "sometimes") + `]}`), args: readArgs, code: 2, want: `sync_mode "sometimes"`},
		{name: "catalog/incremental on a full-refresh stream", files: catalogFile(`{"streams":[` + abStream("users", "incremental") + `]}`), args: readArgs, code: 2, want: `stream "users" supports full_refresh only`},
		{name: "catalog/not JSON", files: catalogFile("streams: [calls]\n"), args: readArgs, code: 2, want: "catalog: not a configured catalog"},
		{name: "catalog/no streams", files: catalogFile(`{"streams":[]}`), args: readArgs, code: 2, want: "catalog: no streams are selected"},
		{name: "catalog/empty file", files: catalogFile(""), args: readArgs, code: 2, want: "catalog: not a configured catalog"},
		{name: "catalog/file missing", args: readArgs, code: 2, want: "catalog: open"},
		{name: "catalog/read without --catalog", args: append([]string{"read"}, good...), code: 2, want: "--catalog FILE is required"},
		{name: "catalog/singer nothing selected", files: catalogFile(`{"streams":[{"tap_stream_id":"calls","stream":"calls","metadata":[{"breadcrumb":[],"metadata":{"selected":false}}]}]}`), args: singerArgs, code: 2, want: `no stream has "selected": true`},
		{name: "catalog/singer not JSON", files: catalogFile("<catalog/>"), args: singerArgs, code: 2, want: "catalog: not a Singer catalog"},
		{name: "catalog/singer unknown stream", files: catalogFile(`{"streams":[{"tap_stream_id":"emails","metadata":[{"breadcrumb":[],"metadata":{"selected":true}}]}]}`), args: singerArgs, code: 2, want: `catalog: unknown stream "emails"`},

		// ---- the token ----
		{name: "auth/401", serve: answer("/", 401, jsonAPIType, `{"errors":[{"code":"ZI0001","status":"401","title":"Unauthorized"}]}`), args: extract(), code: 2, want: "chorus rejected the API token (HTTP 401 ZI0001"},
		{name: "auth/403 html", serve: answer("/", 403, "text/html", "<html><body>Forbidden</body></html>"), args: extract(), code: 2, want: "HTTP 403 on /v3/engagements): check api_token"},
		{name: "auth/check 401", serve: answer("/", 401, jsonAPIType, `{"errors":[{"code":"ZI0001"}]}`), args: append([]string{"check"}, good...), code: 2, want: "chorus rejected the API token"},
		{name: "auth/read 401", serve: answer("/", 401, "", ""), files: catalogFile(`{"streams":[` + abStream("calls", "incremental") + `]}`), args: readArgs, code: 2, want: "chorus rejected the API token (HTTP 401 on /v3/engagements)"},
		{name: "auth/401 on a detail", serve: answer("/api/v1/conversations/", 401, jsonAPIType, `{"errors":[{"code":"ZI0001"}]}`), files: wide, args: details, code: 2, want: "chorus rejected the API token"},

		// ---- API responses ----
		{name: "api/list invalid JSON", serve: answer("/v3/engagements", 200, "application/json", `{"engagements":[{"engagement_id":`), args: extract(), code: 1, want: "GET /v3/engagements: response is not the JSON expected"},
		{name: "api/list html 502", serve: answer("/v3/engagements", 502, "text/html", htmlPage), args: extract(), code: 1, want: "GET /v3/engagements: HTTP 502 (body starts \"<!DOCTYPE html>"},
		{name: "api/list html 200", serve: answer("/v3/engagements", 200, "text/html", htmlPage), args: extract(), code: 1, want: "response is not the JSON expected"},
		{name: "api/list empty body", serve: answer("/v3/engagements", 200, "application/json", ""), args: extract(), code: 1, want: "response is not the JSON expected (0 bytes"},
		{name: "api/list empty 500", serve: answer("/v3/engagements", 500, "", ""), args: extract(), code: 1, want: "HTTP 500 (empty body)"},
		{name: "api/list 400 JSON:API error", serve: answer("/v3/engagements", 400, jsonAPIType, `{"errors":[{"code":"ZI0400","title":"Bad Request","detail":"min_date is not valid"}]}`), args: extract(), code: 1, want: "HTTP 400 on /v3/engagements: ZI0400 Bad Request min_date is not valid"},
		{name: "api/list keeps answering 429", serve: answer("/v3/engagements", 429, jsonAPIType, `{"errors":[{"code":"ZI0029"}]}`), args: extract(), code: 1, want: "HTTP 429 too many requests (gave up after 2 attempts)"},
		{name: "api/list hangs up", serve: hangUp("/v3/engagements"), args: extract(), code: 1, want: "GET /v3/engagements: EOF (gave up after 2 attempts)"},
		{name: "api/list of the wrong type", serve: answer("/v3/engagements", 200, "application/json", `{"engagements":"none today"}`), args: extract(), code: 1, want: "engagements"},
		{name: "api/list without engagements", serve: answer("/v3/engagements", 200, "application/json", `{"message":"scheduled maintenance"}`), args: extract(), code: 1, want: "engagements"},
		{name: "api/detail invalid JSON", serve: answer("/api/v1/conversations/", 200, jsonAPIType, `{"data":{"attributes":{"recording":{"utterances":[{"snippet":"cut`), files: wide, args: details, code: 1, want: "response is not the JSON expected"},
		{name: "api/detail data null", serve: answer("/api/v1/conversations/", 200, jsonAPIType, `{"data":null}`), files: wide, args: details, code: 1, want: "response has no data.attributes object"},
		{name: "api/detail html 500", serve: answer("/api/v1/conversations/", 500, "text/html", htmlPage), files: wide, args: details, code: 1, want: "HTTP 500 (body starts \"<!DOCTYPE html>"},
		{name: "api/users garbage", serve: answer("/v3/users", 200, "application/json", `"users"`), args: extract("--streams", "users"), code: 1, want: "users: chorus: /v3/users: expected a JSON object or array"},
		{name: "api/teams html", serve: answer("/api/v1/teams", 503, "text/html", htmlPage), args: extract("--streams", "teams"), code: 1, want: "teams: GET /api/v1/teams: HTTP 503"},
		{name: "api/run with garbage", serve: answer("/v3/engagements", 200, "text/html", htmlPage), args: append(append([]string{"run"}, good...), "--warehouse", "duckdb:{dir}/db.duckdb", "--out", "{dir}/out"), code: 1, want: "response is not the JSON expected"},
		{name: "api/run with 401, state in the warehouse", serve: answer("/", 401, "", ""), args: append(append([]string{"run"}, good...), "--warehouse", "duckdb:{dir}/db.duckdb", "--out", "{dir}/out", "--state", "warehouse"), code: 2, want: "chorus rejected the API token"},
		{name: "api/read with garbage", serve: answer("/v3/engagements", 502, "text/html", htmlPage), files: catalogFile(`{"streams":[` + abStream("calls", "incremental") + `]}`), args: readArgs, code: 1, want: "HTTP 502"},
		{name: "api/singer with garbage", serve: answer("/v3/engagements", 200, "application/json", "[[["), args: append([]string{"singer"}, good...), code: 1, want: "response is not the JSON expected"},
		{name: "api/check with garbage", serve: answer("/v3/engagements", 200, "application/json", "nope"), args: append([]string{"check"}, good...), code: 1, want: "response is not the JSON expected"},
	}

	host := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, base, dir)
			for name, doc := range tc.files {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				doc = strings.ReplaceAll(expand(doc, dir), "{host}", host)
				if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			writeFile(t, filepath.Join(dir, "c.json"), []byte(expand(cfgDoc(""), dir)), 0o600)
			before := treeDigest(t, dir)
			if tc.serve != nil {
				mode.Store(&tc.serve)
				defer mode.Store(nil)
			}
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				args[i] = expand(a, dir)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			code, stdout, stderr := runCLI(t, cliOpts{ctx: ctx}, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %.2000s\nstderr: %.4000s", code, tc.code, stdout, stderr)
			}
			line := errorLine(t, args[0], stdout, stderr)
			if !strings.Contains(line, tc.want) {
				t.Fatalf("the error does not say %q:\n%s", tc.want, line)
			}
			if len(line) > 600 {
				t.Errorf("the error line is %d characters long:\n%s", len(line), line)
			}
			if testing.Verbose() {
				t.Logf("exit %d: %s", code, line)
			}
			after := treeDigest(t, dir)
			for p, h := range before {
				if after[p] != h && !strings.HasSuffix(p, ".duckdb") {
					t.Errorf("%s changed", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("%s was created", p)
				}
			}
			if db := filepath.Join(dir, "db.duckdb"); before[db] != after[db] {
				if got := dbDigest(t, db); got != baseDB {
					t.Errorf("the warehouse changed: %s", got)
				}
			}
		})
	}
}

// errorLine returns the one line on stderr that reports the error. Every
// stderr line must be a JSON log record or the final "chorus-elt: " line; a
// message spread over several lines fails. Airbyte read reports its error
// as a TRACE message on stdout and an ERROR log record instead.
func errorLine(t *testing.T, cmd, stdout, stderr string) string {
	t.Helper()
	var final []string
	var logged []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "chorus-elt: ") {
			final = append(final, l)
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("stderr line is neither a log record nor the error line (a multi-line message?): %q\nstderr:\n%s", l, stderr)
		}
		if rec["level"] == "ERROR" {
			if e, ok := rec["error"].(string); ok {
				logged = append(logged, e)
			}
		}
	}
	// read and check report on stdout (TRACE ERROR, CONNECTION_STATUS) and
	// log the error once.
	if protocol := map[string]string{"read": `"failure_type"`, "check": `"status":"FAILED"`}[cmd]; protocol != "" && len(final) == 0 {
		if len(logged) != 1 {
			t.Fatalf("%s: want one ERROR log record, got %d\nstderr:\n%s", cmd, len(logged), stderr)
		}
		if !strings.Contains(stdout, protocol) {
			t.Fatalf("%s: no %s message on stdout:\n%s", cmd, protocol, stdout)
		}
		if strings.ContainsAny(logged[0], "\r\n") {
			t.Fatalf("%s: error spans several lines: %q", cmd, logged[0])
		}
		return logged[0]
	}
	if len(final) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d\nstderr:\n%s", len(final), stderr)
	}
	return final[0]
}

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// treeDigest hashes every file under dir (WAL files of DuckDB included).
func treeDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	walkErr := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		h := sha256.Sum256(b)
		out[p] = hex.EncodeToString(h[:])
		return nil
	})
	if walkErr != nil {
		t.Fatalf("walk %s: %v", dir, walkErr)
	}
	return out
}

// warehouseTables reads every table of chorus_raw and chorus (raw tables,
// ledger, stored state, models) of a DuckDB file: name → rows, in order.
func warehouseTables(t *testing.T, path string) ([]string, map[string][]map[string]any) {
	t.Helper()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, "duckdb:"+path, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tables, err := w.Query(ctx, `SELECT table_schema || '.' || table_name AS t FROM information_schema.tables WHERE table_schema IN ('chorus_raw', 'chorus') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(tables))
	out := map[string][]map[string]any{}
	for _, tb := range tables {
		name := tb["t"].(string)
		rows, err := w.Query(ctx, "SELECT * FROM "+name)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		out[name] = rows
	}
	return names, out
}

// dbDigest is a digest of the contents of every table in chorus_raw and
// chorus.
func dbDigest(t *testing.T, path string) string {
	t.Helper()
	names, tables := warehouseTables(t, path)
	h := sha256.New()
	for _, name := range names {
		rows := tables[name]
		lines := make([]string, 0, len(rows))
		for _, r := range rows {
			keys := make([]string, 0, len(r))
			for k := range r {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%v;", k, r[k])
			}
			lines = append(lines, b.String())
		}
		sort.Strings(lines)
		fmt.Fprintf(h, "%s:%d\n%s\n", name, len(rows), strings.Join(lines, "\n"))
	}
	return fmt.Sprintf("%d tables, %x", len(names), h.Sum(nil)[:8])
}
