package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

func lastJSON(t *testing.T, stdout string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, stdout)
	}
	return m
}

func warehouseState(t *testing.T, db string) []byte {
	t.Helper()
	w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st, err := w.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestDemo(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chorus.duckdb")
	code, stdout, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "15", "--seed", "3")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"chorus_raw.calls", "chorus_raw.utterances", "chorus.customer_health", "customers with the worst health"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout)
		}
	}
	if testing.Verbose() {
		t.Log("\n" + stdout)
	}
	if warehouseState(t, db) == nil {
		t.Fatal("demo stored no state")
	}
	// A second demo into the same file resumes (same tenant, new port).
	if code, _, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "15", "--seed", "3"); code != exitOK {
		t.Fatalf("second demo: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(db), "chorus-data", pipeline.PendingStateFile)); !os.IsNotExist(err) {
		t.Fatalf("pending state left behind: %v", err)
	}
}

func TestRunStateInWarehouseResumes(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 2, Calls: 12, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, srv.URL, cliToken, `,"state_store":"warehouse"`)
	db := filepath.Join(dir, "w.duckdb")
	out := filepath.Join(dir, "data")

	// An earlier run extracted but died before its load: files and the
	// pending checkpoint are in the out dir, the warehouse is empty.
	cfg, err := config.Load(cfgPath, "")
	if err != nil {
		t.Fatal(err)
	}
	pending := filepath.Join(out, pipeline.PendingStateFile)
	if _, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: out,
		SaveState: func(s *state.State) error { return state.WriteFileAtomic(pending, s.Marshal()) }}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runCLI(t, cliOpts{}, "run", "--config", cfgPath, "--warehouse", "duckdb:"+db, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	sum := lastJSON(t, stdout)
	resumed, _ := sum["resumed"].(map[string]any)
	if resumed == nil || resumed["files_loaded"].(float64) == 0 || resumed["state_stored"] != true {
		t.Fatalf("the interrupted run's files were not loaded first: %v", sum["resumed"])
	}
	if sum["state"] != "warehouse" || sum["cursor"] == nil {
		t.Fatalf("summary %v", sum)
	}
	if _, err := os.Stat(pending); !os.IsNotExist(err) {
		t.Fatal("pending checkpoint not removed")
	}
	st, err := state.Parse(warehouseState(t, db), cfg.BaseURL)
	if err != nil || st.Calls.Watermark == nil {
		t.Fatalf("warehouse state %v %v", st, err)
	}

	// A second run starts from the warehouse state: no call is fetched again.
	code, stdout, stderr = runCLI(t, cliOpts{}, "run", "--config", cfgPath, "--warehouse", "duckdb:"+db, "--out", out)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if sum := lastJSON(t, stdout); sum["calls"].(float64) != 0 {
		t.Fatalf("second run fetched %v calls again", sum["calls"])
	}
}

func TestLoadCommand(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 8, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`{"base_url":"`+srv.URL+`","api_token":"`+cliToken+`","requests_per_second":1000}`), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x")
	if _, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "w.duckdb")
	for i, wantSkipped := range []bool{false, true} {
		code, stdout, stderr := runCLI(t, cliOpts{}, "load", "--warehouse", "duckdb:"+db, "--from", out)
		if code != exitOK {
			t.Fatalf("load %d: exit %d\n%s", i, code, stderr)
		}
		res := lastJSON(t, stdout)["result"].(map[string]any)
		if skipped := res["files_skipped"].(float64) > 0; skipped != wantSkipped || (wantSkipped && res["files_loaded"].(float64) != 0) {
			t.Fatalf("load %d: %v", i, res)
		}
	}

	for _, args := range [][]string{
		{"load", "--warehouse", "sqlite:x", "--from", out},
		{"load", "--warehouse", "bigquery:nodataset", "--from", out},
		{"load", "--from", out},
		{"load", "--warehouse", "duckdb:" + db},
	} {
		if code, _, stderr := runCLI(t, cliOpts{}, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want a usage error (exit 2)\n%s", args, code, stderr)
		}
	}
}
