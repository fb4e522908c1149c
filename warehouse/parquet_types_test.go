package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

// An extract's Parquet files read back in DuckDB with real types, before
// any load: timestamps, doubles, booleans, integers and lists.
func TestExtractParquetTypesInDuckDB(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 21, Calls: 20, Token: "tok", ProcessingDelay: -1})
	doc := fmt.Sprintf(`{"api_token":"tok","base_url":%q,"start_date":%q,"requests_per_second":1000}`,
		srv.URL, tenant.Now().Add(-31*24*time.Hour).Format(time.RFC3339))
	cfg, err := config.Parse([]byte(doc), tenant.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: dir, Now: tenant.Now}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := []struct{ stream, column, typ string }{
		{"calls", "started_at", "TIMESTAMP WITH TIME ZONE"},
		{"calls", "duration_seconds", "DOUBLE"},
		{"calls", "no_show", "BOOLEAN"},
		{"calls", "utterance_count", "BIGINT"},
		{"calls", "call_id", "VARCHAR"},
		{"utterances", "start_seconds", "DOUBLE"},
		{"utterances", "utterance_index", "BIGINT"},
		{"utterances", "engaging", "BOOLEAN"},
		{"teams", "user_ids", "BIGINT[]"},
	}
	for _, w := range want {
		var typ string
		q := fmt.Sprintf(`SELECT column_type FROM (DESCRIBE SELECT * FROM read_parquet('%s')) WHERE column_name = '%s'`,
			filepath.Join(dir, w.stream, "*.parquet"), w.column)
		if err := db.QueryRow(q).Scan(&typ); err != nil {
			t.Fatalf("%s.%s: %v", w.stream, w.column, err)
		}
		if typ != w.typ {
			t.Errorf("%s.%s reads back as %s, want %s", w.stream, w.column, typ, w.typ)
		}
	}
	var calls, utts int
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, filepath.Join(dir, "calls", "*.parquet"))).Scan(&calls); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM read_parquet('%s')`, filepath.Join(dir, "utterances", "*.parquet"))).Scan(&utts); err != nil {
		t.Fatal(err)
	}
	truth := 0
	for _, e := range tenant.RecordedCalls() {
		truth += len(tenant.Utterances(e.ID))
	}
	if calls != len(tenant.RecordedCalls()) || utts != truth {
		t.Fatalf("DuckDB reads %d calls / %d utterances; the tenant has %d / %d", calls, utts, len(tenant.RecordedCalls()), truth)
	}
}
