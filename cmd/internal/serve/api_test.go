package serve

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// truthCallsNewestFirst is the tenant's recorded calls in the library's
// order: newest first, then by id.
func truthCallsNewestFirst(f *demoFixture) []chorustest.TruthEngagement {
	calls := f.tenant.RecordedCalls()
	sort.Slice(calls, func(i, j int) bool {
		if !calls[i].StartedAt.Equal(calls[j].StartedAt) {
			return calls[i].StartedAt.After(calls[j].StartedAt)
		}
		return calls[i].ID < calls[j].ID
	})
	return calls
}

func ids(ms []answers.Meeting) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestMeetingsPaging(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	truth := truthCallsNewestFirst(f)
	var want []string
	for _, c := range truth {
		want = append(want, c.ID)
	}

	// Page numbers.
	var got []string
	for page := 1; ; page++ {
		var p answers.MeetingPage
		getJSON(t, ts, fmt.Sprintf("/api/chorus/meetings?page=%d&page_size=40", page), http.StatusOK, &p)
		if p.Total != int64(len(truth)) || p.Page != page || p.PageSize != 40 {
			t.Fatalf("page %d: total %d page %d size %d, want total %d", page, p.Total, p.Page, p.PageSize, len(truth))
		}
		got = append(got, ids(p.Meetings)...)
		if p.NextPage == 0 {
			break
		}
		if p.NextPage != page+1 || p.NextCursor == "" {
			t.Fatalf("page %d: next_page %d next_cursor %q", page, p.NextPage, p.NextCursor)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: %d calls, want the tenant's %d in order (newest first)", len(got), len(want))
	}

	// The cursor walks the same order, and a cursor page is the same as
	// the numbered page.
	got = nil
	path := "/api/chorus/meetings?page_size=33"
	for n := 0; ; n++ {
		var p answers.MeetingPage
		getJSON(t, ts, path, http.StatusOK, &p)
		got = append(got, ids(p.Meetings)...)
		if n == 1 {
			var numbered answers.MeetingPage
			getJSON(t, ts, "/api/chorus/meetings?page_size=33&page=2", http.StatusOK, &numbered)
			if !slices.Equal(ids(numbered.Meetings), ids(p.Meetings)) {
				t.Errorf("the second cursor page differs from page 2")
			}
		}
		if p.NextCursor == "" {
			break
		}
		path = "/api/chorus/meetings?page_size=33&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cursor: %d calls, want the tenant's %d in order", len(got), len(want))
	}

	// Past the end: an empty page, not an error.
	var p answers.MeetingPage
	getJSON(t, ts, "/api/chorus/meetings?page=1000", http.StatusOK, &p)
	if len(p.Meetings) != 0 || p.NextPage != 0 || p.Total != int64(len(truth)) {
		t.Errorf("page 1000: %+v", p)
	}
}

func TestMeetingsFilters(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	truth := truthCallsNewestFirst(f)
	c := truth[len(truth)/3]
	// The customer a call was matched to comes from the models; the
	// tenant's truth says which customer it belongs to (matching may
	// miss, never mismatch), and SQL gives the set.
	var cust string
	for _, tc := range truth {
		if tc.CustomerID != "" && tc.MatchableBy != "" {
			cust = tc.CustomerID
			break
		}
	}
	from, to := c.StartedAt.UTC().AddDate(0, 0, -3), c.StartedAt.UTC().AddDate(0, 0, 2)
	var person chorustest.TruthParticipant
	for _, p := range c.Participants {
		if p.Type != "rep" && p.Email != "" {
			person = p
		}
	}
	word := strings.Fields(c.Subject)[0]

	cases := []struct {
		name  string
		query url.Values
		want  func(e chorustest.TruthEngagement) bool // nil: from SQL
		sql   string
	}{
		{"customer", url.Values{"customer": {cust}}, nil,
			fmt.Sprintf("SELECT call_id FROM chorus.customer_calls WHERE customer_id = '%s' ORDER BY started_at DESC, call_id", cust)},
		{"dates", url.Values{"from": {from.Format("2006-01-02")}, "to": {to.Format("2006-01-02")}}, func(e chorustest.TruthEngagement) bool {
			d := e.StartedAt.UTC().Format("2006-01-02")
			return d >= from.Format("2006-01-02") && d <= to.Format("2006-01-02")
		}, ""},
		{"instants", url.Values{"from": {c.StartedAt.UTC().Format(time.RFC3339)}, "to": {c.StartedAt.UTC().Add(time.Second).Format(time.RFC3339)}},
			func(e chorustest.TruthEngagement) bool {
				return !e.StartedAt.Before(c.StartedAt) && e.StartedAt.Before(c.StartedAt.Add(time.Second))
			}, ""},
		{"participant email", url.Values{"participant": {strings.ToUpper(person.Email)}}, func(e chorustest.TruthEngagement) bool {
			for _, p := range e.Participants {
				if strings.EqualFold(p.Email, person.Email) || strings.Contains(strings.ToLower(p.Name), strings.ToLower(person.Email)) {
					return true
				}
			}
			return false
		}, ""},
		{"participant name", url.Values{"participant": {person.Name}}, nil,
			fmt.Sprintf("SELECT DISTINCT call_id, started_at FROM chorus.int_call_participants JOIN chorus.customer_calls USING (call_id) WHERE lower(name) LIKE lower('%%%s%%') OR lower(email) LIKE lower('%%%s%%') ORDER BY started_at DESC, call_id", person.Name, person.Name)},
		{"text", url.Values{"q": {strings.ToLower(word)}}, nil,
			fmt.Sprintf("SELECT call_id FROM chorus.customer_calls WHERE title ILIKE '%%%s%%' OR summary ILIKE '%%%s%%' ORDER BY started_at DESC, call_id", word, word)},
		{"hostile text", url.Values{"q": {`'; DROP TABLE chorus.customer_calls; --`}}, func(chorustest.TruthEngagement) bool { return false }, ""},
		{"all", url.Values{"customer": {cust}, "from": {from.Format("2006-01-02")}}, nil,
			fmt.Sprintf("SELECT call_id FROM chorus.customer_calls WHERE customer_id = '%s' AND started_at >= TIMESTAMP '%s' ORDER BY started_at DESC, call_id", cust, from.Format("2006-01-02"))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			if tc.want != nil {
				for _, e := range truth {
					if tc.want(e) {
						want = append(want, e.ID)
					}
				}
			} else {
				for _, r := range f.sqlRows(t, tc.sql) {
					want = append(want, r["call_id"].(string))
				}
			}
			tc.query.Set("page_size", "200")
			var p answers.MeetingPage
			getJSON(t, ts, "/api/chorus/meetings?"+tc.query.Encode(), http.StatusOK, &p)
			if got := ids(p.Meetings); !slices.Equal(got, want) {
				t.Errorf("%v: %d calls %v, want %d %v", tc.query, len(got), got, len(want), want)
			}
			if p.Total != int64(len(want)) {
				t.Errorf("total %d, want %d", p.Total, len(want))
			}
			if tc.name != "hostile text" && len(want) == 0 {
				t.Errorf("the case selects no call: not a test")
			}
		})
	}
	// The hostile filter changed nothing.
	if n := f.sqlRows(t, "SELECT COUNT(*) AS n FROM chorus.customer_calls")[0]["n"]; fmt.Sprint(n) != fmt.Sprint(len(truth)) {
		t.Errorf("customer_calls has %v rows", n)
	}
}

// callWithEverything is a ground-truth call with a customer, a transcript
// and API action items.
func callWithEverything(t *testing.T, f *demoFixture) chorustest.TruthEngagement {
	t.Helper()
	for _, c := range truthCallsNewestFirst(f) {
		if c.CustomerID != "" && c.MatchableBy != "" && !c.NoShow && !c.NotFound && len(f.tenant.Utterances(c.ID)) > 5 && len(c.APIActionItems) > 0 {
			return c
		}
	}
	t.Fatal("no call with a customer, a transcript and action items")
	return chorustest.TruthEngagement{}
}

func TestMeeting(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	c := callWithEverything(t, f)
	var m answers.MeetingDetail
	getJSON(t, ts, "/api/chorus/meetings/"+c.ID, http.StatusOK, &m)
	if m.ID != c.ID || m.Title != c.Subject || !m.StartedAt.Equal(c.StartedAt.UTC().Truncate(time.Second)) && !m.StartedAt.Equal(c.StartedAt) {
		t.Errorf("meeting %s %q %v, want %q %v", m.ID, m.Title, m.StartedAt, c.Subject, c.StartedAt)
	}
	if math.Abs(m.DurationSeconds-c.Duration) > 0.01 {
		t.Errorf("duration %v, want %v", m.DurationSeconds, c.Duration)
	}
	if m.CustomerID != c.CustomerID {
		t.Errorf("customer %q, want %q", m.CustomerID, c.CustomerID)
	}
	url := f.sqlRows(t, "SELECT url FROM chorus_raw.calls WHERE call_id = '"+c.ID+"'")[0]["url"]
	if m.RecordingURL == "" || m.RecordingURL != url {
		t.Errorf("recording %q, want %q", m.RecordingURL, url)
	}
	var gotPeople, wantPeople []string
	for _, p := range m.Participants {
		gotPeople = append(gotPeople, p.Name+" <"+strings.ToLower(p.Email)+">")
	}
	for _, p := range c.Participants {
		wantPeople = append(wantPeople, p.Name+" <"+strings.ToLower(p.Email)+">")
	}
	slices.Sort(gotPeople)
	slices.Sort(wantPeople)
	if !slices.Equal(slices.Compact(gotPeople), slices.Compact(wantPeople)) {
		t.Errorf("participants %v, want %v", gotPeople, wantPeople)
	}
	descs := map[string]bool{}
	for _, tk := range m.Tasks {
		descs[strings.TrimSpace(tk.Description)] = true
		if tk.CallID != c.ID || tk.Status == "" || tk.DueDate == "" {
			t.Errorf("task %+v", tk)
		}
	}
	for _, a := range c.APIActionItems {
		if !descs[strings.TrimSpace(a)] {
			t.Errorf("action item %q is not among the call's tasks %v", a, descs)
		}
	}
	wantTasks := f.sqlRows(t, "SELECT COUNT(*) AS n FROM chorus.customer_tasks WHERE call_id = '"+c.ID+"'")[0]["n"]
	if fmt.Sprint(len(m.Tasks)) != fmt.Sprint(wantTasks) {
		t.Errorf("%d tasks, want %v", len(m.Tasks), wantTasks)
	}
	var trackers []string
	for _, tr := range c.Trackers {
		trackers = append(trackers, tr.Name)
	}
	for _, s := range m.Signals {
		if !slices.Contains(trackers, s.Tracker) || s.Category == "" || s.Mentions < 1 {
			t.Errorf("signal %+v: the call's trackers are %v", s, trackers)
		}
	}
}

func TestTranscript(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	c := callWithEverything(t, f)
	want := f.tenant.Utterances(c.ID)
	var tr answers.Transcript
	getJSON(t, ts, "/api/chorus/meetings/"+c.ID+"/transcript", http.StatusOK, &tr)
	if tr.CallID != c.ID || tr.Title != c.Subject || tr.CustomerID != c.CustomerID || tr.TranscriptStatus != "complete" {
		t.Errorf("transcript header %+v", tr)
	}
	if len(tr.Utterances) != len(want) {
		t.Fatalf("%d utterances, want %d", len(tr.Utterances), len(want))
	}
	for i, u := range tr.Utterances {
		w := want[i]
		if u.Index != int64(w.Index) || u.Text != w.Text || u.Speaker != w.SpeakerName || math.Abs(u.StartSeconds-w.Start) > 0.01 {
			t.Fatalf("utterance %d: %+v, want %+v", i, u, w)
		}
		if link := fmt.Sprintf("%s#t=%d", tr.RecordingURL, int(w.Start)); u.Link != link {
			t.Errorf("utterance %d: link %q, want %q", i, u.Link, link)
		}
		if s := int(w.Start); u.Start != fmt.Sprintf("%02d:%02d", s/60, s%60) {
			t.Errorf("utterance %d: start %q at %.2fs", i, u.Start, w.Start)
		}
		if u.SpeakerType == "" {
			t.Errorf("utterance %d: no speaker type", i)
		}
	}

	// A call without a transcript: its status and no utterances.
	for _, e := range truthCallsNewestFirst(f) {
		if !e.NoShow {
			continue
		}
		var nt answers.Transcript
		getJSON(t, ts, "/api/chorus/meetings/"+e.ID+"/transcript", http.StatusOK, &nt)
		status := f.sqlRows(t, "SELECT transcript_status FROM chorus.customer_calls WHERE call_id = '"+e.ID+"'")[0]["transcript_status"]
		if len(nt.Utterances) != 0 || nt.TranscriptStatus != fmt.Sprint(status) {
			t.Errorf("no-show %s: %d utterances, status %q, want 0 and %v", e.ID, len(nt.Utterances), nt.TranscriptStatus, status)
		}
		break
	}
}

func TestCustomer(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	var notActionable int64
	for _, c := range f.tenant.Customers() {
		var v answers.CustomerView
		getJSON(t, ts, "/api/chorus/customer/"+c.ID, http.StatusOK, &v)
		if v.Customer.ID != c.ID || v.Customer.Name != c.Name || !slices.Equal(v.Customer.Domains, c.Domains) || v.Customer.CSMEmail != c.CSMEmail {
			t.Errorf("%s: customer %+v, want %+v", c.ID, v.Customer, c)
		}
		calls := f.sqlRows(t, fmt.Sprintf("SELECT call_id FROM chorus.customer_calls WHERE customer_id = '%s' ORDER BY started_at DESC, call_id", c.ID))
		if v.CallsTotal != int64(len(calls)) {
			t.Errorf("%s: %d calls, want %d", c.ID, v.CallsTotal, len(calls))
		}
		for i, m := range v.Calls {
			if m.ID != calls[i]["call_id"] || m.CustomerID != c.ID {
				t.Errorf("%s: call %d is %s, want %v", c.ID, i, m.ID, calls[i]["call_id"])
			}
		}
		health := f.sqlRows(t, fmt.Sprintf("SELECT * FROM chorus.customer_health WHERE customer_id = '%s'", c.ID))
		if len(health) == 0 {
			if v.Health != nil {
				t.Errorf("%s: health %+v without calls", c.ID, v.Health)
			}
			continue
		}
		h := health[0]
		if v.Health == nil || fmt.Sprint(v.Health.Score) != fmt.Sprint(h["health_score"]) || v.Health.Band != h["health_band"] || !v.Health.AsOf.Equal(demoNow) {
			t.Fatalf("%s: health %+v, want %v %v as of %v", c.ID, v.Health, h["health_score"], h["health_band"], demoNow)
		}
		// Every penalty and bonus column is a driver; 100 minus the
		// penalties plus the bonus, clamped and rounded, is the score.
		sum := 100.0
		cols := 0
		for col, val := range h {
			if strings.HasPrefix(col, "penalty_") || strings.HasPrefix(col, "bonus") {
				cols++
				x := num(t, val)
				if strings.HasPrefix(col, "penalty_") {
					x = -x
				}
				sum += x
			}
		}
		if len(v.Health.Drivers) != cols || cols < 6 {
			t.Errorf("%s: %d drivers, the model has %d penalty and bonus columns", c.ID, len(v.Health.Drivers), cols)
		}
		var fromDrivers float64 = 100
		for _, d := range v.Health.Drivers {
			fromDrivers += d.Points
		}
		if math.Abs(fromDrivers-sum) > 0.01 || int64(math.Round(max(0, min(100, sum)))) != v.Health.Score {
			t.Errorf("%s: drivers add up to %.2f (model %.2f), score %d", c.ID, fromDrivers, sum, v.Health.Score)
		}
		weeks := f.sqlRows(t, fmt.Sprintf("SELECT strftime(week_start, '%%Y-%%m-%%d') AS w, health_score FROM chorus.customer_health_weekly WHERE customer_id = '%s' ORDER BY week_start", c.ID))
		if len(v.HealthWeekly) != len(weeks) {
			t.Fatalf("%s: %d weeks, want %d", c.ID, len(v.HealthWeekly), len(weeks))
		}
		for i, w := range weeks {
			if v.HealthWeekly[i].WeekStart != w["w"] || fmt.Sprint(v.HealthWeekly[i].Score) != fmt.Sprint(w["health_score"]) {
				t.Errorf("%s: week %d %+v, want %v", c.ID, i, v.HealthWeekly[i], w)
			}
		}
		mentions := f.sqlRows(t, fmt.Sprintf("SELECT COALESCE(SUM(mentions), 0) AS n, COUNT(*) AS rows FROM chorus.tracker_trends WHERE customer_id = '%s'", c.ID))[0]
		var got int64
		for _, p := range v.TrackerTrends {
			got += p.Mentions
		}
		if fmt.Sprint(got) != fmt.Sprint(mentions["n"]) || fmt.Sprint(len(v.TrackerTrends)) != fmt.Sprint(mentions["rows"]) {
			t.Errorf("%s: tracker trends %d mentions in %d rows, want %v", c.ID, got, len(v.TrackerTrends), mentions)
		}
		tasks, byStatus := wantActionable(t, f, c.ID)
		if v.OpenTasksTotal != int64(len(tasks)) || len(v.OpenTasks) != min(len(tasks), answers.MaxOpenTasks) {
			t.Errorf("%s: %d of %d open tasks, want %d", c.ID, len(v.OpenTasks), v.OpenTasksTotal, len(tasks))
		}
		for i, tk := range v.OpenTasks {
			if tk.ID != tasks[i]["task_id"] || tk.Status != tasks[i]["status"] {
				t.Errorf("%s: task %d is %s %s, want %v", c.ID, i, tk.ID, tk.Status, tasks[i])
				break
			}
		}
		if !maps.Equal(v.TasksByStatus, byStatus) {
			t.Errorf("%s: tasks by status %v, want %v", c.ID, v.TasksByStatus, byStatus)
		}
		notActionable += byStatus["followed_up"] + byStatus["stale"]
	}
	if notActionable == 0 {
		t.Error("no customer has a followed-up or stale task: the test shows nothing about leaving them out")
	}
}

// wantActionable lists a customer's open and overdue tasks, soonest due
// first (filtered here, not in SQL), and counts all its tasks by status.
func wantActionable(t *testing.T, f *demoFixture, customerID string) ([]map[string]any, map[string]int64) {
	t.Helper()
	var open []map[string]any
	byStatus := map[string]int64{}
	for _, r := range f.sqlRows(t, fmt.Sprintf("SELECT task_id, status, description FROM chorus.customer_tasks WHERE customer_id = '%s' ORDER BY due_date, created_at, call_id, item_index", customerID)) {
		st := r["status"].(string)
		byStatus[st]++
		if st == "open" || st == "overdue" {
			open = append(open, r)
		}
	}
	return open, byStatus
}

func TestInsights(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	var momentum int64
	for _, c := range f.tenant.Customers() {
		var in answers.Insights
		getJSON(t, ts, "/api/chorus/insights/"+c.ID, http.StatusOK, &in)
		if in.Customer.ID != c.ID || in.Customer.Name != c.Name {
			t.Errorf("%s: customer %+v", c.ID, in.Customer)
		}
		if !in.PeriodEnd.Equal(demoNow) || in.TrendDays != 28 {
			t.Errorf("%s: period to %v over %d days, want to %v", c.ID, in.PeriodEnd, in.TrendDays, demoNow)
		}
		// Mentions per tracker in the two periods, bucketed here.
		rows := f.sqlRows(t, fmt.Sprintf(`SELECT s.tracker_name, c.started_at, s.mentions FROM chorus.int_call_signals s
JOIN chorus.customer_calls c ON c.call_id = s.call_id WHERE c.customer_id = '%s'`, c.ID))
		recent, previous := map[string]int64{}, map[string]int64{}
		mid, start := demoNow.AddDate(0, 0, -28), demoNow.AddDate(0, 0, -56)
		for _, r := range rows {
			at := r["started_at"].(time.Time)
			n := num(t, r["mentions"])
			switch {
			case at.After(mid) && !at.After(demoNow):
				recent[r["tracker_name"].(string)] += int64(n)
			case at.After(start) && !at.After(mid):
				previous[r["tracker_name"].(string)] += int64(n)
			}
		}
		seen := map[string]bool{}
		for i, tr := range in.Trending {
			seen[tr.Tracker] = true
			if tr.Recent != recent[tr.Tracker] || tr.Previous != previous[tr.Tracker] || tr.Change != tr.Recent-tr.Previous {
				t.Errorf("%s: %s %d → %d, want %d → %d", c.ID, tr.Tracker, tr.Previous, tr.Recent, previous[tr.Tracker], recent[tr.Tracker])
			}
			if i > 0 && in.Trending[i-1].Recent < tr.Recent {
				t.Errorf("%s: trending not by recent mentions", c.ID)
			}
			dir := map[bool]string{true: "up", false: "down"}[tr.Change > 0]
			switch {
			case tr.Previous == 0:
				dir = "new"
			case tr.Recent == 0:
				dir = "gone"
			case tr.Change == 0:
				dir = "flat"
			}
			if tr.Direction != dir {
				t.Errorf("%s: %s is %s, want %s", c.ID, tr.Tracker, tr.Direction, dir)
			}
		}
		for name := range recent {
			if !seen[name] {
				t.Errorf("%s: %s is missing from trending", c.ID, name)
			}
		}
		tasks, _ := wantActionable(t, f, c.ID)
		if in.PendingTotal != int64(len(tasks)) || len(in.PendingActionItems) != min(len(tasks), answers.MaxPendingItems) {
			t.Errorf("%s: %d of %d pending, want %d", c.ID, len(in.PendingActionItems), in.PendingTotal, len(tasks))
		}
		for i, tk := range in.PendingActionItems {
			if tk.ID != tasks[i]["task_id"] || tk.Status != tasks[i]["status"] {
				t.Errorf("%s: item %d is %s %s, want %v", c.ID, i, tk.ID, tk.Status, tasks[i])
				break
			}
		}
		momentum += checkMomentum(t, f, c.ID, in.Momentum)
	}
	if momentum == 0 {
		t.Error("no customer has a week with momentum points")
	}
}

// checkMomentum compares the insights' momentum weeks with the model read
// here, and checks that they end at the as-of week; it returns the points
// seen.
func checkMomentum(t *testing.T, f *demoFixture, customerID string, got []answers.MomentumWeek) int64 {
	t.Helper()
	rows := f.sqlRows(t, fmt.Sprintf(`SELECT strftime(week_start, '%%Y-%%m-%%d') AS w, momentum_points, momentum_4w, momentum_trend,
  COALESCE(deal_stage, '') AS stage, deal_stage_changes, calls, emails, next_step_calls, pricing_calls, objection_calls
FROM chorus.customer_momentum WHERE customer_id = '%s' ORDER BY week_start`, customerID))
	if len(rows) > answers.MomentumWeeks {
		rows = rows[len(rows)-answers.MomentumWeeks:]
	}
	if len(got) != len(rows) {
		t.Errorf("%s: %d momentum weeks, want %d", customerID, len(got), len(rows))
		return 0
	}
	var points int64
	for i, r := range rows {
		w := got[i]
		have := fmt.Sprint(w.WeekStart, w.Points, w.Score, w.Trend, w.DealStage, w.StageChanges, w.Calls, w.Emails, w.NextStepCalls, w.PricingCalls, w.ObjectionCalls)
		want := fmt.Sprint(r["w"], r["momentum_points"], r["momentum_4w"], r["momentum_trend"], r["stage"], r["deal_stage_changes"], r["calls"],
			r["emails"], r["next_step_calls"], r["pricing_calls"], r["objection_calls"])
		if have != want {
			t.Errorf("%s: momentum week %d is %s, want %s", customerID, i, have, want)
		}
		points += max(w.Points, -w.Points)
	}
	// Monday of the as-of week (the model's weeks run to it).
	asOfWeek := demoNow.AddDate(0, 0, -(int(demoNow.Weekday())+6)%7).Format(time.DateOnly)
	if len(got) > 0 && got[len(got)-1].WeekStart != asOfWeek {
		t.Errorf("%s: the last momentum week is %s, want the as-of week %s", customerID, got[len(got)-1].WeekStart, asOfWeek)
	}
	return points
}

func TestCustomersList(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	var got struct{ Customers []answers.CustomerSummary }
	getJSON(t, ts, "/api/chorus/customers", http.StatusOK, &got)
	want := f.tenant.Customers()
	if len(got.Customers) != len(want) {
		t.Fatalf("%d customers, want %d", len(got.Customers), len(want))
	}
	names := map[string]string{}
	for _, c := range want {
		names[c.ID] = c.Name
	}
	for i, c := range got.Customers {
		if names[c.ID] != c.Name || (i > 0 && got.Customers[i-1].Name > c.Name) {
			t.Errorf("customer %d: %+v", i, c)
		}
	}
}

func TestBadInput(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	id := f.tenant.RecordedCalls()[0].ID
	long := strings.Repeat("x", maxTextParam+1)
	cases := []struct {
		method, path string
		status       int
		says         []string
	}{
		{"GET", "/api/chorus/meetings?page=0", 400, []string{`"page"`, "1 to"}},
		{"GET", "/api/chorus/meetings?page=two", 400, []string{`"page"`}},
		{"GET", "/api/chorus/meetings?page=-1", 400, []string{`"page"`}},
		{"GET", "/api/chorus/meetings?page_size=201", 400, []string{`"page_size"`, "200"}},
		{"GET", "/api/chorus/meetings?page_size=0", 400, []string{`"page_size"`}},
		{"GET", "/api/chorus/meetings?from=2026-13-01", 400, []string{`"from"`, "2026-01-31"}},
		{"GET", "/api/chorus/meetings?from=yesterday", 400, []string{`"from"`}},
		{"GET", "/api/chorus/meetings?to=31/01/2026", 400, []string{`"to"`}},
		{"GET", "/api/chorus/meetings?from=2026-02-01&to=2026-01-01", 400, []string{"not before"}},
		{"GET", "/api/chorus/meetings?custmer=x", 400, []string{`unknown parameter "custmer"`, "customer"}},
		{"GET", "/api/chorus/meetings?page=1&page=2", 400, []string{`"page"`, "2 times"}},
		{"GET", "/api/chorus/meetings?cursor=garbage!", 400, []string{"cursor"}},
		{"GET", "/api/chorus/meetings?cursor=" + answers.Cursor{StartedAt: demoNow, ID: "X"}.String() + "&page=2", 400, []string{"either page or cursor"}},
		{"GET", "/api/chorus/meetings?q=" + long, 400, []string{`"q"`, "at most"}},
		{"GET", "/api/chorus/meetings?q=%00", 400, []string{`"q"`, "UTF-8"}},
		{"GET", "/api/chorus/meetings?participant=%ff%fe", 400, []string{`"participant"`, "UTF-8"}},
		{"GET", "/api/chorus/meetings?q=%zz", 400, []string{"query string"}},
		{"GET", "/api/chorus/meetings/NOSUCHCALL", 404, []string{"NOSUCHCALL", "not in the warehouse"}},
		{"GET", "/api/chorus/meetings/NOSUCHCALL/transcript", 404, []string{"NOSUCHCALL"}},
		{"GET", "/api/chorus/meetings/" + strings.Repeat("A", maxIDParam+1), 400, []string{"not a valid id"}},
		{"GET", "/api/chorus/meetings/" + id + "?verbose=1", 400, []string{`unknown parameter "verbose"`}},
		{"GET", "/api/chorus/meetings/a'b%22c", 404, []string{`a'b\"c`}},
		{"GET", "/api/chorus/customer/cust-999", 404, []string{"cust-999", "customer list"}},
		{"GET", "/api/chorus/insights/cust-999", 404, []string{"cust-999"}},
		{"GET", "/api/chorus/nothing-here", 404, []string{"no endpoint"}},
		{"POST", "/api/chorus/meetings", 405, []string{"use GET"}},
		{"DELETE", "/api/chorus/customer/cust-001", 405, []string{"use GET"}},
		{"GET", "/api/chorus/webhook", 405, []string{"use POST"}},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path[:min(len(c.path), 60)], func(t *testing.T) {
			wantError(t, ts, c.method, c.path, c.status, c.says...)
		})
	}
}

// TestHostileIDs sends ids that break naive quoting through the API: each
// is a 404, and the table is still there (the quoting itself is tested in
// package answers).
func TestHostileIDs(t *testing.T) {
	f := demoWarehouse(t)
	ts, _, _ := testServer(t, nil)
	for _, s := range []string{`'`, `''`, `\`, `\'`, `"`, "`", `'; DROP TABLE chorus.customers; --`, `" OR 1=1 --`, `') OR ('1'='1`, `%_*?`} {
		var esc strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&esc, "%%%02X", c)
		}
		wantError(t, ts, "GET", "/api/chorus/customer/"+esc.String(), 404)
	}
	if n := f.sqlRows(t, "SELECT COUNT(*) AS n FROM chorus.customers")[0]["n"]; fmt.Sprint(n) != fmt.Sprint(len(f.tenant.Customers())) {
		t.Errorf("customers: %v rows", n)
	}
}
