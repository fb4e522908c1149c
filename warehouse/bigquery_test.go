package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse/bqtest"
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

// TestBigQueryEmulatorMatchesDuckDB loads the same files into the BigQuery
// emulator and DuckDB (the
// fixture's two syncs, plus a third with a row per stream that sets every
// column and one that leaves every nullable column NULL) and compares every
// raw table row for row, every column, sorted by the stream key. The only
// differences allowed are the documented ones (sameValue): float rounding
// (1e-9, relative), timestamp precision (both store microseconds: compared
// as UTC instants truncated to the microsecond), a NULL list read back as an
// empty one (BigQuery: "an ARRAY cannot be NULL", a NULL array is written as
// an empty one), a JSON column compared as the value it encodes (DuckDB's
// driver hands it back decoded, BigQuery as text), and Go's integer widths
// (DuckDB INTEGER vs BigQuery INT64).
func TestBigQueryEmulatorMatchesDuckDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	fixture(t, dir)
	everyColumn(t, dir, "20260303T100000Z-cccccc", t0.Add(48*time.Hour))
	w := openEmulator(t, bqtest.Start(t, emuProject), "chorus", Options{})
	if _, err := w.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	dk := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	defer dk.Close()
	if _, err := dk.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	values := 0
	for _, st := range schemas.All() {
		cols, duckRows, err := dk.QueryTable(ctx, fmt.Sprintf("SELECT * FROM chorus_raw.%s", st.Name))
		if err != nil {
			t.Fatal(err)
		}
		bqCols, bqRows, err := w.QueryTable(ctx, fmt.Sprintf("SELECT * FROM %s", w.table(st.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(cols) != fmt.Sprint(bqCols) {
			t.Errorf("%s: columns differ:\nduckdb   %v\nbigquery %v", st.Name, cols, bqCols)
			continue
		}
		duck, bq := rowsByKey(t, st, "duckdb", duckRows), rowsByKey(t, st, "bigquery", bqRows)
		if len(duck) == 0 {
			t.Errorf("%s: no rows to compare", st.Name)
		}
		keys := map[string]bool{}
		for k := range duck {
			keys[k] = true
		}
		for k := range bq {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			a, b := duck[k], bq[k]
			switch {
			case a == nil:
				t.Errorf("%s %s: only in BigQuery: %v", st.Name, k, renderRow(b))
				continue
			case b == nil:
				t.Errorf("%s %s: only in DuckDB: %v", st.Name, k, renderRow(a))
				continue
			}
			for _, c := range st.Columns {
				values++
				if !sameValue(c.Type, a[c.Name], b[c.Name]) {
					t.Errorf("%s %s: %s is %#v in DuckDB, %#v in BigQuery", st.Name, k, c.Name, a[c.Name], b[c.Name])
				}
			}
		}
	}
	if values < 500 {
		t.Fatalf("compared only %d values", values)
	}
}

// everyColumn writes, for every stream, a file of one sync with two rows:
// the first sets every column (a value of its type, unique per column), the
// second leaves every nullable non-key column NULL. A call's child rows
// share its call_id; its _child_streams lists real child streams.
func everyColumn(t *testing.T, dir, syncID string, extracted time.Time) {
	t.Helper()
	for _, st := range schemas.All() {
		var rows []streamrows.Row
		for i := range 2 {
			r := streamrows.Row{}
			for j, c := range st.Columns {
				switch {
				case c.Name == schemas.ExtractedAt: // the lineage is never NULL
					r[c.Name] = extracted
				case c.Name == schemas.SyncID:
					r[c.Name] = syncID
				case i == 1 && c.Nullable && !slices.Contains(st.Key, c.Name):
				case c.Name == "_child_streams":
					r[c.Name] = []string{"utterances", "action_items"}
				default:
					r[c.Name] = sampleValue(c, i, j)
				}
			}
			rows = append(rows, r)
		}
		writeStream(t, dir, syncID, st.Name, rows)
	}
}

// sampleValue is a value of c's type for row i, column j.
func sampleValue(c schemas.Column, i, j int) any {
	switch c.Type {
	case schemas.Integer:
		return int64(1000*i + j)
	case schemas.Number:
		return float64(i+1)/3 + float64(j) // not exact in binary
	case schemas.Boolean:
		return (i+j)%2 == 0
	case schemas.Timestamp:
		return t0.Add(time.Duration(i)*time.Hour + time.Duration(j)*time.Minute + 123456*time.Microsecond)
	case schemas.Date:
		return time.Date(2026, 3, 1+i, 0, 0, 0, 0, time.UTC).AddDate(0, 0, j)
	case schemas.JSON:
		return fmt.Sprintf(`{"row": %d, "col": %q, "list": [1, 2.5, "x"]}`, i, c.Name)
	case schemas.IntList:
		return []int64{int64(i), int64(j), -1}
	case schemas.StrList:
		return []string{fmt.Sprintf("%s-%d", c.Name, i), "é ü"}
	default:
		return fmt.Sprintf("%s-%d", c.Name, i)
	}
}

// rowsByKey indexes rows by their stream key, failing on a repeated key.
func rowsByKey(t *testing.T, st *schemas.Stream, where string, rows []map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range rows {
		parts := make([]string, len(st.Key))
		for i, k := range st.Key {
			v := r[k]
			switch x := v.(type) {
			case int32:
				v = int64(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			parts[i] = fmt.Sprint(v)
		}
		k := "(" + strings.Join(parts, ", ") + ")"
		if out[k] != nil {
			t.Errorf("%s: %s key %s twice", where, st.Name, k)
		}
		out[k] = r
	}
	return out
}

// sameValue compares a DuckDB and a BigQuery value of a column of type
// typ, allowing only the documented differences (see
// TestBigQueryEmulatorMatchesDuckDB).
func sameValue(typ schemas.Type, a, b any) bool {
	a, b = normValue(typ, a), normValue(typ, b)
	switch typ {
	case schemas.IntList, schemas.StrList:
		la, _ := a.([]any)
		lb, _ := b.([]any)
		if (a != nil && la == nil) || (b != nil && lb == nil) || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !sameValue(map[schemas.Type]schemas.Type{schemas.IntList: schemas.Integer, schemas.StrList: schemas.String}[typ], la[i], lb[i]) {
				return false
			}
		}
		return true
	case schemas.JSON:
		return reflect.DeepEqual(a, b)
	}
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return a == b
}

// normValue brings a scanned value to one Go type per column type.
func normValue(typ schemas.Type, v any) any {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Truncate(time.Microsecond)
	case string:
		if typ == schemas.Date {
			if d, err := time.Parse(time.DateOnly, x); err == nil {
				return d
			}
		}
		if typ == schemas.JSON {
			var j any
			if json.Unmarshal([]byte(x), &j) == nil {
				return j
			}
		}
	case []int64:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case []bigquery.Value:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out
	case civil.Date:
		return x.In(time.UTC)
	}
	switch {
	case v == nil && (typ == schemas.IntList || typ == schemas.StrList):
		return []any{}
	case v != nil && typ == schemas.JSON:
		// DuckDB hands a JSON column back decoded: the same value once
		// through encoding/json.
		var j any
		if b, err := json.Marshal(v); err == nil && json.Unmarshal(b, &j) == nil {
			return j
		}
	}
	return v
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
