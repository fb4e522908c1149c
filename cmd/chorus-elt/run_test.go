package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// Two runs into DuckDB against a faulty tenant, with new calls and finished
// transcripts in between, leave each call once and each utterance once; the
// loaded Parquet files are removed unless --keep-files says otherwise.
func TestRunTwiceWithFaults(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 8, Calls: 60, Token: cliToken, ProcessingDelay: 12 * time.Hour,
		Faults: chorustest.Faults{Seed: 8, Status500: 0.1, Status429NoRetry: 0.05, Truncate: 0.02, DuplicateAcrossPages: 0.1}})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, `,"max_retries":10`)
	db := filepath.Join(dir, "w.duckdb")
	out := filepath.Join(dir, "data")
	for i, extra := range [][]string{nil, {"--keep-files"}} {
		args := append([]string{"run", "--config", cfg, "--warehouse", "duckdb:" + db, "--out", out}, extra...)
		if code, _, stderr := runCLI(t, cliOpts{}, args...); code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", i+1, code, stderr)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*", "*.parquet"))
		if keep := len(extra) > 0; keep != (len(files) > 0) {
			t.Fatalf("run %d (keep-files=%v) left %d Parquet files", i+1, keep, len(files))
		}
		tenant.Advance(13 * time.Hour) // transcripts finish, new calls arrive
	}
	tenant.Advance(-13 * time.Hour)

	w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	count := func(q string) int64 {
		rows, err := w.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0]["n"].(int64)
	}
	truthCalls, truthUtts := 0, 0
	for _, e := range tenant.RecordedCalls() {
		if e.StartedAt.After(tenant.Now()) {
			continue
		}
		truthCalls++
		if !tenant.Processing(e.ID) {
			truthUtts += len(tenant.Utterances(e.ID))
		}
	}
	if n := count(`SELECT count(*) AS n FROM chorus_raw.calls`); n != int64(truthCalls) {
		t.Errorf("calls: %d rows, tenant has %d", n, truthCalls)
	}
	if n := count(`SELECT count(*) - count(DISTINCT call_id) AS n FROM chorus_raw.calls`); n != 0 {
		t.Errorf("%d duplicate calls", n)
	}
	if n := count(`SELECT count(*) AS n FROM chorus_raw.utterances`); n != int64(truthUtts) {
		t.Errorf("utterances: %d rows, tenant has %d", n, truthUtts)
	}
	if n := count(`SELECT count(*) AS n FROM (SELECT call_id, utterance_index FROM chorus_raw.utterances GROUP BY ALL HAVING count(*) > 1)`); n != 0 {
		t.Errorf("%d duplicate utterances", n)
	}
}
