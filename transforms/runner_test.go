package transforms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	sqlmodels "github.com/chorus-elt/chorus-elt/sql"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

var asOf = time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC) // a Wednesday

func openDuck(t *testing.T, name string) warehouse.Warehouse {
	t.Helper()
	w, err := warehouse.Open(context.Background(), "duckdb:"+filepath.Join(t.TempDir(), name), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// overlay is the embedded models with some files replaced.
func overlay(t *testing.T, files map[string]string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(sqlmodels.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sqlmodels.FS(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range files {
		if v == "" {
			delete(m, k)
			continue
		}
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return m
}

func readModel(t *testing.T, name string) string {
	b, err := fs.ReadFile(sqlmodels.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEmptyWarehouseAndCatalogName builds every model on empty raw tables in
// a file named chorus.duckdb, whose catalog "chorus" would make a bare
// chorus.table ambiguous.
func TestEmptyWarehouseAndCatalogName(t *testing.T) {
	w := openDuck(t, "chorus.duckdb")
	res, err := transforms.Run(context.Background(), w, transforms.Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Steps) < 20 || res.Rows["customer_calls"] != 0 || res.Rows[transforms.SeedSignalMap] != len(transforms.DefaultSignals().Rules) {
		t.Errorf("result: %d steps, rows %v", len(res.Steps), res.Rows)
	}
}

func TestLedgerRefusesEditWithoutBump(t *testing.T) {
	ctx := context.Background()
	w := openDuck(t, "wh.duckdb")
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	orig := readModel(t, "customer_calls.sql")
	var version int
	if _, err := fmt.Sscanf(orig[strings.Index(orig, "-- version: "):], "-- version: %d", &version); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(orig, "  c.summary,", "  c.summary,\n  c.language,", 1)
	if edited == orig {
		t.Fatal("fixture: edit did not apply")
	}
	_, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, Models: overlay(t, map[string]string{"customer_calls.sql": edited})})
	var ce *transforms.ChangedError
	if !errors.As(err, &ce) || len(ce.Changes) != 1 || ce.Changes[0].Model != "customer_calls" {
		t.Fatalf("edited without a bump: %v", err)
	}
	bump := fmt.Sprintf("bump \"-- version: %d\" to %d", version, version+1)
	for _, want := range []string{"customer_calls", "changed without a version bump", bump, ce.Changes[0].OldChecksum, ce.Changes[0].NewChecksum} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	// Nothing was built: the column is not there.
	if rows, _ := w.Query(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'chorus' AND table_name = 'customer_calls' AND column_name = 'language'"); len(rows) != 0 {
		t.Error("the refused model was built")
	}

	bumped := strings.Replace(edited, fmt.Sprintf("-- version: %d", version), fmt.Sprintf("-- version: %d", version+1), 1)
	res, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, Models: overlay(t, map[string]string{"customer_calls.sql": bumped})})
	if err != nil {
		t.Fatalf("bumped: %v", err)
	}
	var built *transforms.StepResult
	for _, s := range res.Steps {
		if s.Name == "customer_calls" {
			built = s
		}
	}
	if built == nil || built.Version != version+1 {
		t.Fatalf("bumped model not built: %+v", built)
	}
	if rows, _ := w.Query(ctx, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'chorus' AND table_name = 'customer_calls' AND column_name = 'language'"); len(rows) != 1 {
		t.Error("the bumped model was not rebuilt")
	}
	rows, err := w.Query(ctx, "SELECT version, checksum, dialect, row_count, duration_ms, applied_at FROM chorus._chorus_models WHERE model = 'customer_calls' ORDER BY applied_at")
	if err != nil || len(rows) != 2 || rows[1]["version"] != int64(version+1) || rows[0]["checksum"] == rows[1]["checksum"] || rows[1]["dialect"] != "duckdb" {
		t.Errorf("ledger: %v %v", rows, err)
	}
	// Going back to the version-1 file (a rollback) is allowed: same checksum.
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf}); err != nil {
		t.Errorf("rollback to the built version 1: %v", err)
	}
}

func TestModelGraphErrors(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"cycle", map[string]string{
			"a_one.sql": "-- model: a_one\n-- version: 1\n-- depends: a_two\nSELECT * FROM {{ model(\"a_two\") }}",
			"a_two.sql": "-- model: a_two\n-- version: 1\n-- depends: a_one\nSELECT * FROM {{ model(\"a_one\") }}"},
			"dependency cycle among models a_one, a_two"},
		{"undeclared", map[string]string{"a_one.sql": "-- model: a_one\n-- version: 1\nSELECT * FROM {{ model(\"stg_calls\") }}"},
			`add it to "-- depends:"`},
		{"unknown dependency", map[string]string{"a_one.sql": "-- model: a_one\n-- version: 1\n-- depends: nope\nSELECT * FROM {{ model(\"nope\") }}"},
			`depends on "nope", which is neither a model nor a seed`},
		{"no version", map[string]string{"a_one.sql": "-- model: a_one\nSELECT 1 AS x"}, `no "-- version: N" line`},
		{"wrong file", map[string]string{"a_one.sql": "-- model: a_two\n-- version: 1\nSELECT 1 AS x"}, "must live in a_two.sql"},
		{"unknown macro", map[string]string{"a_one.sql": "-- model: a_one\n-- version: 1\nSELECT {{ nope(1) }} AS x"}, `unknown macro "nope"`},
		{"bad regex", map[string]string{"a_one.sql": "-- model: a_one\n-- version: 1\nSELECT {{ regexp_matches('x', '(') }} AS x"}, "regular expression"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := transforms.Plan(ctx, transforms.PlanOnly{DialectName: "duckdb", Raw: "chorus_raw", Models: "chorus"},
				transforms.Options{AsOf: asOf, Models: overlay(t, c.files)})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestPlanOrderAndDryRun(t *testing.T) {
	ctx := context.Background()
	stmts, err := transforms.Plan(ctx, transforms.PlanOnly{DialectName: "duckdb", Raw: "chorus_raw", Models: "chorus"}, transforms.Options{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range stmts {
		pos[s.Name] = i
	}
	for _, dep := range [][2]string{{"customers", "int_customer_domains"}, {"stg_calls", "int_call_matches"}, {"int_call_matches", "customer_calls"},
		{"customer_calls", "customer_tasks"}, {"customer_tasks", "customer_health_weekly"}, {"customer_health_weekly", "customer_health"}} {
		if pos[dep[0]] >= pos[dep[1]] {
			t.Errorf("%s is built after %s", dep[0], dep[1])
		}
	}
	var out bytes.Buffer
	res, err := transforms.Run(ctx, transforms.PlanOnly{DialectName: "bigquery", Raw: "p.chorus_raw", Models: "p.chorus"},
		transforms.Options{AsOf: asOf, DryRun: true, Out: &out})
	if err != nil || !res.DryRun {
		t.Fatal(err)
	}
	for _, want := range []string{"-- chorus-elt transform plan: dialect bigquery", "CREATE OR REPLACE TABLE `p.chorus.customer_calls` AS", "REGEXP_CONTAINS", "version 2 (customer_tasks.sql, sha256"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q", want)
		}
	}
}

func TestMacrosRender(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{"m_macros.sql": `-- model: m_macros
-- version: 1
SELECT {{ ts_diff_days(TIMESTAMP '2026-03-01 10:00:00', TIMESTAMP '2026-03-04 01:00:00') }} AS diff,
  {{ date_add_days(DATE '2026-02-27', 2) }} AS plus2,
  {{ date_add_months(DATE '2026-01-31', 1) }} AS plus1m,
  {{ date_trunc_week(TIMESTAMP '2026-03-08 23:00:00') }} AS monday,
  {{ date_trunc_quarter(DATE '2026-05-20') }} AS quarter,
  {{ isodow(DATE '2026-03-08') }} AS sunday,
  {{ regexp_extract('by March 3rd', '(?i)(march|april)') }} AS month,
  {{ regexp_extract('nothing', '(x)') }} AS none,
  {{ md5_hex('a') }} AS md5,
  {{ normalize_name('The ACME, Inc.') }} AS name,
  {{ cast(3, "float") }} / 2 AS half,
  {{ as_of() }} AS as_of,
  {{ var("default_due_days") }} AS due_days`}
	for _, d := range []string{"duckdb", "bigquery"} {
		if _, err := transforms.Plan(ctx, transforms.PlanOnly{DialectName: d, Raw: "r", Models: "m"}, transforms.Options{AsOf: asOf, Models: overlay(t, files)}); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
	w := openDuck(t, "wh.duckdb")
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, Models: overlay(t, files), DefaultDueDays: 5}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.Query(ctx, "SELECT * FROM chorus.m_macros")
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	day := func(k string) string { v, _ := r[k].(time.Time); return v.Format(time.DateOnly) }
	checks := map[string][2]any{
		"diff": {r["diff"], int64(3)}, "plus2": {day("plus2"), "2026-03-01"}, "plus1m": {day("plus1m"), "2026-02-28"},
		"monday": {day("monday"), "2026-03-02"}, "quarter": {day("quarter"), "2026-04-01"}, "sunday": {r["sunday"], int64(7)},
		"month": {r["month"], "March"}, "none": {r["none"], nil}, "md5": {r["md5"], "0cc175b9c0f1b6a831c399e269772661"},
		"name": {r["name"], "acme"}, "half": {r["half"], 1.5}, "due_days": {r["due_days"], int32(5)},
	}
	for k, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %#v, want %#v", k, c[0], c[1])
		}
	}
}

// TestSignalsFileLoaded checks that a --signals file reaches the tables that
// make results traceable.
func TestSignalsFileLoaded(t *testing.T) {
	ctx := context.Background()
	sig, err := transforms.ReadSignalsFile(filepath.Join("..", "testdata", "signals.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := openDuck(t, "wh.duckdb")
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, Signals: sig}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.Query(ctx, "SELECT value, description FROM chorus.health_weights WHERE name = 'green_min'")
	if err != nil || len(rows) != 1 || rows[0]["value"] != 75.0 || rows[0]["description"] == nil {
		t.Errorf("health_weights green_min: %v %v", rows, err)
	}
	rows, err = w.Query(ctx, "SELECT category FROM chorus.signal_map ORDER BY priority")
	if err != nil || len(rows) != len(sig.Rules) || rows[0]["category"] != "competitor" {
		t.Errorf("signal_map: %v %v", rows, err)
	}
}
