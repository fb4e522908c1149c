package tenantdata

import "time"

// Params is what the data are generated from; every field is used as given
// (the simulated tenant's Options fill in the defaults).
type Params struct {
	Seed      int64
	Calls     int // recorded calls (meeting + dialer); non-calls are added
	Customers int
	// Start and End bound the engagement start times.
	Start, End time.Time
	// ProcessingDelay and AIDelay place AIReadyAt: a call's AI output exists
	// ProcessingDelay + AIDelay after the call ended.
	ProcessingDelay, AIDelay time.Duration
	UtterancesPerCall        int // mean utterances per call with a transcript
	// Profiles gives customer i (cust-001 is 0) the behaviour Profiles[i];
	// customers past the end of the list behave as ProfileDefault. Empty
	// leaves the data exactly as without profiles, so existing seeds keep
	// their data.
	Profiles []Profile
}

// Profile is how a simulated customer behaves, for tests of what the models
// say about customers (health, momentum). Only the customer's own
// engagements change; the random choices of everything else stay the same
// within a profiled tenant.
type Profile string

const (
	// ProfileDefault is the generator's usual mix: engagements at random
	// times, each tracker firing in ~30% of calls.
	ProfileDefault Profile = ""
	// ProfileHealthy has weekly calls in the last month (the customer's first
	// four recorded calls fall one in each of the four weeks before End, so
	// with four calls or more every one of those weeks has one), nobody shows
	// up missing (no no-shows, no 404s), no competitor named, and the
	// customer speaks ~70% of the time (the rep's utterances are 3/7 as long).
	ProfileHealthy Profile = "healthy"
	// ProfileOrdinary has both competitor trackers fire in every call with a
	// transcript, 1–3 mentions each (2–6 a call, ~4: 30–50 a month at ~10
	// calls a month); the rest as in ProfileDefault.
	ProfileOrdinary Profile = "ordinary"
	// ProfileAtRisk has no engagement (call, email or other) in the 30 days
	// before End: the customer's engagements are drawn between Start and
	// End − 30 days; the rest as in ProfileDefault.
	ProfileAtRisk Profile = "at_risk"
)

// atRiskQuiet is how long before End an at-risk customer has no engagement.
const atRiskQuiet = 30 * 24 * time.Hour

// ProfileMix returns profiles for healthy + ordinary + atRisk customers, in
// that order (cust-001… healthy, then ordinary, then at risk).
func ProfileMix(healthy, ordinary, atRisk int) []Profile {
	var out []Profile
	for _, g := range []struct {
		p Profile
		n int
	}{{ProfileHealthy, healthy}, {ProfileOrdinary, ordinary}, {ProfileAtRisk, atRisk}} {
		for range g.n {
			out = append(out, g.p)
		}
	}
	return out
}
