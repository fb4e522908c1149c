package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestQueryCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "chorus.duckdb")
	if code, _, stderr := runCLI(t, cliOpts{}, "demo", "--db", db, "--calls", "12", "--seed", "5"); code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db,
		"SELECT transcript_status AS status, count(*) AS calls FROM chorus_raw.calls GROUP BY 1 ORDER BY 1")
	if code != exitOK || !strings.HasPrefix(stdout, "status") || !strings.Contains(stdout, "complete") {
		t.Fatalf("query: exit %d (columns must come in SELECT order)\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db, "--json", "SELECT count(*) AS n FROM chorus_raw.calls")
	if code != exitOK || !strings.HasPrefix(stdout, `{"n":`) {
		t.Fatalf("query --json: %q", stdout)
	}
	if code, _, stderr := runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db, "SELECT * FROM nowhere"); code != exitFailure || !strings.Contains(stderr, "nowhere") {
		t.Fatalf("bad SQL: exit %d %s", code, stderr)
	}
	if code, _, _ := runCLI(t, cliOpts{}, "query", "--warehouse", "duckdb:"+db); code != exitUsage {
		t.Fatalf("no SQL: exit %d", code)
	}
}
