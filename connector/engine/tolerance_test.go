package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// Oddities that cannot be fixed by retrying are reported and kept, not
// allowed to fail every future run: an engagement without an id or a
// readable date is skipped and counted; a conversation sub-object of the
// wrong shape is kept in _extra and the rest of the call is read.
func TestOdditiesAreReportedNotFatal(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v3/engagements", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"engagements":[
		  {"engagement_type":"meeting","date_time":1772362920},
		  {"engagement_id":"N1","engagement_type":"meeting","date_time":"NaN"},
		  {"engagement_id":"N2","engagement_type":"meeting","date_time":1e300},
		  {"engagement_id":"GOOD","engagement_type":"meeting","date_time":1772362920,"processing_state":"done"}]}`))
	})
	mux.HandleFunc("/api/v1/conversations/GOOD", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":{"id":"GOOD","attributes":{"status":"done","name":"Kickoff","owner":"dana","recording":"see attachment"}}}`))
	})
	mux.HandleFunc("/v3/users", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`[]`)) })
	mux.HandleFunc("/api/v1/teams", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"data":[]}`)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := testkit.Config(t, srv.URL, "")
	cfg.Start = time.Unix(1772300000, 0)
	rows := map[string][]streamrows.Row{}
	sink := &memSink{rows: rows}
	sum, err := Sync(context.Background(), Options{Config: cfg, API: chorusapi.NewV3(client.New(cfg, client.Options{})), SyncID: "s",
		Now: func() time.Time { return time.Unix(1772400000, 0) }}, state.New(cfg.BaseURL), sink)
	if err != nil {
		t.Fatalf("one bad entry failed the sync: %v", err)
	}
	if sum.Unreadable != 3 || sum.Calls != 1 {
		t.Fatalf("summary: unreadable %d, calls %d; want 3 and 1", sum.Unreadable, sum.Calls)
	}
	call := rows["calls"][0]
	if call["call_id"] != "GOOD" || call["title"] != "Kickoff" || call["transcript_status"] != StatusComplete {
		t.Fatalf("call row: %v", call)
	}
	var extra struct {
		Conversation map[string]json.RawMessage `json:"conversation"`
	}
	if err := json.Unmarshal([]byte(call["_extra"].(string)), &extra); err != nil {
		t.Fatal(err)
	}
	if string(extra.Conversation["recording"]) != `"see attachment"` || string(extra.Conversation["owner"]) != `"dana"` {
		t.Fatalf("odd sub-objects not kept in _extra: %s", call["_extra"])
	}
}

// memSink keeps rows in memory.
type memSink struct{ rows map[string][]streamrows.Row }

func (m *memSink) WriteBatch(_ context.Context, stream string, rec arrow.RecordBatch) error {
	m.rows[stream] = append(m.rows[stream], streamrows.RowsOf(rec)...)
	return nil
}
func (m *memSink) Checkpoint(context.Context, *state.State) error { return nil }
