package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// TestSyncByIDs syncs a tenant, lets a new call finish (the tenant clock
// moves past it), and syncs that call by id, as the webhook does: only its
// rows are written, with one listing and one detail request, the
// watermark stays, and a repeat writes nothing.
func TestSyncByIDs(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	const tok = "tok-byid-7c1e"
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 9, Calls: 60, Token: tok, ProcessingDelay: -1,
		Now: now, Start: now.Add(-10 * 24 * time.Hour), End: now.Add(24 * time.Hour)})
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q}`, tok, srv.URL, now.Add(-11*24*time.Hour).Format(time.RFC3339))
	cfg, err := config.Parse([]byte(doc), now, "")
	if err != nil {
		t.Fatal(err)
	}
	api := chorusapi.NewV3(client.New(cfg, client.Options{}))
	st := state.New(cfg.BaseURL)
	if _, err := Sync(context.Background(), Options{Config: cfg, API: api, Now: tenant.Now}, st, &discardSink{}); err != nil {
		t.Fatal(err)
	}
	watermark := *st.Calls.Watermark

	// The first recorded call that starts after the clock is not listed yet.
	var next chorustest.TruthEngagement
	for _, c := range tenant.RecordedCalls() {
		if c.StartedAt.After(now) && !c.NoShow && (next.ID == "" || c.StartedAt.Before(next.StartedAt)) {
			next = c
		}
	}
	if next.ID == "" {
		t.Fatal("the tenant has no call after its clock")
	}
	if _, known := st.Calls.Known[next.ID]; known {
		t.Fatalf("call %s, which starts after the clock, was synced already", next.ID)
	}
	tenant.SetNow(next.StartedAt.Add(time.Duration(next.Duration)*time.Second + time.Minute))

	for _, c := range []struct {
		name                 string
		ids                  []string
		calls, utts, details int
	}{
		{"new call", []string{next.ID, next.ID, "NOSUCHCALL"}, 1, len(tenant.Utterances(next.ID)), 1},
		{"repeat", []string{next.ID}, 0, 0, 0},
	} {
		tenant.ResetStats()
		sink := &memSink{rows: map[string][]streamrows.Row{}}
		sum, err := Sync(context.Background(), Options{Config: cfg, API: api, Now: tenant.Now, EngagementIDs: c.ids}, st, sink)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, r := range sink.rows["calls"] {
			if r["call_id"] != next.ID {
				t.Errorf("%s: wrote call %v, want only %s", c.name, r["call_id"], next.ID)
			}
		}
		ts := tenant.Stats()
		if len(sink.rows["calls"]) != c.calls || len(sink.rows["utterances"]) != c.utts || ts.DetailRequests != c.details ||
			ts.ListRequests != 1 || ts.UserRequests+ts.TeamRequests+ts.ScorecardRequests != 0 {
			t.Errorf("%s: %d calls rows, %d utterances, %d detail, %d list, %d other requests; want %d, %d, %d, 1, 0", c.name,
				len(sink.rows["calls"]), len(sink.rows["utterances"]), ts.DetailRequests, ts.ListRequests,
				ts.UserRequests+ts.TeamRequests+ts.ScorecardRequests, c.calls, c.utts, c.details)
		}
		if !st.Calls.Watermark.Equal(watermark) || sum.Watermark == nil || !sum.Watermark.Equal(watermark) {
			t.Errorf("%s: the watermark moved from %s to %s", c.name, watermark, st.Calls.Watermark)
		}
		if k, ok := st.Calls.Known[next.ID]; !ok || k.Status != StatusComplete {
			t.Errorf("%s: the state has %+v for the call", c.name, k)
		}
	}
}
