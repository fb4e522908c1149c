package transforms_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// Fixed clock of the simulated tenant: calls span 75 days up to end.
var (
	tenantEnd  = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday
	tenantAsOf = tenantEnd.Add(24 * time.Hour)
)

// synced is a simulated tenant synced into a DuckDB warehouse.
type synced struct {
	tenant *chorustest.Tenant
	w      warehouse.Warehouse
	dir    string
	calls  map[string]chorustest.TruthEngagement // recorded calls by id
	resync func()                                // extracts the same window again and loads it
}

// syncTenant extracts a simulated tenant to Parquet and loads it into a new
// DuckDB file.
func syncTenant(t *testing.T, opts chorustest.Options) *synced {
	t.Helper()
	return syncTenantWith(t, opts, nil, "")
}

// syncTenantWith is syncTenant with the tenant edited by prepare (when not
// nil) before the extract, and extra configuration members (",\"key\":value…").
func syncTenantWith(t *testing.T, opts chorustest.Options, prepare func(*chorustest.Tenant), extra string) *synced {
	t.Helper()
	ctx := context.Background()
	srv, ten := testkit.NewServer(t, opts)
	if prepare != nil {
		prepare(ten)
	}
	start := opts.Start.Format("2006-01-02")
	cfg, err := config.Parse([]byte(`{"api_token":"test-token","base_url":"`+srv.URL+`","start_date":"`+start+`","requests_per_second":1000,"max_concurrency":8`+extra+`}`), opts.Now, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	extract := func(out string) {
		t.Helper()
		if _, err := connector.Extract(ctx, connector.ExtractOptions{Config: cfg, OutDir: out, Now: func() time.Time { return opts.Now }}); err != nil {
			t.Fatal(err)
		}
	}
	extract(filepath.Join(dir, "data"))
	w, err := warehouse.Open(ctx, "duckdb:"+filepath.Join(dir, "wh.duckdb"), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	if _, err := w.Load(ctx, filepath.Join(dir, "data"), nil); err != nil {
		t.Fatal(err)
	}
	s := &synced{tenant: ten, w: w, dir: dir, calls: map[string]chorustest.TruthEngagement{}}
	s.resync = func() {
		extract(filepath.Join(dir, "again"))
		if _, err := w.Load(ctx, filepath.Join(dir, "again"), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range ten.RecordedCalls() {
		s.calls[e.ID] = e
	}
	return s
}

func query(t *testing.T, e transforms.Engine, q string) []map[string]any {
	t.Helper()
	rows, err := e.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func i64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case nil:
		return 0
	}
	var n int64
	if _, err := fmt.Sscan(fmt.Sprint(v), &n); err != nil {
		return -1 // not a number: no count can equal it
	}
	return n
}

func customersOf(ten *chorustest.Tenant, include func(chorustest.Customer) bool) []transforms.Customer {
	var buf bytes.Buffer
	if err := ten.WriteCustomersCSV(&buf, include); err != nil {
		panic(err)
	}
	cs, err := transforms.ReadCustomersCSV(&buf, "tenant")
	if err != nil {
		panic(err)
	}
	return cs
}

// TestTenantEndToEnd syncs a simulated tenant, transforms it and checks the
// marts against the tenant's ground truth.
func TestTenantEndToEnd(t *testing.T) {
	ctx := context.Background()
	s := syncTenant(t, chorustest.Options{Seed: 11, Calls: 400, Customers: 14,
		Start: tenantEnd.Add(-75 * 24 * time.Hour), End: tenantEnd, Now: tenantEnd.Add(12 * time.Hour)})
	customers := s.tenant.Customers()
	left := customers[3] // left out of the first customer list
	opt := transforms.Options{AsOf: tenantAsOf, SellerDomains: nil}

	// First run without one customer: its calls stay unattached.
	opt.Customers = customersOf(s.tenant, func(c chorustest.Customer) bool { return c.ID != left.ID })
	if _, err := transforms.Run(ctx, s.w, opt); err != nil {
		t.Fatal(err)
	}
	unattached := map[string]bool{}
	for _, r := range query(t, s.w, "SELECT call_id FROM chorus.unattached_calls") {
		unattached[str(r["call_id"])] = true
	}
	firstRun := map[string]string{}
	for _, r := range query(t, s.w, "SELECT call_id, customer_id FROM chorus.customer_calls") {
		firstRun[str(r["call_id"])] = str(r["customer_id"])
	}

	// Second run with every customer: the old calls attach by themselves.
	opt.Customers = customersOf(s.tenant, nil)
	res, err := transforms.Run(ctx, s.w, opt)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, r := range query(t, s.w, "SELECT * FROM chorus.customer_calls") {
		got[str(r["call_id"])] = r
	}
	var leftCalls, leftMissed int
	for id, e := range s.calls {
		if e.CustomerID != left.ID || e.MatchableBy == "" {
			continue
		}
		switch c := str(got[id]["customer_id"]); {
		case c == left.ID:
			leftCalls++
			if firstRun[id] != "" || !unattached[id] {
				t.Errorf("call %s of the customer left out: first run customer %q, in unattached_calls %v", id, firstRun[id], unattached[id])
			}
		case c == "":
			leftMissed++ // counted by the matching check
		default:
			t.Errorf("call %s of the customer added later attached to %s", id, c)
		}
	}
	if leftCalls == 0 {
		t.Fatal("fixture: the customer left out has no calls")
	}
	if n := len(query(t, s.w, "SELECT call_id FROM chorus.unattached_calls u JOIN chorus.customer_calls c USING (call_id) WHERE c.customer_id IS NOT NULL")); n != 0 {
		t.Errorf("%d attached calls are still in unattached_calls", n)
	}
	t.Logf("customer %s added later: %d old calls attached on the next transform (%d not matchable from the raw tables)", left.ID, leftCalls, leftMissed)

	t.Run("matching", func(t *testing.T) { checkMatching(t, s, got, res) })
	t.Run("tasks", func(t *testing.T) { checkTasks(t, s, got) })
	t.Run("health", func(t *testing.T) { checkHealth(t, s, got) })
	t.Run("trends", func(t *testing.T) { checkTrends(t, s, got) })
	t.Run("search", func(t *testing.T) { checkSearch(t, s) })
	t.Run("transcript", func(t *testing.T) { checkTranscript(t, s) })
	t.Run("rerun", func(t *testing.T) { checkRerun(t, s, opt) })
}

func checkMatching(t *testing.T, s *synced, got map[string]map[string]any, res *transforms.Result) {
	if len(got) != len(s.calls) {
		t.Errorf("customer_calls has %d rows, the tenant recorded %d calls", len(got), len(s.calls))
	}
	var matchable, right, wrong, missed, wrongMethod, unmatchableAttached int
	for id, e := range s.calls {
		r, ok := got[id]
		if !ok {
			t.Errorf("call %s is missing from customer_calls", id)
			continue
		}
		c := str(r["customer_id"])
		if e.MatchableBy == "" {
			if c != "" {
				unmatchableAttached++
				t.Errorf("call %s (customer %q, not matchable) attached to %s by %s", id, e.CustomerID, c, str(r["match_method"]))
			}
			continue
		}
		matchable++
		switch {
		case c == e.CustomerID:
			right++
			if m := str(r["match_method"]); m != e.MatchableBy {
				wrongMethod++
				t.Logf("call %s: method %s, the first rule that can match is %s", id, m, e.MatchableBy)
			}
		case c == "":
			missed++
			t.Logf("call %s (%s, by %s) not attached", id, e.CustomerID, e.MatchableBy)
		default:
			wrong++
			t.Errorf("call %s attached to %s, belongs to %s (by %s)", id, c, e.CustomerID, e.MatchableBy)
		}
	}
	acc := float64(right) / float64(matchable)
	line := fmt.Sprintf("customer matching: %d/%d matchable calls attached to the right customer (%.2f%%), %d wrong, %d missed, %d with another method; %d unmatchable calls attached",
		right, matchable, 100*acc, wrong, missed, wrongMethod, unmatchableAttached)
	t.Log(line)
	fmt.Println("transforms:", line)
	if acc < 0.99 || wrong > 0 {
		t.Errorf("matching accuracy %.2f%% with %d wrong; want ≥ 99%% and none wrong", 100*acc, wrong)
	}
	// Free-mail domains never match.
	for _, r := range query(t, s.w, `SELECT p.call_id, p.email_domain FROM chorus.int_call_participants p
		JOIN chorus.customer_calls c ON c.call_id = p.call_id AND c.match_method = 'email_domain'
		JOIN chorus.int_customer_domains d ON d.customer_id = c.customer_id AND d.domain = p.email_domain
		WHERE p.email_domain IN (SELECT domain FROM chorus.free_mail_domains)`) {
		t.Errorf("call %s matched by free-mail domain %s", str(r["call_id"]), str(r["email_domain"]))
	}
	if res.Rows["customer_calls"] != len(s.calls) {
		t.Errorf("Result.Rows[customer_calls] = %d", res.Rows["customer_calls"])
	}
}

// expectDue computes a due date from the tenant's due phrases, independently
// of the SQL: weekdays are the next such day after the call, "next week" the
// Friday of the following week, month days in the call's year (or the next
// when already past), anything else the call date + 7 days.
func expectDue(call time.Time, phrase string) time.Time {
	d := time.Date(call.Year(), call.Month(), call.Day(), 0, 0, 0, 0, time.UTC)
	iso := int(d.Weekday())
	if iso == 0 {
		iso = 7
	}
	p := strings.ToLower(phrase)
	weekdays := map[string]int{"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7}
	for name, wd := range weekdays {
		if strings.Contains(p, name) {
			return d.AddDate(0, 0, (wd-iso+6)%7+1)
		}
	}
	switch {
	case strings.Contains(p, "tomorrow"):
		return d.AddDate(0, 0, 1)
	case strings.Contains(p, "next week"):
		return d.AddDate(0, 0, 12-iso)
	case strings.Contains(p, "end of month"), strings.Contains(p, "end of the month"):
		return time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	}
	if m := regexp.MustCompile(`(?i)\b(january|february|march|april|may|june|july|august|september|october|november|december) (\d{1,2})\b`).FindStringSubmatch(phrase); m != nil {
		t, err := time.Parse("January 2 2006", fmt.Sprintf("%s %s %d", strings.ToUpper(m[1][:1])+strings.ToLower(m[1][1:]), m[2], d.Year()))
		if err == nil {
			if t.Before(d) {
				t = t.AddDate(1, 0, 0)
			}
			return t
		}
	}
	return d.AddDate(0, 0, 7)
}

func checkTasks(t *testing.T, s *synced, calls map[string]map[string]any) {
	rows := query(t, s.w, "SELECT * FROM chorus.customer_tasks ORDER BY call_id, item_index")
	ids := map[string]bool{}
	byCall := map[string][]map[string]any{}
	for _, r := range rows {
		id := str(r["task_id"])
		if ids[id] {
			t.Errorf("task_id %s appears twice", id)
		}
		ids[id] = true
		byCall[str(r["call_id"])] = append(byCall[str(r["call_id"])], r)
	}
	csm := map[string]chorustest.Customer{}
	for _, c := range s.tenant.Customers() {
		csm[c.ID] = c
	}
	stale := transforms.DefaultSignals().Weights["task_stale_days"]
	statuses := map[string]int{}
	var apiTasks, derivedTasks, dueChecked, dueWrong int
	for id, e := range s.calls {
		tasks := byCall[id]
		callRow := calls[id]
		callDate, _ := callRow["started_at"].(time.Time)
		if len(e.APIActionItems) > 0 {
			if len(tasks) != len(e.APIActionItems) {
				t.Errorf("call %s: %d tasks, the API gave %d action items", id, len(tasks), len(e.APIActionItems))
				continue
			}
			for i, tk := range tasks {
				apiTasks++
				if str(tk["source"]) != "chorus" || str(tk["description"]) != e.APIActionItems[i] {
					t.Errorf("call %s task %d: %s %q, want chorus %q", id, i, str(tk["source"]), str(tk["description"]), e.APIActionItems[i])
				}
				dueChecked++
				if want := expectDue(callDate, e.TrueActionItems[i].DueHint); !sameDay(tk["due_date"], want) {
					dueWrong++
					t.Errorf("call %s (%s) task %q: due %v (%s), want %s", id, callDate.Format("Mon 2006-01-02"), str(tk["description"]), tk["due_date"], str(tk["due_rule"]), want.Format("Mon 2006-01-02"))
				}
			}
		} else {
			truth := map[int64]chorustest.TruthActionItem{}
			for _, a := range e.TrueActionItems {
				truth[int64(a.UtteranceIndex)] = a
			}
			for _, tk := range tasks {
				derivedTasks++
				if str(tk["source"]) != "derived" {
					t.Errorf("call %s: task %q has source %s, want derived (the API gave none)", id, str(tk["description"]), str(tk["source"]))
				}
				a, ok := truth[i64(tk["utterance_index"])]
				if !ok {
					continue // a false positive of the derivation, scored in connector/derive_truth_test.go
				}
				dueChecked++
				if want := expectDue(callDate, a.DueHint); !sameDay(tk["due_date"], want) {
					dueWrong++
					t.Errorf("call %s (%s) derived task %q: due %v (%s), want %s", id, callDate.Format("Mon 2006-01-02"), str(tk["description"]), tk["due_date"], str(tk["due_rule"]), want.Format("Mon 2006-01-02"))
				}
				if tk["call_link"] == nil || !strings.Contains(str(tk["call_link"]), "#t=") {
					t.Errorf("call %s derived task: call_link %v has no #t=", id, tk["call_link"])
				}
			}
		}
		for _, tk := range tasks {
			cust := str(callRow["customer_id"])
			want := e.OwnerEmail
			if cust != "" {
				want = csm[cust].CSMEmail
			}
			if str(tk["assignee_email"]) != want {
				t.Errorf("call %s task: assignee %s, want %s (customer %q)", id, str(tk["assignee_email"]), want, cust)
			}
			due, _ := tk["due_date"].(time.Time)
			wantStatus, followUp := expectStatus(s, e, due, stale)
			statuses[wantStatus]++
			if str(tk["status"]) != wantStatus || str(tk["followed_up_call_id"]) != followUp {
				t.Errorf("task %s: status %s (follow-up %q), want %s (%q) (call %s, due %s)", str(tk["task_id"]), str(tk["status"]),
					str(tk["followed_up_call_id"]), wantStatus, followUp, e.StartedAt.Format(time.DateOnly), due.Format(time.DateOnly))
			}
		}
	}
	t.Logf("tasks: %d from the API, %d derived; %d due dates checked, %d wrong; statuses %v", apiTasks, derivedTasks, dueChecked, dueWrong, statuses)
	if statuses["followed_up"] == 0 || statuses["stale"] == 0 || statuses["overdue"] == 0 || statuses["open"] == 0 {
		t.Errorf("fixture: want tasks of every status, have %v", statuses)
	}
	if apiTasks == 0 || derivedTasks == 0 {
		t.Errorf("fixture: want both API and derived tasks")
	}
}

// expectStatus is a task's status from the tenant's ground truth, by the
// rules of README.md (Tasks): followed_up when the customer had a later
// call that took place (its first names the follow-up), at or before the
// as-of time and attachable to the customer; stale when more than
// staleDays calendar days passed from the call to the as-of date; overdue
// when due before the as-of date; else open.
func expectStatus(s *synced, call chorustest.TruthEngagement, due time.Time, staleDays float64) (status, followUp string) {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	if call.CustomerID != "" && call.MatchableBy != "" {
		var first *chorustest.TruthEngagement
		for _, e := range s.calls {
			if e.CustomerID == call.CustomerID && e.MatchableBy != "" && !e.NoShow && e.StartedAt.After(call.StartedAt) && !e.StartedAt.After(tenantAsOf) &&
				(first == nil || e.StartedAt.Before(first.StartedAt) || e.StartedAt.Equal(first.StartedAt) && e.ID < first.ID) {
				first = &e
			}
		}
		if first != nil {
			return "followed_up", first.ID
		}
	}
	switch {
	case day(tenantAsOf).Sub(day(call.StartedAt)).Hours()/24 > staleDays:
		return "stale", ""
	case due.Before(day(tenantAsOf)):
		return "overdue", ""
	}
	return "open", ""
}

func sameDay(v any, want time.Time) bool {
	got, ok := v.(time.Time)
	return ok && got.Format(time.DateOnly) == want.Format(time.DateOnly)
}

// categoryOf maps the tenant's tracker types to the default signal
// categories.
var categoryOf = map[string]string{"competitor": "competitor", "pricing": "pricing", "objection": "objection",
	"next_steps": "next_step", "risk": "risk", "feature_request": "feature_request"}

func checkHealth(t *testing.T, s *synced, calls map[string]map[string]any) {
	type exp struct {
		last                  time.Time
		total, last30, prev30 int64
		mentions              map[string]int64
	}
	want := map[string]*exp{}
	for id, e := range s.calls {
		if e.CustomerID == "" || str(calls[id]["customer_id"]) != e.CustomerID || e.StartedAt.After(tenantAsOf) || e.NoShow {
			continue // unattached calls are scored by the matching check; no-shows are not calls held
		}
		x := want[e.CustomerID]
		if x == nil {
			x = &exp{mentions: map[string]int64{}}
			want[e.CustomerID] = x
		}
		x.total++
		if e.StartedAt.After(x.last) {
			x.last = e.StartedAt
		}
		age := tenantAsOf.Sub(e.StartedAt)
		switch {
		case age < 30*24*time.Hour:
			x.last30++
			for _, tr := range e.Trackers {
				x.mentions[categoryOf[tr.Type]] += int64(len(tr.Mentions))
			}
		case age < 60*24*time.Hour:
			x.prev30++
		}
	}
	rows := query(t, s.w, "SELECT * FROM chorus.customer_health")
	if len(rows) != len(want) {
		t.Errorf("customer_health has %d rows, want %d (customers with calls)", len(rows), len(want))
	}
	for _, r := range rows {
		id := str(r["customer_id"])
		x := want[id]
		if x == nil {
			t.Errorf("customer_health: unexpected customer %s", id)
			continue
		}
		check := func(col string, w int64) {
			if g := i64(r[col]); g != w {
				t.Errorf("customer %s: %s = %d, want %d", id, col, g, w)
			}
		}
		check("calls_total", x.total)
		check("calls_last_30d", x.last30)
		check("calls_prev_30d", x.prev30)
		for _, c := range transforms.Categories {
			check(c+"_mentions", x.mentions[c])
		}
		if lc, _ := r["last_call_at"].(time.Time); !lc.Equal(x.last) {
			t.Errorf("customer %s: last_call_at %v, want %v", id, lc, x.last)
		}
		days := int64(time.Date(tenantAsOf.Year(), tenantAsOf.Month(), tenantAsOf.Day(), 0, 0, 0, 0, time.UTC).Sub(
			time.Date(x.last.Year(), x.last.Month(), x.last.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
		check("days_since_last_call", days)
		score := i64(r["health_score"])
		band := str(r["health_band"])
		wantBand := "red"
		if w := transforms.DefaultSignals().Weights; float64(score) >= w["green_min"] {
			wantBand = "green"
		} else if float64(score) >= w["amber_min"] {
			wantBand = "amber"
		}
		if score < 0 || score > 100 || band != wantBand {
			t.Errorf("customer %s: score %d band %s", id, score, band)
		}
		// Only actionable tasks count (checkTasks checks the statuses).
		tasks := query(t, s.w, fmt.Sprintf("SELECT COUNT(*) AS n, SUM(CASE WHEN status = 'overdue' THEN 1 ELSE 0 END) AS o FROM chorus.customer_tasks WHERE customer_id = '%s' AND status IN ('open', 'overdue')", id))
		check("open_tasks", i64(tasks[0]["n"]))
		check("overdue_tasks", i64(tasks[0]["o"]))
	}
	// The weekly series ends with the current week, whose row is customer_health's.
	wk := query(t, s.w, `SELECT COUNT(*) AS n, COUNT(DISTINCT customer_id) AS c, MAX(week_start) AS w FROM chorus.customer_health_weekly`)
	if i64(wk[0]["c"]) != int64(len(want)) || i64(wk[0]["n"]) < int64(len(want))*10 {
		t.Errorf("customer_health_weekly: %v rows for %v customers", wk[0]["n"], wk[0]["c"])
	}
	if w, _ := wk[0]["w"].(time.Time); w.Format(time.DateOnly) != "2026-03-02" {
		t.Errorf("customer_health_weekly: last week %v, want 2026-03-02", wk[0]["w"])
	}
}

func checkTrends(t *testing.T, s *synced, calls map[string]map[string]any) {
	want := map[string]int64{} // customer|category → mentions
	for id, e := range s.calls {
		if e.CustomerID == "" || str(calls[id]["customer_id"]) != e.CustomerID {
			continue
		}
		for _, tr := range e.Trackers {
			want[e.CustomerID+"|"+categoryOf[tr.Type]] += int64(len(tr.Mentions))
		}
	}
	got := map[string]int64{}
	for _, r := range query(t, s.w, "SELECT customer_id, category, SUM(mentions) AS n FROM chorus.tracker_trends WHERE customer_id IS NOT NULL GROUP BY customer_id, category") {
		got[str(r["customer_id"])+"|"+str(r["category"])] = i64(r["n"])
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("tracker_trends %s: %d mentions, want %d", k, got[k], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tracker_trends: %d customer/category pairs, want %d", len(got), len(want))
	}
}

func checkSearch(t *testing.T, s *synced) {
	ctx := context.Background()
	want := 0
	var anyCustomer string
	for id, e := range s.calls {
		for _, u := range s.tenant.Utterances(id) {
			if strings.Contains(strings.ToLower(u.Text), "gong") {
				want++
				if e.MatchableBy != "" && anyCustomer == "" {
					anyCustomer = e.CustomerID
				}
			}
		}
	}
	hits, err := transforms.Search(ctx, s.w, transforms.SearchOptions{Phrase: "GONG", Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != want || want == 0 {
		t.Fatalf("search GONG: %d hits, want %d", len(hits), want)
	}
	for _, h := range hits {
		if !strings.Contains(h.Snippet, "«Gong»") || !strings.Contains(h.Link, "#t=") || h.CallID == "" {
			t.Errorf("hit %+v", h)
		}
	}
	sub, err := transforms.Search(ctx, s.w, transforms.SearchOptions{Phrase: "gong", CustomerID: anyCustomer, Since: tenantEnd.Add(-20 * 24 * time.Hour), Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range sub {
		if h.CustomerID != anyCustomer || h.StartedAt.Before(tenantEnd.Add(-20*24*time.Hour)) {
			t.Errorf("filtered hit %+v", h)
		}
	}
	if len(sub) > 3 {
		t.Errorf("limit 3: %d hits", len(sub))
	}
}

func checkTranscript(t *testing.T, s *synced) {
	var id string
	for cid, e := range s.calls {
		if !e.NoShow && !e.NotFound && (id == "" || cid < id) {
			id = cid
		}
	}
	tr, err := transforms.Transcript(context.Background(), s.w, id)
	if err != nil {
		t.Fatal(err)
	}
	utts := s.tenant.Utterances(id)
	if len(tr.Lines) != len(utts) {
		t.Fatalf("transcript %s: %d lines, want %d", id, len(tr.Lines), len(utts))
	}
	out := tr.String()
	u := utts[0]
	first := fmt.Sprintf("[%s] %s (rep): %s", transforms.FormatOffset(u.Start), u.SpeakerName, u.Text)
	if !strings.Contains(out, first+"\n") {
		t.Errorf("transcript does not hold %q:\n%s", first, out[:min(len(out), 600)])
	}
	if _, err := transforms.Transcript(context.Background(), s.w, "NOPE"); err == nil || !strings.Contains(err.Error(), "no utterances") {
		t.Errorf("unknown call: %v", err)
	}
}

// checkRerun transforms again, then re-syncs the same window, loads it and
// transforms: no task is duplicated and every task keeps its id.
func checkRerun(t *testing.T, s *synced, opt transforms.Options) {
	ctx := context.Background()
	before := taskIDs(t, s.w)
	if _, err := transforms.Run(ctx, s.w, opt); err != nil {
		t.Fatal(err)
	}
	if after := taskIDs(t, s.w); after != before {
		t.Errorf("task ids changed on a second transform")
	}
	s.resync()
	if _, err := transforms.Run(ctx, s.w, opt); err != nil {
		t.Fatal(err)
	}
	if after := taskIDs(t, s.w); after != before {
		t.Errorf("task ids changed after a re-sync of the same window")
	}
	ledger := query(t, s.w, "SELECT model, COUNT(*) AS n FROM chorus._chorus_models WHERE model = 'customer_tasks' GROUP BY model")
	if len(ledger) != 1 || i64(ledger[0]["n"]) != 4 {
		t.Errorf("ledger rows for customer_tasks: %v, want 4 builds", ledger)
	}
}

func taskIDs(t *testing.T, e transforms.Engine) string {
	var ids []string
	for _, r := range query(t, e, "SELECT task_id FROM chorus.customer_tasks ORDER BY task_id") {
		ids = append(ids, str(r["task_id"]))
	}
	return strings.Join(ids, ",")
}

// TestTouchpointsAndScorecards checks the models built on the newer streams
// against the tenant's ground truth: every engagement is a touchpoint, and
// one that the tenant says a rule can attach is attached to its customer
// and never to another; customer_calls carries the deal's stage and amount;
// rep_scorecards has, per rep and ISO week, the scorecards' count and mean
// score recomputed here from the tenant's scorecards.
func TestTouchpointsAndScorecards(t *testing.T) {
	ctx := context.Background()
	s := syncTenant(t, chorustest.Options{Seed: 19, Calls: 300, Customers: 10,
		Start: tenantEnd.Add(-60 * 24 * time.Hour), End: tenantEnd, Now: tenantEnd.Add(12 * time.Hour)})
	if _, err := transforms.Run(ctx, s.w, transforms.Options{AsOf: tenantAsOf, Customers: customersOf(s.tenant, nil)}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range query(t, s.w, "SELECT engagement_id, customer_id FROM chorus.customer_touchpoints") {
		got[str(r["engagement_id"])] = str(r["customer_id"])
	}
	var nonCalls, attached, byRule int
	for _, e := range s.tenant.Engagements() {
		if e.StartedAt.After(s.tenant.Now()) {
			continue
		}
		c, ok := got[e.ID]
		if !ok {
			t.Errorf("engagement %s (%s) is not a touchpoint", e.ID, e.Type)
			continue
		}
		if e.IsCall() {
			continue
		}
		nonCalls++
		switch {
		case c != "" && c != e.CustomerID:
			t.Errorf("%s %s attached to %s, its customer is %q", e.Type, e.ID, c, e.CustomerID)
		case e.MatchableBy == chorustest.MatchCRMAccountID || e.MatchableBy == chorustest.MatchAccountName:
			byRule++
			if c != e.CustomerID {
				t.Errorf("%s %s matchable by %s is not attached", e.Type, e.ID, e.MatchableBy)
			}
		}
		if c != "" {
			attached++
		}
	}
	if nonCalls == 0 || attached == 0 || byRule == 0 {
		t.Fatalf("fixture: %d non-call engagements, %d attached, %d by account", nonCalls, attached, byRule)
	}
	t.Logf("%d non-call engagements, %d attached to their customer (%d by CRM id or name)", nonCalls, attached, byRule)

	// The deal of a call with an opportunity.
	rows := query(t, s.w, "SELECT count(*) AS n FROM chorus.customer_calls WHERE opportunity_id IS NOT NULL AND deal_stage = 'Negotiation' AND deal_amount > 0")
	if i64(rows[0]["n"]) == 0 {
		t.Error("no call in customer_calls carries its deal's stage and amount")
	}

	type key struct {
		user int64
		week string
	}
	count := map[key]int{}
	sum := map[key]float64{}
	answers := map[key]int{}
	for _, sc := range s.tenant.Scorecards() {
		if sc.SubmittedAt.After(s.tenant.Now()) {
			continue
		}
		d := sc.SubmittedAt.UTC()
		monday := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -(int(d.Weekday())+6)%7)
		k := key{sc.RecipientUserID, monday.Format("2006-01-02")}
		count[k]++
		for _, a := range sc.Answers {
			sum[k] += float64(a.Score)
			answers[k]++
		}
	}
	if len(count) == 0 {
		t.Fatal("fixture: no scorecards")
	}
	out := query(t, s.w, "SELECT user_id, CAST(week_start AS VARCHAR) AS week, scorecards, answers, mean_score FROM chorus.rep_scorecards")
	if len(out) != len(count) {
		t.Errorf("rep_scorecards has %d rep-weeks, the tenant %d", len(out), len(count))
	}
	for _, r := range out {
		k := key{i64(r["user_id"]), str(r["week"])}
		mean := math.Round(sum[k]/float64(answers[k])*100) / 100
		if int(i64(r["scorecards"])) != count[k] || int(i64(r["answers"])) != answers[k] || math.Abs(r["mean_score"].(float64)-mean) > 1e-9 {
			t.Errorf("rep %d week %s: %v scorecards, %v answers, mean %v; the tenant: %d, %d, %v", k.user, k.week,
				r["scorecards"], r["answers"], r["mean_score"], count[k], answers[k], mean)
		}
	}
}
