// Package chorustest is a simulated ZoomInfo Chorus tenant: an http.Handler
// that answers in the real API's shapes (see docs/chorus-api.md), generated
// deterministically from a seed, with a test-controlled clock, fault
// injection, a server-side rate limit and ground truth for tests.
//
// Engagement metadata is generated eagerly (it is small); transcripts are
// regenerated on demand from a per-call seed, so a tenant with 20,000 calls of
// 200 utterances never holds its 4M utterances in memory.
package chorustest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options configures a simulated tenant. Zero values take the documented
// defaults.
type Options struct {
	Seed      int64
	Calls     int // number of recorded calls (meeting + dialer); default 50
	Customers int // number of customer companies; default 12
	// Start and End bound the call start times; default End = Now, Start = End-30 days.
	Start, End time.Time
	// Now is the initial tenant clock; default time.Now().UTC() truncated to the second.
	Now time.Time
	// ProcessingDelay: a call whose start+duration+delay is after Now is still
	// "processing" (no transcript yet); default 2h. Negative means none.
	ProcessingDelay time.Duration
	// AIDelay: Chorus writes a call's AI output (summary, action items,
	// recap) this long after its transcript is ready; until then the listing
	// has no meeting_summary or action_items and the detail says
	// has_meeting_summary false. Default 0: with the transcript.
	AIDelay time.Duration
	Token   string        // accepted token; default "test-token"
	Latency time.Duration // added to every response
	// RateLimit is a server-side limit in requests/second (token bucket, burst
	// max(1, floor(rate))); 0 means none. Over the limit → 429 with Retry-After.
	RateLimit         float64
	Faults            Faults
	PageSize          int // engagements per list page; default 100
	UtterancesPerCall int // mean utterances per call; default 40
	// Profiles gives customer i (cust-001 is 0) the behaviour Profiles[i];
	// customers past the end of the list behave as ProfileDefault. Empty (the
	// default) leaves the generated data exactly as without profiles, so
	// existing seeds keep their data. ProfileMix builds a list.
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

// Faults are per-request probabilities (0..1) of injected failures, drawn from
// a generator seeded by Seed (Options.Seed when zero), so that a given request
// order always sees the same faults. The status faults are exclusive of each
// other; Slow and DuplicateAcrossPages are drawn independently.
type Faults struct {
	Seed              int64
	Status429         float64 // 429 with Retry-After: 1
	Status429NoRetry  float64 // 429 without Retry-After
	Status429HTTPDate float64 // 429 with Retry-After as an HTTP date ~1s ahead
	Status500         float64
	Status504         float64
	Slow              float64
	SlowDelay         time.Duration // default 2s
	// Truncate answers 200 with a broken body, alternating between a body cut
	// in half on the wire (Content-Length of the full body, connection closed)
	// and a complete response whose JSON is cut off.
	Truncate float64
	// DuplicateAcrossPages makes a list page repeat the last engagement of the
	// previous page.
	DuplicateAcrossPages float64
}

// faultKeys maps ParseFaults keys to the probability they set.
var faultKeys = map[string]func(*Faults) *float64{
	"429":          func(f *Faults) *float64 { return &f.Status429 },
	"429-noretry":  func(f *Faults) *float64 { return &f.Status429NoRetry },
	"429-httpdate": func(f *Faults) *float64 { return &f.Status429HTTPDate },
	"500":          func(f *Faults) *float64 { return &f.Status500 },
	"504":          func(f *Faults) *float64 { return &f.Status504 },
	"slow":         func(f *Faults) *float64 { return &f.Slow },
	"truncate":     func(f *Faults) *float64 { return &f.Truncate },
	"dup":          func(f *Faults) *float64 { return &f.DuplicateAcrossPages },
}

// ParseFaults reads a spec such as
// "429=0.05,429-noretry=0.01,429-httpdate=0.01,500=0.1,504=0.02,slow=0.01,slowdelay=2s,truncate=0.01,dup=0.05,seed=7".
// An empty spec means no faults. An unknown key or a bad value is an error
// that names it.
func ParseFaults(spec string) (Faults, error) {
	var f Faults
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, val, ok := strings.Cut(part, "=")
		key, val = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(val)
		if !ok || val == "" {
			return Faults{}, fmt.Errorf("faults: %q: want key=value", part)
		}
		switch key {
		case "seed":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return Faults{}, fmt.Errorf("faults: seed %q: not an integer", val)
			}
			f.Seed = n
		case "slowdelay":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return Faults{}, fmt.Errorf("faults: slowdelay %q: not a duration such as 2s", val)
			}
			f.SlowDelay = d
		default:
			field, known := faultKeys[key]
			if !known {
				return Faults{}, fmt.Errorf("faults: unknown key %q (known: 429, 429-noretry, 429-httpdate, 500, 504, slow, slowdelay, truncate, dup, seed)", key)
			}
			p, err := strconv.ParseFloat(val, 64)
			if err != nil || p < 0 || p > 1 {
				return Faults{}, fmt.Errorf("faults: %s=%q: want a probability between 0 and 1", key, val)
			}
			*field(&f) = p
		}
	}
	if sum := f.Status429 + f.Status429NoRetry + f.Status429HTTPDate + f.Status500 + f.Status504 + f.Truncate; sum > 1 {
		return Faults{}, fmt.Errorf("faults: status probabilities (429*, 500, 504, truncate) add up to %.3g, more than 1", sum)
	}
	return f, nil
}

// withDefaults fills in the zero values of o.
func (o Options) withDefaults() Options {
	if o.Calls <= 0 {
		o.Calls = 50
	}
	if o.Customers <= 0 {
		o.Customers = 12
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC().Truncate(time.Second)
	}
	if o.End.IsZero() {
		o.End = o.Now
	}
	if o.Start.IsZero() || !o.Start.Before(o.End) {
		o.Start = o.End.Add(-30 * 24 * time.Hour)
	}
	if o.ProcessingDelay == 0 {
		o.ProcessingDelay = 2 * time.Hour
	} else if o.ProcessingDelay < 0 {
		o.ProcessingDelay = 0
	}
	if o.Token == "" {
		o.Token = "test-token"
	}
	if o.PageSize <= 0 {
		o.PageSize = 100
	}
	if o.UtterancesPerCall <= 0 {
		o.UtterancesPerCall = 40
	}
	o.Faults = o.Faults.withDefaults(o.Seed)
	return o
}

func (f Faults) withDefaults(seed int64) Faults {
	if f.Seed == 0 {
		f.Seed = seed
	}
	if f.SlowDelay <= 0 {
		f.SlowDelay = 2 * time.Second
	}
	return f
}
