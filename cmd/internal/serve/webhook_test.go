package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEngagementID(t *testing.T) {
	cases := []struct {
		body, id, event string
		err             string // a part of the error; "" when accepted
	}{
		{`{"engagement_id":"ABC123"}`, "ABC123", "", ""},
		{`{"engagementId":"ABC123"}`, "ABC123", "", ""},
		{`{"id":"ABC123"}`, "ABC123", "", ""},
		{`{"id":"ABC123","type":"meeting"}`, "ABC123", "", ""},
		{`{"data":{"engagement_id":"ABC123"}}`, "ABC123", "", ""},
		{`{"event":"recording_done","data":{"id":"ABC123"}}`, "ABC123", "recording_done", ""},
		{`{"id":"evt_1","event":"recording_done","data":{"engagement_id":"ABC123"}}`, "ABC123", "recording_done", ""},
		{`{"id":"evt_1","payload":{"engagementId":"ABC123"}}`, "ABC123", "", ""},
		{`{"engagement":{"id":"ABC123","subject":"x"}}`, "ABC123", "", ""},
		{`{"event_type":"RecordingDone","engagement_id":"ABC123"}`, "ABC123", "RecordingDone", ""},
		{`{"event":"recording.done","engagement_id":"ABC123"}`, "ABC123", "recording.done", ""},
		{`{"engagement_id":12345}`, "12345", "", ""},
		{`{"engagement_id":" ABC123 "}`, "ABC123", "", ""},
		{`{"engagement_id":"ABC123","data":{"engagement_id":"ABC123"}}`, "ABC123", "", ""},
		{`  {"engagement_id":"ABC123"}  `, "ABC123", "", ""},
		// Other events are acknowledged and ignored.
		{`{"event":"recording_started","engagement_id":"ABC123"}`, "", "recording_started", ""},
		{`{"data":{"event":"call_deleted","id":"ABC123"}}`, "", "call_deleted", ""},
		// Refused.
		{``, "", "", "not a JSON object"},
		{`null`, "", "", "not a JSON object"},
		{`[]`, "", "", "not a JSON object"},
		{`[{"engagement_id":"ABC123"}]`, "", "", "not a JSON object"},
		{`"ABC123"`, "", "", "not a JSON object"},
		{`engagement_id=ABC123`, "", "", "not a JSON object"},
		{`{"engagement_id":"ABC123"`, "", "", "not a JSON object"},
		{`{"engagement_id":"ABC123"}{"engagement_id":"DEF"}`, "", "", "more than one"},
		{`{}`, "", "", "no engagement id"},
		{`{"foo":"bar"}`, "", "", "no engagement id"},
		{`{"data":{}}`, "", "", "no engagement id"},
		{`{"id":"evt_1","data":{"kind":"x"}}`, "", "", "no engagement id"},
		{`{"data":"ABC123"}`, "", "", "no engagement id"},
		{`{"engagement_id":""}`, "", "", "not an id"},
		{`{"engagement_id":null}`, "", "", "JSON null"},
		{`{"engagement_id":["ABC123"]}`, "", "", "JSON array"},
		{`{"engagement_id":{"id":"ABC123"}}`, "", "", "JSON object"},
		{`{"engagement_id":true}`, "", "", "JSON boolean"},
		{`{"engagement_id":1.5}`, "", "", "whole number"},
		{`{"engagement_id":"ABC 123"}`, "", "", "not an id"},
		{`{"engagement_id":"../../etc/passwd"}`, "", "", "not an id"},
		{`{"engagement_id":"ABC'; DROP TABLE x"}`, "", "", "not an id"},
		{`{"engagement_id":"` + strings.Repeat("A", 129) + `"}`, "", "", "not an id"},
		{`{"engagement_id":"ABC123","data":{"engagement_id":"DEF456"}}`, "", "", "two engagements"},
	}
	for _, c := range cases {
		id, event, err := engagementID([]byte(c.body))
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: %q %v, want an error saying %q", c.body, id, err, c.err)
		case c.err == "" && (err != nil || id != c.id || event != c.event):
			t.Errorf("%s: %q %q %v, want %q %q", c.body, id, event, err, c.id, c.event)
		}
	}
}

// postWebhook sends a webhook body with the secret header (none when
// secret is "").
func postWebhook(t *testing.T, url, secret, body string) (int, webhookAnswer, string) {
	t.Helper()
	var h []string
	if secret != "" {
		h = []string{WebhookSecretHeader, secret}
	}
	code, b := call(t, "POST", url+"/api/chorus/webhook", "", strings.NewReader(body), h...)
	var a webhookAnswer
	_ = json.Unmarshal(b, &a)
	return code, a, string(b)
}

func TestWebhook(t *testing.T) {
	syncer := &countingSyncer{}
	ts, s, _ := testServer(t, func(o *Options) { o.Syncer = syncer })
	go func() { _ = s.Run(t.Context()) }()

	for _, c := range []struct {
		name, secret, body string
		status             int
		says               string
	}{
		{"no secret", "", `{"engagement_id":"ABC"}`, 401, WebhookSecretHeader},
		{"wrong secret", "not-the-secret-0123456789", `{"engagement_id":"ABC"}`, 401, "wrong webhook secret"},
		{"a prefix of the secret", testSecret[:10], `{"engagement_id":"ABC"}`, 401, "wrong"},
		{"an API token as the secret", testToken, `{"engagement_id":"ABC"}`, 401, "wrong"},
		{"bad body", testSecret, `{"nothing":1}`, 400, "no engagement id"},
		{"not JSON", testSecret, `<xml/>`, 400, "not a JSON object"},
		{"too big", testSecret, `{"engagement_id":"ABC","pad":"` + strings.Repeat("x", maxWebhookBody) + `"}`, 413, "over"},
	} {
		code, _, body := postWebhook(t, ts.URL, c.secret, c.body)
		if code != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, code, body, c.status, c.says)
		}
	}
	if got, _ := syncer.synced(); len(got) != 0 {
		t.Fatalf("refused webhooks synced %v", got)
	}

	code, a, body := postWebhook(t, ts.URL, testSecret, `{"event":"recording_done","data":{"engagement_id":"CALL-1"}}`)
	if code != http.StatusAccepted || a.Status != "queued" || a.EngagementID != "CALL-1" {
		t.Fatalf("webhook: %d %s", code, body)
	}
	code, a, _ = postWebhook(t, ts.URL, testSecret, `{"event":"recording_started","engagement_id":"CALL-2"}`)
	if code != http.StatusAccepted || a.Status != "ignored" {
		t.Errorf("other event: %d %+v", code, a)
	}
	waitIdle(t, s.Queue())
	if got, _ := syncer.synced(); len(got) != 1 || !slices.Equal(got[0], []string{"CALL-1"}) {
		t.Errorf("syncs %v, want [[CALL-1]]", got)
	}

	// The webhook is off without a secret or without a syncer.
	for name, edit := range map[string]func(*Options){
		"no secret": func(o *Options) { o.WebhookSecret = ""; o.Syncer = syncer },
		"no syncer": func(o *Options) { o.Syncer = nil },
	} {
		ts, _, _ := testServer(t, edit)
		if code, _, body := postWebhook(t, ts.URL, testSecret, `{"engagement_id":"ABC"}`); code != 503 || !strings.Contains(body, "webhook is off") {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
}

// TestWebhookFlood sends 200 concurrent webhooks for a few calls while a
// sync runs: every one is answered 202 at once, and they cost one more
// sync, of every call.
func TestWebhookFlood(t *testing.T) {
	syncer := &countingSyncer{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	ts, s, _ := testServer(t, func(o *Options) { o.Syncer = syncer })
	go func() { _ = s.Run(t.Context()) }()

	if code, _, body := postWebhook(t, ts.URL, testSecret, `{"engagement_id":"CALL-0"}`); code != 202 {
		t.Fatalf("first webhook: %d %s", code, body)
	}
	<-syncer.started // CALL-0 is syncing, and stays at the gate during the flood

	const flood = 200
	ids := []string{"CALL-0", "CALL-1", "CALL-2", "CALL-3", "CALL-4"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	codes := map[int]int{}
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			body := fmt.Sprintf(`{"engagement_id":%q}`, ids[i%len(ids)])
			if i%2 == 1 {
				body = fmt.Sprintf(`{"event":"recording_done","data":{"id":%q}}`, ids[i%len(ids)])
			}
			code, _, _ := postWebhook(t, ts.URL, testSecret, body)
			mu.Lock()
			codes[code]++
			slowest = max(slowest, time.Since(began))
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[202] != flood {
		t.Fatalf("answers %v, want %d × 202", codes, flood)
	}
	if slowest > 2*time.Second {
		t.Errorf("the slowest answer took %v while the sync was running: the webhook waits for the sync", slowest)
	}
	if st := s.Queue().Stats(); st.Pending != len(ids) || st.Syncs != 0 {
		t.Errorf("during the flood: %+v", st)
	}
	close(syncer.gate)
	st := waitIdle(t, s.Queue())
	got, _ := syncer.synced()
	if len(got) != 2 || !slices.Equal(got[0], []string{"CALL-0"}) || !slices.Equal(got[1], ids) {
		t.Errorf("syncs %v, want [CALL-0] then %v", got, ids)
	}
	if st.Enqueued != flood+1 || st.Coalesced != int64(flood-len(ids)) {
		t.Errorf("stats %+v", st)
	}
	t.Logf("%d webhooks during a sync: slowest answer %v, %d syncs", flood, slowest, len(got))
}
