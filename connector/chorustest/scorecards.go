package chorustest

import (
	"bytes"
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/tenantdata"
)

// Scorecards: a manager of the rep scores a share of the complete calls
// (ScorecardShare) against one of the tenant's initiatives, 1–48 hours after
// the call ended, answering 3–6 questions of a fixed list with a score of
// 1–5 and a comment. GET /api/v1/scorecards lists the scorecards submitted
// by the tenant clock, in the contract's ScorecardsDoc shape, ordered by
// (submitted, id), with filter[submitted], filter[recipients],
// filter[reviewers], filter[initiative], page[size] (1..100, default 20)
// and page[number] (from 1). Scorecards are generated on first use from the
// seed, each from its call's id, so they do not depend on generation order.

// ScorecardShare is the share of complete calls (those with a transcript)
// that get a scorecard.
const ScorecardShare = 0.30

// scorecardQuestions is the tenant's question list.
var scorecardQuestions = []struct {
	id   int64
	text string
}{
	{7001, "Did the rep set an agenda at the start of the call?"},
	{7002, "Did the rep uncover the customer's business pain?"},
	{7003, "Did the rep identify the decision makers and the buying process?"},
	{7004, "Did the rep handle objections with evidence?"},
	{7005, "Did the rep let the customer talk more than they did?"},
	{7006, "Did the rep agree on next steps with a date?"},
	{7007, "Did the rep tie the product's value to the customer's goals?"},
	{7008, "Did the rep confirm budget and timeline?"},
}

// scorecardInitiatives are the tenant's coaching initiatives; one has an
// empty description.
var scorecardInitiatives = []TruthInitiative{
	{ID: 31, Name: "Discovery excellence", Description: "Run discovery that finds the pain, the people and the process.", URL: "https://chorus.ai/initiatives/31"},
	{ID: 32, Name: "Closing with next steps", Description: "Every call ends with an agreed next step & a date.", URL: "https://chorus.ai/initiatives/32"},
	{ID: 33, Name: "Objection handling", Description: "", URL: "https://chorus.ai/initiatives/33"},
}

// scorecardComments are the reviewers' comments; "" is an empty comment.
var scorecardComments = []string{
	"Great agenda setting.",
	"Ask more open questions here.",
	"Strong pricing defence — see the competitor comparison.",
	"Missed the chance to confirm the decision maker.",
	"",
	"Good summary of next steps; add a date next time.",
	`Nice use of the customer's own words: "we lose deals at security review".`,
	"Talk ratio was high during the demo <br> slow down.",
}

// scorecardStore holds the tenant's scorecards, generated on first use.
type scorecardStore struct {
	once sync.Once
	mu   sync.RWMutex
	all  []*TruthScorecard // by (SubmittedAt, ID)
}

// scorecardData returns the tenant's scorecards, generating them once.
func (t *Tenant) scorecardData() *scorecardStore {
	s := &t.scorecards
	s.once.Do(func() { s.all = t.generateScorecards() })
	return s
}

// userPersonID is the person id /v3/users gives a user (0 when unknown).
func (t *Tenant) userPersonID(id int64) int64 {
	for i, u := range t.users {
		if u.ID == id {
			return int64(17000000 + i)
		}
	}
	return 0
}

func (t *Tenant) generateScorecards() []*TruthScorecard {
	t.data.RLock()
	defer t.data.RUnlock()
	var out []*TruthScorecard
	for _, e := range t.all {
		if !e.IsCall() || e.Plan == nil || float64(t.hashOf("scorecard", e.ID)%1000) >= ScorecardShare*1000 {
			continue
		}
		var owner TruthUser
		for _, u := range t.users {
			if u.ID == e.OwnerUserID {
				owner = u
			}
		}
		reviewer := t.managerOf(owner)
		if reviewer == 0 || reviewer == owner.ID {
			continue // nobody above the rep
		}
		var reviewerName string
		for _, u := range t.users {
			if u.ID == reviewer {
				reviewerName = u.Name
			}
		}
		r := tenantdata.NewRand(t.opts.Seed, "scorecard/"+e.ID)
		end := e.StartedAt.Add(time.Duration(e.Duration * float64(time.Second)))
		id := strconv.Itoa(880001 + len(out))
		sc := &TruthScorecard{
			ID: id, EngagementID: e.ID, Initiative: scorecardInitiatives[r.IntN(len(scorecardInitiatives))],
			RecipientUserID: owner.ID, RecipientPersonID: t.userPersonID(owner.ID), RecipientName: owner.Name,
			ReviewerUserID: reviewer, ReviewerPersonID: t.userPersonID(reviewer), ReviewerName: reviewerName,
			SubmittedAt: end.Add(time.Hour + time.Duration(r.Int64N(47*3600))*time.Second).Truncate(time.Second).UTC(),
			Seen:        r.IntN(3) != 0, URL: "https://chorus.ai/scorecards/" + id,
		}
		n := 3 + r.IntN(4)
		for _, qi := range r.Perm(len(scorecardQuestions))[:n] {
			q := scorecardQuestions[qi]
			sc.Answers = append(sc.Answers, TruthScorecardAnswer{QuestionID: q.id, QuestionText: q.text,
				Score: int64(1 + r.IntN(5)), CommentText: scorecardComments[r.IntN(len(scorecardComments))],
				CommentTime: r.Int64N(int64(e.Duration) + 1)})
		}
		out = append(out, sc)
	}
	sortScorecards(out)
	return out
}

func sortScorecards(all []*TruthScorecard) {
	slices.SortFunc(all, func(a, b *TruthScorecard) int {
		return cmp.Or(a.SubmittedAt.Compare(b.SubmittedAt), cmp.Compare(len(a.ID), len(b.ID)), strings.Compare(a.ID, b.ID))
	})
}

func cloneScorecard(sc *TruthScorecard) TruthScorecard {
	c := *sc
	c.Answers = slices.Clone(sc.Answers)
	return c
}

// Scorecards returns the ground truth of every scorecard, by SubmittedAt
// ascending (ties by id), regardless of the clock: the API lists those
// whose SubmittedAt is not after the tenant clock.
func (t *Tenant) Scorecards() []TruthScorecard {
	s := t.scorecardData()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]TruthScorecard, len(s.all))
	for i, sc := range s.all {
		out[i] = cloneScorecard(sc)
	}
	return out
}

// EditScorecard changes a scorecard, as when its reviewer edits and
// submits it again (a new SubmittedAt, other scores); the ground truth
// follows. It reports whether the id exists.
func (t *Tenant) EditScorecard(id string, edit func(sc *TruthScorecard)) bool {
	s := t.scorecardData()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sc := range s.all {
		if sc.ID == id {
			c := cloneScorecard(sc)
			edit(&c)
			c.ID = id
			s.all[i] = &c
			sortScorecards(s.all)
			return true
		}
	}
	return false
}

// Wire shapes of the contract's ScorecardsDoc.
type scorecardJSON struct {
	Type       string             `json:"type"`
	ID         string             `json:"id"`
	Attributes scorecardAttrsJSON `json:"attributes"`
}

type scorecardAttrsJSON struct {
	Engagement string         `json:"engagement"`
	Initiative initiativeJSON `json:"initiative"`
	Recipient  personRefJSON  `json:"recipient"`
	Reviewer   personRefJSON  `json:"reviewer"`
	Scores     []scoreJSON    `json:"scores"`
	Seen       bool           `json:"seen"`
	Submitted  string         `json:"submitted"`
	URL        string         `json:"url"`
}

type initiativeJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

type personRefJSON struct {
	UserID   int64  `json:"user_id"`
	PersonID int64  `json:"person_id"`
	Name     string `json:"name"`
}

type scoreJSON struct {
	Question struct {
		ID   int64  `json:"id"`
		Text string `json:"text"`
	} `json:"question"`
	Score   int64 `json:"score"`
	Comment struct {
		Text string `json:"text"`
		Time int64  `json:"time"`
	} `json:"comment"`
}

func renderScorecard(sc *TruthScorecard) scorecardJSON {
	j := scorecardJSON{Type: "scorecard", ID: sc.ID, Attributes: scorecardAttrsJSON{
		Engagement: sc.EngagementID, Initiative: initiativeJSON(sc.Initiative),
		Recipient: personRefJSON{sc.RecipientUserID, sc.RecipientPersonID, sc.RecipientName},
		Reviewer:  personRefJSON{sc.ReviewerUserID, sc.ReviewerPersonID, sc.ReviewerName},
		Scores:    make([]scoreJSON, len(sc.Answers)), Seen: sc.Seen, Submitted: iso(sc.SubmittedAt), URL: sc.URL,
	}}
	for i, a := range sc.Answers {
		s := &j.Attributes.Scores[i]
		s.Question.ID, s.Question.Text, s.Score = a.QuestionID, a.QuestionText, a.Score
		s.Comment.Text, s.Comment.Time = a.CommentText, a.CommentTime
	}
	return j
}

// scorecardQuery is a parsed /api/v1/scorecards request.
type scorecardQuery struct {
	from, to              *time.Time // inclusive; nil: open
	recipients, reviewers map[string]bool
	initiative            *int64
	size, number          int
}

func parseScorecardQuery(r *http.Request) (scorecardQuery, error) {
	v := r.URL.Query()
	q := scorecardQuery{size: 20, number: 1}
	if s := v.Get("filter[submitted]"); s != "" {
		var ok bool
		if q.from, q.to, ok = parseSubmittedRange(s); !ok {
			return q, fmt.Errorf("filter[submitted] %q: want two ISO 8601 dates separated by a colon, * for an open end", s)
		}
	}
	for _, p := range []struct {
		key      string
		dst      *int
		min, max int
	}{{"page[size]", &q.size, 1, 100}, {"page[number]", &q.number, 1, 1 << 20}} {
		if s := v.Get(p.key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < p.min || n > p.max {
				return q, fmt.Errorf("%s %q: want an integer from %d to %d", p.key, s, p.min, p.max)
			}
			*p.dst = n
		}
	}
	if s := v.Get("filter[initiative]"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return q, fmt.Errorf("filter[initiative] %q: not an integer", s)
		}
		q.initiative = &n
	}
	q.recipients = commaSet(v.Get("filter[recipients]"))
	q.reviewers = commaSet(v.Get("filter[reviewers]"))
	return q, nil
}

// parseSubmittedRange reads "from:to"; the dates hold colons themselves, so
// every colon is tried as the separator.
func parseSubmittedRange(s string) (from, to *time.Time, ok bool) {
	end := func(s string) (*time.Time, bool) {
		if s == "*" {
			return nil, true
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				t = t.UTC()
				return &t, true
			}
		}
		return nil, false
	}
	for i := range len(s) {
		if s[i] != ':' {
			continue
		}
		a, okA := end(s[:i])
		b, okB := end(s[i+1:])
		if okA && okB {
			return a, b, true
		}
	}
	return nil, nil, false
}

func (q scorecardQuery) match(sc *TruthScorecard, now time.Time) bool {
	return !sc.SubmittedAt.After(now) &&
		(q.from == nil || !sc.SubmittedAt.Before(*q.from)) && (q.to == nil || !sc.SubmittedAt.After(*q.to)) &&
		(q.recipients == nil || q.recipients[strconv.FormatInt(sc.RecipientUserID, 10)]) &&
		(q.reviewers == nil || q.reviewers[strconv.FormatInt(sc.ReviewerUserID, 10)]) &&
		(q.initiative == nil || *q.initiative == sc.Initiative.ID)
}

// scorecardsList answers GET /api/v1/scorecards.
func (t *Tenant) scorecardsList(r *http.Request) (int, []byte) {
	q, err := parseScorecardQuery(r)
	if err != nil {
		return http.StatusBadRequest, t.errorBody(400, "ZI0400", "Bad Request", err.Error())
	}
	now := t.Now()
	s := t.scorecardData()
	s.mu.RLock()
	var matched []*TruthScorecard
	for _, sc := range s.all {
		if q.match(sc, now) {
			matched = append(matched, sc)
		}
	}
	off := (q.number - 1) * q.size
	data := []scorecardJSON{}
	for i := off; i < len(matched) && i < off+q.size; i++ {
		data = append(data, renderScorecard(matched[i]))
	}
	s.mu.RUnlock()
	var b bytes.Buffer
	writeJSON(&b, map[string]any{"data": data})
	b.WriteByte('\n')
	return http.StatusOK, b.Bytes()
}
