package warehouse

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chorus-elt/chorus-elt/connector/parquet"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// Child-process modes: the test binary re-executes itself to crash in the
// middle of a load, or to hold the DuckDB file lock.
const childEnv = "WAREHOUSE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "crash-load":
		os.Exit(childCrashLoad(os.Getenv("WAREHOUSE_TEST_DB"), os.Getenv("WAREHOUSE_TEST_DIR"), os.Getenv("WAREHOUSE_TEST_POINT")))
	case "hold-lock":
		os.Exit(childHoldLock(os.Getenv("WAREHOUSE_TEST_DB")))
	}
	os.Exit(m.Run())
}

// childCrashLoad loads dir into db and SIGKILLs itself at the named point.
func childCrashLoad(db, dir, point string) int {
	ctx := context.Background()
	opt := Options{failpoint: func(p string) error {
		if p == point {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
		return nil
	}}
	w, err := Open(ctx, "duckdb:"+db, opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := w.Load(ctx, dir, []byte(`{"crashed":true}`)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0 // the failpoint was never reached
}

// childHoldLock opens db, says "ready" and waits to be killed.
func childHoldLock(db string) int {
	w, err := Open(context.Background(), "duckdb:"+db, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer w.Close()
	fmt.Println("ready")
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	select {
	case <-ch:
	case <-time.After(2 * time.Minute):
	}
	return 0
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// writeStream writes rows of one stream as one Parquet file through the
// connector's own sink, named <syncID>-0000.parquet.
func writeStream(t testing.TB, dir, syncID, stream string, rows []streamrows.Row) string {
	t.Helper()
	sink, err := parquet.NewSink(dir, syncID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range rows {
		if err := sink.Write(ctx, stream, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(sink.Files) != 1 {
		t.Fatalf("wrote %d files", len(sink.Files))
	}
	return sink.Files[0]
}

func callRow(id string, started time.Time, title string, extracted time.Time, sync string) streamrows.Row {
	return streamrows.Row{"call_id": id, "title": title, "started_at": started, "duration_seconds": 1800.5,
		"no_show": false, "owner_user_id": int64(7), "_extracted_at": extracted, "_sync_id": sync, "_extra": `{"x":1}`}
}

func uttRows(call string, n int, text string, extracted time.Time, sync string) []streamrows.Row {
	rows := make([]streamrows.Row, n)
	for i := range rows {
		rows[i] = streamrows.Row{"call_id": call, "utterance_index": int64(i), "speaker_id": int64(i % 3),
			"speaker_type": "rep", "start_seconds": float64(i) * 4.5, "duration_seconds": 4.0,
			"spoken_at": t0.Add(time.Duration(i) * time.Second), "word_count": int64(12),
			"text": fmt.Sprintf("%s %s #%d", text, call, i), "engaging": i%5 == 0,
			"_extracted_at": extracted, "_sync_id": sync}
	}
	return rows
}

func teamRow(id string, users []int64, extracted time.Time, sync string) streamrows.Row {
	return streamrows.Row{"team_id": id, "name": "Team " + id, "user_ids": users, "_extracted_at": extracted, "_sync_id": sync}
}

// fixture writes a small multi-stream extract: two syncs, where the second
// re-extracts some keys with newer content.
func fixture(t testing.TB, dir string) {
	t.Helper()
	s1, s2 := "20260301T100000Z-aaaaaa", "20260302T100000Z-bbbbbb"
	e1, e2 := t0, t0.Add(24*time.Hour)
	writeStream(t, dir, s1, "calls", []streamrows.Row{
		callRow("c1", t0, "first", e1, s1), callRow("c2", t0.Add(time.Hour), "second", e1, s1)})
	writeStream(t, dir, s2, "calls", []streamrows.Row{
		callRow("c2", t0.Add(time.Hour), "second v2", e2, s2), callRow("c3", t0.Add(48*time.Hour), "third", e2, s2)})
	writeStream(t, dir, s1, "utterances", append(uttRows("c1", 50, "hello", e1, s1), uttRows("c2", 30, "hi", e1, s1)...))
	writeStream(t, dir, s2, "utterances", uttRows("c2", 40, "hi v2", e2, s2))
	writeStream(t, dir, s1, "teams", []streamrows.Row{teamRow("t1", []int64{1, 2}, e1, s1)})
	writeStream(t, dir, s2, "teams", []streamrows.Row{teamRow("t1", []int64{1, 2, 3}, e2, s2), teamRow("t2", nil, e2, s2)})
}

// dump renders every raw table, sorted by key, as text for comparison.
func dump(t testing.TB, w Warehouse) string {
	t.Helper()
	var b strings.Builder
	for _, st := range schemas.All() {
		rows, err := w.Query(context.Background(), fmt.Sprintf("SELECT * FROM %s.%s ORDER BY %s", w.RawSchema(), st.Name, strings.Join(st.Key, ", ")))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "## %s (%d)\n", st.Name, len(rows))
		for _, r := range rows {
			b.WriteString(renderRow(r))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func renderRow(r map[string]any) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, r[k])
	}
	return strings.Join(parts, " ")
}

func count(t testing.TB, w Warehouse, q string) int64 {
	t.Helper()
	rows, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range rows[0] {
		switch x := v.(type) {
		case int64:
			return x
		case int32:
			return int64(x)
		}
		t.Fatalf("count: %T", v)
	}
	return -1
}

func openDuck(t testing.TB, path string, opt Options) Warehouse {
	t.Helper()
	w, err := Open(context.Background(), "duckdb:"+path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// writeArrowFile writes a Parquet file with an arbitrary Arrow schema, for
// files the connector would not write (extra columns, other types).
func writeArrowFile(t testing.TB, path string, schema *arrow.Schema, fill func(b *array.RecordBuilder)) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// modifiedCallsSchema is the calls Arrow schema with one column changed
// (typ != nil) or appended (when name is new).
func modifiedCallsSchema(name string, typ arrow.DataType) *arrow.Schema {
	base := schemas.Get("calls").Arrow()
	fields := base.Fields()
	found := false
	for i := range fields {
		if fields[i].Name == name {
			fields[i].Type = typ
			found = true
		}
	}
	if !found {
		fields = append(fields, arrow.Field{Name: name, Type: typ, Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// fillCall appends one calls row to b, nulls except key, title, lineage and
// the given column value.
func fillCall(b *array.RecordBuilder, id, title string, extracted time.Time, col string, val any) {
	for i, f := range b.Schema().Fields() {
		fb := b.Field(i)
		switch {
		case f.Name == "call_id":
			fb.(*array.StringBuilder).Append(id)
		case f.Name == "title":
			fb.(*array.StringBuilder).Append(title)
		case f.Name == "_extracted_at":
			fb.(*array.TimestampBuilder).Append(arrow.Timestamp(extracted.UnixMicro()))
		case f.Name == col:
			switch x := val.(type) {
			case string:
				fb.(*array.StringBuilder).Append(x)
			case float64:
				fb.(*array.Float64Builder).Append(x)
			case int64:
				fb.(*array.Int64Builder).Append(x)
			case time.Time:
				fb.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
			}
		default:
			fb.AppendNull()
		}
	}
}
