package chorustest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

func TestDeterministic(t *testing.T) {
	opts := chorustest.Options{Seed: 42, Calls: 80, Now: fixedNow}
	srvA, a := testkit.NewServer(t, opts)
	srvB, b := testkit.NewServer(t, opts)
	if !reflect.DeepEqual(a.Engagements(), b.Engagements()) {
		t.Fatal("same seed, different engagements")
	}
	if !reflect.DeepEqual(a.Customers(), b.Customers()) || !reflect.DeepEqual(a.Users(), b.Users()) {
		t.Fatal("same seed, different customers or users")
	}
	calls := a.RecordedCalls()
	for _, c := range calls {
		if !reflect.DeepEqual(a.Utterances(c.ID), b.Utterances(c.ID)) {
			t.Fatalf("call %s: transcripts differ", c.ID)
		}
	}
	for _, path := range []string{
		"/v3/engagements?with_trackers=true",
		"/api/v1/conversations/" + calls[len(calls)/2].ID,
		"/v3/users", "/api/v1/teams",
	} {
		if ra, rb := get(t, srvA.URL, path), get(t, srvB.URL, path); !bytes.Equal(ra.body, rb.body) {
			t.Errorf("%s: bodies differ", path)
		}
	}
	// Transcripts do not depend on request order or on earlier calls.
	last := calls[len(calls)-1].ID
	fresh := chorustest.New(opts)
	if !reflect.DeepEqual(fresh.Utterances(last), a.Utterances(last)) {
		t.Error("transcript depends on history")
	}
	other := chorustest.New(chorustest.Options{Seed: 43, Calls: 80, Now: fixedNow})
	if reflect.DeepEqual(other.Engagements(), a.Engagements()) {
		t.Error("different seeds, same engagements")
	}
}

func TestTruthShape(t *testing.T) {
	ten := chorustest.New(chorustest.Options{Seed: 7, Calls: 1000, Customers: 20, Now: fixedNow})
	all := ten.Engagements()
	calls := ten.RecordedCalls()
	if len(calls) != 1000 {
		t.Fatalf("got %d recorded calls, want 1000", len(calls))
	}
	hexID := regexp.MustCompile(`^[0-9A-F]{32}$`)
	customers := map[string]chorustest.Customer{}
	for _, c := range ten.Customers() {
		customers[c.ID] = c
		if len(c.CRMAccountID) != 18 || len(c.Domains) == 0 || c.CSMEmail == "" {
			t.Errorf("customer %+v incomplete", c)
		}
	}
	counts := map[string]int{}
	for i, e := range all {
		if !hexID.MatchString(e.ID) {
			t.Fatalf("id %q is not 32 upper-case hex", e.ID)
		}
		if i > 0 && e.StartedAt.Before(all[i-1].StartedAt) {
			t.Fatal("engagements not sorted by StartedAt")
		}
		if (e.CustomerID == "") != (e.MatchableBy == "") {
			t.Errorf("%s: CustomerID %q but MatchableBy %q", e.ID, e.CustomerID, e.MatchableBy)
		}
		if !e.IsCall() {
			counts["noncall"]++
			continue
		}
		counts[e.MatchableBy]++
		if e.NoShow {
			counts["noshow"]++
		}
		if e.NotFound {
			counts["notfound"]++
		}
		if len(e.TrueActionItems) > 0 {
			counts["commit"]++
		}
		if len(e.APIActionItems) > 0 {
			counts["apiitems"]++
			if len(e.APIActionItems) != len(e.TrueActionItems) {
				t.Errorf("%s: %d API items for %d commitments", e.ID, len(e.APIActionItems), len(e.TrueActionItems))
			}
		}
		utts := ten.Utterances(e.ID)
		if (e.NoShow || e.NotFound) != (len(utts) == 0) {
			t.Errorf("%s: no-show %v, not-found %v, %d utterances", e.ID, e.NoShow, e.NotFound, len(utts))
		}
		for _, it := range e.TrueActionItems {
			u := utts[it.UtteranceIndex]
			if u.Text != it.Text || (it.Owner == "rep") != (u.SpeakerType == "rep") {
				t.Errorf("%s: action item %+v vs utterance %+v", e.ID, it, u)
			}
		}
		for k, u := range utts {
			if u.Index != k || u.Length < 2 || u.Length > 15 || (k > 0 && u.Start <= utts[k-1].Start) ||
				u.Start+u.Length > e.Duration+0.01 {
				t.Fatalf("%s: bad timing at %d: %+v (duration %v)", e.ID, k, u, e.Duration)
			}
		}
	}
	n := float64(len(calls))
	t.Logf("counts: %v", counts)
	within := func(name string, got int, total, want, tol float64) {
		if f := float64(got) / total; f < want-tol || f > want+tol {
			t.Errorf("%s: %.3f, want %.2f±%.2f", name, f, want, tol)
		}
	}
	within("non-call share", counts["noncall"], float64(len(all)), 0.08, 0.02)
	within("crm", counts[chorustest.MatchCRMAccountID], n, 0.60, 0.05)
	within("domain", counts[chorustest.MatchEmailDomain], n, 0.25, 0.05)
	within("name", counts[chorustest.MatchAccountName], n, 0.05, 0.03)
	within("unmatched", counts[""], n, 0.10, 0.04)
	within("no show", counts["noshow"], n, 0.03, 0.02)
	within("not found", counts["notfound"], n, 0.02, 0.015)
	within("commitments", counts["commit"], n, 0.66, 0.06)
	within("api items", counts["apiitems"], float64(counts["commit"]), 0.5, 0.07)
}

func TestPagingReachesEveryEnding(t *testing.T) {
	seen := map[string]int{}
	for seed := int64(1); seed <= 12; seed++ {
		srv, ten := testkit.NewServer(t, chorustest.Options{Seed: seed, Calls: 45, PageSize: 7, Now: fixedNow})
		for _, minT := range []time.Time{{}, fixedNow.Add(-10 * 24 * time.Hour), fixedNow.Add(-3 * 24 * time.Hour)} {
			params := url.Values{}
			if !minT.IsZero() {
				params.Set("min_date", minT.Format(time.RFC3339))
			}
			ids, _, ending := listAll(t, srv.URL, params, nil)
			seen[ending]++
			if want := visible(ten, minT, time.Time{}); !slices.Equal(ids, want) {
				t.Fatalf("seed %d min %v: listed %d ids, want %d (newest first, each once)", seed, minT, len(ids), len(want))
			}
		}
	}
	t.Logf("endings: %v", seen)
	for _, e := range []string{endNull, endAbsent, endEmpty, endEmptyPage, endSpace} {
		if seen[e] == 0 {
			t.Errorf("ending %s never reached", e)
		}
	}
}

func TestKeysetStableWhenClockAdvances(t *testing.T) {
	// Calls run until three days after the clock: advancing it adds calls.
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 3, Calls: 120, PageSize: 10, Now: fixedNow,
		Start: fixedNow.Add(-20 * 24 * time.Hour), End: fixedNow.Add(3 * 24 * time.Hour)})
	before := visible(ten, time.Time{}, time.Time{})
	ids, pages, _ := listAll(t, srv.URL, nil, func() { ten.Advance(12 * time.Hour) })
	if len(pages) < 3 {
		t.Fatalf("only %d pages", len(pages))
	}
	if !slices.Equal(ids, before) {
		t.Fatalf("listing across clock changes: got %d ids, want the %d visible at the start, once each", len(ids), len(before))
	}
	after := visible(ten, time.Time{}, time.Time{})
	if len(after) <= len(before) {
		t.Fatalf("advancing the clock added no calls (%d → %d)", len(before), len(after))
	}
	ids, _, _ = listAll(t, srv.URL, nil, nil)
	if !slices.Equal(ids, after) {
		t.Fatal("fresh listing misses the new calls")
	}
}

func TestDateFilter(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 5, Calls: 60, PageSize: 9, Now: fixedNow})
	minT, maxT := fixedNow.Add(-20*24*time.Hour), fixedNow.Add(-5*24*time.Hour)
	want := visible(ten, minT, maxT)
	for name, p := range map[string][2]string{
		"iso":   {minT.Format(time.RFC3339), maxT.Format(time.RFC3339)},
		"epoch": {fmt.Sprint(minT.Unix()), fmt.Sprint(maxT.Unix())},
	} {
		t.Run(name, func(t *testing.T) {
			ids, _, _ := listAll(t, srv.URL, url.Values{"min_date": {p[0]}, "max_date": {p[1]}}, nil)
			if !slices.Equal(ids, want) {
				t.Fatalf("got %d ids, want %d", len(ids), len(want))
			}
		})
	}
	t.Run("type and id filters", func(t *testing.T) {
		calls := ten.RecordedCalls()
		pick := []string{calls[0].ID, calls[5].ID}
		ids, _, _ := listAll(t, srv.URL, url.Values{"engagement_id": {strings.Join(pick, ",")}}, nil)
		slices.Sort(ids)
		slices.Sort(pick)
		if !slices.Equal(ids, pick) {
			t.Fatalf("batch get: %v, want %v", ids, pick)
		}
		ids, pages, _ := listAll(t, srv.URL, url.Values{"engagement_type": {"email,content_viewed,unrecorded_meeting"}}, nil)
		if len(ids) == 0 {
			t.Fatal("no non-call engagements listed")
		}
		for _, p := range pages {
			for _, e := range p.Engagements {
				if e.Type == "meeting" || e.Type == "dialer" {
					t.Fatalf("type filter let %s through", e.Type)
				}
			}
		}
	})
	if r := get(t, srv.URL, "/v3/engagements?min_date=yesterday"); r.status != 400 {
		t.Errorf("bad min_date: status %d", r.status)
	}
}

func TestAuth(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 5, Token: "s3cret-token"})
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"s3cret-token", 200},
		{"Bearer s3cret-token", 200},
		{"", 401},
		{"wrong", 401},
		{"Bearer wrong", 401},
		{"Basic s3cret-token", 401},
		{"bearer  s3cret-token", 401},
	} {
		r := getAuth(t, srv.URL, "/v3/users", tc.auth)
		if r.status != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.auth, r.status, tc.want)
		}
		if tc.want == 401 {
			var body struct {
				Errors []struct{ Code, Status string }
			}
			if err := json.Unmarshal(r.body, &body); err != nil || len(body.Errors) != 1 ||
				body.Errors[0].Code != "ZI0001" || body.Errors[0].Status != "401" {
				t.Errorf("401 body %s", r.body)
			}
			if bytes.Contains(r.body, []byte("s3cret")) {
				t.Error("401 body echoes the token")
			}
		}
	}
	if s := ten.Stats(); s.Unauthorized != 5 || s.Status[401] != 5 || s.UserRequests != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestProcessingThenDone(t *testing.T) {
	// All calls in the last 10 hours: the recent ones are still processing.
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 11, Calls: 40, Now: fixedNow,
		Start: fixedNow.Add(-10 * time.Hour), End: fixedNow})
	var id string
	for _, c := range ten.RecordedCalls() {
		if ten.Processing(c.ID) && !c.NoShow && !c.NotFound {
			id = c.ID
		}
	}
	if id == "" {
		t.Fatal("no processing call")
	}
	conv, _ := getConversation(t, srv.URL, id)
	if conv.Data.Attributes.Status != "processing" || len(conv.Data.Attributes.Recording.Utterances) != 0 {
		t.Fatalf("processing call: status %q, %d utterances", conv.Data.Attributes.Status, len(conv.Data.Attributes.Recording.Utterances))
	}
	_, pages, _ := listAll(t, srv.URL, url.Values{"engagement_id": {id}}, nil)
	if st := pages[0].Engagements[0].ProcessingState; st != "processing" {
		t.Fatalf("listed processing_state %q", st)
	}
	ten.Advance(4 * time.Hour)
	if ten.Processing(id) {
		t.Fatal("still processing after 4h")
	}
	conv, _ = getConversation(t, srv.URL, id)
	if conv.Data.Attributes.Status != "done" || len(conv.Data.Attributes.Recording.Utterances) != len(ten.Utterances(id)) {
		t.Fatalf("after Advance: status %q, %d utterances", conv.Data.Attributes.Status, len(conv.Data.Attributes.Recording.Utterances))
	}
	_, pages, _ = listAll(t, srv.URL, url.Values{"engagement_id": {id}}, nil)
	if st := pages[0].Engagements[0].ProcessingState; st != "done" {
		t.Fatalf("listed processing_state %q after Advance", st)
	}
}

func TestNotFound(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 2, Calls: 300, Now: fixedNow})
	var nonCall, notFound, noShow string
	for _, e := range ten.Engagements() {
		switch {
		case !e.IsCall():
			nonCall = e.ID
		case e.NotFound:
			notFound = e.ID
		case e.NoShow:
			noShow = e.ID
		}
	}
	if nonCall == "" || notFound == "" || noShow == "" {
		t.Fatal("tenant lacks a non-call, not-found or no-show engagement")
	}
	for _, path := range []string{
		"/api/v1/conversations/" + nonCall,
		"/api/v1/conversations/" + notFound,
		"/api/v1/conversations/00000000000000000000000000000000",
		"/api/v1/calls",
		"/v3/nothing",
	} {
		r := get(t, srv.URL, path)
		var body struct{ Errors []struct{ Status string } }
		if r.status != 404 || json.Unmarshal(r.body, &body) != nil || len(body.Errors) != 1 || body.Errors[0].Status != "404" {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/vnd.api+json" {
			t.Errorf("%s: content type %q", path, ct)
		}
	}
	conv, _ := getConversation(t, srv.URL, noShow)
	if conv.Data.Attributes.Status != "no show" || len(conv.Data.Attributes.Recording.Utterances) != 0 {
		t.Errorf("no-show: status %q", conv.Data.Attributes.Status)
	}
	if s := ten.Stats(); s.DetailRequests != 4 || s.DetailByID[notFound] != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestTranscriptMatchesTruth checks every call's detail against the ground
// truth: utterances, tracker mentions and action items.
func TestTranscriptMatchesTruth(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 9, Calls: 60, Now: fixedNow})
	for _, c := range ten.RecordedCalls() {
		if c.NotFound {
			continue
		}
		conv, r := getConversation(t, srv.URL, c.ID)
		if r.status != 200 {
			t.Fatalf("%s: status %d", c.ID, r.status)
		}
		truth := ten.Utterances(c.ID)
		got := conv.Data.Attributes.Recording.Utterances
		if len(got) != len(truth) {
			t.Fatalf("%s: %d utterances served, %d in truth", c.ID, len(got), len(truth))
		}
		for i, u := range got {
			st := ""
			if u.SpeakerType != nil {
				st = *u.SpeakerType
			}
			if u.Snippet != truth[i].Text || u.Index != i || st != truth[i].SpeakerType {
				t.Fatalf("%s utterance %d: %+v vs %+v", c.ID, i, u, truth[i])
			}
		}
		trackers := conv.Data.Attributes.Recording.Trackers
		if len(trackers) != len(c.Trackers) {
			t.Fatalf("%s: %d trackers served, %d in truth", c.ID, len(trackers), len(c.Trackers))
		}
		for k, tr := range trackers {
			var idx []int
			kws := trackerKeywords[tr.Name]
			if len(kws) == 0 {
				t.Fatalf("unknown tracker %q", tr.Name)
			}
			for _, m := range tr.Mentions {
				idx = append(idx, m.Utterance)
				text := strings.ToLower(got[m.Utterance].Snippet)
				if !slices.ContainsFunc(kws, func(kw string) bool { return strings.HasPrefix(text[m.Offset:], kw) }) {
					t.Errorf("%s %s: offset %d of %q is not at any of %q", c.ID, tr.Name, m.Offset, text, kws)
				}
			}
			if tr.Count != len(tr.Mentions) || !slices.Equal(idx, c.Trackers[k].Mentions) || tr.Name != c.Trackers[k].Name {
				t.Errorf("%s: tracker %+v vs truth %+v", c.ID, tr, c.Trackers[k])
			}
		}
		var items []string
		if a := conv.Data.Attributes.ActionItems; a != nil {
			if err := json.Unmarshal(a, &items); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(items, c.APIActionItems) && !(len(items) == 0 && len(c.APIActionItems) == 0) {
			t.Errorf("%s: action items %v, truth %v", c.ID, items, c.APIActionItems)
		}
	}
}

// trackerKeywords are, per tracker, the keywords a mention's offset may point at.
var trackerKeywords = map[string][]string{
	"Competitor - Gong": {"gong"}, "Competitor - Clari": {"clari"}, "Pricing": {"pricing", "price"},
	"Objection - Budget": {"budget"}, "Next Steps": {"next step"}, "Risk - Churn": {"churn", "cancel"},
	"Feature Request": {"feature request", "roadmap"},
}

func TestFieldsParameter(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 10, Now: fixedNow})
	var id string
	for _, c := range ten.RecordedCalls() {
		if !c.NotFound {
			id = c.ID
		}
	}
	r := get(t, srv.URL, "/api/v1/conversations/"+id+"?fields=name,status")
	var body struct {
		Data struct{ Attributes map[string]any } `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Data.Attributes) != 2 || body.Data.Attributes["name"] == nil || body.Data.Attributes["status"] == nil {
		t.Errorf("fields=name,status gave %v", body.Data.Attributes)
	}
}

func TestUsersTeamsAndCSV(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 5})
	var users struct {
		Users []struct {
			ID          int64   `json:"id"`
			Email       string  `json:"email"`
			TeamIDs     []int64 `json:"team_ids"`
			PrimaryTeam int64   `json:"primary_team"`
		} `json:"users"`
	}
	if err := json.Unmarshal(get(t, srv.URL, "/v3/users").body, &users); err != nil || len(users.Users) != len(ten.Users()) {
		t.Fatalf("users: %v, %d", err, len(users.Users))
	}
	for i, u := range ten.Users() {
		got := users.Users[i]
		if got.ID != u.ID || got.Email != u.Email || !slices.Equal(got.TeamIDs, u.TeamIDs) || got.PrimaryTeam != u.PrimaryTeam {
			t.Errorf("user %d: served %+v, truth %+v", i, got, u)
		}
	}
	var teams struct {
		Data []struct {
			Type, ID   string
			Attributes struct {
				Name       string
				Users      []int64
				Manager    *int64 `json:"manager"`
				ParentTeam *int64 `json:"parent_team"`
			}
		}
	}
	r := get(t, srv.URL, "/api/v1/teams")
	if err := json.Unmarshal(r.body, &teams); err != nil || len(teams.Data) != len(ten.Teams()) {
		t.Fatalf("teams: %v %s", err, r.body)
	}
	for i, tm := range ten.Teams() {
		a := teams.Data[i].Attributes
		if teams.Data[i].ID != fmt.Sprint(tm.ID) || a.Manager == nil || *a.Manager != tm.ManagerID ||
			(tm.ParentID == 0) != (a.ParentTeam == nil) || (a.ParentTeam != nil && *a.ParentTeam != tm.ParentID) {
			t.Errorf("team %d: served %+v, truth %+v", i, teams.Data[i], tm)
		}
	}
	var buf bytes.Buffer
	skip := ten.Customers()[0].ID
	if err := ten.WriteCustomersCSV(&buf, func(c chorustest.Customer) bool { return c.ID != skip }); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if lines[0] != "customer_id,name,domains,crm_account_id,csm_email,csm_name" || len(lines) != len(ten.Customers()) {
		t.Errorf("csv: %q", lines)
	}
	if strings.Contains(buf.String(), skip+",") {
		t.Error("csv includes the excluded customer")
	}
}

func TestConcurrentUse(t *testing.T) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 40, PageSize: 5, Now: fixedNow,
		Faults: chorustest.Faults{Status500: 0.1, Truncate: 0.1, DuplicateAcrossPages: 0.2}})
	calls := ten.RecordedCalls()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				get(t, srv.URL, "/v3/engagements?with_trackers=true")
				get(t, srv.URL, "/api/v1/conversations/"+calls[(w*20+i)%len(calls)].ID)
				ten.Advance(time.Second)
				_ = ten.Stats()
			}
		})
	}
	wg.Wait()
	if s := ten.Stats(); s.Requests != 320 {
		t.Errorf("requests %d, want 320", s.Requests)
	}
}

func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	start := time.Now()
	ten := chorustest.New(chorustest.Options{Seed: 1, Calls: 20000, UtterancesPerCall: 200, Now: fixedNow})
	if len(ten.RecordedCalls()) != 20000 {
		t.Fatal("wrong call count")
	}
	calls := ten.RecordedCalls()
	total := 0
	for i := 0; i < len(calls); i += 500 {
		total += len(ten.Utterances(calls[i].ID))
	}
	t.Logf("20k calls generated and 40 transcripts (%d utterances) in %v", total, time.Since(start))
}

func BenchmarkConversation200(b *testing.B) {
	srv, ten := testkit.NewServer(b, chorustest.Options{Seed: 1, Calls: 50, UtterancesPerCall: 200, Now: fixedNow})
	var id string
	for _, c := range ten.RecordedCalls() {
		if !c.NotFound && !c.NoShow {
			id = c.ID
		}
	}
	b.ResetTimer()
	for b.Loop() {
		get(b, srv.URL, "/api/v1/conversations/"+id)
	}
}

// TestLateAIOutput: the transcript is ready first; the AI output (summary,
// action items, recap) appears AIDelay later, in the listing and the detail;
// an edit of a call's action items or account shows in both.
func TestLateAIOutput(t *testing.T) {
	const delay = 3 * time.Hour
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 60, Now: fixedNow, AIDelay: delay})
	var call chorustest.TruthEngagement
	for _, e := range ten.RecordedCalls() {
		if len(e.APIActionItems) > 0 && !e.AIReadyAt.IsZero() {
			call = e
			break
		}
	}
	if call.ID == "" {
		t.Fatal("fixture: no call with API action items")
	}
	type state struct {
		listed  json.RawMessage // action_items in the listing
		has     bool            // recording.has_meeting_summary
		summary *string
	}
	read := func() state {
		t.Helper()
		var p listPage
		if err := json.Unmarshal(get(t, srv.URL, "/v3/engagements?engagement_id="+call.ID).body, &p); err != nil || len(p.Engagements) != 1 {
			t.Fatalf("batch lookup: %v %+v", err, p)
		}
		var d struct {
			Data struct {
				Attributes struct {
					Summary   *string `json:"summary"`
					Recording struct {
						Has bool `json:"has_meeting_summary"`
					} `json:"recording"`
				} `json:"attributes"`
			} `json:"data"`
		}
		if err := json.Unmarshal(get(t, srv.URL, "/api/v1/conversations/"+call.ID).body, &d); err != nil {
			t.Fatal(err)
		}
		return state{p.Engagements[0].ActionItems, d.Data.Attributes.Recording.Has, d.Data.Attributes.Summary}
	}
	ten.SetNow(call.AIReadyAt.Add(-time.Minute))
	if ten.Processing(call.ID) {
		t.Fatal("the transcript should be ready before the AI output")
	}
	if s := read(); s.listed != nil || s.has || s.summary != nil || ten.AIReady(call.ID) {
		t.Fatalf("before AIReadyAt: listing action_items %s, has_meeting_summary %v, summary %v", s.listed, s.has, s.summary)
	}
	ten.SetNow(call.AIReadyAt)
	s := read()
	var items []string
	if err := json.Unmarshal(s.listed, &items); err != nil || !slices.Equal(items, call.APIActionItems) || !s.has || s.summary == nil {
		t.Fatalf("at AIReadyAt: listing action_items %s (want %q), has_meeting_summary %v", s.listed, call.APIActionItems, s.has)
	}
	if !ten.SetActionItems(call.ID, []string{"Send the revised order form"}) {
		t.Fatal("SetActionItems: unknown id")
	}
	if s := read(); !strings.Contains(string(s.listed), "revised order form") || !strings.Contains(*s.summary, "revised order form") {
		t.Fatalf("after SetActionItems: listing %s, summary %q", s.listed, *s.summary)
	}
	if e, _ := ten.Engagement(call.ID); !slices.Equal(e.APIActionItems, []string{"Send the revised order form"}) {
		t.Errorf("truth after the edit: %q", e.APIActionItems)
	}
	cust := ten.Customers()[0]
	ten.SetAccount(call.ID, cust.CRMAccountID, cust.Name)
	if e, _ := ten.Engagement(call.ID); e.CustomerID != cust.ID || e.MatchableBy != chorustest.MatchCRMAccountID {
		t.Errorf("truth after SetAccount: customer %q matchable by %q", e.CustomerID, e.MatchableBy)
	}
}
