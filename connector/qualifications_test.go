package connector_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// TestSalesQualifications: with sync_sales_qualifications, every complete
// call read costs one more request, and the rows hold exactly the fields the
// tenant extracted (plus the two meeting notes) for the calls that have an
// analysis; without it, no such request is made.
func TestSalesQualifications(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("enabled=", on), func(t *testing.T) {
			h := newHarness(t, chorustest.Options{Seed: 41, Calls: 60, Now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
				fmt.Sprintf(`,"sync_sales_qualifications":%v`, on))
			sum, sink, stats := h.poll(state.New(h.cfg.BaseURL))
			var want []string
			complete := 0
			for _, e := range h.tenant.RecordedCalls() {
				if e.StartedAt.After(h.tenant.Now()) || h.tenant.Processing(e.ID) || e.NoShow || e.NotFound {
					continue
				}
				complete++
				for _, f := range h.tenant.Qualifications(e.ID) {
					want = append(want, fmt.Sprint(e.ID, " sqf ", f.FieldID, " ", f.Value, " ", f.Quote))
				}
				if len(h.tenant.Qualifications(e.ID)) > 0 {
					want = append(want, fmt.Sprint(e.ID, " notes notes Discussed ", e.Subject, " <nil>"),
						fmt.Sprint(e.ID, " next_steps next_steps Send the proposal send me the proposal"))
				}
			}
			var got []string
			for _, r := range sink.rows["sales_qualifications"] {
				got = append(got, fmt.Sprint(r["call_id"], " ", r["section"], " ", r["field_id"], " ", r["new_value"], " ", r["supporting_quote"]))
				if r["framework"] != "MEDDIC" {
					t.Errorf("framework %v", r["framework"])
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !on {
				want = nil
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rows:\n got %d %v\nwant %d %v", len(got), got, len(want), want)
			}
			wantRequests := 0
			if on {
				wantRequests = complete
			}
			if stats.QualificationRequests != wantRequests || sum.QualificationRequests != int64(wantRequests) {
				t.Errorf("%d qualification requests (summary %d), want %d", stats.QualificationRequests, sum.QualificationRequests, wantRequests)
			}
			if on && len(want) == 0 {
				t.Fatal("fixture: no call has an analysis")
			}
		})
	}
}
