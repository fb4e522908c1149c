package transforms_test

// The health score, the task lifecycle and the customer-match confidence
// recomputed in Go from their documentation (README.md, "Health score",
// "Tasks" and "Customer matching"), not from the SQL, and compared with
// what the models build from small synthetic raw tables. Each documented
// formula is one Go function below (recencyWeight … driverWords,
// taskStatus, matchConfidence): when the documented formula changes, change
// its function; the weights are read from signals_default.json.

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

// recencyWeight = 2^(−age / decay_half_life_days), age in calendar days from
// the call's date to the point's date.
func recencyWeight(t *testing.T, w weights, ageDays float64) float64 {
	return math.Pow(0.5, ageDays/w.get(t, "decay_half_life_days"))
}

// weightedShare = Σ weight over calls with a transcript where the signal came
// up ÷ Σ weight over calls with a transcript, rounded to 3 decimals; NULL
// without calls with a transcript.
func weightedShare(hits, all float64) *float64 {
	if all == 0 {
		return nil
	}
	return f(round(hits/all, 3))
}

// gradeMore grades a value where more is worse (and, for the bonus, more is
// better): x / (x + ref), 1/2 at ref.
func gradeMore(x, ref float64) float64 { return x / (x + ref) }

// gradeLess grades a value where less is worse: max(0, target − x) / target.
func gradeLess(x, target float64) float64 { return math.Max(0, target-x) / target }

// portfolioRank is PERCENT_RANK among the customers of the same week with a
// value: the share of the others that are better off — a lower value when
// lowerIsBetter, else a higher one (for the bonus: the share worse off,
// i.e. lower); 0 for a portfolio of one.
func portfolioRank(values []float64, v float64, lowerIsBetter bool) float64 {
	if len(values) < 2 {
		return 0
	}
	better := 0
	for _, x := range values {
		if (lowerIsBetter && x < v) || (!lowerIsBetter && x > v) {
			better++
		}
	}
	return float64(better) / float64(len(values)-1)
}

// component = points × ((1 − portfolio_share) × grade + portfolio_share ×
// rank), rounded to 2 decimals.
func component(t *testing.T, w weights, points, grade, rank float64) float64 {
	s := w.get(t, "portfolio_share")
	return round(points*((1-s)*grade+s*rank), 2)
}

// penaltyRecency = recency_points × g² / (g² + recency_half_days²), g =
// max(0, days_since_last_call − recency_grace_days), rounded to 2 decimals.
func penaltyRecency(t *testing.T, w weights, days float64) float64 {
	g := math.Max(0, days-w.get(t, "recency_grace_days"))
	h := w.get(t, "recency_half_days")
	return round(w.get(t, "recency_points")*g*g/(g*g+h*h), 2)
}

// healthScore = round(clamp(100 − Σ penalties + bonus, 0, 100)), from the
// 2-decimal values shown.
func healthScore(penalties []float64, bonus float64) int64 {
	s := 100 + bonus
	for _, p := range penalties {
		s -= p
	}
	return int64(math.Round(math.Max(0, math.Min(100, s))))
}

// healthBand = green if score ≥ green_min, amber if ≥ amber_min, else red.
func healthBand(t *testing.T, w weights, score int64) string {
	switch {
	case float64(score) >= w.get(t, "green_min"):
		return "green"
	case float64(score) >= w.get(t, "amber_min"):
		return "amber"
	}
	return "red"
}

// median is the middle value, or the mean of the two middle ones.
func median(values []float64) float64 {
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// oneDecimal writes x with one decimal, or none when it is whole: "1.3", "2".
func oneDecimal(x float64) string {
	x10 := int64(math.Round(x * 10))
	if x10%10 == 0 {
		return fmt.Sprint(x10 / 10)
	}
	return fmt.Sprintf("%d.%d", x10/10, x10%10)
}

func pct(x float64) int64 { return int64(math.Round(100 * x)) }

// driverWords is one driver in words, as documented: "−12: competitor named
// in 80% of calls (4 of 5 in the last 30 days, portfolio median 20%)".
func driverWords(component string, pts float64, r *hRow, val, med float64) string {
	sign := "+"
	if pts < 0 {
		sign = "−"
	}
	head := fmt.Sprintf("%s%d: ", sign, int64(math.Round(math.Abs(pts))))
	share := func(what string, calls int) string {
		n := "none"
		if r.transcribed30 > 0 {
			n = fmt.Sprintf("%d of %d", calls, r.transcribed30)
		}
		return fmt.Sprintf("%s in %d%% of calls (%s in the last 30 days, portfolio median %d%%)", what, pct(val), n, pct(med))
	}
	switch component {
	case "recency":
		return head + fmt.Sprintf("no call for %d days (portfolio median %s)", int64(r.days), oneDecimal(med))
	case "cadence":
		unit := "calls"
		if r.last30 == 1 {
			unit = "call"
		}
		return head + fmt.Sprintf("%d %s in the last 30 days (portfolio median %s)", r.last30, unit, oneDecimal(med))
	case "talk_share":
		return head + fmt.Sprintf("customer spoke %d%% of the time (portfolio median %d%%)", pct(val), pct(med))
	case "overdue":
		unit := "overdue tasks"
		if r.overdueTasks == 1 {
			unit = "overdue task"
		}
		return head + fmt.Sprintf("%d %s (portfolio median %s)", r.overdueTasks, unit, oneDecimal(med))
	case "competitor":
		return head + share("competitor named", r.competitor30)
	case "risk":
		return head + share("risk or objection raised", r.risk30)
	}
	return head + share("next steps agreed", r.next30)
}

// taskStatus is a task's lifecycle status at asOf: followed_up when the
// customer had a later call held (after the task's call, at or before
// asOf, not a no-show); stale when more than task_stale_days calendar days
// passed from the call to asOf; overdue when due before asOf's date; else
// open. It returns the first follow-up call too.
func taskStatus(t *testing.T, w weights, tk hTask, calls []gCall, asOf time.Time) (string, *gCall) {
	if fu := followUp(tk, calls, asOf); fu != nil {
		return "followed_up", fu
	}
	switch {
	case daysBetween(tk.created, asOf) > w.get(t, "task_stale_days"):
		return "stale", nil
	case tk.due.Before(day(asOf)):
		return "overdue", nil
	}
	return "open", nil
}

// followUp is the first later call held with the task's customer up to asOf.
func followUp(tk hTask, calls []gCall, asOf time.Time) *gCall {
	var first *gCall
	for i := range calls {
		c := &calls[i]
		if c.noShow || !c.at.After(tk.created) || c.at.After(asOf) {
			continue
		}
		if first == nil || c.at.Before(first.at) || c.at.Equal(first.at) && c.id < first.id {
			first = c
		}
	}
	return first
}

// actionableAt: a task counts at a point when created by then, not followed
// up by then and at most task_stale_days old; overdue when also due before
// the point's date.
func actionableAt(t *testing.T, w weights, tk hTask, calls []gCall, point, asOf time.Time) (actionable, overdue bool) {
	if tk.created.After(point) || daysBetween(tk.created, point) > w.get(t, "task_stale_days") {
		return false, false
	}
	if fu := followUp(tk, calls, asOf); fu != nil && !fu.at.After(point) {
		return false, false
	}
	return true, tk.due.Before(day(point))
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

func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// monday is the ISO week's Monday of t's date.
func monday(t time.Time) time.Time {
	d := day(t)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

// daysBetween is the calendar days from a's date to b's.
func daysBetween(a, b time.Time) float64 { return math.Round(day(b).Sub(day(a)).Hours() / 24) }

// ---- the synthetic customers and the documented inputs ----

// hCall is one synthetic call of a customer: when (days before the as-of
// time), its metrics, signals and action items.
type hCall struct {
	daysAgo      float64
	share        *float64 // call metric customer_talk_share (nil: none)
	talkSeconds  *float64 // call metric talk_seconds (nil: none)
	questions    int      // call metric engaging_questions
	mentions     map[string]int
	dueDaysAgo   []int // one action item per entry, due that many days before the as-of date (negative: after)
	noShow       bool  // nobody came (no_show, transcript_status no_show)
	noTranscript bool  // transcript_status not_found: its trackers are not known
}

// gCall is a synthetic call placed in time.
type gCall struct {
	hCall
	id string
	at time.Time
}

// hTask is an action item of a synthetic call.
type hTask struct {
	call    string
	index   int
	created time.Time // the call's start
	due     time.Time
}

// hRow is a customer_health_weekly row computed from the documentation.
type hRow struct {
	cust                                   string
	week, point, lastCall                  time.Time
	days                                   float64
	total, inWeek, last30, prev30          int
	questions                              int
	mentions                               map[string]int
	transcribed30, competitor30            int
	risk30, next30                         int
	talk, competitorShare, riskShare, next *float64
	openTasks, overdueTasks                int
	rank                                   map[string]*float64
	pen                                    map[string]float64 // penalty_* and bonus
	score                                  int64
	band, drivers                          string
	change                                 *int64
}

// inputsAt computes a customer's inputs at a point from its calls held up to
// it (README.md: windows, recency weights, shares of calls with a
// transcript) and its tasks actionable then.
func inputsAt(t *testing.T, w weights, cust string, week, point, asOf time.Time, calls []gCall, tasks []hTask) *hRow {
	r := &hRow{cust: cust, week: week, point: point, mentions: map[string]int{}, rank: map[string]*float64{}, pen: map[string]float64{}}
	last30, prev := point.Add(-30*24*time.Hour), point.Add(-60*24*time.Hour)
	var wAll, wComp, wRisk, wNext, talkW, talkSec float64
	for _, c := range calls {
		if c.noShow || c.at.After(point) {
			continue
		}
		r.total++
		if c.at.After(r.lastCall) {
			r.lastCall = c.at
		}
		if monday(c.at).Equal(week) {
			r.inWeek++
		}
		wt := recencyWeight(t, w, daysBetween(c.at, point))
		in30 := c.at.After(last30)
		switch {
		case in30:
			r.last30++
			r.questions += c.questions
			for k, n := range c.mentions {
				r.mentions[k] += n
			}
		case c.at.After(prev):
			r.prev30++
		}
		if !c.noTranscript {
			wAll += wt
			comp, risk, next := c.mentions["competitor"] > 0, c.mentions["risk"]+c.mentions["objection"] > 0, c.mentions["next_step"] > 0
			if comp {
				wComp += wt
			}
			if risk {
				wRisk += wt
			}
			if next {
				wNext += wt
			}
			if in30 {
				r.transcribed30++
				r.competitor30 += b2i(comp)
				r.risk30 += b2i(risk)
				r.next30 += b2i(next)
			}
		}
		if c.share != nil && c.talkSeconds != nil && *c.talkSeconds > 0 {
			talkW += wt * *c.share * *c.talkSeconds
			talkSec += wt * *c.talkSeconds
		}
	}
	if talkSec > 0 {
		r.talk = f(round(talkW/talkSec, 3))
	}
	r.competitorShare, r.riskShare, r.next = weightedShare(wComp, wAll), weightedShare(wRisk, wAll), weightedShare(wNext, wAll)
	r.days = daysBetween(r.lastCall, point)
	for _, tk := range tasks {
		a, o := actionableAt(t, w, tk, calls, point, asOf)
		r.openTasks += b2i(a)
		r.overdueTasks += b2i(o)
	}
	return r
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scoreWeek grades a week's rows against each other (the portfolio), then
// scores them and names their drivers.
func scoreWeek(t *testing.T, w weights, rows []*hRow) {
	values := func(get func(*hRow) *float64) []float64 {
		var out []float64
		for _, r := range rows {
			if v := get(r); v != nil {
				out = append(out, *v)
			}
		}
		return out
	}
	type comp struct {
		name, col     string
		ord           int
		get           func(*hRow) *float64
		lowerIsBetter bool
	}
	comps := []comp{
		{"cadence", "rank_cadence", 2, func(r *hRow) *float64 { return f(float64(r.last30)) }, false},
		{"talk_share", "rank_talk_share", 3, func(r *hRow) *float64 { return r.talk }, false},
		{"competitor", "rank_competitor", 4, func(r *hRow) *float64 { return r.competitorShare }, true},
		{"risk", "rank_risk", 5, func(r *hRow) *float64 { return r.riskShare }, true},
		{"overdue", "rank_overdue", 6, func(r *hRow) *float64 { return f(float64(r.overdueTasks)) }, true},
		{"next_step", "rank_next_step", 7, func(r *hRow) *float64 { return r.next }, true}, // the share worse off
	}
	for _, c := range comps {
		all := values(c.get)
		for _, r := range rows {
			if v := c.get(r); v != nil {
				r.rank[c.col] = f(portfolioRank(all, *v, c.lowerIsBetter))
			}
		}
	}
	medians := map[string]float64{}
	days := values(func(r *hRow) *float64 { return f(r.days) })
	medians["recency"] = median(days)
	for _, c := range comps {
		medians[c.name] = median(values(c.get))
	}
	for _, r := range rows {
		rank := func(col string) float64 { return *r.rank[col] }
		r.pen["penalty_recency"] = penaltyRecency(t, w, r.days)
		r.pen["penalty_cadence"] = component(t, w, w.get(t, "cadence_points"), gradeLess(float64(r.last30), w.get(t, "cadence_target_per_30d")), rank("rank_cadence"))
		r.pen["penalty_talk_share"] = 0
		if r.talk != nil {
			r.pen["penalty_talk_share"] = component(t, w, w.get(t, "talk_share_points"), gradeLess(*r.talk, w.get(t, "talk_share_target")), rank("rank_talk_share"))
		}
		r.pen["penalty_competitor"], r.pen["penalty_risk"], r.pen["bonus"] = 0, 0, 0
		if r.competitorShare != nil {
			r.pen["penalty_competitor"] = component(t, w, w.get(t, "competitor_points"), gradeMore(*r.competitorShare, w.get(t, "competitor_share_ref")), rank("rank_competitor"))
			r.pen["penalty_risk"] = component(t, w, w.get(t, "risk_points"), gradeMore(*r.riskShare, w.get(t, "risk_share_ref")), rank("rank_risk"))
			r.pen["bonus"] = component(t, w, w.get(t, "next_step_points"), gradeMore(*r.next, w.get(t, "next_step_share_ref")), rank("rank_next_step"))
		}
		r.pen["penalty_overdue"] = component(t, w, w.get(t, "overdue_points"), gradeMore(float64(r.overdueTasks), w.get(t, "overdue_tasks_ref")), rank("rank_overdue"))
		r.score = healthScore([]float64{r.pen["penalty_recency"], r.pen["penalty_cadence"], r.pen["penalty_talk_share"],
			r.pen["penalty_competitor"], r.pen["penalty_risk"], r.pen["penalty_overdue"]}, r.pen["bonus"])
		r.band = healthBand(t, w, r.score)

		// The drivers: the three with the most points (at least 1 when
		// rounded), ties in component order.
		type term struct {
			name     string
			ord      int
			pts, val float64
		}
		terms := []term{{"recency", 1, -r.pen["penalty_recency"], r.days}}
		for _, c := range comps {
			v := c.get(r)
			col := "penalty_" + c.name
			sign := -1.0
			if c.name == "next_step" {
				col, sign = "bonus", 1
			}
			if v != nil {
				terms = append(terms, term{c.name, c.ord, sign * r.pen[col], *v})
			}
		}
		sort.SliceStable(terms, func(i, j int) bool {
			if a, b := math.Abs(terms[i].pts), math.Abs(terms[j].pts); a != b {
				return a > b
			}
			return terms[i].ord < terms[j].ord
		})
		var words []string
		for _, tm := range terms {
			if len(words) < 3 && math.Round(math.Abs(tm.pts)) >= 1 {
				words = append(words, driverWords(tm.name, tm.pts, r, tm.val, medians[tm.name]))
			}
		}
		r.drivers = strings.Join(words, "; ")
	}
}

// healthWeekly computes every customer_health_weekly row from the
// documentation: weeks from the first call held to asOf's week, each
// evaluated at its end (the next Monday 00:00, asOf for the current week).
func healthWeekly(t *testing.T, w weights, asOf time.Time, calls map[string][]gCall, tasks map[string][]hTask) map[string]map[string]*hRow {
	byWeek := map[time.Time][]*hRow{}
	out := map[string]map[string]*hRow{}
	for cust, cs := range calls {
		var first time.Time
		for _, c := range cs {
			if !c.noShow && !c.at.After(asOf) && (first.IsZero() || c.at.Before(first)) {
				first = c.at
			}
		}
		if first.IsZero() {
			continue // no call held: no row
		}
		out[cust] = map[string]*hRow{}
		for wk := monday(first); !wk.After(monday(asOf)); wk = wk.AddDate(0, 0, 7) {
			point := wk.AddDate(0, 0, 7)
			if wk.Equal(monday(asOf)) {
				point = asOf
			}
			r := inputsAt(t, w, cust, wk, point, asOf, cs, tasks[cust])
			byWeek[wk] = append(byWeek[wk], r)
			out[cust][wk.Format(time.DateOnly)] = r
		}
	}
	for _, rows := range byWeek {
		scoreWeek(t, w, rows)
	}
	// score_change_30d: against the week containing the day 30 days before.
	for _, weeks := range out {
		for _, r := range weeks {
			if b := weeks[monday(day(r.point).AddDate(0, 0, -30)).Format(time.DateOnly)]; b != nil {
				d := r.score - b.score
				r.change = &d
			}
		}
	}
	return out
}

func callTime(point time.Time, c hCall) time.Time {
	return point.Add(-time.Duration(c.daysAgo * float64(24*time.Hour)))
}

func f(v float64) *float64 { return &v }

// TestHealthScoreFormula builds customer_health_weekly, customer_health and
// customer_tasks from synthetic calls, one customer per case (together
// they are the portfolio), and compares every row — inputs, ranks,
// components, score, band, change, drivers in words, task statuses — with
// the documented formulas computed in Go.
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
	grace, half := w.get(t, "recency_grace_days"), w.get(t, "recency_half_days")
	stale := w.get(t, "task_stale_days")
	type hCase struct {
		name  string
		calls []hCall
	}
	cases := []hCase{
		{"healthy: weekly calls, the customer talks most, next steps", []hCall{
			{daysAgo: 1, share: f(0.7), talkSeconds: f(1200), mentions: m("next_step", 1)}, {daysAgo: 8, share: f(0.72), talkSeconds: f(900)},
			{daysAgo: 15, share: f(0.68), talkSeconds: f(1500), mentions: m("next_step", 2)}, {daysAgo: 22, share: f(0.7), talkSeconds: f(600)}}},
		{"recency: exactly the grace days", []hCall{{daysAgo: grace}, {daysAgo: 20}}},
		{"recency: past the grace days", []hCall{{daysAgo: grace + 6}}},
		{"recency: half the points at grace + half days", []hCall{{daysAgo: grace + half}}},
		{"recency: 100 days, nothing in the last 60", []hCall{{daysAgo: 100, share: f(0.1), talkSeconds: f(500), mentions: m("competitor", 3)}}},
		{"recency: a call 29.5 days ago is 30 calendar days", []hCall{{daysAgo: 29.5}}},
		{"cadence: no call in the last 30 days, 4 the 30 before", []hCall{{daysAgo: 35}, {daysAgo: 40}, {daysAgo: 45}, {daysAgo: 50}}},
		{"cadence: the target exactly", []hCall{{daysAgo: 2}, {daysAgo: 5}, {daysAgo: 9}, {daysAgo: 12}}},
		{"window edge: a call exactly 30 days before is not in the last 30 days", []hCall{{daysAgo: 30, share: f(0), talkSeconds: f(100), mentions: m("competitor", 5), questions: 4}}},
		{"talk share: weighted by talk time and recency", []hCall{{daysAgo: 1, share: f(0.1), talkSeconds: f(600)}, {daysAgo: 20, share: f(0.5), talkSeconds: f(200)}}},
		{"talk share: NULL (no metric)", []hCall{{daysAgo: 1}}},
		{"talk share: zero talk time only (no division by zero: NULL)", []hCall{{daysAgo: 1, share: f(0.05), talkSeconds: f(0)}}},
		{"talk share: exactly the target", []hCall{{daysAgo: 1, share: f(w.get(t, "talk_share_target")), talkSeconds: f(300)}}},
		{"signals: a competitor in an older call counts less", []hCall{{daysAgo: 2}, {daysAgo: 20, mentions: m("competitor", 2)}}},
		{"signals: a call without a transcript does not count", []hCall{{daysAgo: 1, noTranscript: true, mentions: m("competitor", 3)}, {daysAgo: 3, mentions: m("risk", 1)}}},
		{"signals: risk and objection count, pricing does not", []hCall{{daysAgo: 1, mentions: m("risk", 1)}, {daysAgo: 4, mentions: m("objection", 2)}, {daysAgo: 6, mentions: m("pricing", 5)}}},
		{"no-show: not a call held, not the last call", []hCall{{daysAgo: 1, noShow: true}, {daysAgo: 15}}},
		{"no-show only: no row", []hCall{{daysAgo: 2, noShow: true}}},
		{"tasks: two overdue, one due on the as-of date, one later", []hCall{{daysAgo: 3, dueDaysAgo: []int{1, 2, 0, -5}}}},
		{"tasks: followed up by a later call", []hCall{{daysAgo: 10, dueDaysAgo: []int{5, 3}}, {daysAgo: 2}}},
		{"tasks: a later no-show does not follow up", []hCall{{daysAgo: 8, dueDaysAgo: []int{2}}, {daysAgo: 1, noShow: true}}},
		{"tasks: exactly task_stale_days old: still overdue", []hCall{{daysAgo: stale, dueDaysAgo: []int{10}}}},
		{"tasks: a day more: stale", []hCall{{daysAgo: stale + 1, dueDaysAgo: []int{10}}}},
		{"bonus: next steps in most calls", []hCall{{daysAgo: 1, mentions: m("next_step", 2)}, {daysAgo: 5, mentions: m("next_step", 1)}, {daysAgo: 9}}},
		{"score: clamped at 0", []hCall{{daysAgo: 120, share: f(0), talkSeconds: f(600), mentions: m("competitor", 5, "risk", 3)}}},
	}

	wh := openDuck(t, "health.duckdb")
	exec := func(q string) {
		t.Helper()
		if err := wh.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var customers []transforms.Customer
	calls := map[string][]gCall{}
	tasks := map[string][]hTask{}
	names := map[string]string{}
	for i, tc := range cases {
		cust := fmt.Sprintf("h%02d", i)
		names[cust] = tc.name
		customers = append(customers, transforms.Customer{ID: cust, Name: "Customer " + cust, CRMAccountID: "acct-" + cust})
		for j, c := range tc.calls {
			id := fmt.Sprintf("%s-call%02d", cust, j)
			at := callTime(point, c)
			calls[cust] = append(calls[cust], gCall{hCall: c, id: id, at: at})
			status := "complete"
			switch {
			case c.noShow:
				status = "no_show"
			case c.noTranscript:
				status = "not_found"
			}
			exec(fmt.Sprintf(`INSERT INTO chorus_raw.calls (call_id, title, started_at, account_id, owner_email, owner_name, url, transcript_status, no_show)
				VALUES ('%s', 'Call', TIMESTAMP '%s', 'acct-%s', 'owner@seller.example', 'Owner', 'https://chorus.ai/meeting/%s', '%s', %v)`,
				id, at.Format("2006-01-02 15:04:05.000000"), cust, id, status, c.noShow))
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
				due := day(point).AddDate(0, 0, -d)
				tasks[cust] = append(tasks[cust], hTask{call: id, index: n, created: at, due: due})
				exec(fmt.Sprintf(`INSERT INTO chorus_raw.action_items (call_id, item_index, text, source, due_hint) VALUES ('%s', %d, 'Follow up item %d', 'chorus', '%s')`, id, n, n, due.Format(time.DateOnly)))
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

	// The task lifecycle.
	statuses := map[string]int{}
	for _, r := range query(t, wh, "SELECT call_id, item_index, customer_id, status, followed_up_call_id, followed_up_at FROM chorus.customer_tasks") {
		cust := str(r["customer_id"])
		var tk *hTask
		for i := range tasks[cust] {
			if x := &tasks[cust][i]; x.call == str(r["call_id"]) && int64(x.index) == i64(r["item_index"]) {
				tk = x
			}
		}
		if tk == nil {
			t.Errorf("unexpected task %v", r)
			continue
		}
		status, fu := taskStatus(t, w, *tk, calls[cust], point)
		statuses[status]++
		wantCall := ""
		if fu != nil {
			wantCall = fu.id
		}
		if str(r["status"]) != status || str(r["followed_up_call_id"]) != wantCall {
			t.Errorf("%s: task %s/%d is %s (follow-up %q), want %s (%q)", names[cust], tk.call, tk.index, str(r["status"]), str(r["followed_up_call_id"]), status, wantCall)
		}
	}
	for _, s := range []string{"open", "overdue", "followed_up", "stale"} {
		if statuses[s] == 0 {
			t.Errorf("no task is %s: %v", s, statuses)
		}
	}

	want := healthWeekly(t, w, point, calls, tasks)
	rows := query(t, wh, "SELECT *, strftime(week_start, '%Y-%m-%d') AS wk FROM chorus.customer_health_weekly")
	n := 0
	for _, weeks := range want {
		n += len(weeks)
	}
	if len(rows) != n {
		t.Errorf("customer_health_weekly has %d rows, the documented formulas %d", len(rows), n)
	}
	current := query(t, wh, "SELECT * FROM chorus.customer_health")
	if len(current) != len(want) {
		t.Errorf("customer_health has %d rows, want %d (customers with a call held)", len(current), len(want))
	}
	for _, r := range current {
		r["wk"] = monday(point).Format(time.DateOnly)
		r["calls_to_date"] = r["calls_total"]
		r["point_at"] = r["as_of"]
		rows = append(rows, r)
	}
	bands := map[string]int{}
	for _, r := range rows {
		cust := str(r["customer_id"])
		x := want[cust][str(r["wk"])]
		if x == nil {
			t.Errorf("%s: unexpected row for week %s", names[cust], str(r["wk"]))
			continue
		}
		checkHealthRow(t, names[cust], r, x)
		if x.point.Equal(point) {
			bands[x.band]++
			if testing.Verbose() && r["as_of"] != nil {
				t.Logf("%-78s %3d %-5s %v | %s", names[cust], x.score, x.band, x.pen, x.drivers)
			}
		}
	}
	if bands["green"] == 0 || bands["amber"] == 0 || bands["red"] == 0 {
		t.Errorf("bands covered: %v", bands)
	}
	if x := want["h24"][monday(point).Format(time.DateOnly)]; x == nil || x.score != 0 {
		t.Errorf("fixture: the case %q does not score 0", names["h24"])
	}
}

// checkHealthRow compares a model row with the documented computation.
func checkHealthRow(t *testing.T, name string, r map[string]any, x *hRow) {
	t.Helper()
	where := fmt.Sprintf("%s, week %s", name, x.week.Format(time.DateOnly))
	for col, want := range map[string]float64{
		"days_since_last_call": x.days, "calls_to_date": float64(x.total), "calls_in_week": float64(x.inWeek), "calls_last_30d": float64(x.last30),
		"calls_prev_30d": float64(x.prev30), "engaging_questions": float64(x.questions), "competitor_mentions": float64(x.mentions["competitor"]),
		"pricing_mentions": float64(x.mentions["pricing"]), "objection_mentions": float64(x.mentions["objection"]), "risk_mentions": float64(x.mentions["risk"]),
		"next_step_mentions": float64(x.mentions["next_step"]), "feature_request_mentions": float64(x.mentions["feature_request"]),
		"transcribed_calls_30d": float64(x.transcribed30), "competitor_calls_30d": float64(x.competitor30), "risk_calls_30d": float64(x.risk30),
		"next_step_calls_30d": float64(x.next30), "open_tasks": float64(x.openTasks), "overdue_tasks": float64(x.overdueTasks),
		"health_score": float64(x.score),
	} {
		if _, ok := r[col]; !ok && r["as_of"] != nil {
			continue // customer_health leaves out calls_in_week
		}
		if g := num(t, r[col]); g != want {
			t.Errorf("%s: %s = %v, want %v", where, col, g, want)
		}
	}
	opt := func(col string, want *float64, tol float64) {
		switch g := r[col]; {
		case want == nil && g != nil, want != nil && g == nil:
			t.Errorf("%s: %s = %v, want %s", where, col, g, fmtPtr(want))
		case want != nil && math.Abs(num(t, g)-*want) > tol+1e-9:
			t.Errorf("%s: %s = %v, want %v", where, col, g, *want)
		}
	}
	opt("customer_talk_share", x.talk, 0)
	opt("competitor_call_share", x.competitorShare, 0)
	opt("risk_call_share", x.riskShare, 0)
	opt("next_step_call_share", x.next, 0)
	for col, v := range x.rank {
		opt(col, f(round(*v, 3)), 0)
	}
	for _, col := range []string{"rank_talk_share", "rank_competitor", "rank_risk", "rank_next_step"} {
		if x.rank[col] == nil {
			opt(col, nil, 0)
		}
	}
	for col, v := range x.pen {
		opt(col, f(v), 0.005)
	}
	if g := str(r["health_band"]); g != x.band {
		t.Errorf("%s: health_band = %s, want %s (score %d)", where, g, x.band, x.score)
	}
	var change *float64
	if x.change != nil {
		change = f(float64(*x.change))
	}
	opt("score_change_30d", change, 0)
	if g := str(r["top_drivers"]); g != x.drivers {
		t.Errorf("%s: top_drivers\n  got  %q\n  want %q", where, g, x.drivers)
	}
	if lc, _ := r["last_call_at"].(time.Time); !lc.Equal(x.lastCall.Truncate(time.Microsecond)) {
		t.Errorf("%s: last_call_at = %v, want %v", where, r["last_call_at"], x.lastCall)
	}
	if p, _ := r["point_at"].(time.Time); !p.Equal(x.point) {
		t.Errorf("%s: point_at = %v, want %v", where, r["point_at"], x.point)
	}
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
