package warehouse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

func TestOpenURL(t *testing.T) {
	for _, u := range []string{"", "duckdb:", "postgres://x", "bigquery:proj", "bigquery:.ds", "bigquery:p.d.e", "bigquery:p.bad-name", "nothing"} {
		_, err := Open(context.Background(), u, Options{})
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Errorf("Open(%q) = %v, want *URLError", u, err)
		}
	}
}

func TestLoadIdempotent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()

	res, err := w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 6 || res.FilesSkipped != 0 {
		t.Fatalf("first load: %+v", res)
	}
	if c := res.Streams["calls"]; c.Inserted != 3 || c.RowsRead != 4 {
		t.Errorf("calls: %+v", c)
	}
	if u := res.Streams["utterances"]; u.Inserted != 90 || u.RowsRead != 120 {
		t.Errorf("utterances: %+v", u)
	}
	first := dump(t, w)
	for _, want := range []string{"title=second v2", "text=hi v2 c2 #39", "user_ids=[1 2 3]", "## calls (3)", "## utterances (90)"} {
		if !strings.Contains(first, want) {
			t.Errorf("tables lack %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "text=hi c2") {
		t.Errorf("older utterance version survived")
	}

	res, err = w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 0 || res.FilesSkipped != 6 {
		t.Fatalf("second load: %+v", res)
	}
	if second := dump(t, w); second != first {
		t.Fatalf("reload changed the tables:\n%s\n---\n%s", first, second)
	}
	if n := count(t, w, "SELECT count(*) FROM chorus_raw._chorus_loads"); n != 6 {
		t.Errorf("ledger has %d rows", n)
	}

	// One new file: only it is loaded; the rest is skipped.
	s3 := "20260303T100000Z-cccccc"
	writeStream(t, dir, s3, "calls", []streamrows.Row{callRow("c4", t0, "fourth", t0.Add(48*time.Hour), s3)})
	res, err = w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 1 || res.FilesSkipped != 6 || res.Streams["calls"].Inserted != 1 {
		t.Fatalf("third load: %+v %+v", res, res.Streams["calls"])
	}
}

func TestTimestampsAreUTC(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := "20260301T100000Z-aaaaaa"
	writeStream(t, dir, s, "calls", []streamrows.Row{callRow("c1", time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), "x", t0, s)})
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()
	if _, err := w.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := w.Query(ctx, "SELECT typeof(started_at) AS ty, strftime(started_at, '%Y-%m-%d %H:%M') AS s FROM chorus_raw.calls")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0]["ty"] != "TIMESTAMP" || rows[0]["s"] != "2026-03-01 23:30" {
		t.Fatalf("started_at stored as %v", rows[0])
	}
}

func TestNewestExtractedAtWins(t *testing.T) {
	ctx := context.Background()
	older, newer := t0, t0.Add(time.Hour)
	// File names sort a < b; a holds the newer version of c1.
	a, b := "20260301T100000Z-aaaaaa", "20260302T100000Z-bbbbbb"
	cases := []struct {
		name  string
		split bool // load a, then b, in separate loads
	}{{"one batch", false}, {"two loads", true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeStream(t, dir, a, "calls", []streamrows.Row{callRow("c1", t0, "newer", newer, a)})
			w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
			defer w.Close()
			if tc.split {
				if _, err := w.Load(ctx, dir, nil); err != nil {
					t.Fatal(err)
				}
			}
			// b: an older version of c1, and two versions of c2 with the same
			// _extracted_at: the later row in the file wins.
			writeStream(t, dir, b, "calls", []streamrows.Row{
				callRow("c1", t0, "older", older, b), callRow("c2", t0, "tie first", older, b), callRow("c2", t0, "tie second", older, b)})
			if _, err := w.Load(ctx, dir, nil); err != nil {
				t.Fatal(err)
			}
			rows, err := w.Query(ctx, "SELECT call_id, title FROM chorus_raw.calls ORDER BY call_id")
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(rows); got != "[map[call_id:c1 title:newer] map[call_id:c2 title:tie second]]" {
				t.Fatalf("got %s", got)
			}
		})
	}
}

func TestStateCommittedWithLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	path := filepath.Join(t.TempDir(), "w.duckdb")
	w := openDuck(t, path, Options{})
	if st, err := w.State(ctx); err != nil || st != nil {
		t.Fatalf("fresh state = %q, %v", st, err)
	}
	if _, err := w.Load(ctx, dir, []byte(`{"version":1,"n":1}`)); err != nil {
		t.Fatal(err)
	}
	// A load without state keeps the stored one; with state replaces it.
	if _, err := w.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w = openDuck(t, path, Options{})
	defer w.Close()
	if st, _ := w.State(ctx); string(st) != `{"version":1,"n":1}` {
		t.Fatalf("state = %s", st)
	}
	res, err := w.Load(ctx, dir, []byte(`{"version":1,"n":2}`))
	if err != nil || !res.StateStored {
		t.Fatal(res, err)
	}
	if st, _ := w.State(ctx); string(st) != `{"version":1,"n":2}` {
		t.Fatalf("state = %s", st)
	}

	// A failed load stores no state either.
	w2 := openDuck(t, filepath.Join(t.TempDir(), "w2.duckdb"), Options{failpoint: func(p string) error {
		if p == "before-commit" {
			return errors.New("injected")
		}
		return nil
	}})
	defer w2.Close()
	if _, err := w2.Load(ctx, dir, []byte(`{"version":1}`)); err == nil {
		t.Fatal("no error")
	}
	if st, _ := w2.State(ctx); st != nil {
		t.Fatalf("state after failed load: %s", st)
	}
}

// TestInjectedFailure fails a load between staging and merge, and between
// streams, and checks the rerun gives the same tables as a clean load.
func TestInjectedFailure(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	clean := openDuck(t, filepath.Join(t.TempDir(), "clean.duckdb"), Options{})
	defer clean.Close()
	if _, err := clean.Load(ctx, dir, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean)

	for _, point := range []string{"staged:calls", "staged:utterances", "merged:utterances", "before-commit"} {
		t.Run(point, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.duckdb")
			w := openDuck(t, path, Options{failpoint: func(p string) error {
				if p == point {
					return errors.New("injected failure")
				}
				return nil
			}})
			if _, err := w.Load(ctx, dir, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "injected") {
				t.Fatalf("err = %v", err)
			}
			if n := count(t, w, "SELECT count(*) FROM chorus_raw._chorus_loads"); n != 0 {
				t.Fatalf("ledger has %d rows after a failed load", n)
			}
			if n := count(t, w, "SELECT count(*) FROM chorus_raw.calls"); n != 0 {
				t.Fatalf("calls has %d rows after a failed load", n)
			}
			w.Close()
			w = openDuck(t, path, Options{})
			defer w.Close()
			if _, err := w.Load(ctx, dir, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, w); got != want {
				t.Fatalf("resumed load differs from clean load:\n%s\n---\n%s", got, want)
			}
		})
	}
}

// TestCrashMidLoad SIGKILLs a child process in the middle of a load (after
// some streams were merged, before commit) and checks that the rerun yields
// exactly the tables of a clean load, with every file in the ledger once.
func TestCrashMidLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	clean := openDuck(t, filepath.Join(t.TempDir(), "clean.duckdb"), Options{})
	defer clean.Close()
	if _, err := clean.Load(ctx, dir, []byte(`{"crashed":true}`)); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean)

	path := filepath.Join(t.TempDir(), "w.duckdb")
	// A first, complete load of part of the data, so the crash hits a
	// database with content.
	part := t.TempDir()
	writeStream(t, part, "20260301T100000Z-aaaaaa", "calls", []streamrows.Row{callRow("c1", t0, "first", t0, "20260301T100000Z-aaaaaa")})
	w := openDuck(t, path, Options{})
	if _, err := w.Load(ctx, part, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=crash-load", "WAREHOUSE_TEST_DB="+path, "WAREHOUSE_TEST_DIR="+dir, "WAREHOUSE_TEST_POINT=merged:utterances")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}

	w = openDuck(t, path, Options{})
	defer w.Close()
	if st, _ := w.State(ctx); st != nil {
		t.Fatalf("crashed load left state %s", st)
	}
	res, err := w.Load(ctx, dir, []byte(`{"crashed":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 6 {
		t.Errorf("resumed load applied %d files", res.FilesLoaded)
	}
	if got := dump(t, w); got != want {
		t.Fatalf("after crash + rerun:\n%s\n--- want ---\n%s", got, want)
	}
	if n := count(t, w, "SELECT count(*) FROM chorus_raw._chorus_loads"); n != 7 {
		t.Errorf("ledger has %d rows, want 7", n)
	}
}

func TestSchemaAddition(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := "20260301T100000Z-aaaaaa"
	writeStream(t, dir, s1, "calls", []streamrows.Row{callRow("c1", t0, "old", t0, s1)})
	writeArrowFile(t, filepath.Join(dir, "calls", "20260302T100000Z-bbbbbb-0000.parquet"),
		modifiedCallsSchema("sentiment_score", arrow.PrimitiveTypes.Float64), func(b *array.RecordBuilder) {
			fillCall(b, "c2", "new", t0.Add(time.Hour), "sentiment_score", 0.75)
		})
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()
	res, err := w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Streams["calls"].AddedColumns; fmt.Sprint(got) != "[sentiment_score]" {
		t.Errorf("added columns %v", got)
	}
	rows, err := w.Query(ctx, "SELECT call_id, sentiment_score, typeof(sentiment_score) AS ty FROM chorus_raw.calls ORDER BY call_id")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows); got != "[map[call_id:c1 sentiment_score:<nil> ty:DOUBLE] map[call_id:c2 sentiment_score:0.75 ty:DOUBLE]]" {
		t.Fatalf("got %s", got)
	}
}

func TestTypeConflict(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()
	if _, err := w.Load(ctx, dir, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	before := dump(t, w)
	// A new batch: one good utterances file, then calls with a conflict.
	s := "20260309T100000Z-dddddd"
	writeStream(t, dir, s, "utterances", uttRows("c9", 5, "x", t0.Add(100*time.Hour), s))
	writeArrowFile(t, filepath.Join(dir, "calls", s+"-0000.parquet"),
		modifiedCallsSchema("duration_seconds", arrow.BinaryTypes.String), func(b *array.RecordBuilder) {
			fillCall(b, "c1", "changed", t0.Add(100*time.Hour), "duration_seconds", "thirty minutes")
		})
	_, err := w.Load(ctx, dir, []byte(`{"n":2}`))
	var ce *SchemaConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"chorus_raw.calls", "duration_seconds", "DOUBLE", "VARCHAR", "Fix:", "ALTER TABLE", "calls/" + s + "-0000.parquet"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if after := dump(t, w); after != before {
		t.Fatalf("a failed load changed the tables")
	}
	if st, _ := w.State(ctx); string(st) != `{"n":1}` {
		t.Fatalf("state changed to %s", st)
	}
	if n := count(t, w, "SELECT count(*) FROM chorus_raw._chorus_loads"); n != 6 {
		t.Errorf("ledger has %d rows", n)
	}
}

func TestLockedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=hold-lock", "WAREHOUSE_TEST_DB="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("child said %q", line)
	}
	_, err = Open(context.Background(), "duckdb:"+path, Options{})
	if err == nil {
		t.Fatal("opened a locked database")
	}
	for _, want := range []string{path, "locked by another process"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(blocker, "sub", "w.duckdb")
	_, err := Open(context.Background(), "duckdb:"+path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v", err)
	}
}

func TestLoadMissingDir(t *testing.T) {
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer w.Close()
	if _, err := w.Load(context.Background(), filepath.Join(t.TempDir(), "nope"), nil); err == nil {
		t.Fatal("no error")
	}
}

// BenchmarkLoadUtterances loads 200,000 utterance rows (20 files of 10,000)
// into a fresh DuckDB file per iteration and reports rows/s.
func BenchmarkLoadUtterances(b *testing.B) {
	dir := b.TempDir()
	const files, perFile = 20, 10000
	for i := 0; i < files; i++ {
		s := fmt.Sprintf("20260301T1000%02dZ-bench0", i)
		var rows []streamrows.Row
		for c := 0; c < perFile/200; c++ {
			rows = append(rows, uttRows(fmt.Sprintf("call-%02d-%03d", i, c), 200, "benchmark utterance text of moderate length", t0, s)...)
		}
		writeStream(b, dir, s, "utterances", rows)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := openDuck(b, filepath.Join(b.TempDir(), "bench.duckdb"), Options{})
		start := time.Now()
		res, err := w.Load(ctx, dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Streams["utterances"].RowsRead)/time.Since(start).Seconds(), "rows/s")
		w.Close()
	}
}

// TestFailureInLaterBatch: a load is applied one extract commit at a time.
// A failure in the second batch leaves the first applied and in the ledger,
// and no state stored; the rerun applies the rest once and ends with the
// tables of a clean load.
func TestFailureInLaterBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir) // two syncs: two batches
	clean := openDuck(t, filepath.Join(t.TempDir(), "clean.duckdb"), Options{})
	defer clean.Close()
	if _, err := clean.Load(ctx, dir, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	want := dump(t, clean)

	path := filepath.Join(t.TempDir(), "w.duckdb")
	commits := 0
	w := openDuck(t, path, Options{failpoint: func(p string) error {
		if p == "before-commit" {
			if commits++; commits == 2 {
				return errors.New("injected failure")
			}
		}
		return nil
	}})
	if _, err := w.Load(ctx, dir, []byte(`{"v":1}`)); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("err = %v", err)
	}
	if n := count(t, w, "SELECT count(*) FROM chorus_raw._chorus_loads"); n != 3 {
		t.Fatalf("ledger has %d files after the first batch, want 3", n)
	}
	if st, _ := w.State(ctx); st != nil {
		t.Fatalf("state stored before the last batch: %s", st)
	}
	w.Close()
	w = openDuck(t, path, Options{})
	defer w.Close()
	res, err := w.Load(ctx, dir, []byte(`{"v":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 3 || res.FilesSkipped != 3 {
		t.Fatalf("rerun loaded %d and skipped %d files, want 3 and 3", res.FilesLoaded, res.FilesSkipped)
	}
	if got := dump(t, w); got != want {
		t.Fatalf("resumed load differs from clean load:\n%s\n---\n%s", got, want)
	}
	if st, _ := w.State(ctx); string(st) != `{"v":1}` {
		t.Fatalf("state after the rerun: %s", st)
	}
}

// The memory limit reaches DuckDB: 1GB (DuckDB's GB is 1000³ bytes) shows
// as 953.6 MiB, the default 96MB as 91.5 MiB; a size DuckDB cannot read
// is refused before DuckDB sees it.
func TestMemoryLimit(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.duckdb")
	for _, tc := range []struct{ limit, want string }{{"1GB", "953.6 MiB"}, {"", "91.5 MiB"}, {"512MiB", "512.0 MiB"}} {
		w := openDuck(t, path, Options{DuckDBMemoryLimit: tc.limit})
		rows, err := w.Query(ctx, "SELECT current_setting('memory_limit') AS m")
		w.Close()
		if err != nil || rows[0]["m"] != tc.want {
			t.Errorf("memory limit %q: memory_limit %v (%v), want %s", tc.limit, rows, err, tc.want)
		}
	}
	var oe *OptionError
	if _, err := Open(ctx, "duckdb:"+path, Options{DuckDBMemoryLimit: "lots"}); !errors.As(err, &oe) || !strings.Contains(err.Error(), `"lots"`) {
		t.Fatalf("a bad memory limit must be an OptionError naming it: %v", err)
	}
}
