package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// TestWebhookSyncsTheCall runs the webhook end to end: a simulated tenant
// synced into DuckDB, a server over that file with the pipeline syncer.
// A call ends in the tenant; refused webhooks sync nothing; a flood of 50
// identical webhooks makes one sync, after which the API answers the call
// with the tenant's data, stored once; a later repeat writes nothing.
func TestWebhookSyncsTheCall(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 21, Calls: 40, Token: "tok-123456", ProcessingDelay: -1,
		Now: now, Start: now.Add(-14 * 24 * time.Hour), End: now.Add(24 * time.Hour)})
	cfg := testkit.Config(t, srv.URL, fmt.Sprintf(`,"start_date":%q`, now.Add(-15*24*time.Hour).Format(time.RFC3339)))
	dir := t.TempDir()
	url := "duckdb:" + filepath.Join(dir, "chorus.duckdb")
	run := pipeline.Options{Config: cfg, Warehouse: url, Out: filepath.Join(dir, "out"), StatePath: filepath.Join(dir, "out", "state.json"),
		Transform: transforms.Options{AsOf: now}}
	ctx := context.Background()
	if _, err := pipeline.Run(ctx, run); err != nil {
		t.Fatal(err)
	}
	w, err := warehouse.Open(ctx, url, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	run.Opened = w
	s, err := New(Options{Warehouse: w, Tokens: []string{testToken}, WebhookSecret: testSecret, SyncGather: time.Second,
		Syncer: &PipelineSyncer{Run: run}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	go func() { _ = s.Run(t.Context()) }()

	// The call that ends next in the tenant, not synced yet.
	var next chorustest.TruthEngagement
	for _, c := range tenant.RecordedCalls() {
		if c.StartedAt.After(now) && !c.NoShow && (next.ID == "" || c.StartedAt.Before(next.StartedAt)) {
			next = c
		}
	}
	if next.ID == "" {
		t.Fatal("the tenant has no call after its clock")
	}
	// stored counts the call's rows and every call's in the raw tables.
	stored := func() [3]int64 {
		rows, err := w.Query(ctx, fmt.Sprintf(`SELECT (SELECT count(*) FROM chorus_raw.calls WHERE call_id = '%[1]s') AS calls,
			(SELECT count(*) FROM chorus_raw.utterances WHERE call_id = '%[1]s') AS utterances,
			(SELECT count(*) FROM chorus_raw.calls) AS all_calls`, next.ID))
		if err != nil {
			t.Fatal(err)
		}
		var n [3]int64
		for i, c := range []string{"calls", "utterances", "all_calls"} {
			n[i], _ = rows[0][c].(int64)
		}
		return n
	}
	initial := stored()
	if initial[0] != 0 || initial[2] == 0 {
		t.Fatalf("before the webhook: %v (call rows, utterances, all calls)", initial)
	}
	meeting := "/api/chorus/meetings/" + next.ID
	wantError(t, ts, "GET", meeting, http.StatusNotFound)
	tenant.SetNow(next.StartedAt.Add(time.Duration(next.Duration)*time.Second + time.Minute))
	tenant.ResetStats()

	body := fmt.Sprintf(`{"event":"recording_done","data":{"engagement_id":%q}}`, next.ID)
	for _, c := range []struct {
		name, secret, body string
		status             int
	}{
		{"wrong secret", "not-the-webhook-secret-42", body, http.StatusUnauthorized},
		{"no secret", "", body, http.StatusUnauthorized},
		{"no engagement id", testSecret, `{"event":"recording_done","data":{"title":"x"}}`, http.StatusBadRequest},
	} {
		if code, _, b := postWebhook(t, ts.URL, c.secret, c.body); code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, b, c.status)
		}
	}
	time.Sleep(1500 * time.Millisecond) // longer than the gather: a sync would have started
	if st, ts := s.Queue().Stats(), tenant.Stats(); st.Enqueued != 0 || st.Syncs != 0 || ts.Requests != 0 {
		t.Fatalf("refused webhooks: queue %+v, %d requests to Chorus", st, ts.Requests)
	}

	began := time.Now()
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Add(1)
		go func() { defer wg.Done(); codes[i], _, _ = postWebhook(t, ts.URL, testSecret, body) }()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusAccepted {
			t.Fatalf("webhook %d: %d", i, c)
		}
	}
	var m answers.MeetingDetail
	for {
		code, _ := call(t, "GET", ts.URL+meeting, testToken, nil)
		if code == http.StatusOK {
			getJSON(t, ts, meeting, http.StatusOK, &m)
			break
		}
		if time.Since(began) > time.Minute {
			t.Fatalf("GET %s still %d a minute after the webhook; queue %+v", meeting, code, s.Queue().Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the call was served %.1fs after the first of 50 webhooks", time.Since(began).Seconds())
	if m.ID != next.ID || m.Title != next.Subject || !m.StartedAt.Equal(next.StartedAt) {
		t.Errorf("meeting %s %q %s, want %s %q %s", m.ID, m.Title, m.StartedAt, next.ID, next.Subject, next.StartedAt)
	}
	// The models are rebuilt one after the other: the transcript is whole
	// once the sync has finished.
	st := waitIdle(t, s.Queue())
	var tr struct {
		Utterances []map[string]any `json:"utterances"`
	}
	getJSON(t, ts, meeting+"/transcript", http.StatusOK, &tr)
	if want := len(tenant.Utterances(next.ID)); len(tr.Utterances) != want {
		t.Errorf("transcript: %d utterances, the tenant has %d", len(tr.Utterances), want)
	}

	if st.Syncs != 1 || st.Enqueued != 50 || st.Failures != 0 || tenant.Stats().DetailByID[next.ID] != 1 {
		t.Errorf("50 webhooks: queue %+v, %d detail requests for the call; want one sync, one detail", st, tenant.Stats().DetailByID[next.ID])
	}
	before := stored()
	if want := [3]int64{1, int64(len(tenant.Utterances(next.ID))), initial[2] + 1}; before != want {
		t.Errorf("stored (call rows, utterances, all calls) %v, want %v", before, want)
	}

	// A repeat later: one more sync, no detail request, nothing written.
	if code, _, b := postWebhook(t, ts.URL, testSecret, body); code != http.StatusAccepted {
		t.Fatalf("repeat: %d %s", code, b)
	}
	time.Sleep(100 * time.Millisecond)
	if st := waitIdle(t, s.Queue()); st.Syncs != 2 || st.Failures != 0 {
		t.Errorf("repeat: queue %+v", st)
	}
	if after := stored(); after != before || tenant.Stats().DetailByID[next.ID] != 1 {
		t.Errorf("repeat: stored %v (was %v), %d detail requests", after, before, tenant.Stats().DetailByID[next.ID])
	}
}
