package transforms_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// profileTenant is a 14-customer tenant whose customers differ the way a CS
// leader tells them apart: 3 healthy, 8 ordinary, 3 at risk
// (chorustest.ProfileMix), 400 calls over 75 days.
func profileTenant(seed int64) chorustest.Options {
	return chorustest.Options{Seed: seed, Calls: 400, Customers: 14,
		Start: tenantEnd.Add(-75 * 24 * time.Hour), End: tenantEnd, Now: tenantEnd.Add(12 * time.Hour),
		Profiles: chorustest.ProfileMix(3, 8, 3)}
}

// TestHealthRanksCustomers syncs the profiled tenant, checks from its ground
// truth that the customers are what their profiles say, and then that the
// health score follows: each at-risk customer below each ordinary one, each
// healthy one above; healthy ones green, at-risk ones red; the scores span
// at least 40 points; the same order in the last two weeks of
// customer_health_weekly.
func TestHealthRanksCustomers(t *testing.T) {
	seed := int64(5)
	if s := os.Getenv("HEALTH_RANK_SEED"); s != "" { // to try other seeds by hand
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	ctx := context.Background()
	s := syncTenant(t, profileTenant(seed))
	if _, err := transforms.Run(ctx, s.w, transforms.Options{AsOf: tenantAsOf, Customers: customersOf(s.tenant, nil)}); err != nil {
		t.Fatal(err)
	}
	profile := map[string]chorustest.Profile{}
	for _, c := range s.tenant.Customers() {
		profile[c.ID] = c.Profile
	}
	checkProfiles(t, s, profile)

	rows := query(t, s.w, "SELECT * FROM chorus.customer_health ORDER BY health_score DESC, customer_id")
	if len(rows) != 14 {
		t.Fatalf("customer_health has %d rows, want 14", len(rows))
	}
	byProfile := map[chorustest.Profile][]int64{}
	lo, hi := int64(100), int64(0)
	for _, r := range rows {
		id, score, band := str(r["customer_id"]), i64(r["health_score"]), str(r["health_band"])
		p := profile[id]
		byProfile[p] = append(byProfile[p], score)
		lo, hi = min(lo, score), max(hi, score)
		t.Logf("%s %-8s %3d %-5s change %4s  %s", id, p, score, band, str(r["score_change_30d"]), str(r["top_drivers"]))
		switch {
		case p == chorustest.ProfileHealthy && band != "green":
			t.Errorf("healthy customer %s is %s (score %d)", id, band, score)
		case p == chorustest.ProfileAtRisk && band != "red":
			t.Errorf("at-risk customer %s is %s (score %d)", id, band, score)
		}
		if str(r["top_drivers"]) == "" {
			t.Errorf("customer %s: no top drivers", id)
		}
	}
	line := fmt.Sprintf("health ranking (seed %d): healthy %v, ordinary %v, at risk %v; span %d points (%d–%d)",
		seed, byProfile[chorustest.ProfileHealthy], byProfile[chorustest.ProfileOrdinary], byProfile[chorustest.ProfileAtRisk], hi-lo, lo, hi)
	t.Log(line)
	fmt.Println("transforms:", line)
	checkOrder(t, "customer_health", byProfile)
	if hi-lo < 40 {
		t.Errorf("scores span %d points, want at least 40", hi-lo)
	}

	// The weekly series: the same order in the current week and the one
	// before it (evaluated at Monday 00:00).
	for _, week := range []string{"2026-03-02", "2026-02-23"} {
		wk := map[chorustest.Profile][]int64{}
		for _, r := range query(t, s.w, "SELECT customer_id, health_score FROM chorus.customer_health_weekly WHERE week_start = DATE '"+week+"'") {
			wk[profile[str(r["customer_id"])]] = append(wk[profile[str(r["customer_id"])]], i64(r["health_score"]))
		}
		checkOrder(t, "customer_health_weekly week "+week, wk)
		t.Logf("week %s: healthy %v, ordinary %v, at risk %v", week, wk[chorustest.ProfileHealthy], wk[chorustest.ProfileOrdinary], wk[chorustest.ProfileAtRisk])
	}
}

// checkOrder wants every healthy score above every ordinary one and every
// ordinary one above every at-risk one.
func checkOrder(t *testing.T, what string, by map[chorustest.Profile][]int64) {
	t.Helper()
	h, o, a := by[chorustest.ProfileHealthy], by[chorustest.ProfileOrdinary], by[chorustest.ProfileAtRisk]
	if len(h) != 3 || len(o) != 8 || len(a) != 3 {
		t.Errorf("%s: %d healthy, %d ordinary, %d at-risk customers, want 3, 8, 3", what, len(h), len(o), len(a))
		return
	}
	if slicesMin(h) <= slicesMax(o) {
		t.Errorf("%s: a healthy customer (%v) does not rank above every ordinary one (%v)", what, h, o)
	}
	if slicesMin(o) <= slicesMax(a) {
		t.Errorf("%s: an ordinary customer (%v) does not rank above every at-risk one (%v)", what, o, a)
	}
}

func slicesMin(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[0]
}

func slicesMax(v []int64) int64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)-1]
}

// checkProfiles checks the fixture from the tenant's ground truth: healthy
// customers have a call in each of the 4 weeks before the end, no competitor
// named and the customer speaking ~70% of the time; ordinary ones a
// competitor named in every call with a transcript, at least twice; at-risk
// ones no call in the last 30 days.
func checkProfiles(t *testing.T, s *synced, profile map[string]chorustest.Profile) {
	type stats struct {
		weeks                 [4]int
		calls30, competitor30 int
		transcribed, named    int
		transcribed30         int
		cust, total           float64
		last                  time.Time
	}
	by := map[string]*stats{}
	for id, e := range s.calls {
		if e.CustomerID == "" {
			continue
		}
		st := by[e.CustomerID]
		if st == nil {
			st = &stats{}
			by[e.CustomerID] = st
		}
		age := tenantEnd.Sub(e.StartedAt)
		if age < 28*24*time.Hour {
			st.weeks[int(age/(7*24*time.Hour))]++
		}
		if e.StartedAt.After(st.last) {
			st.last = e.StartedAt
		}
		named := false
		for _, tr := range e.Trackers {
			if tr.Type == "competitor" {
				named = true
				if age < 30*24*time.Hour {
					st.competitor30 += len(tr.Mentions)
				}
			}
		}
		utts := s.tenant.Utterances(id)
		if len(utts) > 0 {
			st.transcribed++
			if age < 30*24*time.Hour {
				st.transcribed30++
			}
			if named {
				st.named++
			}
		}
		if age < 30*24*time.Hour {
			st.calls30++
		}
		for _, u := range utts {
			st.total += u.Length
			if u.SpeakerType != "rep" {
				st.cust += u.Length
			}
		}
	}
	var lines []string
	for _, id := range sortedKeys(by) {
		st := by[id]
		share := st.cust / st.total
		lines = append(lines, fmt.Sprintf("%s %s: %d calls in the last 30 days, %d competitor mentions, talk share %.2f, last call %s",
			id, profile[id], st.calls30, st.competitor30, share, st.last.Format(time.DateOnly)))
		switch profile[id] {
		case chorustest.ProfileHealthy:
			if st.weeks[0] == 0 || st.weeks[1] == 0 || st.weeks[2] == 0 || st.weeks[3] == 0 || st.competitor30 > 0 || st.named > 0 || math.Abs(share-0.7) > 0.05 {
				t.Errorf("fixture: healthy customer %s: calls per week %v, competitor named in %d calls, talk share %.2f", id, st.weeks, st.named, share)
			}
		case chorustest.ProfileOrdinary:
			if st.named != st.transcribed || st.competitor30 < 2*st.transcribed30 {
				t.Errorf("fixture: ordinary customer %s: competitor named in %d of %d calls, %d times in 30 days", id, st.named, st.transcribed, st.competitor30)
			}
		case chorustest.ProfileAtRisk:
			if st.calls30 != 0 {
				t.Errorf("fixture: at-risk customer %s: %d calls in the last 30 days", id, st.calls30)
			}
		}
	}
	t.Logf("profiles from the ground truth:\n%s", strings.Join(lines, "\n"))
}
