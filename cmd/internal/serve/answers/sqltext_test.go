package answers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// hostile are strings that break naive quoting.
var hostile = []string{
	``, `'`, `''`, `\`, `\'`, `\\'`, `'\`, `"`, "`", `'; DROP TABLE chorus.customers; --`, `" OR 1=1 --`,
	`') OR ('1'='1`, `%_*?`, `$$ dollar $$`, `E'\x41'`, `\x27`, `\u0027`, "line\nbreak\r\ttab", "\x1b[31mred\x1b[0m", "del\x7f",
	"ünïcödé ✓ 日本語 😀", "\u202eright-to-left", "zero\u200bwidth", "e\u0301 combining", "\uFEFFbom", strings.Repeat(`'\"`, 70),
}

// TestQuotingRoundTrips selects every hostile string back from real DuckDB
// as a literal, and finds it as a substring of itself with contains.
// testDuckDB is a real DuckDB file holding the model schema and an empty
// transforms ledger (what the cache reads), and nothing else.
func testDuckDB(t *testing.T) warehouse.Warehouse {
	t.Helper()
	ctx := context.Background()
	w, err := warehouse.Open(ctx, "duckdb:"+filepath.Join(t.TempDir(), "answers.duckdb"), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if err := w.Exec(ctx, fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS chorus; CREATE TABLE chorus.%s (applied_at TIMESTAMP)", transforms.LedgerTable)); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestQuotingRoundTrips(t *testing.T) {
	w := testDuckDB(t)
	q := sqlText{dialect: DuckDB, models: "chorus"}
	for _, s := range hostile {
		rows, err := w.Query(context.Background(), fmt.Sprintf("SELECT %s AS v, %s AS hit FROM (SELECT %s AS x) AS t",
			q.str(s), q.contains("t.x", s), q.str("prefix "+s+" suffix")))
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		if got := rows[0]["v"]; got != s {
			t.Errorf("%q came back as %q", s, got)
		}
		if rows[0]["hit"] != true {
			t.Errorf("%q: contains found nothing", s)
		}
	}
	// Text that is not valid UTF-8, or holds NUL, is never sent by the
	// API (it answers 400); the quoting still makes a harmless literal.
	for in, want := range map[string]string{"a\x00b": "a\uFFFDb", "a\xffb'": "a\uFFFDb'"} {
		rows, err := w.Query(context.Background(), "SELECT "+q.str(in)+" AS v")
		if err != nil || rows[0]["v"] != want {
			t.Errorf("%q: %v %v, want %q", in, rows, err, want)
		}
	}
}

func TestBigQueryLiterals(t *testing.T) {
	q := sqlText{dialect: BigQuery, models: "proj.ds"}
	for in, want := range map[string]string{
		`it's`:           `'it\'s'`,
		`a\b`:            `'a\\b'`,
		`say "hi"`:       `'say \"hi\"'`,
		"a\nb\x7f":       `'a\x0ab\x7f'`,
		"日本 😀":           `'日本 😀'`,
		`\'; DROP x; --`: `'\\\'; DROP x; --'`,
	} {
		if got := q.str(in); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
	if got := q.table("customer_calls"); got != "`proj.ds.customer_calls`" {
		t.Errorf("table: %s", got)
	}
}

// sqlRecorder is a Warehouse that runs nothing: it keeps the SQL and
// answers one empty row, so that every query of a store method is written.
type sqlRecorder struct {
	dialect string
	mu      sync.Mutex
	sqls    []string
}

func (r *sqlRecorder) Dialect() string     { return r.dialect }
func (r *sqlRecorder) ModelSchema() string { return "proj.chorus" }
func (r *sqlRecorder) Query(_ context.Context, q string) ([]map[string]any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sqls = append(r.sqls, q)
	return []map[string]any{{}}, nil
}

// storeSQL writes every query the read surfaces run, in a dialect, with
// hostile values.
func storeSQL(t *testing.T, dialect string) []string {
	t.Helper()
	rec := &sqlRecorder{dialect: dialect}
	s := &Store{w: rec, q: sqlText{dialect: dialect, models: rec.ModelSchema()}}
	ctx := context.Background()
	bad := `it's a "test" \ ' ; --`
	cur := &Cursor{StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 600000, time.UTC), ID: bad}
	steps := []func() error{
		func() error {
			_, err := s.meetings(ctx, MeetingFilter{CustomerID: bad, From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
				To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), Participant: bad, Text: bad, Page: 3, PageSize: 25})
			return err
		},
		func() error { _, err := s.meetings(ctx, MeetingFilter{After: cur, PageSize: 10}); return err },
		func() error { _, err := s.meeting(ctx, bad); return err },
		func() error { _, err := s.transcript(ctx, bad); return err },
		func() error { _, err := s.customerView(ctx, bad); return err },
		func() error { _, err := s.insights(ctx, bad); return err },
		func() error { _, err := s.customers(ctx); return err },
		func() error { _, err := newCache(rec, 1<<20, time.Second).generation(ctx); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return rec.sqls
}

// TestBigQuerySQLParses renders every query for BigQuery and parses it
// with sql-parser-cst (dialect bigquery), as the transforms tests do.
func TestBigQuerySQLParses(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "transforms", "testdata", "bqparse")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "sql-parser-cst")); err != nil {
		t.Skipf("sql-parser-cst is not installed: run `npm ci --prefix transforms/testdata/bqparse` to check the BigQuery SQL")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the BigQuery SQL check needs it")
	}
	sqls := storeSQL(t, BigQuery)
	tmp := t.TempDir()
	var files []string
	where := map[string]string{}
	for i, q := range sqls {
		if strings.Contains(q, "::") {
			t.Errorf("a DuckDB cast in BigQuery SQL:\n%s", q)
		}
		file := filepath.Join(tmp, fmt.Sprintf("q%02d.sql", i))
		if err := os.WriteFile(file, []byte(q), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
		where[file] = q
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "parse.js")}, files...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	runErr := cmd.Run()
	ok := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r struct {
			File  string `json:"file"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("parse.js: %q: %v", sc.Text(), err)
		}
		if r.OK {
			ok++
		} else {
			t.Errorf("does not parse as BigQuery: %s\n%s", r.Error, where[r.File])
		}
	}
	if ok != len(files) && !t.Failed() {
		t.Fatalf("parse.js: %d of %d parsed: %v %s", ok, len(files), runErr, stderr.String())
	}
	t.Logf("%d BigQuery queries parsed", ok)

	// The same queries run on DuckDB: the dialects differ only in quoting.
	duck := storeSQL(t, DuckDB)
	if len(duck) != len(sqls) {
		t.Errorf("%d DuckDB queries, %d BigQuery ones", len(duck), len(sqls))
	}
}
