// Package testkit holds what tests of several packages share: the simulated
// tenant served for a test, an independent Parquet reader, the recorded API
// fixtures and a test configuration. It imports testing, so it is never part
// of the binary.
package testkit

import (
	"encoding/json"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xitongsys/parquet-go-source/local"
	"github.com/xitongsys/parquet-go/reader"
)

// ReadParquet decodes every row of a Parquet file with xitongsys/parquet-go,
// a reader independent of the arrow-go writer the connector uses, so that
// tests check what was written through a second implementation. Column
// names come back as written (call_id, _extra); timestamps as microseconds
// since the epoch, numbers as float64 (the rows go through JSON).
func ReadParquet(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	fr, err := local.NewLocalFileReader(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fr.Close()
	pr, err := reader.NewParquetReader(fr, nil, 1)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	defer pr.ReadStop()
	rows, err := pr.ReadByNumber(int(pr.GetNumRows()))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		tb.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		tb.Fatal(err)
	}
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		m := map[string]any{}
		for k, v := range r {
			// parquet-go exports names: Call_id → call_id, PARGO_PREFIX__extra → _extra.
			k = strings.TrimPrefix(k, "PARGO_PREFIX_")
			m[strings.ToLower(k[:1])+k[1:]] = v
		}
		out = append(out, m)
	}
	return out
}

// ReadStream reads every committed Parquet file of a stream under dir
// (dir/<stream>/*.parquet), in file name order.
func ReadStream(tb testing.TB, dir, stream string) []map[string]any {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, stream, "*.parquet"))
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(files)
	var out []map[string]any
	for _, f := range files {
		out = append(out, ReadParquet(tb, f)...)
	}
	return out
}
