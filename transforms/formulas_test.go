package transforms_test

// The health score and the customer-match confidence recomputed in Go from
// their documentation (README.md, "Health score" and "Customer matching"),
// not from the SQL, and compared with what the models build from small
// synthetic raw tables. Each documented formula is one Go function below
// (penaltyRecency … healthBand, matchConfidence): when the documented
// formula changes, change its function; the weights are read from
// signals_default.json.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// weights are the health weights of signals_default.json.
type weights map[string]float64

func (w weights) get(t *testing.T, name string) float64 {
	t.Helper()
	v, ok := w[name]
	if !ok {
		t.Fatalf("signals_default.json has no health weight %q", name)
	}
	return v
}

func readDefaultSignals(t *testing.T) *transforms.Signals {
	t.Helper()
	b, err := os.ReadFile("signals_default.json")
	if err != nil {
		t.Fatal(err)
	}
	var s transforms.Signals
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Weights) == 0 {
		t.Fatal("signals_default.json: no health_weights")
	}
	return &s
}

// ---- the documented formulas, one function each ----

// penaltyRecency = min(recency_penalty_max, recency_penalty_per_day × max(0, days_since_last_call − recency_grace_days))
func penaltyRecency(t *testing.T, w weights, days float64) float64 {
	return math.Min(w.get(t, "recency_penalty_max"), w.get(t, "recency_penalty_per_day")*math.Max(0, days-w.get(t, "recency_grace_days")))
}

// penaltyTrend = trend_penalty_max × (prev − last) / prev, when calls_prev_30d > 0 and calls_last_30d < calls_prev_30d
func penaltyTrend(t *testing.T, w weights, last, prev float64) float64 {
	if prev > 0 && last < prev {
		return w.get(t, "trend_penalty_max") * (prev - last) / prev
	}
	return 0
}

// penaltyTalkShare = talk_share_penalty_max × (target − share) / target, when the share is known and below talk_share_target
func penaltyTalkShare(t *testing.T, w weights, share *float64) float64 {
	target := w.get(t, "talk_share_target")
	if share != nil && *share < target {
		return w.get(t, "talk_share_penalty_max") * (target - *share) / target
	}
	return 0
}

// penaltySignals = min(signal_penalty_max, competitor × competitor_penalty_per_mention + risk × risk_penalty_per_mention
// + objection × objection_penalty_per_mention + pricing × pricing_penalty_per_mention)
func penaltySignals(t *testing.T, w weights, competitor, risk, objection, pricing float64) float64 {
	return math.Min(w.get(t, "signal_penalty_max"), competitor*w.get(t, "competitor_penalty_per_mention")+risk*w.get(t, "risk_penalty_per_mention")+
		objection*w.get(t, "objection_penalty_per_mention")+pricing*w.get(t, "pricing_penalty_per_mention"))
}

// penaltyOverdue = min(overdue_penalty_max, overdue_tasks × overdue_task_penalty)
func penaltyOverdue(t *testing.T, w weights, overdue float64) float64 {
	return math.Min(w.get(t, "overdue_penalty_max"), overdue*w.get(t, "overdue_task_penalty"))
}

// bonus = min(bonus_max, next_step × next_step_bonus_per_mention + engaging_questions × engaging_question_bonus)
func healthBonus(t *testing.T, w weights, nextStep, questions float64) float64 {
	return math.Min(w.get(t, "bonus_max"), nextStep*w.get(t, "next_step_bonus_per_mention")+questions*w.get(t, "engaging_question_bonus"))
}

// health_score = round(clamp(100 − all penalties + bonus, 0, 100))
func healthScore(penalties []float64, bonus float64) int64 {
	s := 100 + bonus
	for _, p := range penalties {
		s -= p
	}
	return int64(math.Round(math.Max(0, math.Min(100, s))))
}

// health_band = green if score ≥ green_min, amber if ≥ amber_min, else red
func healthBand(t *testing.T, w weights, score int64) string {
	switch {
	case float64(score) >= w.get(t, "green_min"):
		return "green"
	case float64(score) >= w.get(t, "amber_min"):
		return "amber"
	}
	return "red"
}

// matchConfidence: crm_account_id 1.0; email_domain 0.5 + 0.4 × (matching
// participants ÷ external participants with a company email); account_name
// 0.6; no customer: NULL (ok false).
func matchConfidence(method string, matching, externalCompany int) (float64, bool) {
	switch method {
	case "crm_account_id":
		return 1.0, true
	case "email_domain":
		return 0.5 + 0.4*float64(matching)/float64(externalCompany), true
	case "account_name":
		return 0.6, true
	}
	return 0, false
}

// ---- the health inputs, from the documented windows ----

// hCall is one synthetic call of a customer: when (days before the as-of
// time), its metrics, signals and action items.
type hCall struct {
	daysAgo     float64
	share       *float64 // call metric customer_talk_share (nil: none)
	talkSeconds *float64 // call metric talk_seconds (nil: none)
	questions   int      // call metric engaging_questions
	mentions    map[string]int
	dueDaysAgo  []int // one action item per entry, due that many days before the as-of date (negative: after)
}

// healthInputs are the model's inputs as README.md defines them.
type healthInputs struct {
	lastCallAt              time.Time
	days                    float64 // calendar days from the last call to the point
	total, last30, prev30   int
	share                   *float64 // talk-time-weighted, last 30 days
	questions               int
	mentions                map[string]int
	openTasks, overdueTasks int
}

func (in healthInputs) String() string {
	return fmt.Sprintf("last call %s (%v days), calls %d (last 30 d %d, the 30 before %d), talk share %s, questions %d, mentions %v, tasks %d (%d overdue)",
		in.lastCallAt.Format(time.RFC3339), in.days, in.total, in.last30, in.prev30, fmtPtr(in.share), in.questions, in.mentions, in.openTasks, in.overdueTasks)
}

func inputsOf(point time.Time, calls []hCall) healthInputs {
	in := healthInputs{mentions: map[string]int{}}
	last30 := point.Add(-30 * 24 * time.Hour) // last 30 days: (point − 30 d, point]
	prev := point.Add(-60 * 24 * time.Hour)   // the 30 before: (point − 60 d, point − 30 d]
	var weighted, seconds float64
	pointDate := point.Truncate(24 * time.Hour)
	for _, c := range calls {
		at := callTime(point, c)
		in.total++
		if at.After(in.lastCallAt) {
			in.lastCallAt = at
		}
		switch {
		case at.After(last30):
			in.last30++
			if c.share != nil && c.talkSeconds != nil && *c.talkSeconds > 0 {
				weighted += *c.share * *c.talkSeconds
				seconds += *c.talkSeconds
			}
			in.questions += c.questions
			for k, n := range c.mentions {
				in.mentions[k] += n
			}
		case at.After(prev):
			in.prev30++
		}
		for _, d := range c.dueDaysAgo {
			in.openTasks++
			if pointDate.AddDate(0, 0, -d).Before(pointDate) { // due before the point's date
				in.overdueTasks++
			}
		}
	}
	if seconds > 0 {
		s := weighted / seconds
		in.share = &s
	}
	in.days = pointDate.Sub(in.lastCallAt.Truncate(24*time.Hour)).Hours() / 24
	return in
}

func callTime(point time.Time, c hCall) time.Time {
	return point.Add(-time.Duration(c.daysAgo * float64(24*time.Hour)))
}

func f(v float64) *float64 { return &v }

// TestHealthScoreFormula builds customer_health from synthetic calls, one
// customer per case, and compares every input, penalty, the bonus, the
// score and the band with the documented formulas computed in Go.
func TestHealthScoreFormula(t *testing.T) {
	ctx := context.Background()
	signals := readDefaultSignals(t)
	w := weights(signals.Weights)
	point := asOf // customer_health is evaluated at --as-of

	m := func(kv ...any) map[string]int {
		out := map[string]int{}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1].(int)
		}
		return out
	}
	repeat := func(n int, c hCall, step float64) []hCall {
		out := make([]hCall, n)
		for i := range out {
			out[i] = c
			out[i].daysAgo = c.daysAgo + step*float64(i)
		}
		return out
	}
	overdue := func(n int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = 1 + i
		}
		return out
	}
	type hCase struct {
		name  string
		calls []hCall
	}
	cases := []hCase{
		{"healthy: a call today, talk share above the target", []hCall{{daysAgo: 0, share: f(0.55), talkSeconds: f(1200)}}},
		{"recency: exactly the grace days", []hCall{{daysAgo: w.get(t, "recency_grace_days")}}},
		{"recency: past the grace days", []hCall{{daysAgo: w.get(t, "recency_grace_days") + 6}}},
		{"recency: cap reached, no call in the last 60 days (no trend, no talk share)", []hCall{{daysAgo: 100, share: f(0.1), talkSeconds: f(500), mentions: m("competitor", 3)}}},
		{"recency: a call 29.5 days ago is 30 calendar days", []hCall{{daysAgo: 29.5}}},
		{"trend: 4 calls the 30 days before, 1 in the last 30", append(repeat(4, hCall{daysAgo: 35}, 5), hCall{daysAgo: 2})},
		{"trend: down to zero", repeat(2, hCall{daysAgo: 40}, 5)},
		{"trend: up, no penalty", append(repeat(3, hCall{daysAgo: 1}, 3), hCall{daysAgo: 45})},
		{"trend: no calls in the previous 30 days", repeat(2, hCall{daysAgo: 3}, 4)},
		{"window edge: a call exactly 30 days before is in the previous window, its signals do not count", []hCall{{daysAgo: 30, share: f(0), talkSeconds: f(100), mentions: m("competitor", 5), questions: 4}}},
		{"talk share: weighted by talk time", []hCall{{daysAgo: 1, share: f(0.1), talkSeconds: f(600)}, {daysAgo: 2, share: f(0.5), talkSeconds: f(200)}}},
		{"talk share: zero", []hCall{{daysAgo: 1, share: f(0), talkSeconds: f(300)}}},
		{"talk share: NULL (no metric)", []hCall{{daysAgo: 1}}},
		{"talk share: zero talk time only (no division by zero: NULL)", []hCall{{daysAgo: 1, share: f(0.05), talkSeconds: f(0)}}},
		{"talk share: a call without talk time is left out", []hCall{{daysAgo: 1, share: f(0), talkSeconds: f(0)}, {daysAgo: 2, share: f(0.3), talkSeconds: f(300)}}},
		{"talk share: exactly the target", []hCall{{daysAgo: 1, share: f(w.get(t, "talk_share_target")), talkSeconds: f(300)}}},
		{"talk share: a share of an older call does not count", []hCall{{daysAgo: 1, share: f(0.3), talkSeconds: f(100)}, {daysAgo: 40, share: f(0), talkSeconds: f(1000)}}},
		{"signals: below the cap", []hCall{{daysAgo: 1, mentions: m("competitor", 2, "risk", 1, "objection", 1, "pricing", 3, "feature_request", 4)}}},
		{"signals: cap reached", []hCall{{daysAgo: 1, mentions: m("competitor", 20)}, {daysAgo: 2, mentions: m("risk", 2)}}},
		{"overdue: two overdue, one due on the as-of date, one later", []hCall{{daysAgo: 3, dueDaysAgo: []int{1, 2, 0, -5}}}},
		{"overdue: cap reached", []hCall{{daysAgo: 3, dueDaysAgo: overdue(7)}}},
		{"bonus: half a point rounds half away from zero", []hCall{{daysAgo: 1, mentions: m("next_step", 2, "pricing", 10), questions: 3}}},
		{"bonus: cap reached", []hCall{{daysAgo: 1, mentions: m("next_step", 8, "pricing", 20), questions: 10}}},
		{"score: clamped at 100", []hCall{{daysAgo: 1, mentions: m("next_step", 3)}}},
		{"score: clamped at 0", append(repeat(20, hCall{daysAgo: 31}, 1.4), hCall{daysAgo: 29, share: f(0), talkSeconds: f(600), mentions: m("competitor", 20), dueDaysAgo: overdue(6)})},
	}
	// The band boundaries: data whose documented score is exactly green_min,
	// green_min − 1, amber_min and amber_min − 1, found by a search over
	// simple inputs (a call d days ago with p pricing mentions, k overdue
	// tasks and q engaging questions) so that they follow the weights.
	for _, target := range []float64{w.get(t, "green_min"), w.get(t, "green_min") - 1, w.get(t, "amber_min"), w.get(t, "amber_min") - 1} {
		c, ok := findScore(t, w, point, int64(target))
		if !ok {
			t.Errorf("no simple input scores exactly %v with these weights: add a case by hand", target)
			continue
		}
		cases = append(cases, hCase{fmt.Sprintf("band boundary: score %v", target), []hCall{c}})
	}

	wh := openDuck(t, "health.duckdb")
	exec := func(q string) {
		t.Helper()
		if err := wh.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var customers []transforms.Customer
	for i, tc := range cases {
		cust := fmt.Sprintf("h%02d", i)
		customers = append(customers, transforms.Customer{ID: cust, Name: "Customer " + cust, CRMAccountID: "acct-" + cust})
		for j, c := range tc.calls {
			id := fmt.Sprintf("%s-call%02d", cust, j)
			exec(fmt.Sprintf(`INSERT INTO chorus_raw.calls (call_id, title, started_at, account_id, owner_email, owner_name, url, transcript_status)
				VALUES ('%s', 'Call', TIMESTAMP '%s', 'acct-%s', 'owner@seller.example', 'Owner', 'https://chorus.ai/meeting/%s', 'complete')`,
				id, callTime(point, c).Format("2006-01-02 15:04:05.000000"), cust, id))
			metric := func(name string, v float64) {
				exec(fmt.Sprintf(`INSERT INTO chorus_raw.call_metrics (call_id, metric_name, value) VALUES ('%s', '%s', %v)`, id, name, v))
			}
			if c.share != nil {
				metric("customer_talk_share", *c.share)
			}
			if c.talkSeconds != nil {
				metric("talk_seconds", *c.talkSeconds)
			}
			if c.questions > 0 {
				metric("engaging_questions", float64(c.questions))
			}
			k := 0
			for _, cat := range sortedKeys(c.mentions) {
				// Matched by tracker type (the default signal map); the
				// name matches no rule.
				typ := map[string]string{"next_step": "next_steps"}[cat]
				if typ == "" {
					typ = cat
				}
				exec(fmt.Sprintf(`INSERT INTO chorus_raw.trackers (call_id, tracker_name, tracker_type, match_count) VALUES ('%s', 'Signal %d', '%s', %d)`, id, k, typ, c.mentions[cat]))
				k++
			}
			for n, d := range c.dueDaysAgo {
				due := point.AddDate(0, 0, -d).Format(time.DateOnly)
				exec(fmt.Sprintf(`INSERT INTO chorus_raw.action_items (call_id, item_index, text, source, due_hint) VALUES ('%s', %d, 'Follow up item %d', 'chorus', '%s')`, id, n, n, due))
			}
		}
	}
	if _, err := transforms.Run(ctx, wh, transforms.Options{AsOf: point, Customers: customers, Signals: signals}); err != nil {
		t.Fatal(err)
	}

	// The model reads the same weights.
	seeded, err := wh.Query(ctx, "SELECT name, value FROM chorus.health_weights")
	if err != nil {
		t.Fatal(err)
	}
	if len(seeded) != len(w) {
		t.Errorf("health_weights has %d rows, signals_default.json %d weights", len(seeded), len(w))
	}
	for _, r := range seeded {
		if v := num(t, r["value"]); v != w[str(r["name"])] {
			t.Errorf("health_weights.%s = %v, signals_default.json says %v", str(r["name"]), v, w[str(r["name"])])
		}
	}

	rows, err := wh.Query(ctx, "SELECT * FROM chorus.customer_health")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, r := range rows {
		got[str(r["customer_id"])] = r
	}
	bands := map[string]int{}
	for i, tc := range cases {
		cust := fmt.Sprintf("h%02d", i)
		r := got[cust]
		if r == nil {
			t.Errorf("%s: no customer_health row", tc.name)
			continue
		}
		in := inputsOf(point, tc.calls)
		pen := map[string]float64{
			"penalty_recency":    penaltyRecency(t, w, in.days),
			"penalty_trend":      penaltyTrend(t, w, float64(in.last30), float64(in.prev30)),
			"penalty_talk_share": penaltyTalkShare(t, w, in.share),
			"penalty_signals":    penaltySignals(t, w, float64(in.mentions["competitor"]), float64(in.mentions["risk"]), float64(in.mentions["objection"]), float64(in.mentions["pricing"])),
			"penalty_overdue":    penaltyOverdue(t, w, float64(in.overdueTasks)),
		}
		bonus := healthBonus(t, w, float64(in.mentions["next_step"]), float64(in.questions))
		score := healthScore([]float64{pen["penalty_recency"], pen["penalty_trend"], pen["penalty_talk_share"], pen["penalty_signals"], pen["penalty_overdue"]}, bonus)
		band := healthBand(t, w, score)
		bands[band]++
		if testing.Verbose() {
			t.Logf("%-100s score %3d %-5s recency %5.2f trend %5.2f talk %5.2f signals %5.2f overdue %5.2f bonus %5.2f", tc.name, score, band,
				pen["penalty_recency"], pen["penalty_trend"], pen["penalty_talk_share"], pen["penalty_signals"], pen["penalty_overdue"], bonus)
		}

		// The inputs (exact counts; the share to the 3 decimals shown).
		for col, want := range map[string]float64{
			"days_since_last_call": in.days, "calls_total": float64(in.total), "calls_last_30d": float64(in.last30), "calls_prev_30d": float64(in.prev30),
			"engaging_questions": float64(in.questions), "competitor_mentions": float64(in.mentions["competitor"]), "pricing_mentions": float64(in.mentions["pricing"]),
			"objection_mentions": float64(in.mentions["objection"]), "risk_mentions": float64(in.mentions["risk"]), "next_step_mentions": float64(in.mentions["next_step"]),
			"feature_request_mentions": float64(in.mentions["feature_request"]), "open_tasks": float64(in.openTasks), "overdue_tasks": float64(in.overdueTasks),
		} {
			if g := num(t, r[col]); g != want {
				t.Errorf("%s: %s = %v, want %v", tc.name, col, g, want)
			}
		}
		switch share := r["customer_talk_share"]; {
		case in.share == nil && share != nil, in.share != nil && share == nil:
			t.Errorf("%s: customer_talk_share = %v, want %v", tc.name, share, fmtPtr(in.share))
		case in.share != nil && math.Abs(num(t, share)-*in.share) > 0.0005+1e-9:
			t.Errorf("%s: customer_talk_share = %v, want %v", tc.name, share, *in.share)
		}
		if lc, _ := r["last_call_at"].(time.Time); !lc.Equal(in.lastCallAt.Truncate(time.Microsecond)) {
			t.Errorf("%s: last_call_at = %v, want %v", tc.name, r["last_call_at"], in.lastCallAt)
		}
		// The penalties and the bonus, shown to 2 decimals.
		pen["bonus"] = bonus
		for _, col := range sortedKeys(pen) {
			if g := num(t, r[col]); math.Abs(g-pen[col]) > 0.005+1e-9 {
				t.Errorf("%s: %s = %v, want %v (inputs: %v)", tc.name, col, g, pen[col], in)
			}
		}
		if g := int64(num(t, r["health_score"])); g != score {
			t.Errorf("%s: health_score = %d, want %d (penalties %v, bonus %v)", tc.name, g, score, pen, bonus)
		}
		if g := str(r["health_band"]); g != band {
			t.Errorf("%s: health_band = %s, want %s (score %d)", tc.name, g, band, score)
		}
	}
	if bands["green"] == 0 || bands["amber"] == 0 || bands["red"] == 0 {
		t.Errorf("bands covered: %v", bands)
	}
}

// findScore looks for one call (d days ago, p pricing mentions, k overdue
// tasks, q engaging questions) whose documented score is exactly target,
// with no .5 to round.
func findScore(t *testing.T, w weights, point time.Time, target int64) (hCall, bool) {
	for d := 0; d <= 29; d++ {
		for p := 0; p <= 40; p++ {
			for k := 0; k <= 8; k++ {
				for q := 0; q <= 4; q++ {
					c := hCall{daysAgo: float64(d), questions: q, mentions: map[string]int{"pricing": p}}
					for i := range k {
						c.dueDaysAgo = append(c.dueDaysAgo, 1+i)
					}
					in := inputsOf(point, []hCall{c})
					raw := 100 - penaltyRecency(t, w, in.days) - penaltyTrend(t, w, float64(in.last30), float64(in.prev30)) -
						penaltySignals(t, w, 0, 0, 0, float64(in.mentions["pricing"])) - penaltyOverdue(t, w, float64(in.overdueTasks)) +
						healthBonus(t, w, 0, float64(in.questions))
					if raw == math.Trunc(raw) && int64(raw) == target {
						return c, true
					}
				}
			}
		}
	}
	return hCall{}, false
}

// TestMatchConfidenceFormula builds customer_calls from synthetic calls
// and compares match_method, customer_id and match_confidence with the
// documented rules, the confidence computed by matchConfidence.
func TestMatchConfidenceFormula(t *testing.T) {
	ctx := context.Background()
	type person struct {
		email string
		rep   bool
	}
	cases := []struct {
		name              string
		accountID         string
		accountName       string
		people            []person
		customer, method  string
		matching, company int // the email_domain rule's counts, read from the documented definitions
	}{
		{name: "crm account id", accountID: " ACCT-1 ", people: []person{{"x@beta.example", false}}, customer: "c1", method: "crm_account_id"},
		{name: "crm account id wins over the domain", accountID: "acct-1", people: []person{{"x@beta.example", false}, {"y@beta.example", false}}, customer: "c1", method: "crm_account_id"},
		{name: "domain: one of one", people: []person{{"a@beta.example", false}}, customer: "c2", method: "email_domain", matching: 1, company: 1},
		{name: "domain: one of two", people: []person{{"a@beta.example", false}, {"b@other.example", false}}, customer: "c2", method: "email_domain", matching: 1, company: 2},
		{name: "domain: two of three, a subdomain", people: []person{{"a@beta.example", false}, {"b@eu.beta.example", false}, {"c@other.example", false}}, customer: "c2", method: "email_domain", matching: 2, company: 3},
		{name: "domain: free mail, reps and the seller's domain leave the denominator", people: []person{{"a@beta.example", false}, {"b@gmail.com", false}, {"rep@seller.example", true}, {"c@seller.example", false}, {"", false}}, customer: "c2", method: "email_domain", matching: 1, company: 1},
		{name: "domain: most matching people win a tie of rules", people: []person{{"a@beta.example", false}, {"b@gamma.example", false}, {"c@gamma.example", false}}, customer: "c3", method: "email_domain", matching: 2, company: 3},
		{name: "account name", accountName: "Gamma, Inc.", people: []person{{"z@unknown.example", false}}, customer: "c3", method: "account_name"},
		{name: "no customer", accountName: "Nobody Ltd", people: []person{{"z@unknown.example", false}, {"q@gmail.com", false}}},
	}
	wh := openDuck(t, "match.duckdb")
	exec := func(q string) {
		t.Helper()
		if err := wh.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i, tc := range cases {
		id := fmt.Sprintf("M%02d", i)
		exec(fmt.Sprintf(`INSERT INTO chorus_raw.calls (call_id, title, started_at, account_id, account_name, owner_email, owner_name, url, transcript_status)
			VALUES ('%s', 'Call', TIMESTAMP '2026-02-25 15:00:00', NULLIF('%s', ''), NULLIF('%s', ''), 'owner@seller.example', 'Owner', 'https://chorus.ai/meeting/%s', 'complete')`,
			id, tc.accountID, strings.ReplaceAll(tc.accountName, "'", "''"), id))
		for j, p := range tc.people {
			typ := "customer"
			if p.rep {
				typ = "rep"
			}
			exec(fmt.Sprintf(`INSERT INTO chorus_raw.participants (call_id, participant_key, email, participant_type, is_rep)
				VALUES ('%s', 'p%d', NULLIF('%s', ''), '%s', %v)`, id, j, p.email, typ, p.rep))
		}
	}
	customers := []transforms.Customer{
		{ID: "c1", Name: "Alpha", Domains: []string{"alpha.example"}, CRMAccountID: "acct-1"},
		{ID: "c2", Name: "Beta", Domains: []string{"beta.example"}},
		{ID: "c3", Name: "Gamma Inc", Domains: []string{"gamma.example"}},
	}
	if _, err := transforms.Run(ctx, wh, transforms.Options{AsOf: asOf, Customers: customers, SellerDomains: []string{"seller.example"}}); err != nil {
		t.Fatal(err)
	}
	rows, err := wh.Query(ctx, "SELECT call_id, customer_id, match_method, match_confidence FROM chorus.customer_calls")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, r := range rows {
		got[str(r["call_id"])] = r
	}
	for i, tc := range cases {
		r := got[fmt.Sprintf("M%02d", i)]
		if r == nil {
			t.Errorf("%s: no customer_calls row", tc.name)
			continue
		}
		if str(r["customer_id"]) != tc.customer || str(r["match_method"]) != tc.method {
			t.Errorf("%s: customer %q by %q, want %q by %q", tc.name, str(r["customer_id"]), str(r["match_method"]), tc.customer, tc.method)
		}
		want, ok := matchConfidence(tc.method, tc.matching, tc.company)
		switch {
		case !ok && r["match_confidence"] != nil:
			t.Errorf("%s: match_confidence = %v, want NULL", tc.name, r["match_confidence"])
		case ok && (r["match_confidence"] == nil || math.Abs(num(t, r["match_confidence"])-want) > 0.0005+1e-9): // shown to 3 decimals
			t.Errorf("%s: match_confidence = %v, want %v", tc.name, r["match_confidence"], want)
		}
	}
}

// num reads a numeric column, whatever Go type the driver chose.
func num(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	case nil:
		t.Errorf("NULL where a number was expected")
		return math.NaN()
	}
	var n float64
	if _, err := fmt.Sscan(fmt.Sprint(v), &n); err != nil {
		t.Errorf("not a number: %T %v", v, v)
	}
	return n
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
