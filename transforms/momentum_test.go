package transforms_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// stageRank is the rank README.md (Momentum) gives the stage names used
// below.
var stageRank = map[string]int{"Discovery": 1, "Qualification": 2, "Proposal": 4, "Negotiation": 5, "Closed Lost": 0}

// TestMomentumFollowsTheTenant syncs a tenant in which one customer's
// opportunity moves through stages call by call, and checks
// customer_momentum against the ground truth: calls held per week, the
// deal as of each week, stage changes, advances and setbacks by the
// documented ranks; then the week's points, the 4-week sums and the trend
// recomputed from the documented formulas.
func TestMomentumFollowsTheTenant(t *testing.T) {
	ctx := context.Background()
	stages := []string{"Discovery", "Qualification", "Qualification", "Proposal", "Negotiation", "Closed Lost"}
	var target string
	prepare := func(ten *chorustest.Tenant) {
		byCustomer := map[string][]chorustest.TruthEngagement{}
		for _, e := range ten.RecordedCalls() {
			if e.CustomerID != "" {
				byCustomer[e.CustomerID] = append(byCustomer[e.CustomerID], e)
			}
		}
		for _, c := range ten.Customers() {
			if len(byCustomer[c.ID]) >= 3*len(stages) {
				target = c.ID
				break
			}
		}
		calls := byCustomer[target]
		sort.Slice(calls, func(i, j int) bool { return calls[i].StartedAt.Before(calls[j].StartedAt) })
		// Every call of the customer is on the deal; each stage holds for
		// two calls, the last for the rest.
		for k, e := range calls {
			if !ten.SetDeal(e.ID, "006MOMENTUM", "Momentum deal", stages[min(k/2, len(stages)-1)]) {
				t.Fatalf("fixture: call %s unknown", e.ID)
			}
		}
	}
	s := syncTenantWith(t, chorustest.Options{Seed: 11, Calls: 400, Customers: 14,
		Start: tenantEnd.Add(-75 * 24 * time.Hour), End: tenantEnd, Now: tenantEnd.Add(12 * time.Hour)}, prepare, "")
	if target == "" {
		t.Fatal("fixture: no customer with enough calls")
	}
	if _, err := transforms.Run(ctx, s.w, transforms.Options{AsOf: tenantAsOf, Customers: customersOf(s.tenant, nil)}); err != nil {
		t.Fatal(err)
	}

	// The ground truth per customer and week.
	type week struct {
		calls, changes, advances, setbacks int
		stage                              string
	}
	monday := func(x time.Time) string {
		d := time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -(int(d.Weekday())+6)%7).Format(time.DateOnly)
	}
	want := map[string]map[string]*week{}
	at := func(cust, wk string) *week {
		if want[cust] == nil {
			want[cust] = map[string]*week{}
		}
		if want[cust][wk] == nil {
			want[cust][wk] = &week{}
		}
		return want[cust][wk]
	}
	var deal []chorustest.TruthEngagement
	for _, e := range s.tenant.RecordedCalls() {
		if e.CustomerID == "" || e.MatchableBy == "" || e.StartedAt.After(tenantAsOf) {
			continue
		}
		if !e.NoShow {
			at(e.CustomerID, monday(e.StartedAt)).calls++
		}
		if opp, _, _ := s.tenant.Deal(e.ID); e.CustomerID == target && opp == "006MOMENTUM" {
			deal = append(deal, e)
		}
	}
	sort.Slice(deal, func(i, j int) bool { return deal[i].StartedAt.Before(deal[j].StartedAt) })
	if len(deal) < 2*len(stages) {
		t.Fatalf("fixture: %d calls on the deal, want at least %d", len(deal), 2*len(stages))
	}
	prev, wantChanges := "", 0
	for _, e := range deal {
		_, _, stage := s.tenant.Deal(e.ID)
		w := at(target, monday(e.StartedAt))
		w.stage = stage
		if prev != "" && stage != prev {
			w.changes++
			wantChanges++
			switch r, p := stageRank[stage], stageRank[prev]; {
			case r == 0 || r < p:
				w.setbacks++
			case r > p:
				w.advances++
			}
		}
		prev = stage
	}

	rows := query(t, s.w, "SELECT * FROM chorus.customer_momentum ORDER BY customer_id, week_start")
	if len(rows) == 0 {
		t.Fatal("customer_momentum is empty")
	}
	var points []int64
	lastCust, stage := "", ""
	var sawChanges, sawAdvances, sawSetbacks int
	for _, r := range rows {
		cust, wk := str(r["customer_id"]), r["week_start"].(time.Time).Format(time.DateOnly)
		if cust != lastCust {
			points, stage, lastCust = nil, "", cust
		}
		x := want[cust][wk]
		if x == nil {
			x = &week{}
		}
		if got := i64(r["calls"]); got != int64(x.calls) {
			t.Errorf("%s week %s: %d calls, want %d", cust, wk, got, x.calls)
		}
		if cust == target {
			if x.stage != "" {
				stage = x.stage
			}
			if stage != "" && str(r["deal_stage"]) != stage {
				t.Errorf("%s week %s: deal stage %q, want %q", cust, wk, str(r["deal_stage"]), stage)
			}
			got := [3]int64{i64(r["deal_stage_changes"]), i64(r["deal_stage_advances"]), i64(r["deal_stage_setbacks"])}
			if got != [3]int64{int64(x.changes), int64(x.advances), int64(x.setbacks)} {
				t.Errorf("%s week %s: stage changes/advances/setbacks %v, want %d/%d/%d", cust, wk, got, x.changes, x.advances, x.setbacks)
			}
			sawChanges += int(got[0])
			sawAdvances += int(got[1])
			sawSetbacks += int(got[2])
		}
		// The documented points, then the 4-week sums and the trend.
		p := 10*i64(r["deal_stage_advances"]) - 10*i64(r["deal_stage_setbacks"]) + 5*i64(r["new_opportunities"]) +
			3*i64(r["next_step_calls"]) + 2*i64(r["new_qualification_fields"]) + i64(r["calls"]) + i64(r["emails"]) +
			i64(r["pricing_calls"]) - 2*i64(r["objection_calls"])
		if got := i64(r["momentum_points"]); got != p {
			t.Errorf("%s week %s: momentum_points %d, want %d", cust, wk, got, p)
		}
		points = append(points, p)
		var m4, prev4 int64
		for i := range points {
			switch back := len(points) - 1 - i; {
			case back < 4:
				m4 += points[i]
			case back < 8:
				prev4 += points[i]
			}
		}
		if got := [2]int64{i64(r["momentum_4w"]), i64(r["momentum_prev_4w"])}; got != [2]int64{m4, prev4} {
			t.Errorf("%s week %s: momentum_4w/prev %v, want %d/%d", cust, wk, got, m4, prev4)
		}
		trend := "steady"
		switch {
		case m4-prev4 >= 5:
			trend = "rising"
		case m4-prev4 <= -5:
			trend = "falling"
		}
		if trend != "steady" || str(r["momentum_trend"]) != "stalled" { // stalled: no activity in 4 weeks, not recomputed here
			if got := str(r["momentum_trend"]); got != trend {
				t.Errorf("%s week %s: trend %s, want %s (4w %d, before %d)", cust, wk, got, trend, m4, prev4)
			}
		}
	}
	if sawChanges != wantChanges || wantChanges < 3 || sawAdvances == 0 || sawSetbacks == 0 {
		t.Errorf("deal of %s: %d changes (%d advances, %d setbacks), want %d (at least 3) and some of each", target, sawChanges, sawAdvances, sawSetbacks, wantChanges)
	}
	fmt.Printf("transforms: momentum: %d customer-weeks; %s's deal: %d stage changes (%d advances, %d setbacks)\n",
		len(rows), target, sawChanges, sawAdvances, sawSetbacks)
}
