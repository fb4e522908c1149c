package tenantdata

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Seller-side constants.
const (
	sellerDomain      = "seller.example"
	sellerAliasDomain = "seller-inc.example"
	// SellerCompany is the seller's company name, on its reps and in the
	// conversation detail.
	SellerCompany = "Seller Inc"
)

// SellerDomains returns the seller's own email domains.
func SellerDomains() []string { return []string{sellerDomain, sellerAliasDomain} }

var freeMailDomains = []string{"gmail.com", "outlook.com", "yahoo.com", "hotmail.com"}

var companyStems = []string{"Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne",
	"Tyrell", "Cyberdyne", "Soylent", "Wonka", "Gringotts", "Oscorp", "Aperture", "Pied Piper",
	"Massive Dynamic", "Vehement", "Monarch", "Nakatomi"}
var companySuffixes = []string{"Corp", "Inc", "Group", "Labs", "Systems", "Holdings"}

var firstNames = []string{"Pat", "Sam", "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
	"Quinn", "Robin", "Drew", "Kim", "Lee", "Noor", "Ines", "Mateo", "Yuki", "Priya"}
var lastNames = []string{"Buyer", "Nguyen", "Smith", "Garcia", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka",
	"Silva", "Cohen", "Larsen", "Dubois", "Patel", "Haddad", "Novak"}
var titles = []string{"VP Ops", "Director of Sales", "RevOps Manager", "CFO", "Head of Enablement",
	"Sales Manager", "IT Security Lead", "Procurement", "CRO", ""}

var subjects = []string{"Q%d business review", "Discovery call", "Renewal discussion", "Pricing follow-up",
	"Technical deep-dive", "Onboarding check-in", "Executive sync", "Demo", "Expansion planning", "Support escalation"}

// Engagement is the tenant's record of one engagement: the truth plus what
// the API renders of it that the truth does not hold.
type Engagement struct {
	TruthEngagement
	Epoch        int64  // StartedAt in epoch seconds (date_time)
	EmailMissing []bool // per participant: the email field is absent, not just empty
	AccountNum   int64  // numeric Chorus account id (0: no account)
	OppID        string // the linked opportunity ("" when none), its name and stage
	OppName      string
	DealStage    string
	APIItems     Items // whether and how action_items is served
	HasMetrics   bool  // the detail carries metrics
	Plan         *Plan // nil: no transcript (non-call, no-show, not found)
	seed         int64 // the tenant's seed, from which Utterances draws
	custType     string
	missingTypes bool    // some customer utterances lack speaker_type
	profile      Profile // the customer's (Params.Profiles); "" for prospects
}

// Items is how the API serves a call's action_items.
type Items int

// The states of action_items.
const (
	ItemsAbsent  Items = iota // the field is missing
	ItemsEmpty                // an empty list
	ItemsPresent              // Engagement.APIActionItems
)

// SetAPIActionItems replaces the action items the API reports.
func (e *Engagement) SetAPIActionItems(items []string) {
	e.APIActionItems = slices.Clone(items)
	e.APIItems = ItemsPresent
	if len(items) == 0 {
		e.APIItems = ItemsEmpty
	}
}

// AIReady reports whether the call's AI output exists at now.
func (e *Engagement) AIReady(now time.Time) bool {
	return e.Plan != nil && !e.AIReadyAt.IsZero() && !now.Before(e.AIReadyAt)
}

// Plan is the eagerly generated skeleton of a transcript: its length and
// the special utterances (trackers, questions, commitments, distractors).
// Filler utterances are regenerated lazily from the per-call seed.
type Plan struct {
	n        int
	specials []special // by index
	// Trackers are the trackers that fire, with the utterance and byte
	// offset of each mention, in the order of trackerDefs.
	Trackers []PlanTracker
	// Questions counts the customer's questions, Engaging those of them
	// that are engaging.
	Questions, Engaging int
}

type special struct {
	index    int
	text     string
	engaging bool
}

// PlanTracker is a tracker that fires in a call and where.
type PlanTracker struct {
	ID, Name, Type string
	Mentions       []Mention
}

// Mention is where a tracker keyword is said: an utterance index and the
// byte offset in its text.
type Mention struct{ Utterance, Offset int }

// contact is a person at a customer or prospect.
type contact struct {
	name, email, title, company string
	personID                    int64
}

// CustomerRecord is a customer with what generation needs of it.
type CustomerRecord struct {
	Customer
	AccountNum int64
	contacts   []contact
	calls      int // recorded calls drawn so far (ProfileHealthy places the first four)
}

type generator struct {
	r         *rand.Rand
	opts      Params
	users     []TruthUser
	personIDs map[int64]int64 // user id → person id
	reps      []TruthUser     // users who take calls
	customers []*CustomerRecord
	nextPID   int64
	prospects int
}

// NewRand returns a generator seeded from seed and a label, so that separate
// streams (tenant, per-call transcripts, faults) never share state.
func NewRand(seed int64, label string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, label)
	s := h.Sum64()
	return rand.New(rand.NewPCG(s, s^0x9E3779B97F4A7C15))
}

// hexID draws a 32-character upper-case hex id.
func hexID(r *rand.Rand) string { return fmt.Sprintf("%016X%016X", r.Uint64(), r.Uint64()) }

// crmID draws an 18-character Salesforce-style account id.
func crmID(r *rand.Rand, prefix string) string {
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := []byte(prefix)
	for len(b) < 18 {
		b = append(b, alnum[r.IntN(len(alnum))])
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

// Data is a generated tenant: its users, teams, customers and engagements
// (by (StartedAt, ID) ascending).
type Data struct {
	Users       []TruthUser
	Teams       []TruthTeam
	Customers   []*CustomerRecord
	Engagements []*Engagement
}

// Generate builds a tenant's data from p, whose fields must be set (the
// simulated tenant's Options give the defaults).
func Generate(opts Params) Data {
	g := &generator{r: NewRand(opts.Seed, "tenant"), opts: opts, nextPID: 18270000, personIDs: map[int64]int64{}}
	teams := g.makeUsers()
	g.makeCustomers()
	nonCalls := int(math.Round(float64(opts.Calls) * 0.08 / 0.92))
	var all []*Engagement
	for i := 0; i < opts.Calls+nonCalls; i++ {
		e := g.engagement(i < opts.Calls)
		if e.Plan != nil {
			e.AIReadyAt = e.StartedAt.Add(time.Duration(e.Duration*float64(time.Second)) + opts.ProcessingDelay + opts.AIDelay)
		}
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b *Engagement) int {
		return cmp.Or(cmp.Compare(a.Epoch, b.Epoch), strings.Compare(a.ID, b.ID))
	})
	return Data{Users: g.users, Teams: teams, Customers: g.customers, Engagements: all}
}

// Seller teams: Revenue holds Account Executives and Customer Success.
const (
	TeamRevenue int64 = 4101
	TeamAEs     int64 = 4102
	TeamCS      int64 = 4103
)

func (g *generator) makeUsers() []TruthTeam {
	teams := []TruthTeam{
		{ID: TeamRevenue, Name: "Revenue", ManagerID: 305901},
		{ID: TeamAEs, Name: "Account Executives", ManagerID: 305902, ParentID: TeamRevenue},
		{ID: TeamCS, Name: "Customer Success", ManagerID: 305907, ParentID: TeamRevenue},
	}
	people := []struct {
		name, role, domain string
		teams              []int64 // the first is the primary team
	}{
		{"Vera Lindqvist", "manager", sellerDomain, []int64{TeamRevenue}},
		{"Dana Rep", "manager", sellerDomain, []int64{TeamAEs, TeamRevenue}},
		{"Eli Moreno", "ae", sellerDomain, []int64{TeamAEs}},
		{"Fatima Sayed", "ae", sellerDomain, []int64{TeamAEs}},
		{"Gus Olsen", "ae", sellerAliasDomain, []int64{TeamAEs}},
		{"Hana Ito", "ae", sellerDomain, []int64{TeamAEs}},
		{"Ivan Petrov", "manager", sellerDomain, []int64{TeamCS, TeamRevenue}},
		{"Jo Achebe", "csm", sellerDomain, []int64{TeamCS}},
		{"Kai Brennan", "csm", sellerAliasDomain, []int64{TeamCS}},
		{"Lena Vogt", "csm", sellerDomain, []int64{TeamCS}},
	}
	for i, p := range people {
		id := int64(305901 + i)
		first := strings.ToLower(strings.Fields(p.name)[0])
		u := TruthUser{ID: id, Name: p.name, Email: first + "@" + p.domain, Role: p.role, TeamIDs: p.teams, PrimaryTeam: p.teams[0]}
		g.users = append(g.users, u)
		g.personIDs[id] = g.pid()
		if i > 0 { // the VP does not take calls
			g.reps = append(g.reps, u)
		}
	}
	return teams
}

func (g *generator) pid() int64 {
	g.nextPID += 1 + int64(g.r.IntN(40))
	return g.nextPID
}

func (g *generator) person(company, domain string) contact {
	first, last := firstNames[g.r.IntN(len(firstNames))], lastNames[g.r.IntN(len(lastNames))]
	email := ""
	if domain != "" {
		email = strings.ToLower(first + "." + strings.ReplaceAll(last, "ü", "ue") + "@" + domain)
	}
	return contact{name: first + " " + last, email: email, title: titles[g.r.IntN(len(titles))], company: company, personID: g.pid()}
}

func (g *generator) makeCustomers() {
	order := g.r.Perm(len(companyStems))
	var csms []TruthUser
	for _, u := range g.users {
		if u.PrimaryTeam == TeamCS {
			csms = append(csms, u)
		}
	}
	for i := 0; i < g.opts.Customers; i++ {
		stem := companyStems[order[i%len(order)]]
		name := stem + " " + companySuffixes[g.r.IntN(len(companySuffixes))]
		if i >= len(order) {
			name += " " + itoa(i/len(order)+1)
		}
		slug := strings.ToLower(strings.ReplaceAll(stem, " ", "")) + "-" + itoa(i+1)
		domains := []string{slug + ".example"}
		if g.r.IntN(3) == 0 {
			domains = append(domains, slug+"-eu.example")
		}
		csm := csms[g.r.IntN(len(csms))]
		c := &CustomerRecord{
			Customer: Customer{ID: fmt.Sprintf("cust-%03d", i+1), Name: name, Domains: domains,
				CRMAccountID: crmID(g.r, "0015g000"), CSMEmail: csm.Email, CSMName: csm.Name},
			AccountNum: int64(1000 + i),
		}
		if i < len(g.opts.Profiles) {
			c.Profile = g.opts.Profiles[i]
		}
		for k := 3 + g.r.IntN(4); k > 0; k-- {
			c.contacts = append(c.contacts, g.person(name, domains[g.r.IntN(len(domains))]))
		}
		g.customers = append(g.customers, c)
	}
}

// engagement draws one engagement; call says whether it is a recorded call.
func (g *generator) engagement(call bool) *Engagement {
	r := g.r
	e := &Engagement{seed: g.opts.Seed}
	e.ID = hexID(r)
	switch {
	case call && r.Float64() < 0.7:
		e.Type = TypeMeeting
	case call:
		e.Type = TypeDialer
	default:
		e.Type = []string{TypeEmail, TypeContentViewed, TypeUnrecordedMeeting}[r.IntN(3)]
	}
	span := g.opts.End.Unix() - g.opts.Start.Unix()
	e.Epoch = g.opts.Start.Unix() + r.Int64N(span+1)
	e.StartedAt = time.Unix(e.Epoch, 0).UTC()

	owner := g.reps[r.IntN(len(g.reps))]
	e.OwnerUserID, e.OwnerEmail, e.OwnerName = owner.ID, owner.Email, owner.Name
	e.addRep(owner, g.personIDs[owner.ID])
	if call {
		for k := r.IntN(3); k > 0; k-- {
			u := g.reps[r.IntN(len(g.reps))]
			if !slices.ContainsFunc(e.Participants, func(p TruthParticipant) bool { return p.UserID == u.ID }) {
				e.addRep(u, g.personIDs[u.ID])
			}
		}
	}
	g.attachCompany(e, call)
	g.placeByProfile(e, call)

	sub := subjects[r.IntN(len(subjects))]
	if strings.Contains(sub, "%d") {
		sub = fmt.Sprintf(sub, 1+r.IntN(4))
	}
	if e.AccountName != "" && r.IntN(2) == 0 {
		sub = e.AccountName + " <> " + SellerCompany + ": " + sub
	}
	e.Subject = sub

	switch e.Type {
	case TypeEmail:
		e.Duration = 0
	case TypeContentViewed:
		e.Duration = float64(10 + r.IntN(300))
	case TypeUnrecordedMeeting:
		e.Duration = float64(1800 + 900*r.IntN(3))
	}
	if !call {
		return e
	}
	x := r.Float64()
	if e.profile == ProfileHealthy {
		x = max(x, 0.05) // a healthy customer's calls all happen and have a transcript
	}
	switch {
	case x < 0.03:
		e.NoShow = true
		e.Duration = float64(300+r.IntN(600)) + 0.25*float64(r.IntN(4))
	case x < 0.05:
		e.NotFound = true
		e.Duration = float64(600+r.IntN(3000)) + 0.25*float64(r.IntN(4))
	default:
		g.planTranscript(e)
	}
	switch x := r.Float64(); {
	case x < 0.06:
		e.custType = "cust"
	case x < 0.10:
		e.custType, e.missingTypes = "customer", true
	default:
		e.custType = "customer"
	}
	e.HasMetrics = r.Float64() < 0.7
	return e
}

func (e *Engagement) addRep(u TruthUser, personID int64) {
	e.Participants = append(e.Participants, TruthParticipant{Name: u.Name, Email: u.Email, CompanyName: SellerCompany,
		Title: map[string]string{"manager": "Manager", "ae": "AE", "csm": "CSM"}[u.Role], Type: "rep", PersonID: personID, UserID: u.ID})
	e.EmailMissing = append(e.EmailMissing, false)
}

// addExternal adds an external participant; mode is "company" (keep the
// contact's email), "free" (a free-mail address) or "none" (empty or missing).
// A person already on the call is not added twice.
func (e *Engagement) addExternal(r *rand.Rand, c contact, mode string) {
	if slices.ContainsFunc(e.Participants, func(p TruthParticipant) bool { return p.PersonID == c.personID }) {
		return
	}
	missing := false
	switch mode {
	case "free":
		local, _, _ := strings.Cut(c.email, "@")
		if local == "" {
			local = strings.ToLower(strings.ReplaceAll(c.name, " ", "."))
		}
		c.email = local + "@" + freeMailDomains[r.IntN(len(freeMailDomains))]
	case "none":
		c.email, missing = "", r.IntN(2) == 0
	}
	typ := "customer"
	switch x := r.Float64(); {
	case x < 0.05:
		typ = "external"
	case x < 0.08:
		typ = ""
	}
	e.Participants = append(e.Participants, TruthParticipant{Name: c.name, Email: c.email, Title: c.title,
		CompanyName: c.company, Type: typ, PersonID: c.personID})
	e.EmailMissing = append(e.EmailMissing, missing)
}

// attachCompany picks who the engagement is with and how it can be matched:
// ~60% carry the customer's CRM id, ~25% only a matchable email domain, ~5%
// only the account name, ~10% no known customer.
func (g *generator) attachCompany(e *Engagement, call bool) {
	r := g.r
	n := 1
	if call {
		n = 1 + r.IntN(4)
	}
	emailMode := func() string {
		switch x := r.Float64(); {
		case x < 0.8:
			return "company"
		case x < 0.9:
			return "free"
		}
		return "none"
	}
	c := g.customers[r.IntN(len(g.customers))]
	pick := func() contact { return c.contacts[r.IntN(len(c.contacts))] }
	switch x := r.Float64(); {
	case x < 0.60: // CRM account id
		e.CustomerID, e.AccountID, e.AccountName, e.AccountNum = c.ID, c.CRMAccountID, c.Name, c.AccountNum
		for i := 0; i < n; i++ {
			e.addExternal(r, pick(), emailMode())
		}
		if r.IntN(4) == 0 {
			e.OppID, e.OppName, e.DealStage = crmID(r, "0065g000"), c.Name+" - Renewal", "Negotiation"
		}
	case x < 0.85: // email domain only
		e.CustomerID = c.ID
		if r.IntN(2) == 0 {
			e.AccountName = c.Name
		}
		e.addExternal(r, pick(), "company")
		for i := 1; i < n; i++ {
			e.addExternal(r, pick(), emailMode())
		}
	case x < 0.90: // account name only
		e.CustomerID, e.AccountName = c.ID, c.Name
		for i := 0; i < n; i++ {
			mode := "free"
			if r.IntN(3) == 0 {
				mode = "none"
			}
			e.addExternal(r, pick(), mode)
		}
	default: // a prospect, or only free-mail people
		g.prospects++
		name := fmt.Sprintf("Prospect %d Ltd", g.prospects)
		domain := fmt.Sprintf("prospect-%d.example", g.prospects)
		freeOnly := r.IntN(3) == 0
		if !freeOnly {
			e.AccountID, e.AccountName = crmID(r, "0015g000P"), name
			e.AccountNum = int64(900000 + g.prospects)
		}
		for i := 0; i < n; i++ {
			if freeOnly {
				e.addExternal(r, g.person("", ""), "free")
			} else {
				e.addExternal(r, g.person(name, domain), emailMode())
			}
		}
	}
	if e.CustomerID != "" {
		e.profile = c.Profile
	}
	e.MatchableBy, _ = Match(e.TruthEngagement, g.customers)
}

// placeByProfile moves an engagement of a profiled customer in time
// (Params.Profiles): an at-risk customer's engagements before End − 30
// days, a healthy customer's first four recorded calls one in each of the
// four weeks before End. Other engagements keep their time and draw nothing,
// so a tenant without profiles is generated exactly as before.
func (g *generator) placeByProfile(e *Engagement, call bool) {
	if e.profile == ProfileDefault {
		return
	}
	start, end := g.opts.Start.Unix(), g.opts.End.Unix()
	switch e.profile {
	case ProfileAtRisk:
		cutoff := g.opts.End.Add(-atRiskQuiet).Unix()
		if e.Epoch > cutoff {
			e.Epoch = start
			if cutoff > start {
				e.Epoch = start + g.r.Int64N(cutoff-start+1)
			}
		}
	case ProfileHealthy:
		if !call {
			return
		}
		var c *CustomerRecord
		for _, x := range g.customers {
			if x.ID == e.CustomerID {
				c = x
			}
		}
		if k := int64(c.calls); k < 4 {
			const week = 7 * 24 * 3600
			hi := end - k*week
			lo := max(start, hi-week+1)
			if hi >= lo {
				e.Epoch = lo + g.r.Int64N(hi-lo+1)
			}
		}
		c.calls++
	}
	e.StartedAt = time.Unix(e.Epoch, 0).UTC()
}

// Match applies the customer-matching rules in order and returns the
// first that matches and the customer it finds.
func Match(e TruthEngagement, customers []*CustomerRecord) (rule, customerID string) {
	if e.AccountID != "" {
		for _, c := range customers {
			if c.CRMAccountID == e.AccountID {
				return MatchCRMAccountID, c.ID
			}
		}
	}
	for _, p := range e.Participants {
		if p.Type == "rep" {
			continue
		}
		_, domain, ok := strings.Cut(strings.ToLower(p.Email), "@")
		if !ok {
			continue
		}
		for _, c := range customers {
			if slices.Contains(c.Domains, domain) {
				return MatchEmailDomain, c.ID
			}
		}
	}
	if e.AccountName != "" {
		for _, c := range customers {
			if c.Name == e.AccountName {
				return MatchAccountName, c.ID
			}
		}
	}
	return "", ""
}

// planTranscript draws the transcript skeleton of a call with a transcript.
func (g *generator) planTranscript(e *Engagement) {
	r := g.r
	mean := g.opts.UtterancesPerCall
	n := max(6, mean/2+r.IntN(mean+1))
	const (
		either = iota
		repSide
		custSide
	)
	type want struct {
		special
		side int
	}
	var wants []want
	var items []TruthActionItem
	var summaries []string
	if r.Float64() < 0.7 {
		for k := 1 + r.IntN(3); k > 0; k-- {
			text, owner, due, summary := makeCommitment(r)
			side := repSide
			if owner == "customer" {
				side = custSide
			}
			wants = append(wants, want{special{text: text}, side})
			items = append(items, TruthActionItem{Text: text, Owner: owner, DueHint: due})
			summaries = append(summaries, summary)
		}
	}
	for k := r.IntN(3); k > 0; k-- {
		wants = append(wants, want{special{text: distractors[r.IntN(len(distractors))]}, either})
	}
	for _, td := range trackerDefs {
		fire := r.Float64() < 0.3
		if td.Type == "competitor" {
			switch e.profile {
			case ProfileHealthy:
				fire = false
			case ProfileOrdinary:
				fire = true
			}
		}
		if fire {
			for k := 1 + r.IntN(3); k > 0; k-- {
				wants = append(wants, want{special{text: td.Sentences[r.IntN(len(td.Sentences))]}, either})
			}
		}
	}
	for k := 1 + r.IntN(5); k > 0; k-- {
		wants = append(wants, want{special{text: customerQuestions[r.IntN(len(customerQuestions))], engaging: r.IntN(2) == 0}, custSide})
	}
	n = max(n, 2*len(wants)+4)

	// Place each special on a free index of the right parity (even = rep).
	perm := r.Perm(n)
	used := make(map[int]bool, len(wants))
	p := &Plan{n: n}
	for wi, w := range wants {
		for _, idx := range perm {
			if used[idx] || (w.side == repSide && idx%2 != 0) || (w.side == custSide && idx%2 != 1) {
				continue
			}
			used[idx] = true
			w.index = idx
			if wi < len(items) {
				items[wi].UtteranceIndex = idx
			}
			p.specials = append(p.specials, w.special)
			break
		}
	}
	slices.SortFunc(p.specials, func(a, b special) int { return a.index - b.index })
	// Keep action items (and the API's summaries of them) in spoken order.
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return items[a].UtteranceIndex - items[b].UtteranceIndex })
	sortedItems, sortedSummaries := make([]TruthActionItem, len(items)), make([]string, len(items))
	for i, o := range order {
		sortedItems[i], sortedSummaries[i] = items[o], summaries[o]
	}
	items, summaries = sortedItems, sortedSummaries

	// Derive trackers and question counts from the special texts.
	for i := range trackerDefs {
		td := &trackerDefs[i]
		pt := PlanTracker{ID: td.ID, Name: td.Name, Type: td.Type}
		for _, s := range p.specials {
			best := -1
			for _, kw := range td.Keywords {
				if off := findKeyword(s.text, kw); off >= 0 && (best < 0 || off < best) {
					best = off
				}
			}
			if best >= 0 {
				pt.Mentions = append(pt.Mentions, Mention{s.index, best})
			}
		}
		if len(pt.Mentions) > 0 {
			p.Trackers = append(p.Trackers, pt)
			ids := make([]int, len(pt.Mentions))
			for k, m := range pt.Mentions {
				ids[k] = m.Utterance
			}
			e.Trackers = append(e.Trackers, TruthTracker{ID: td.ID, Name: td.Name, Type: td.Type, Mentions: ids})
		}
	}
	for i, s := range p.specials {
		if s.index%2 == 1 && strings.HasSuffix(s.text, "?") {
			p.Questions++
			if s.engaging {
				p.Engaging++
			}
		} else {
			p.specials[i].engaging = false
		}
	}

	e.Plan = p
	e.TrueActionItems = items
	e.Duration = math.Round(float64(n)*(8+6*r.Float64())*100) / 100
	switch {
	case len(items) > 0 && r.IntN(2) == 0:
		e.APIItems, e.APIActionItems = ItemsPresent, summaries
	case r.IntN(2) == 0:
		e.APIItems = ItemsEmpty
	default:
		e.APIItems = ItemsAbsent
	}
}
