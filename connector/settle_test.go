package connector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// rowsSink keeps what a sync emits, by stream, and every state it
// checkpoints.
type rowsSink struct {
	rows   map[string][]streamrows.Row
	states []*state.State
}

func newRowsSink() *rowsSink { return &rowsSink{rows: map[string][]streamrows.Row{}} }

func (s *rowsSink) WriteBatch(_ context.Context, stream string, rec arrow.RecordBatch) error {
	s.rows[stream] = append(s.rows[stream], streamrows.RowsOf(rec)...)
	return nil
}

func (s *rowsSink) Checkpoint(_ context.Context, st *state.State) error {
	s.states = append(s.states, st.Clone())
	return nil
}

// poll is one sync against the harness's tenant at its clock, from st.
func (h *harness) poll(st *state.State) (*engine.Summary, *rowsSink, chorustest.Stats) {
	h.t.Helper()
	h.tenant.ResetStats()
	sink := newRowsSink()
	api := chorusapi.NewV3(client.New(h.cfg, client.Options{Backoff: time.Millisecond}))
	sum, err := engine.Sync(context.Background(), engine.Options{Config: h.cfg, API: api, Now: h.tenant.Now,
		SyncID: connector.NewSyncID(h.tenant.Now())}, st, sink)
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return sum, sink, h.tenant.Stats()
}

// itemsOf returns the action items a sink holds for a call, in order.
func itemsOf(s *rowsSink, id string) []string {
	var out []string
	for _, r := range s.rows["action_items"] {
		if r["call_id"] == id {
			out = append(out, r["text"].(string))
		}
	}
	return out
}

// TestLateAIOutput: calls complete before Chorus writes their AI output are
// read again, while they settle, once it arrives: their summary and action
// items (and the calls row's has_meeting_summary) are emitted as a whole new
// set; calls that did not change cost no detail request; an action item
// Chorus later removes is gone from the new set.
func TestLateAIOutput(t *testing.T) {
	const aiDelay = 12 * time.Hour
	h := newHarness(t, chorustest.Options{Seed: 21, Calls: 300, AIDelay: aiDelay, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "")
	// The calls whose transcript is ready at the tenant's clock but whose
	// AI output is not: they started in the last few hours.
	now := h.tenant.Now()
	var waiting []chorustest.TruthEngagement
	for _, e := range h.tenant.RecordedCalls() {
		if !e.AIReadyAt.IsZero() && !h.tenant.Processing(e.ID) && e.AIReadyAt.After(now) && e.StartedAt.Before(now) {
			waiting = append(waiting, e)
		}
	}
	if len(waiting) < 2 {
		t.Fatalf("fixture: %d calls wait for their AI output", len(waiting))
	}
	st := state.New(h.cfg.BaseURL)
	_, first, _ := h.poll(st)
	knownFirst, pendingFirst := maps.Clone(st.Calls.Known), maps.Clone(st.Calls.Pending)
	windowStart := st.Calls.Watermark.Add(-24 * time.Hour) // the next poll's window: look-back (24 h) before the watermark
	for _, e := range waiting {
		if k := st.Calls.Known[e.ID]; k.Status != engine.StatusComplete || !k.AIPending {
			t.Fatalf("call %s: known %+v, want complete with its AI output pending", e.ID, k)
		}
		for _, r := range first.rows["calls"] {
			if r["call_id"] == e.ID && r["has_meeting_summary"] != false {
				t.Errorf("call %s: has_meeting_summary %v before the AI output", e.ID, r["has_meeting_summary"])
			}
		}
		if items := itemsOf(first, e.ID); len(e.APIActionItems) > 0 && slices.Equal(items, e.APIActionItems) {
			t.Fatalf("call %s has the API's action items before Chorus wrote them", e.ID)
		}
	}

	// Thirteen hours on, every AI output is written.
	h.tenant.Advance(aiDelay + time.Hour)
	sum, second, stats := h.poll(st)
	changed := 0
	for _, e := range waiting {
		truth, _ := h.tenant.Engagement(e.ID)
		if len(truth.APIActionItems) > 0 {
			if got := itemsOf(second, e.ID); !slices.Equal(got, truth.APIActionItems) {
				t.Errorf("call %s: action items %q after the AI output, want %q", e.ID, got, truth.APIActionItems)
			}
		}
		for _, r := range second.rows["calls"] {
			if r["call_id"] != e.ID {
				continue
			}
			changed++
			if r["has_meeting_summary"] != true || r["summary"] == nil {
				t.Errorf("call %s: has_meeting_summary %v, summary %v", e.ID, r["has_meeting_summary"], r["summary"])
			}
			if got := r["_child_streams"].([]string); !slices.Contains(got, "action_items") || !slices.Contains(got, "utterances") {
				t.Errorf("call %s: _child_streams %v", e.ID, got)
			}
		}
	}
	if changed != len(waiting) || sum.RefetchedChanged != int64(len(waiting)) {
		t.Errorf("%d of %d waiting calls emitted again; summary refetched_changed %d", changed, len(waiting), sum.RefetchedChanged)
	}
	// Exactly the waiting calls, and the calls not complete at the first
	// poll whose transcript is ready now, were read in detail.
	want := map[string]bool{}
	for _, e := range waiting {
		want[e.ID] = true
	}
	for _, e := range h.tenant.RecordedCalls() {
		_, known := knownFirst[e.ID]
		_, pending := pendingFirst[e.ID]
		listed := !e.StartedAt.Before(windowStart) && !e.StartedAt.After(h.tenant.Now())
		if !known && (listed || pending) && !h.tenant.Processing(e.ID) && !e.NoShow {
			want[e.ID] = true
		}
	}
	for id := range stats.DetailByID {
		if !want[id] {
			t.Errorf("call %s was read again, though complete and unchanged", id)
		}
	}
	for id := range want {
		if stats.DetailByID[id] != 1 {
			t.Errorf("call %s: %d detail requests, want 1", id, stats.DetailByID[id])
		}
	}

	// Chorus drops an action item of one call: the next poll emits the
	// remaining set only.
	var withItems chorustest.TruthEngagement
	for _, e := range waiting {
		if truth, _ := h.tenant.Engagement(e.ID); len(truth.APIActionItems) > 1 {
			withItems = truth
			break
		}
	}
	if withItems.ID == "" {
		for _, e := range h.tenant.RecordedCalls() {
			if k := st.Calls.Known[e.ID]; k.Status == engine.StatusComplete && len(e.APIActionItems) > 1 && e.StartedAt.After(now.Add(-48*time.Hour)) {
				withItems = e
				break
			}
		}
	}
	if withItems.ID == "" {
		t.Fatal("fixture: no settling call with two action items")
	}
	keep := withItems.APIActionItems[:1]
	h.tenant.SetActionItems(withItems.ID, keep)
	h.tenant.Advance(time.Minute)
	sum, third, stats := h.poll(st)
	if got := itemsOf(third, withItems.ID); !slices.Equal(got, keep) {
		t.Errorf("after Chorus removed an item: %q, want %q", got, keep)
	}
	if sum.RefetchedChanged != 1 || stats.DetailByID[withItems.ID] != 1 {
		t.Errorf("refetched_changed %d, detail requests for the call %d; want 1 and 1", sum.RefetchedChanged, stats.DetailByID[withItems.ID])
	}
}

// TestRequestCounts measures what polls cost: a back-fill, an idle poll
// with three calls still processing (no detail request), and a poll in which
// five settling calls gained action items (five detail requests).
func TestRequestCounts(t *testing.T) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, chorustest.Options{Seed: 5, Calls: 150, Now: base, ProcessingDelay: 2 * time.Hour}, "")
	// A clock at which exactly three calls are processing.
	var at time.Time
	for _, e := range h.tenant.RecordedCalls() {
		h.tenant.SetNow(e.StartedAt.Add(time.Second))
		if e.StartedAt.After(base.Add(-10*24*time.Hour)) && countProcessing(h.tenant) == 3 {
			at = h.tenant.Now()
			break
		}
	}
	if at.IsZero() {
		t.Fatal("fixture: no moment with exactly three calls processing")
	}
	st := state.New(h.cfg.BaseURL)
	sum, _, stats := h.poll(st)
	complete := 0
	for _, e := range h.tenant.RecordedCalls() {
		if !e.StartedAt.After(at) && !e.NoShow && !h.tenant.Processing(e.ID) {
			complete++
		}
	}
	t.Logf("back-fill: %d requests (%d list, %d detail, %d users/teams) for %d calls, %d pending",
		stats.Requests, stats.ListRequests, stats.DetailRequests, stats.UserRequests+stats.TeamRequests, sum.Calls, sum.Pending)
	if sum.Pending != 3 || stats.DetailRequests != complete {
		t.Errorf("back-fill: %d pending, %d detail requests for %d calls with a transcript", sum.Pending, stats.DetailRequests, complete)
	}

	h.tenant.Advance(time.Minute)
	sum, rows, stats := h.poll(st)
	t.Logf("idle poll, 3 processing: %d requests (%d list, %d detail, %d users/teams)",
		stats.Requests, stats.ListRequests, stats.DetailRequests, stats.UserRequests+stats.TeamRequests)
	// The window's page (two when the listing ends with an empty page) and
	// one batch lookup of the settling calls older than the window.
	if stats.DetailRequests != 0 || stats.ListRequests > 3 || sum.Pending != 3 {
		t.Errorf("idle poll: %d detail and %d list requests, %d pending; want 0, at most 3, 3",
			stats.DetailRequests, stats.ListRequests, sum.Pending)
	}
	for _, r := range rows.rows["calls"] {
		if r["transcript_status"] != engine.StatusPending {
			t.Errorf("idle poll emitted %s as %v", r["call_id"], r["transcript_status"])
		}
	}

	// Five settling calls gain action items.
	var gained []string
	for _, e := range h.tenant.RecordedCalls() {
		k, ok := st.Calls.Known[e.ID]
		if ok && k.Status == engine.StatusComplete && len(gained) < 5 && e.StartedAt.After(h.tenant.Now().Add(-60*time.Hour)) {
			h.tenant.SetActionItems(e.ID, []string{fmt.Sprintf("Send the follow-up deck (%d)", len(gained)), "Book the QBR"})
			gained = append(gained, e.ID)
		}
	}
	if len(gained) != 5 {
		t.Fatalf("fixture: %d settling calls", len(gained))
	}
	h.tenant.Advance(time.Minute)
	sum, rows, stats = h.poll(st)
	t.Logf("poll in which 5 settling calls gained action items: %d requests (%d list, %d detail, %d users/teams)",
		stats.Requests, stats.ListRequests, stats.DetailRequests, stats.UserRequests+stats.TeamRequests)
	if stats.DetailRequests != 5 || sum.RefetchedChanged != 5 {
		t.Errorf("%d detail requests, refetched_changed %d; want 5 and 5", stats.DetailRequests, sum.RefetchedChanged)
	}
	for i, id := range gained {
		if got := itemsOf(rows, id); !slices.Equal(got, []string{fmt.Sprintf("Send the follow-up deck (%d)", i), "Book the QBR"}) {
			t.Errorf("call %s: action items %q", id, got)
		}
	}
}

func countProcessing(t *chorustest.Tenant) int {
	n := 0
	for _, e := range t.RecordedCalls() {
		if !e.StartedAt.After(t.Now()) && t.Processing(e.ID) {
			n++
		}
	}
	return n
}

// TestPendingCheckedInBatches: pending calls the window does not reach are
// checked with one listing request by engagement_id, and fetched in detail
// once done.
func TestPendingCheckedInBatches(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 9, Calls: 60, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		ProcessingDelay: 40 * time.Hour}, `,"lookback_hours":1,"settle_hours":0`)
	st := state.New(h.cfg.BaseURL)
	sum, _, _ := h.poll(st)
	if sum.Pending < 3 {
		t.Fatalf("fixture: %d pending", sum.Pending)
	}
	pending := slices.Sorted(func(yield func(string) bool) {
		for id := range st.Calls.Pending {
			if !yield(id) {
				return
			}
		}
	})
	// A day later the look-back window (1 hour) no longer reaches most of
	// them; some are done.
	h.tenant.Advance(24 * time.Hour)
	done := 0
	for _, id := range pending {
		if !h.tenant.Processing(id) {
			done++
		}
	}
	_, rows, stats := h.poll(st)
	if stats.DetailRequests < done {
		t.Errorf("%d detail requests for %d calls now done", stats.DetailRequests, done)
	}
	for _, r := range rows.rows["calls"] {
		id := r["call_id"].(string)
		if slices.Contains(pending, id) && h.tenant.Processing(id) && r["transcript_status"] != engine.StatusPending {
			t.Errorf("call %s still processing but emitted %v", id, r["transcript_status"])
		}
	}
	// The window holds 1 hour + a day of new calls: one or two list pages,
	// plus one batch lookup for the pending calls it missed.
	if stats.ListRequests > 3 {
		t.Errorf("%d list requests", stats.ListRequests)
	}
	t.Logf("%d pending (%d done a day later): %d list and %d detail requests", len(pending), done, stats.ListRequests, stats.DetailRequests)
}

// TestStateIsPrivate: after runs that leave pending and settling calls, the
// state holds ids, times, statuses and hashes only — none of the tenant's
// names, emails, subjects or account names.
func TestStateIsPrivate(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 3, Calls: 60, AIDelay: 3 * time.Hour, ProcessingDelay: 24 * time.Hour,
		Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "")
	st := state.New(h.cfg.BaseURL)
	h.poll(st)
	if len(st.Calls.Pending) == 0 || len(st.Calls.Known) == 0 {
		t.Fatalf("fixture: %d pending, %d known", len(st.Calls.Pending), len(st.Calls.Known))
	}
	doc := string(st.Marshal())
	var personal []string
	for _, e := range h.tenant.Engagements() {
		personal = append(personal, e.Subject, e.AccountName, e.OwnerName, e.OwnerEmail)
		for _, p := range e.Participants {
			personal = append(personal, p.Name, p.Email)
		}
	}
	for _, u := range h.tenant.Users() {
		personal = append(personal, u.Name, u.Email)
	}
	for _, s := range personal {
		if len(s) > 3 && strings.Contains(doc, s) {
			t.Errorf("the state holds %q", s)
		}
	}
	// Only the documented keys at the top, and no Go field names anywhere:
	// every key is lower-case snake case, an engagement id, or a stream.
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	for k := range v.(map[string]any) {
		if !slices.Contains([]string{"format", "version", "tenant", "calls", "streams", "commit"}, k) {
			t.Errorf("state key %q", k)
		}
	}
	var walk func(any)
	walk = func(x any) {
		if m, ok := x.(map[string]any); ok {
			for k, sub := range m {
				_, isCall := st.Calls.Known[k]
				_, isPending := st.Calls.Pending[k]
				if !isCall && !isPending && strings.ToLower(k) != k {
					t.Errorf("state key %q is not a documented field name", k)
				}
				walk(sub)
			}
		}
	}
	walk(v)
}

// TestTalkMetricsFromDiarisation: where Chorus gives no talk metrics, the
// derived talk ratio and customer talk share come from the speaker clusters'
// talk times (Chorus's diarisation), not from the utterance lengths; the
// expected values are recomputed here from the tenant's transcript truth.
func TestTalkMetricsFromDiarisation(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 14, Calls: 40, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "")
	_, sink, _ := h.poll(state.New(h.cfg.BaseURL))
	metrics := map[string]map[string]any{}
	for _, r := range sink.rows["call_metrics"] {
		id := r["call_id"].(string)
		if metrics[id] == nil {
			metrics[id] = map[string]any{}
		}
		metrics[id][r["metric_name"].(string)+"/"+r["source"].(string)] = r["value"]
	}
	checked := 0
	for _, e := range h.tenant.RecordedCalls() {
		m := metrics[e.ID]
		ratio, ok := m["talk_ratio/derived"].(float64)
		if !ok {
			continue // the API gave it, or no transcript
		}
		var rep, all, repLen, allLen float64
		for _, u := range h.tenant.Utterances(e.ID) {
			tt := chorustest.TalkTime(u.Length, u.SpeakerType)
			all += tt
			allLen += u.Length
			if chorustest.NormalizeSpeaker(u.SpeakerType) == "rep" {
				rep += tt
				repLen += u.Length
			}
		}
		if math.Abs(ratio-rep/all) > 1e-9 {
			t.Errorf("call %s: talk_ratio %v, diarisation says %v", e.ID, ratio, rep/all)
		}
		if math.Abs(ratio-repLen/allLen) < 1e-6 {
			t.Errorf("call %s: talk_ratio %v equals the utterance-length ratio: clusters not used", e.ID, ratio)
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d calls with a derived talk ratio", checked)
	}
}
