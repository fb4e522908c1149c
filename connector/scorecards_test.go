package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/protocol"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// The scorecard family against the simulated tenant: the rows equal the
// tenant's ground truth, an idle run costs one request and emits nothing, a
// scorecard submitted or edited later is picked up, the state survives the
// Airbyte and Singer envelopes, and a listing of more than one page is read
// whole.

var scorecardStreams = map[string]bool{"scorecards": true, "scorecard_answers": true}

// syncSelected is one sync of sel into sink from st, at the tenant clock.
func (h *harness) syncSelected(st *state.State, sel map[string]bool, sink engine.Sink) (*engine.Summary, chorustest.Stats) {
	h.t.Helper()
	h.tenant.ResetStats()
	api := chorusapi.NewV3(client.New(h.cfg, client.Options{Backoff: time.Millisecond}))
	sum, err := engine.Sync(context.Background(), engine.Options{Config: h.cfg, API: api, Selected: sel, Now: h.tenant.Now,
		SyncID: connector.NewSyncID(h.tenant.Now())}, st, sink)
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return sum, h.tenant.Stats()
}

// submittedIn returns the tenant's scorecards submitted in (after, until].
func submittedIn(ten *chorustest.Tenant, after, until time.Time) []chorustest.TruthScorecard {
	var out []chorustest.TruthScorecard
	for _, sc := range ten.Scorecards() {
		if sc.SubmittedAt.After(after) && !sc.SubmittedAt.After(until) {
			out = append(out, sc)
		}
	}
	return out
}

// orNil is s, or nil for "" (the rows hold null for empty strings).
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// truthRows are the rows a scorecard of the ground truth must become.
func truthRows(sc chorustest.TruthScorecard) (streamrows.Row, []streamrows.Row) {
	r := streamrows.Row{"scorecard_id": sc.ID, "call_id": sc.EngagementID, "initiative_id": sc.Initiative.ID,
		"initiative_name": orNil(sc.Initiative.Name), "initiative_description": orNil(sc.Initiative.Description),
		"initiative_url": orNil(sc.Initiative.URL), "recipient_user_id": sc.RecipientUserID,
		"recipient_person_id": sc.RecipientPersonID, "recipient_name": orNil(sc.RecipientName),
		"reviewer_user_id": sc.ReviewerUserID, "reviewer_person_id": sc.ReviewerPersonID,
		"reviewer_name": orNil(sc.ReviewerName), "submitted_at": sc.SubmittedAt, "seen": sc.Seen, "url": sc.URL,
		"answer_count": int64(len(sc.Answers))}
	var sum float64
	var answers []streamrows.Row
	for i, a := range sc.Answers {
		sum += float64(a.Score)
		answers = append(answers, streamrows.Row{"scorecard_id": sc.ID, "answer_index": int64(i), "call_id": sc.EngagementID,
			"submitted_at": sc.SubmittedAt, "question_id": a.QuestionID, "question_text": a.QuestionText, "score": a.Score,
			"comment_text": orNil(a.CommentText), "comment_time_seconds": a.CommentTime})
	}
	if len(sc.Answers) > 0 {
		r["mean_score"] = sum / float64(len(sc.Answers))
	}
	return r, answers
}

// canon renders a row without its lineage columns and null values, times
// as RFC 3339, so that rows compare as text.
func canon(r streamrows.Row) string {
	keys := make([]string, 0, len(r))
	for k, v := range r {
		if v != nil && k != "_extracted_at" && k != "_sync_id" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		v := r[k]
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "%s=%T:%v ", k, v, v)
	}
	return b.String()
}

// checkScorecardRows asserts that the sink holds exactly the rows of want,
// once each.
func checkScorecardRows(t *testing.T, label string, want []chorustest.TruthScorecard, sink *rowsSink) {
	t.Helper()
	wantSC, wantAns := map[string]string{}, map[string]string{}
	for _, sc := range want {
		r, answers := truthRows(sc)
		wantSC[sc.ID] = canon(r)
		for _, a := range answers {
			wantAns[fmt.Sprintf("%s/%d", sc.ID, a["answer_index"])] = canon(a)
		}
	}
	for stream, wantRows := range map[string]map[string]string{"scorecards": wantSC, "scorecard_answers": wantAns} {
		got := map[string]string{}
		for _, r := range sink.rows[stream] {
			key := fmt.Sprint(r["scorecard_id"])
			if stream == "scorecard_answers" {
				key += fmt.Sprintf("/%d", r["answer_index"])
			}
			if _, dup := got[key]; dup {
				t.Errorf("%s: %s %s emitted twice", label, stream, key)
			}
			got[key] = canon(r)
		}
		for key, w := range wantRows {
			if g, ok := got[key]; !ok {
				t.Errorf("%s: %s %s is missing", label, stream, key)
			} else if g != w {
				t.Errorf("%s: %s %s\n got %s\nwant %s", label, stream, key, g, w)
			}
		}
		for key := range got {
			if _, ok := wantRows[key]; !ok {
				t.Errorf("%s: %s %s was emitted, but the truth has no such new row", label, stream, key)
			}
		}
		if len(got) != len(wantRows) {
			t.Errorf("%s: %d %s rows, want %d", label, len(got), stream, len(wantRows))
		}
	}
}

// TestScorecardsIncremental: a first run emits every scorecard submitted by
// the tenant clock; an idle run costs one request and emits nothing; the
// scorecards submitted since are picked up; a scorecard edited later —
// submitted again long after, or re-scored within the look-back — is
// emitted again with its complete new set of answers.
func TestScorecardsIncremental(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Calls go on for two days after the clock: their scorecards come later.
	h := newHarness(t, chorustest.Options{Seed: 31, Calls: 200, Now: now, Start: now.AddDate(0, 0, -30), End: now.Add(48 * time.Hour)}, "")
	t0 := h.tenant.Now()
	first := submittedIn(h.tenant, time.Time{}, t0)
	if len(first) < 30 || len(first) >= 100 {
		t.Fatalf("fixture: %d scorecards by the tenant clock", len(first))
	}
	later := submittedIn(h.tenant, t0, t0.Add(72*time.Hour))
	if len(later) < 3 {
		t.Fatalf("fixture: %d scorecards submitted after the tenant clock", len(later))
	}
	st := state.New(h.cfg.BaseURL)
	sink := newRowsSink()
	sum, stats := h.syncSelected(st, scorecardStreams, sink)
	checkScorecardRows(t, "first run", first, sink)
	if stats.ScorecardRequests != 1 || sum.ScorecardRequests != 1 || stats.ListRequests+stats.DetailRequests+stats.UserRequests+stats.TeamRequests != 0 {
		t.Errorf("first run: %d scorecards requests (summary %d), %d other; want 1 and none", stats.ScorecardRequests,
			sum.ScorecardRequests, stats.Requests-stats.ScorecardRequests)
	}
	ss := st.Streams["scorecards"]
	if ss == nil || ss.Cursor == nil || !ss.Cursor.Equal(first[len(first)-1].SubmittedAt) {
		t.Fatalf("state after the first run: %+v, want the cursor at the newest submitted time %s", ss, first[len(first)-1].SubmittedAt)
	}
	for id := range ss.Known {
		if !slices.ContainsFunc(first, func(sc chorustest.TruthScorecard) bool {
			return sc.ID == id && !sc.SubmittedAt.Before(ss.Cursor.Add(-24*time.Hour))
		}) {
			t.Errorf("the state keeps scorecard %s, which the next look-back does not reach", id)
		}
	}

	// Idle: time passes, nothing is submitted.
	h.tenant.SetNow(t0.Add(later[0].SubmittedAt.Sub(t0) / 2))
	sink = newRowsSink()
	_, stats = h.syncSelected(st, scorecardStreams, sink)
	if stats.ScorecardRequests != 1 || len(sink.rows["scorecards"])+len(sink.rows["scorecard_answers"]) != 0 {
		t.Errorf("idle run: %d requests, %d scorecards and %d answers emitted; want 1, 0, 0",
			stats.ScorecardRequests, len(sink.rows["scorecards"]), len(sink.rows["scorecard_answers"]))
	}
	t.Logf("idle run: %d request(s)", stats.ScorecardRequests)

	// Three more are submitted.
	t1 := h.tenant.Now()
	h.tenant.SetNow(later[2].SubmittedAt)
	sink = newRowsSink()
	_, stats = h.syncSelected(st, scorecardStreams, sink)
	checkScorecardRows(t, "after three submissions", submittedIn(h.tenant, t1, h.tenant.Now()), sink)
	if stats.ScorecardRequests != 1 {
		t.Errorf("after three submissions: %d requests", stats.ScorecardRequests)
	}

	// An old scorecard is edited and submitted again: other scores, one
	// answer fewer. Another, within the look-back, is re-scored in place.
	old, recent := first[0], later[1]
	h.tenant.Advance(time.Hour)
	h.tenant.EditScorecard(old.ID, func(sc *chorustest.TruthScorecard) {
		sc.SubmittedAt = h.tenant.Now().Add(-time.Minute)
		sc.Answers = sc.Answers[1:]
		for i := range sc.Answers {
			sc.Answers[i].Score = 6 - sc.Answers[i].Score
			sc.Answers[i].CommentText = "Re-scored after the deal review."
		}
	})
	h.tenant.EditScorecard(recent.ID, func(sc *chorustest.TruthScorecard) { sc.Answers[0].Score = 6 - sc.Answers[0].Score; sc.Seen = !sc.Seen })
	var edited []chorustest.TruthScorecard
	for _, sc := range h.tenant.Scorecards() {
		if sc.ID == old.ID || sc.ID == recent.ID {
			edited = append(edited, sc)
		}
	}
	sink = newRowsSink()
	_, stats = h.syncSelected(st, scorecardStreams, sink)
	checkScorecardRows(t, "after two edits", edited, sink)
	if stats.ScorecardRequests != 1 {
		t.Errorf("after two edits: %d requests", stats.ScorecardRequests)
	}
}

// lastState returns the state a platform hands back after a protocol run:
// Airbyte's list of the last STATE message's state, Singer's last value.
func lastState(t *testing.T, proto string, out []byte) []byte {
	t.Helper()
	var last map[string]json.RawMessage
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not a JSON message: %s", line)
		}
		if string(m["type"]) == `"STATE"` {
			last = m
		}
	}
	if last == nil {
		t.Fatal("no STATE message")
	}
	if proto == "airbyte" {
		return []byte("[" + string(last["state"]) + "]")
	}
	return last["value"]
}

// TestScorecardStateRoundTrips: the scorecards' cursor and hashes reach the
// next run through Airbyte's GLOBAL stream_states and Singer's bookmarks —
// with both streams read, or scorecard_answers alone — so that an idle run
// after them costs one request and emits nothing.
func TestScorecardStateRoundTrips(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 31, Calls: 200, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "")
	for _, proto := range []string{"airbyte", "singer"} {
		for _, sel := range []map[string]bool{scorecardStreams, {"scorecard_answers": true}, {"scorecards": true, "users": true}} {
			name := fmt.Sprintf("%s/%s", proto, strings.Join(protocol.SelectedList(sel), "+"))
			t.Run(name, func(t *testing.T) {
				var out bytes.Buffer
				var sink interface {
					engine.Sink
					Flush() error
				}
				if proto == "airbyte" {
					sink = protocol.NewAirbyteSink(&out, protocol.SelectedList(sel))
				} else {
					sink = protocol.NewSingerSink(&out, protocol.SelectedList(sel))
				}
				h.syncSelected(state.New(h.cfg.BaseURL), sel, sink)
				if err := sink.Flush(); err != nil {
					t.Fatal(err)
				}
				doc := lastState(t, proto, out.Bytes())
				if !bytes.Contains(doc, []byte(`"cursor"`)) {
					t.Fatalf("the STATE carries no scorecards cursor: %s", doc)
				}
				st, err := state.Parse(doc, h.cfg.BaseURL)
				if err != nil {
					t.Fatalf("the handed-back state is refused: %v\n%s", err, doc)
				}
				rows := newRowsSink()
				_, stats := h.syncSelected(st, sel, rows)
				if stats.ScorecardRequests != 1 || len(rows.rows["scorecards"])+len(rows.rows["scorecard_answers"]) != 0 {
					t.Errorf("the run after the handed-back state: %d requests, %d scorecards and %d answers; want 1, 0, 0",
						stats.ScorecardRequests, len(rows.rows["scorecards"]), len(rows.rows["scorecard_answers"]))
				}
			})
		}
	}
}

// TestScorecardsPaging: more than one page of scorecards is read whole
// (page[size]=100, until a short page), also when responses fail on the
// way; the idle run after costs one request.
func TestScorecardsPaging(t *testing.T) {
	for _, faults := range []chorustest.Faults{{}, {Status500: 0.25, Status504: 0.1, Truncate: 0.25, Seed: 1}} {
		h := newHarness(t, chorustest.Options{Seed: 41, Calls: 560, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Faults: faults}, "")
		truth := submittedIn(h.tenant, time.Time{}, h.tenant.Now())
		if len(truth) <= 100 || len(truth)%100 == 0 {
			t.Fatalf("fixture: %d scorecards", len(truth))
		}
		st := state.New(h.cfg.BaseURL)
		sink := newRowsSink()
		sum, stats := h.syncSelected(st, scorecardStreams, sink)
		checkScorecardRows(t, "paging", truth, sink)
		if want := len(truth)/100 + 1; sum.ScorecardRequests != int64(want) || (faults == chorustest.Faults{} && stats.ScorecardRequests != want) {
			t.Errorf("%d scorecards: %d pages read (%d requests); want %d", len(truth), sum.ScorecardRequests, stats.ScorecardRequests, want)
		}
		t.Logf("faults %+v: %d scorecards in %d pages, %d requests, by status %v", faults, len(truth), sum.ScorecardRequests,
			stats.ScorecardRequests, stats.Status)
		if faults != (chorustest.Faults{}) && stats.ScorecardRequests == int(sum.ScorecardRequests) {
			t.Errorf("fixture: no fault hit the scorecards requests")
		}
		h.tenant.SetFaults(chorustest.Faults{})
		h.tenant.Advance(time.Minute)
		sink = newRowsSink()
		_, stats = h.syncSelected(st, scorecardStreams, sink)
		checkScorecardRows(t, "idle after paging", submittedIn(h.tenant, truth[len(truth)-1].SubmittedAt, h.tenant.Now()), sink)
		if stats.ScorecardRequests != 1 {
			t.Errorf("idle run after paging: %d requests", stats.ScorecardRequests)
		}
	}
}

// TestScorecardsNotAvailable: a tenant without the scorecards feature (404)
// does not fail the sync; the other streams are read and no scorecards
// state is kept.
func TestScorecardsNotAvailable(t *testing.T) {
	ten := chorustest.New(chorustest.Options{Seed: 5, Calls: 20, Token: token})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/scorecards" {
			w.Header().Set("Content-Type", "application/vnd.api+json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"status":"404","code":"ZI0004","title":"Not Found"}]}`))
			return
		}
		ten.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`{"api_token":%q,"base_url":%q,"requests_per_second":1000}`, token, srv.URL)), ten.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	st := state.New(cfg.BaseURL)
	sink := newRowsSink()
	sel := map[string]bool{"users": true, "scorecards": true, "scorecard_answers": true}
	sum, err := engine.Sync(context.Background(), engine.Options{Config: cfg, API: chorusapi.NewV3(client.New(cfg, client.Options{})),
		Selected: sel, Now: ten.Now, SyncID: "s"}, st, sink)
	if err != nil {
		t.Fatalf("a tenant without scorecards failed the sync: %v", err)
	}
	if len(sink.rows["users"]) == 0 || len(sink.rows["scorecards"]) != 0 || st.Streams["scorecards"] != nil || sum.ScorecardRequests != 1 {
		t.Errorf("%d users, %d scorecards, scorecards state %+v, %d scorecards requests", len(sink.rows["users"]),
			len(sink.rows["scorecards"]), st.Streams["scorecards"], sum.ScorecardRequests)
	}
}

// TestDecodeScorecardsTolerant: the adapter's request follows the contract
// (JSON:API media type, filter[submitted]=from:*, page[size], page[number]),
// and a response with odd values keeps every one of them: unknown keys at
// each level, values of another type, an element of scores that is not an
// object. A scorecard without an id is reported, not emitted; a response
// without a data array is an error, "data": null an empty page.
func TestDecodeScorecardsTolerant(t *testing.T) {
	var body string
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/vnd.api+json")
		w.Write([]byte(body))
	}))
	defer srv.Close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`{"api_token":"tok-123456","base_url":%q,"requests_per_second":1000,"max_retries":1}`, srv.URL)), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	api := chorusapi.NewV3(client.New(cfg, client.Options{Backoff: time.Millisecond}))
	from := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	body = `{"data":[
	  {"type":"scorecard","id":77,"links":{"self":"x"},"attributes":{"engagement":"E1",
	   "initiative":{"id":"31","name":"n","description":"d","url":"u","color":"red"},
	   "recipient":{"user_id":"5","person_id":6,"name":"R","email":"r@x"},"reviewer":null,
	   "scores":[{"question":{"id":1,"text":"q","weight":2},"score":"4","comment":{"text":"c","time":12.0,"author":"me"},"flag":true},
	             "oops", {"score":3.5}],
	   "seen":"true","submitted":1772280000,"url":"u","team":"A"}},
	  {"type":"scorecard","attributes":{"engagement":"E2"}}]}`
	p, err := api.ListScorecards(context.Background(), chorusapi.ScorecardQuery{SubmittedFrom: from, Page: 3, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if q.Get("filter[submitted]") != "2026-02-01T00:00:00Z:*" || q.Get("page[size]") != "100" || q.Get("page[number]") != "3" ||
		got.Header.Get("Accept") != "application/vnd.api+json" || got.URL.Path != "/api/v1/scorecards" {
		t.Errorf("request %s, Accept %q", got.URL, got.Header.Get("Accept"))
	}
	if p.Count != 2 || len(p.Scorecards) != 1 || len(p.Unreadable) != 1 {
		t.Fatalf("page: count %d, %d scorecards, unreadable %q", p.Count, len(p.Scorecards), p.Unreadable)
	}
	sc := p.Scorecards[0]
	if sc.ID != "77" || sc.EngagementID != "E1" || *sc.InitiativeID != 31 || *sc.RecipientUserID != 5 || sc.ReviewerUserID != nil ||
		!*sc.Seen || !sc.SubmittedAt.Equal(time.Unix(1772280000, 0)) || len(sc.Answers) != 2 {
		t.Errorf("scorecard: %+v", sc)
	}
	b, _ := json.Marshal(sc.Extra)
	extra := string(b)
	for _, k := range []string{"links", "team", "color", "email", "oops"} {
		if !strings.Contains(extra, k) {
			t.Errorf("scorecard extra lacks %s: %s", k, extra)
		}
	}
	a0, a2 := sc.Answers[0], sc.Answers[1]
	if a0.Index != 0 || *a0.QuestionID != 1 || *a0.Score != 4 || a0.CommentText != "c" || *a0.CommentTime != 12 {
		t.Errorf("answer 0: %+v", a0)
	}
	for _, k := range []string{"flag", "weight", "author"} {
		if b, _ := json.Marshal(a0.Extra); !strings.Contains(string(b), k) {
			t.Errorf("answer 0 extra lacks %s: %s", k, b)
		}
	}
	if a2.Index != 2 || a2.Score != nil || string(a2.Extra["score"]) != "3.5" {
		t.Errorf("answer 2 (a score that is not an integer): %+v", a2)
	}

	body = `{"data":null}`
	if p, err := api.ListScorecards(context.Background(), chorusapi.ScorecardQuery{Page: 1, Size: 100}); err != nil || p.Count != 0 {
		t.Errorf(`"data": null: %+v, %v`, p, err)
	}
	if q := got.URL.Query().Get("filter[submitted]"); q != "*:*" {
		t.Errorf("open range sent as %q", q)
	}
	body = `{"meta":{}}`
	if _, err := api.ListScorecards(context.Background(), chorusapi.ScorecardQuery{Page: 1, Size: 100}); err == nil {
		t.Error("a response without data was taken for a page")
	}
}

// stopAfter closes stop once n scorecards pages have been read.
type stopAfter struct {
	engine.API
	n    int
	stop chan struct{}
}

func (s *stopAfter) ListScorecards(ctx context.Context, q chorusapi.ScorecardQuery) (chorusapi.ScorecardPage, error) {
	p, err := s.API.ListScorecards(ctx, q)
	if s.n--; s.n == 0 {
		close(s.stop)
	}
	return p, err
}

// TestScorecardsInterrupted: a run stopped between two pages checkpoints
// the scorecards it emitted; the next run emits the rest only.
func TestScorecardsInterrupted(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 41, Calls: 560, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, "")
	truth := submittedIn(h.tenant, time.Time{}, h.tenant.Now())
	st := state.New(h.cfg.BaseURL)
	first := newRowsSink()
	api := &stopAfter{API: chorusapi.NewV3(client.New(h.cfg, client.Options{})), n: 1, stop: make(chan struct{})}
	_, err := engine.Sync(context.Background(), engine.Options{Config: h.cfg, API: api, Selected: scorecardStreams,
		Now: h.tenant.Now, SyncID: "s1", Stop: api.stop}, st, first)
	if !errors.Is(err, engine.ErrInterrupted) || len(first.states) == 0 {
		t.Fatalf("stopped run: %v, %d checkpoints", err, len(first.states))
	}
	if n := len(first.rows["scorecards"]); n != 100 {
		t.Fatalf("stopped run emitted %d scorecards, want the first page's 100", n)
	}
	st, err = state.Parse(first.states[len(first.states)-1].Marshal(), h.cfg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	second := newRowsSink()
	h.syncSelected(st, scorecardStreams, second)
	both := newRowsSink()
	for _, s := range []*rowsSink{first, second} {
		for stream, rows := range s.rows {
			both.rows[stream] = append(both.rows[stream], rows...)
		}
	}
	checkScorecardRows(t, "stopped run and the next", truth, both)
}
