package chorustest

import (
	"encoding/csv"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/tenantdata"
)

// Tenant is a simulated Chorus tenant. It is an http.Handler and safe for
// concurrent use.
type Tenant struct {
	opts      Options // immutable after New, except Faults (see faults below)
	users     []TruthUser
	teams     []TruthTeam
	customers []*tenantdata.CustomerRecord

	// data guards the engagement set: an edit (SetActionItems, …) replaces
	// an engagement by an edited copy, so a response being rendered keeps
	// the version it started with.
	data sync.RWMutex
	all  []*tenantdata.Engagement // by (date_time, id) ascending
	byID map[string]*tenantdata.Engagement

	scorecards scorecardStore // generated on first use (scorecards.go)

	mu        sync.Mutex // guards everything below
	now       time.Time
	faults    Faults
	faultRand *rand.Rand
	truncWire bool // the next truncation cuts the wire (else the JSON)
	stats     Stats
	tokens    float64   // rate-limit bucket
	lastFill  time.Time // when tokens was last refilled (zero: bucket full)
	errSeq    int
}

// Stats counts what the tenant served.
type Stats struct {
	Requests, ListRequests, DetailRequests, UserRequests, TeamRequests int
	QualificationRequests                                              int
	DetailByID                                                         map[string]int // detail requests per engagement id
	Status                                                             map[int]int    // responses by status code, injected faults included
	Unauthorized                                                       int
	RateLimited                                                        int // 429s from the server rate limit (not injected)
	ScorecardRequests                                                  int // GET /api/v1/scorecards
}

// New generates a tenant from opts.
func New(opts Options) *Tenant {
	opts = opts.withDefaults()
	t := &Tenant{opts: opts, now: opts.Now, byID: map[string]*tenantdata.Engagement{}}
	d := tenantdata.Generate(tenantdata.Params{Seed: opts.Seed, Calls: opts.Calls, Customers: opts.Customers,
		Start: opts.Start, End: opts.End, ProcessingDelay: opts.ProcessingDelay, AIDelay: opts.AIDelay,
		UtterancesPerCall: opts.UtterancesPerCall, Profiles: opts.Profiles})
	t.users, t.teams, t.customers, t.all = d.Users, d.Teams, d.Customers, d.Engagements
	for _, e := range t.all {
		t.byID[e.ID] = e
	}
	t.setFaultsLocked(opts.Faults)
	t.ResetStats()
	return t
}

// Now returns the tenant clock.
func (t *Tenant) Now() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.now
}

// SetNow sets the tenant clock. Engagements that start after it are not
// listed yet; calls whose start+duration+ProcessingDelay is after it are
// still processing.
func (t *Tenant) SetNow(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = now.UTC()
}

// Advance moves the tenant clock by d.
func (t *Tenant) Advance(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.now = t.now.Add(d)
}

// SetFaults replaces the fault configuration and restarts its generator.
func (t *Tenant) SetFaults(f Faults) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.setFaultsLocked(f.withDefaults(t.opts.Seed))
}

func (t *Tenant) setFaultsLocked(f Faults) {
	t.faults = f
	t.faultRand = tenantdata.NewRand(f.Seed, "faults")
	t.truncWire = true
}

// Stats returns a copy of the counters.
func (t *Tenant) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.DetailByID = maps.Clone(s.DetailByID)
	s.Status = maps.Clone(s.Status)
	return s
}

// ResetStats zeroes the counters.
func (t *Tenant) ResetStats() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats = Stats{DetailByID: map[string]int{}, Status: map[int]int{}}
}

func (t *Tenant) count(f func(*Stats)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.stats)
}

// processing reports whether the call's transcript is not ready at now.
func (t *Tenant) processing(e *tenantdata.Engagement, now time.Time) bool {
	if !e.IsCall() {
		return false
	}
	ready := e.StartedAt.Add(time.Duration(e.Duration*float64(time.Second)) + t.opts.ProcessingDelay)
	return now.Before(ready)
}

// Processing reports whether the engagement's transcript is still being
// processed at the tenant clock (false for unknown ids and non-calls).
func (t *Tenant) Processing(id string) bool {
	e, ok := t.lookup(id)
	return ok && t.processing(e, t.Now())
}

// AIReady reports whether Chorus has written the call's AI output by the
// tenant clock (false for unknown ids and calls without a transcript).
func (t *Tenant) AIReady(id string) bool {
	e, ok := t.lookup(id)
	return ok && e.AIReady(t.Now())
}

func (t *Tenant) lookup(id string) (*tenantdata.Engagement, bool) {
	t.data.RLock()
	defer t.data.RUnlock()
	e, ok := t.byID[id]
	return e, ok
}

// edit replaces engagement id by an edited copy; it reports whether the id
// exists.
func (t *Tenant) edit(id string, f func(e *tenantdata.Engagement)) bool {
	t.data.Lock()
	defer t.data.Unlock()
	old, ok := t.byID[id]
	if !ok {
		return false
	}
	e := *old
	e.Participants = slices.Clone(old.Participants)
	e.APIActionItems = slices.Clone(old.APIActionItems)
	f(&e)
	e.MatchableBy, _ = tenantdata.Match(e.TruthEngagement, t.customers)
	t.byID[id] = &e
	for i, a := range t.all {
		if a == old {
			t.all[i] = &e
		}
	}
	return true
}

// SetActionItems replaces the action items Chorus's AI reports for a call
// (in the listing and the detail), as when Chorus adds them after the call.
func (t *Tenant) SetActionItems(id string, items []string) bool {
	return t.edit(id, func(e *tenantdata.Engagement) { e.SetAPIActionItems(items) })
}

// SetAccount links a call to another CRM account (ext id and name), as when
// a rep links it after the call; the ground truth follows.
func (t *Tenant) SetAccount(id, extID, name string) bool {
	return t.edit(id, func(e *tenantdata.Engagement) {
		e.AccountID, e.AccountName, e.AccountNum, e.CustomerID = extID, name, 0, ""
		for _, c := range t.customers {
			if c.CRMAccountID == extID {
				e.AccountNum, e.CustomerID = c.AccountNum, c.ID
			}
		}
	})
}

// SetDeal links a call to an opportunity in the given stage.
func (t *Tenant) SetDeal(id, oppID, oppName, stage string) bool {
	return t.edit(id, func(e *tenantdata.Engagement) { e.OppID, e.OppName, e.DealStage = oppID, oppName, stage })
}

// Deal returns the opportunity a call is linked to and its stage ("" when
// none, or for an unknown id).
func (t *Tenant) Deal(id string) (oppID, oppName, stage string) {
	e, ok := t.lookup(id)
	if !ok {
		return "", "", ""
	}
	return e.OppID, e.OppName, e.DealStage
}

// Engagements returns the ground truth of every engagement, non-call ones
// included, by StartedAt ascending (ties by ID), regardless of the clock.
func (t *Tenant) Engagements() []TruthEngagement {
	t.data.RLock()
	defer t.data.RUnlock()
	out := make([]TruthEngagement, 0, len(t.all))
	for _, e := range t.all {
		out = append(out, cloneTruth(e.TruthEngagement))
	}
	return out
}

// RecordedCalls returns the ground truth of meetings and dialer calls.
func (t *Tenant) RecordedCalls() []TruthEngagement {
	t.data.RLock()
	defer t.data.RUnlock()
	var out []TruthEngagement
	for _, e := range t.all {
		if e.IsCall() {
			out = append(out, cloneTruth(e.TruthEngagement))
		}
	}
	return out
}

// Engagement returns the ground truth of one engagement.
func (t *Tenant) Engagement(id string) (TruthEngagement, bool) {
	e, ok := t.lookup(id)
	if !ok {
		return TruthEngagement{}, false
	}
	return cloneTruth(e.TruthEngagement), true
}

func cloneTruth(e TruthEngagement) TruthEngagement {
	e.Participants = slices.Clone(e.Participants)
	e.APIActionItems = slices.Clone(e.APIActionItems)
	e.TrueActionItems = slices.Clone(e.TrueActionItems)
	trackers := make([]TruthTracker, len(e.Trackers))
	for i, tr := range e.Trackers {
		tr.Mentions = slices.Clone(tr.Mentions)
		trackers[i] = tr
	}
	e.Trackers = trackers
	return e
}

// Utterances regenerates a call's full transcript: empty for no-shows,
// not-found calls, non-call engagements and unknown ids. It does not depend
// on the clock (a processing call already has its future transcript).
func (t *Tenant) Utterances(callID string) []TruthUtterance {
	e, ok := t.lookup(callID)
	if !ok {
		return nil
	}
	return e.Utterances()
}

// Customers returns every customer, including any a test leaves out of its
// customer list.
func (t *Tenant) Customers() []Customer {
	out := make([]Customer, len(t.customers))
	for i, c := range t.customers {
		out[i] = c.Customer
		out[i].Domains = slices.Clone(c.Domains)
	}
	return out
}

// SetUserTeams moves a user to other teams (the first is the primary one),
// as an admin does in Chorus; false for an unknown user.
func (t *Tenant) SetUserTeams(userID int64, teams []int64) bool {
	t.data.Lock()
	defer t.data.Unlock()
	for i, u := range t.users {
		if u.ID == userID && len(teams) > 0 {
			t.users[i].TeamIDs, t.users[i].PrimaryTeam = slices.Clone(teams), teams[0]
			return true
		}
	}
	return false
}

// Users returns the seller's users.
func (t *Tenant) Users() []TruthUser {
	t.data.RLock()
	defer t.data.RUnlock()
	out := slices.Clone(t.users)
	for i := range out {
		out[i].TeamIDs = slices.Clone(out[i].TeamIDs)
	}
	return out
}

// Teams returns the seller's teams.
func (t *Tenant) Teams() []TruthTeam { return slices.Clone(t.teams) }

// SellerDomains returns the seller's own email domains.
func (t *Tenant) SellerDomains() []string { return tenantdata.SellerDomains() }

// Token returns the accepted API token.
func (t *Tenant) Token() string { return t.opts.Token }

// WriteCustomersCSV writes the customers for which include returns true (all
// when include is nil) as CSV with the header
// customer_id,name,domains,crm_account_id,csm_email,csm_name; domains are
// joined by ';'.
func (t *Tenant) WriteCustomersCSV(w io.Writer, include func(Customer) bool) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"customer_id", "name", "domains", "crm_account_id", "csm_email", "csm_name"}); err != nil {
		return err
	}
	for _, c := range t.Customers() {
		if include != nil && !include(c) {
			continue
		}
		if err := cw.Write([]string{c.ID, c.Name, strings.Join(c.Domains, ";"), c.CRMAccountID, c.CSMEmail, c.CSMName}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
