package streamrows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// testBatch is a batch of every stream, as the sync builds them.
func testBatch() *Batch {
	return NewBatch(nil, "s", func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) })
}

// batchRows ends b and returns its rows, by stream, as maps; a row that
// broke its schema fails the test.
func batchRows(t testing.TB, b *Batch) map[string][]Row {
	t.Helper()
	recs, err := b.Records()
	if err != nil {
		t.Fatalf("rows: %v", err)
	}
	out := map[string][]Row{}
	for _, r := range recs {
		if !r.Rec.Schema().Equal(schemas.Get(r.Stream).Arrow()) {
			t.Fatalf("%s: record schema %s", r.Stream, r.Rec.Schema())
		}
		out[r.Stream] = append(out[r.Stream], RowsOf(r.Rec)...)
		r.Rec.Release()
	}
	return out
}

// The row-writing API: values land in their columns, unset nullable columns
// are null, lineage columns are filled, records come out per stream in the
// order the streams were first written, and a row that breaks the schema
// fails the batch.
func TestBatch(t *testing.T) {
	b := NewBatch(func(s string) bool { return s != "participants" }, "sync-1",
		func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 123456789, time.FixedZone("x", 3600)) })
	if b.row(sParticipants) != nil {
		t.Fatal("an unselected stream has a builder")
	}
	r := b.row(sUtterances)
	start, count := 1.5, int64(3)
	r.Str(colUtt.CallID, "C1")
	r.Int(colUtt.UtteranceIndex, 0)
	r.FloatP(colUtt.StartSeconds, &start)
	r.IntP(colUtt.WordCount, &count)
	r.NullStr(colUtt.SpeakerName, "")
	r.Str(colUtt.Text, "bad \xff utf-8")
	r.End()
	r.Str(colUtt.CallID, "C1")
	r.Int(colUtt.UtteranceIndex, 1)
	r.End()
	c := b.row(sCalls)
	c.Str(colCalls.CallID, "C1")
	c.Strs(colCalls.ChildStreams, nil)
	c.End()
	rows := batchRows(t, b)
	if len(rows) != 2 || len(rows["utterances"]) != 2 || len(rows["calls"]) != 1 {
		t.Fatalf("rows: %v", rows)
	}
	u := rows["utterances"][0]
	at := time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC)
	if u["call_id"] != "C1" || u["utterance_index"] != int64(0) || u["start_seconds"] != 1.5 || u["word_count"] != int64(3) ||
		u["speaker_name"] != nil || u["text"] != "bad \uFFFD utf-8" || u["_sync_id"] != "sync-1" || !u["_extracted_at"].(time.Time).Equal(at) {
		t.Errorf("utterance row: %v", u)
	}
	if len(u) != len(schemas.Get("utterances").Columns) {
		t.Errorf("a row has %d keys for %d columns", len(u), len(schemas.Get("utterances").Columns))
	}
	if l, ok := rows["calls"][0]["_child_streams"].([]string); !ok || len(l) != 0 {
		t.Errorf("an empty list: %#v", rows["calls"][0]["_child_streams"])
	}

	// A required column missing.
	r = b.row(sUtterances)
	r.Str(colUtt.CallID, "C1")
	r.End()
	if _, err := b.Records(); err == nil || !strings.Contains(err.Error(), "utterance_index is required") {
		t.Errorf("required column missing: %v", err)
	}
	// A column set twice.
	r = b.row(sUtterances)
	r.Str(colUtt.CallID, "C1")
	r.Str(colUtt.CallID, "C2")
	r.Int(colUtt.UtteranceIndex, 1)
	r.End()
	if _, err := b.Records(); err == nil || !strings.Contains(err.Error(), "call_id was set 2 times") {
		t.Errorf("column set twice: %v", err)
	}
	// The builders are usable again.
	r = b.row(sUtterances)
	r.Str(colUtt.CallID, "C3")
	r.Int(colUtt.UtteranceIndex, 7)
	r.End()
	if rows := batchRows(t, b); len(rows["utterances"]) != 1 || rows["utterances"][0]["call_id"] != "C3" {
		t.Errorf("after a failed batch: %v", rows)
	}
}

// RecordOf and RowsOf are inverses for rows of the sinks' value types.
func TestRecordOfRowsOf(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	in := []Row{{"user_id": int64(7), "name": "Dana", "team_ids": []int64{1, 2}, "created_on": at, "active": true, "_sync_id": "s"},
		{"user_id": int64(8), "team_ids": []int64{}}}
	rec, err := RecordOf("users", in...)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	out := RowsOf(rec)
	for i, r := range in {
		for k, v := range r {
			if got := out[i][k]; canonValue(got) != canonValue(v) {
				t.Errorf("row %d %s: %#v, want %#v", i, k, got, v)
			}
		}
	}
	if out[1]["name"] != nil || out[1]["created_on"] != nil {
		t.Errorf("nulls: %v", out[1])
	}
	for _, bad := range []Row{{"user_id": int64(1), "nope": 1}, {"name": "x"}, {"user_id": "7"}} {
		if _, err := RecordOf("users", bad); err == nil {
			t.Errorf("RecordOf(%v) accepted", bad)
		}
	}
}

func canonValue(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return strings.TrimSpace(strings.ReplaceAll(fmtValue(v), "\n", " "))
}

func fmtValue(v any) string { return fmt.Sprintf("%T:%v", v, v) }
