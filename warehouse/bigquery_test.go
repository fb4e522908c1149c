package warehouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chorus-elt/chorus-elt/schemas"
)

var allStreams = schemas.Names()

func openBQDouble(t *testing.T, d *bqDouble, opt Options) Warehouse {
	t.Helper()
	opt.ClientOptions = d.options()
	opt.Location = "EU"
	w, err := Open(context.Background(), "bigquery:proj.chorus", opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestBigQueryLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	d := newBQDouble(t)
	w := openBQDouble(t, d, Options{})
	if w.Dialect() != "bigquery" || w.RawSchema() != "proj.chorus_raw" || w.ModelSchema() != "proj.chorus" {
		t.Fatalf("names: %s %s %s", w.Dialect(), w.RawSchema(), w.ModelSchema())
	}
	if d.datasets["chorus_raw"] == nil || d.datasets["chorus"] == nil || d.datasets["chorus"].Location != "EU" {
		t.Fatalf("datasets: %v", d.datasets)
	}
	calls := d.tables["chorus_raw.calls"].meta
	if calls.TimePartitioning == nil || calls.TimePartitioning.Field != "started_at" || calls.Clustering == nil || calls.Clustering.Fields[0] != "call_id" {
		t.Fatalf("calls layout: %+v %+v", calls.TimePartitioning, calls.Clustering)
	}
	teams := d.tables["chorus_raw.teams"].meta.Schema.Fields
	if f := teams[len(teams)-4]; f.Name != "user_ids" || f.Mode != "REPEATED" || f.Type != "INTEGER" {
		t.Fatalf("teams.user_ids: %+v", f)
	}
	if st, err := w.State(ctx); err != nil || st != nil {
		t.Fatalf("fresh state %q %v", st, err)
	}

	res, err := w.Load(ctx, dir, []byte(`{"version":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 6 || !res.StateStored || res.Streams["utterances"].Inserted != 90 || res.Streams["calls"].Inserted != 3 {
		t.Fatalf("load: %+v %+v", res, res.Streams["utterances"])
	}
	first := d.rawDump("chorus_raw", allStreams...)
	for _, want := range []string{"title=second v2", "text=hi v2 c2 #39", "user_ids=[1 2 3]", "## calls (3)", "## utterances (90)"} {
		if !strings.Contains(first, want) {
			t.Errorf("tables lack %q", want)
		}
	}
	if strings.Contains(first, "text=hi c2") {
		t.Errorf("older utterance version survived")
	}
	for _, lj := range d.LoadJobs {
		if lj.SourceFormat == "PARQUET" && !strings.HasPrefix(lj.DestinationTable.TableId, "_chorus_stage_") {
			t.Errorf("Parquet loaded straight into %s", lj.DestinationTable.TableId)
		}
	}
	for k := range d.tables {
		if strings.Contains(k, "_chorus_stage_") {
			t.Errorf("staging table %s left behind", k)
		}
	}
	if st, err := w.State(ctx); err != nil || string(st) != `{"version":1}` {
		t.Fatalf("state %q %v", st, err)
	}

	jobs := len(d.LoadJobs)
	res, err = w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 0 || res.FilesSkipped != 6 || len(d.LoadJobs) != jobs {
		t.Fatalf("reload: %+v, %d new load jobs", res, len(d.LoadJobs)-jobs)
	}
	if again := d.rawDump("chorus_raw", allStreams...); again != first {
		t.Fatal("reload changed the tables")
	}
	if n := len(d.tables["chorus_raw._chorus_loads"].rows); n != 6 {
		t.Fatalf("ledger has %d rows", n)
	}
}

// TestBigQueryMatchesDuckDB loads the same files into both warehouses and
// compares the calls and teams contents.
func TestBigQueryMatchesDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	d := newBQDouble(t)
	w := openBQDouble(t, d, Options{})
	if _, err := w.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	dk := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer dk.Close()
	if _, err := dk.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"calls", "utterances", "teams"} {
		rows, err := dk.Query(ctx, fmt.Sprintf("SELECT count(*) AS n, string_agg(%s || ':' || _sync_id, ',' ORDER BY %s) AS k FROM chorus_raw.%s",
			schemas.Get(st).Key[len(schemas.Get(st).Key)-1], strings.Join(schemas.Get(st).Key, ","), st))
		if err != nil {
			t.Fatal(err)
		}
		if n := int(rows[0]["n"].(int64)); n != len(d.tables["chorus_raw."+st].rows) {
			t.Errorf("%s: duckdb %d rows, bigquery %d", st, n, len(d.tables["chorus_raw."+st].rows))
		}
	}
}

func TestBigQueryResume(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	clean := newBQDouble(t)
	if _, err := openBQDouble(t, clean, Options{}).Load(ctx, dir, []byte(`{"s":1}`)); err != nil {
		t.Fatal(err)
	}
	want := clean.rawDump("chorus_raw", allStreams...)
	for _, point := range []string{"staged:calls", "staged:utterances", "merged:utterances"} {
		t.Run(point, func(t *testing.T) {
			d := newBQDouble(t)
			w := openBQDouble(t, d, Options{failpoint: func(p string) error {
				if p == point {
					return errors.New("injected failure")
				}
				return nil
			}})
			if _, err := w.Load(ctx, dir, []byte(`{"s":1}`)); err == nil {
				t.Fatal("no error")
			}
			if st, _ := w.State(ctx); st != nil {
				t.Fatalf("state stored by a failed load: %s", st)
			}
			w = openBQDouble(t, d, Options{})
			res, err := w.Load(ctx, dir, []byte(`{"s":1}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.rawDump("chorus_raw", allStreams...); got != want {
				t.Fatalf("resumed load differs:\n%s\n--- want ---\n%s", got, want)
			}
			if n := len(d.tables["chorus_raw._chorus_loads"].rows); n != 6 {
				t.Fatalf("ledger has %d rows (%+v)", n, res)
			}
		})
	}
}

func TestBigQuerySchemaEvolution(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	d := newBQDouble(t)
	w := openBQDouble(t, d, Options{})
	if _, err := w.Load(ctx, dir, []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	writeArrowFile(t, filepath.Join(dir, "calls", "20260305T100000Z-eeeeee-0000.parquet"),
		modifiedCallsSchema("sentiment_score", arrow.PrimitiveTypes.Float64), func(b *array.RecordBuilder) {
			fillCall(b, "c9", "new", t0.Add(100*time.Hour), "sentiment_score", 0.5)
		})
	res, err := w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(res.Streams["calls"].AddedColumns) != "[sentiment_score]" {
		t.Fatalf("added %v", res.Streams["calls"].AddedColumns)
	}
	fields := d.tables["chorus_raw.calls"].meta.Schema.Fields
	if last := fields[len(fields)-1]; last.Name != "sentiment_score" || last.Type != "FLOAT" {
		t.Fatalf("last column %+v", last)
	}
	if dumped := d.rawDump("chorus_raw", "calls"); !strings.Contains(dumped, "sentiment_score=0.5 started_at=<nil> summary=<nil> summary_error=<nil> title=new") {
		t.Fatalf("c9 row: %s", d.rawDump("chorus_raw", "calls"))
	}

	// A conflict stops before any job runs.
	before := d.rawDump("chorus_raw", allStreams...)
	jobs := len(d.LoadJobs) + len(d.Queries)
	writeArrowFile(t, filepath.Join(dir, "calls", "20260306T100000Z-ffffff-0000.parquet"),
		modifiedCallsSchema("duration_seconds", arrow.BinaryTypes.String), func(b *array.RecordBuilder) {
			fillCall(b, "c1", "changed", t0.Add(200*time.Hour), "duration_seconds", "long")
		})
	_, err = w.Load(ctx, dir, []byte(`{"n":2}`))
	var ce *SchemaConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"proj.chorus_raw.calls", "duration_seconds", "FLOAT", "STRING", "Fix:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if len(d.LoadJobs)+len(d.Queries) != jobs || d.rawDump("chorus_raw", allStreams...) != before {
		t.Fatal("a conflicting load wrote something")
	}
	if st, _ := w.State(ctx); string(st) != `{"n":1}` {
		t.Fatalf("state %s", st)
	}
}

// TestBigQueryLive runs a load against a real project when
// BIGQUERY_TEST_PROJECT (and Application Default Credentials) are set. It
// uses a throw-away dataset named chorus_elt_test_<time>.
func TestBigQueryLive(t *testing.T) {
	project := os.Getenv("BIGQUERY_TEST_PROJECT")
	if project == "" {
		t.Skip("set BIGQUERY_TEST_PROJECT (and credentials) to run against BigQuery")
	}
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	ds := fmt.Sprintf("chorus_elt_test_%d", time.Now().Unix())
	w, err := Open(ctx, "bigquery:"+project+"."+ds, Options{Location: os.Getenv("BIGQUERY_TEST_LOCATION")})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	t.Logf("dataset %s.%s_raw (delete it when done)", project, ds)
	if _, err := w.Load(ctx, dir, []byte(`{"live":true}`)); err != nil {
		t.Fatal(err)
	}
	res, err := w.Load(ctx, dir, nil)
	if err != nil || res.FilesSkipped != 6 {
		t.Fatal(res, err)
	}
	rows, err := w.Query(ctx, fmt.Sprintf("SELECT COUNT(*) AS n FROM `%s.utterances`", w.RawSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rows[0]["n"]) != "90" {
		t.Fatalf("utterances: %v", rows)
	}
	if st, _ := w.State(ctx); string(st) != `{"live":true}` {
		t.Fatalf("state %s", st)
	}
}
