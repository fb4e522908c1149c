package connector_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/xitongsys/parquet-go-source/local"
	"github.com/xitongsys/parquet-go/reader"
)

// readStream reads every committed Parquet file of a stream under dir with
// xitongsys/parquet-go, an implementation independent of the arrow-go
// writer, so that what we wrote is checked by a second reader.
func readStream(t *testing.T, dir, stream string) []map[string]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, stream, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []map[string]any
	for _, f := range files {
		out = append(out, readParquetFile(t, f)...)
	}
	return out
}

func readParquetFile(t *testing.T, path string) []map[string]any {
	t.Helper()
	fr, err := local.NewLocalFileReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	pr, err := reader.NewParquetReader(fr, nil, 1)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pr.ReadStop()
	rows, err := pr.ReadByNumber(int(pr.GetNumRows()))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
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

// fileContains reports whether any file under dir holds s, in raw bytes.
func treeContains(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), s) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}
