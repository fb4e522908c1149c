package transforms_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// transcript_search built in pieces (ranges of call ids, each sorted on its
// own) is the table built whole: the same rows, stored in the same order.
func TestChunkedBuildIsTheWholeBuild(t *testing.T) {
	ctx := context.Background()
	s := syncTenant(t, chorustest.Options{Seed: 5, Calls: 40, Customers: 6,
		Start: tenantEnd.Add(-30 * 24 * time.Hour), End: tenantEnd, Now: tenantEnd.Add(12 * time.Hour)})
	opt := transforms.Options{AsOf: tenantAsOf, Customers: customersOf(s.tenant, nil), ChunkRows: -1}
	stored := func() (string, int) {
		rows := query(t, s.w, "SELECT * FROM chorus.transcript_search")
		var b bytes.Buffer
		for _, r := range rows {
			fmt.Fprintln(&b, r["call_id"], r["utterance_index"], r["customer_id"], r["customer_name"], r["call_title"],
				r["started_at"], r["speaker_name"], r["speaker_type"], r["start_seconds"], r["duration_seconds"], r["text"], r["link"])
		}
		return b.String(), len(rows)
	}
	if _, err := transforms.Run(ctx, s.w, opt); err != nil {
		t.Fatal(err)
	}
	whole, n := stored()
	if n < 500 {
		t.Fatalf("fixture: %d utterances", n)
	}
	// Stored in call order.
	sorted := query(t, s.w, `SELECT count(*) AS n FROM (
  SELECT call_id, utterance_index, lag(call_id) OVER () AS pc, lag(utterance_index) OVER () AS pu FROM chorus.transcript_search)
WHERE pc > call_id OR (pc = call_id AND pu >= utterance_index)`)
	if i64(sorted[0]["n"]) != 0 {
		t.Fatalf("transcript_search built whole is not in call order (%v rows out of place)", sorted[0]["n"])
	}

	var logs bytes.Buffer
	opt.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opt.ChunkRows = n / 7
	res, err := transforms.Run(ctx, s.w, opt)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`msg="built in pieces" model=transcript_search pieces=(\d+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("transcript_search was not built in pieces:\n%s", logs.String())
	}
	if p, _ := strconv.Atoi(m[1]); p < 4 {
		t.Errorf("%d pieces for %d rows of about %d", p, n, opt.ChunkRows)
	}
	if res.Rows["transcript_search"] != n {
		t.Errorf("counted %d rows, want %d", res.Rows["transcript_search"], n)
	}
	if pieces, _ := stored(); pieces != whole {
		t.Errorf("built in pieces, transcript_search differs from the whole build")
	}
	// The transcript command reads the same.
	id := str(query(t, s.w, "SELECT call_id FROM chorus.transcript_search ORDER BY call_id DESC LIMIT 1")[0]["call_id"])
	tr, err := transforms.Transcript(ctx, s.w, id)
	if err != nil || len(tr.Lines) == 0 {
		t.Fatalf("transcript %s: %v", id, err)
	}
}

// A chunked model whose chunk expression is NULL on some rows, built in
// pieces, keeps them (last, as the whole build's ORDER BY puts them).
func TestChunkedBuildKeepsNulls(t *testing.T) {
	ctx := context.Background()
	w := openDuck(t, "nulls.duckdb")
	if err := w.Exec(ctx, `CREATE TABLE chorus_raw.numbers AS
SELECT CASE WHEN i % 7 = 0 THEN NULL ELSE CAST((i * 7919) % 1000 AS VARCHAR) END AS k, i FROM range(3000) AS t(i)`); err != nil {
		t.Fatal(err)
	}
	models := fstest.MapFS{"numbers_sorted.sql": &fstest.MapFile{Data: []byte(`-- model: numbers_sorted
-- version: 1
SELECT k, i
FROM {{ raw("numbers") }}
WHERE i % 5 <> 0 AND {{ chunk(k, {{ raw("numbers") }}, k) }}
ORDER BY k, i`)}}
	stored := func(chunkRows int) string {
		var logs bytes.Buffer
		opt := transforms.Options{AsOf: asOf, Models: models, ChunkRows: chunkRows,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
		if _, err := transforms.Run(ctx, w, opt); err != nil {
			t.Fatal(err)
		}
		if built := bytes.Contains(logs.Bytes(), []byte("built in pieces")); built != (chunkRows > 0) {
			t.Fatalf("ChunkRows %d: built in pieces %v", chunkRows, built)
		}
		return fmt.Sprint(query(t, w, "SELECT k, i FROM chorus.numbers_sorted"))
	}
	whole := stored(-1)
	if pieces := stored(250); pieces != whole {
		t.Fatalf("built in pieces:\n%.300s…\nwhole:\n%.300s…", pieces, whole)
	}
	if n := i64(query(t, w, "SELECT count(*) AS n FROM chorus.numbers_sorted WHERE k IS NULL")[0]["n"]); n == 0 {
		t.Fatal("fixture: no NULL keys")
	}
}
