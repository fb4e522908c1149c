package connector_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

// readStream reads a stream's Parquet files with the independent reader.
func readStream(t *testing.T, dir, stream string) []map[string]any {
	return testkit.ReadStream(t, dir, stream)
}

// treeContains lists the files under dir that hold s, in raw bytes.
func treeContains(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), s) {
			hits = append(hits, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return hits
}
