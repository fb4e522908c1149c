package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// countRows counts a query's rows in a DuckDB file, read-only.
func countRows(t *testing.T, db, q string) int64 {
	t.Helper()
	w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return rows[0]["n"].(int64)
}

// TestStateCommands: show, reset (refused without --yes), set-watermark
// (validated) on the file state and on the warehouse's, then --full-refresh.
func TestStateCommands(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 3, Calls: 15, Token: cliToken, ProcessingDelay: -1})
	for _, store := range []string{"file", "warehouse"} {
		t.Run(store, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeConfig(t, dir, srv.URL, cliToken, `,"state_store":"`+store+`"`)
			db := filepath.Join(dir, "w.duckdb")
			wh := []string{"--config", cfg, "--warehouse", "duckdb:" + db}
			if code, _, stderr := runCLI(t, cliOpts{}, append([]string{"run"}, wh...)...); code != exitOK {
				t.Fatalf("run: exit %d\n%s", code, stderr)
			}
			if _, err := os.Stat(filepath.Join(dir, "chorus-data", "state.json")); (err == nil) != (store == "file") {
				t.Fatalf("state file present = %v with state_store %s", err == nil, store)
			}
			show := func() map[string]any {
				code, out, stderr := runCLI(t, cliOpts{}, append([]string{"state", "show"}, wh...)...)
				var doc map[string]any
				if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil {
					t.Fatalf("state show: exit %d\n%s\n%s", code, out, stderr)
				}
				return doc
			}
			calls := show()["calls"].(map[string]any)
			if calls["watermark"] == nil || len(calls["known"].(map[string]any)) == 0 {
				t.Fatalf("state show: calls %v, want a watermark and known calls", calls)
			}
			if code, _, stderr := runCLI(t, cliOpts{}, append([]string{"state", "reset", "utterances"}, wh...)...); code != exitUsage || !strings.Contains(stderr, "--yes") {
				t.Fatalf("reset without --yes: exit %d %s", code, stderr)
			}
			if show()["calls"].(map[string]any)["watermark"] == nil {
				t.Fatal("reset without --yes changed the state")
			}
			for _, bad := range [][]string{{"calls", "soon"}, {"users", "2026-01-01"}, {"calls", time.Now().Add(48 * time.Hour).Format(time.DateOnly)}, {"nope", "2026-01-01"}} {
				if code, _, _ := runCLI(t, cliOpts{}, append([]string{"state", "set-watermark", bad[0], bad[1]}, wh...)...); code != exitUsage {
					t.Errorf("set-watermark %v: exit %d, want 2", bad, code)
				}
			}
			mark := tenant.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
			if code, _, stderr := runCLI(t, cliOpts{}, append([]string{"state", "set-watermark", "calls", mark.Format(time.RFC3339)}, wh...)...); code != exitOK {
				t.Fatalf("set-watermark: exit %d %s", code, stderr)
			}
			if got := show()["calls"].(map[string]any)["watermark"]; got != mark.Format(time.RFC3339) {
				t.Fatalf("watermark %v after set-watermark %s", got, mark.Format(time.RFC3339))
			}
			code, out, stderr := runCLI(t, cliOpts{}, append([]string{"state", "reset", "--yes", "utterances"}, wh...)...)
			if code != exitOK || !strings.Contains(out, `"families":["calls"]`) {
				t.Fatalf("reset: exit %d %s %s", code, out, stderr)
			}
			doc := show()
			if c := doc["calls"].(map[string]any); c["watermark"] != nil || c["known"] != nil {
				t.Fatalf("calls state after reset: %v", c)
			}
			if doc["streams"] == nil {
				t.Fatal("resetting the call family also reset users/teams")
			}
			// A full refresh reads every call again.
			code, out, stderr = runCLI(t, cliOpts{}, append([]string{"run", "--full-refresh"}, wh...)...)
			if code != exitOK {
				t.Fatalf("run --full-refresh: exit %d %s", code, stderr)
			}
			if n := lastJSON(t, out)["calls"].(float64); n != 15 {
				t.Errorf("run --full-refresh read %v calls, want the 15 again", n)
			}
			if n := countRows(t, db, "SELECT count(*) AS n FROM chorus_raw.calls"); n != 15 {
				t.Errorf("%d calls after the full refresh, want 15", n)
			}
		})
	}
}

// TestDeletedWarehouseIsNotSuccess: with the file state, a run on a deleted
// DuckDB file refuses (the state says loaded, the warehouse is empty) and
// names the way out; --full-refresh then fills it again.
func TestDeletedWarehouseIsNotSuccess(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 12, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := filepath.Join(dir, "w.duckdb")
	args := []string{"run", "--config", cfg, "--warehouse", "duckdb:" + db}
	if code, _, stderr := runCLI(t, cliOpts{}, args...); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, cliOpts{}, args...)
	if code == exitOK || !strings.Contains(stderr, "--full-refresh") || !strings.Contains(stderr, "state.json") {
		t.Fatalf("run on a deleted warehouse: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, cliOpts{}, append(args, "--full-refresh")...); code != exitOK {
		t.Fatalf("run --full-refresh: exit %d\n%s", code, stderr)
	}
	if n := countRows(t, db, "SELECT count(*) AS n FROM chorus_raw.calls"); n != 12 {
		t.Errorf("%d calls after the full refresh, want 12", n)
	}
}

// TestReadersRefuseMissingWarehouse: the reading commands name a DuckDB
// path that does not exist and create nothing.
func TestReadersRefuseMissingWarehouse(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "sub", "missing.duckdb")
	for _, args := range [][]string{
		{"query", "--warehouse", "duckdb:" + db, "SELECT 1"},
		{"search", "--warehouse", "duckdb:" + db, "pricing"},
		{"transcript", "--warehouse", "duckdb:" + db, "C1"},
	} {
		code, _, stderr := runCLI(t, cliOpts{}, args...)
		if code == exitOK || !strings.Contains(stderr, db) {
			t.Errorf("%s: exit %d, want a failure naming %s: %s", args[0], code, db, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err == nil {
		t.Error("a reader created the missing folder")
	}
}

// TestRunLeavesDuckDBFreeDuringExtract: while run extracts from a slow
// tenant, another process opens the DuckDB file read-write (load of an
// empty folder).
func TestRunLeavesDuckDBFreeDuringExtract(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 5, Calls: 30, Token: cliToken, ProcessingDelay: -1, Latency: 150 * time.Millisecond})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, `,"max_concurrency":1`)
	db := filepath.Join(dir, "w.duckdb")
	done := make(chan int, 1)
	go func() {
		code, _, _ := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+db)
		done <- code
	}()
	lock := filepath.Join(dir, "chorus-data", pipeline.LockFile)
	deadline := time.Now().Add(20 * time.Second)
	for { // the run holds its out dir once the DuckDB file exists: the resume is over
		_, lerr := os.Stat(lock)
		_, derr := os.Stat(db)
		if lerr == nil && derr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the run did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // in the extract (30 calls × 150 ms)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "load", "--warehouse", "duckdb:"+db, "--from", t.TempDir())
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	out, err := cmd.CombinedOutput()
	select {
	case code := <-done:
		t.Fatalf("the run ended (exit %d) before the other process opened the file: the test proves nothing", code)
	default:
	}
	if err != nil {
		t.Fatalf("another process could not open the DuckDB file during the extract: %v\n%s", err, out)
	}
	if code := <-done; code != exitOK {
		t.Fatalf("run: exit %d", code)
	}
}

// TestExtractLock: a second extract on the same --out refuses while the
// first runs; a lock left by a dead process is taken over.
func TestExtractLock(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 6, Calls: 10, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	out := filepath.Join(dir, "out")
	unlock, err := pipeline.LockDir(out) // a live holder: this process
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, cliOpts{}, "extract", "--config", cfg, "--out", out)
	if code == exitOK || !strings.Contains(stderr, "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second extract: exit %d, want a refusal naming the pid: %s", code, stderr)
	}
	unlock()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, pipeline.LockFile), []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644)
	if code, _, stderr := runCLI(t, cliOpts{}, "extract", "--config", cfg, "--out", out); code != exitOK {
		t.Fatalf("extract with a stale lock: exit %d %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, pipeline.LockFile)); err == nil {
		t.Error("the lock was left behind")
	}
}

// TestDemoRefusesAnotherTenant: a demo database of --calls 12 refuses a
// demo of --calls 13 (or another seed) and is left as it was; the same
// demo again resumes.
func TestDemoRefusesAnotherTenant(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.duckdb")
	if code, _, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "12"); code != exitOK {
		t.Fatalf("demo: exit %d %s", code, stderr)
	}
	for _, args := range [][]string{{"--calls", "13"}, {"--calls", "12", "--seed", "2"}} {
		code, _, stderr := runCLI(t, cliOpts{}, append([]string{"demo", "--db", db}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "--calls 12 --seed 1") || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("demo %v on the demo of --calls 12: exit %d %s", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "12"); code != exitOK {
		t.Fatalf("the same demo again: exit %d %s", code, stderr)
	}
	if n := countRows(t, db, "SELECT count(*) AS n FROM chorus_raw.calls"); n != 12 {
		t.Errorf("%d calls, want 12", n)
	}
}

// TestREADMEFakeAPICustomers: the README's fake-api tenant (--calls 200
// --seed 0) writes testdata/customers.csv with --customers-csv, and most of
// its calls attach to those customers.
func TestREADMEFakeAPICustomers(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "fake-api --addr 127.0.0.1:8089 --calls 200 --seed 0 --token demo-token --customers-csv customers.csv") {
		t.Fatal("the README's fake-api example changed: update this test")
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "customers.csv")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(time.Second); cancel() }()
	runCLI(t, cliOpts{ctx: ctx}, "fake-api", "--addr", "127.0.0.1:0", "--calls", "200", "--seed", "0", "--customers-csv", csv)
	want, _ := os.ReadFile(filepath.Join("..", "..", "testdata", "customers.csv"))
	if got, err := os.ReadFile(csv); err != nil || string(got) != string(want) {
		t.Fatalf("fake-api --seed 0 --customers-csv wrote another list than testdata/customers.csv (%v)", err)
	}
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 0, Calls: 200, Token: cliToken, ProcessingDelay: -1})
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := filepath.Join(dir, "w.duckdb")
	if code, _, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+db, "--customers", csv); code != exitOK {
		t.Fatalf("run: exit %d %s", code, stderr)
	}
	all := countRows(t, db, "SELECT count(*) AS n FROM chorus.customer_calls")
	attached := countRows(t, db, "SELECT count(*) AS n FROM chorus.customer_calls WHERE customer_id IS NOT NULL")
	if all == 0 || attached*10 < all*8 {
		t.Fatalf("%d of %d calls attach to testdata/customers.csv, want at least 80%%", attached, all)
	}
}

// TestErgonomics: --version, global flags after the command, query output.
func TestErgonomics(t *testing.T) {
	code, out, _ := runCLI(t, cliOpts{}, "--version")
	if code != exitOK || !strings.Contains(out, "chorus-elt ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "DuckDB v1.") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	db := filepath.Join(t.TempDir(), "d.duckdb")
	if code, _, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "5"); code != exitOK {
		t.Fatalf("demo: %d %s", code, stderr)
	}
	// Global flags after the command and after positional arguments.
	for _, args := range [][]string{
		{"query", "--warehouse", "duckdb:" + db, "--log-level", "warn", "SELECT 1 AS n"},
		{"query", "SELECT 1 AS n", "--log-format=text", "--warehouse", "duckdb:" + db},
		{"state", "show", "--log-level", "error", "--config", "nope.json", "--warehouse", "duckdb:" + db},
	} {
		code, _, stderr := runCLI(t, cliOpts{}, args...)
		if strings.Contains(stderr, "flag provided but not defined") || (args[0] == "query" && code != exitOK) {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
	q := `SELECT 'a<b>&c' AS z, [1, 2] AS l, {'k': 'v'} AS o, 3 AS a`
	code, out, _ = runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db, "--json", q)
	if want := `{"z":"a<b>&c","l":[1,2],"o":{"k":"v"},"a":3}` + "\n"; code != exitOK || out != want {
		t.Errorf("query --json: %q, want %q", out, want)
	}
	code, out, _ = runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db, q)
	if code != exitOK || !strings.Contains(out, `[1,2]`) || !strings.Contains(out, `{"k":"v"}`) {
		t.Errorf("query table: %q", out)
	}
	code, out, _ = runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db, "SELECT _extra FROM chorus_raw.calls WHERE _extra IS NOT NULL LIMIT 1")
	if code != exitOK || strings.Contains(out, "map[") {
		t.Errorf("query _extra: %q", out)
	}
}

// TestUnreachableHost: check fails at the first attempt on connection
// refused and on an unknown host; extract reports the failure at the first
// attempt (then retries) and does not claim files were extracted; a usage
// error of Airbyte read is a human message.
func TestUnreachableHost(t *testing.T) {
	dir := t.TempDir()
	for _, base := range []string{"http://127.0.0.1:1", "http://no-such-host.invalid"} {
		cfg := writeConfig(t, dir, base, cliToken, `,"max_retries":8`)
		start := time.Now()
		code, _, stderr := runCLI(t, cliOpts{}, "check", "--config", cfg)
		if code != exitFailure || !strings.Contains(stderr, "cannot reach") || time.Since(start) > 3*time.Second {
			t.Errorf("check %s: exit %d after %s: %s", base, code, time.Since(start), stderr)
		}
	}
	cfg := writeConfig(t, dir, "http://127.0.0.1:1", cliToken, `,"max_retries":2`)
	code, _, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+filepath.Join(dir, "w.duckdb"))
	if code != exitFailure || strings.Count(stderr, "cannot reach the API; retrying") != 1 || strings.Contains(stderr, "extracted so far") {
		t.Errorf("run from an unreachable host: exit %d %s", code, stderr)
	}
	code, out, _ := runCLI(t, cliOpts{}, "read", "--config", cfg)
	if code != exitUsage || !strings.Contains(out, `"failure_type":"config_error"`) || strings.Contains(out, "*") {
		t.Errorf("read without --catalog: exit %d %s", code, out)
	}
}
