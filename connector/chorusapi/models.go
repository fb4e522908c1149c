// Package chorusapi is the adapter to the Chorus API as published today
// (/v3/engagements, /api/v1/conversations/{id}, /v3/users, /api/v1/teams,
// /api/v1/scorecards, /api/v1/sales-qualifications/{id}): the request
// parameters, the tolerant decoding of every documented shape, and the
// normalised models the engine builds rows from. Every property the contract
// documents is decoded into a field or kept in the object's Extra.
package chorusapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ListQuery asks for one page of engagements: a date window, or a batch of
// engagement ids (then the window is not sent).
type ListQuery struct {
	From, To     time.Time
	IDs          []string
	Continuation string
}

// Page is one page of a listing.
type Page struct {
	Engagements []Engagement
	Next        string // "" when the listing has ended
	// Unreadable describes entries that could not be used (no id, no
	// readable date): they cannot be fetched or placed, so they are
	// reported and skipped rather than failing every run.
	Unreadable []string
}

// Extra holds what an API object carries beyond the fields the connector
// models: unknown keys, and for a known sub-object the keys of it that are
// not modelled (nested the same way), so that nothing the API says is lost.
type Extra map[string]json.RawMessage

// Engagement is one entry of the engagement listing, normalised.
type Engagement struct {
	ID                   string
	Type                 string
	Subject              string
	StartedAt            time.Time
	Duration             *float64
	Language             string
	NoShow               *bool
	ProcessingState      string
	Compliance           string
	Initiator            string
	Disposition          Disposition
	AccountID            string
	AccountName          string
	OpportunityID        string
	OpportunityName      string
	NumCustQuestions     *int64
	NumEngagingQuestions *int64
	UserID               *int64
	UserName             string
	UserEmail            string
	URL                  string
	Summary              string
	Participants         []Participant
	TrackerMatches       []TrackerMatch
	ActionItems          []string
	Extra                Extra
}

// Disposition is a dialer call's outcome flags.
type Disposition struct {
	Connected, Gatekeeper, Tree, Voicemail *bool
}

// IsRecordedCall reports whether the engagement is a recorded call, the only
// kind that has a conversation detail.
func (e *Engagement) IsRecordedCall() bool { return e.Type == "meeting" || e.Type == "dialer" }

// Fingerprint is a hash of the listing fields through which Chorus signals
// that a call changed after it was complete: its AI output (summary, action
// items), tracker matches, CRM links, processing state, duration and
// participants. It holds no personal data; two listings of an unchanged call
// have the same fingerprint.
func (e *Engagement) Fingerprint() string {
	type part struct {
		Name, Email, Type string
		Person, User      *int64
	}
	parts := make([]part, len(e.Participants))
	for i, p := range e.Participants {
		parts[i] = part{p.Name, p.Email, p.Type, p.PersonID, p.UserID}
	}
	sort.Slice(parts, func(i, j int) bool { return fmt.Sprint(parts[i]) < fmt.Sprint(parts[j]) })
	tms := append([]TrackerMatch(nil), e.TrackerMatches...)
	sort.Slice(tms, func(i, j int) bool { return tms[i].Name < tms[j].Name })
	return shortHash(struct {
		Type, Subject, State, Account, AccountName, Opp, OppName, Summary string
		Duration                                                          *float64
		NoShow                                                            *bool
		Items                                                             []string
		Trackers                                                          []TrackerMatch
		Parts                                                             []part
	}{e.Type, e.Subject, e.ProcessingState, e.AccountID, e.AccountName, e.OpportunityID, e.OpportunityName, e.Summary,
		e.Duration, e.NoShow, e.ActionItems, tms, parts})
}

// shortHash is the first 16 hex digits of the SHA-256 of v's JSON.
func shortHash(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fingerprint: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// Participant is a person on a call.
type Participant struct {
	PersonID    *int64
	UserID      *int64
	Name        string
	Email       string
	Title       string
	CompanyName string
	Type        string // as the API says it
	IsMyTeam    *bool  // the detail's is_my_team: true for the seller's people
	Extra       Extra
}

// TrackerMatch is a tracker count from the listing (with_trackers=true).
type TrackerMatch struct {
	Name  string
	Type  string
	Count *int64
	Extra Extra
}

// Conversation is the detail of one recorded call.
type Conversation struct {
	ID                 string
	Name               string
	Status             string
	Language           string
	CreatedAt          *time.Time
	ModifiedAt         *time.Time
	OwnerUserID        *int64
	OwnerName          string
	OwnerEmail         string
	AccountExtID       string
	AccountName        string
	AccountType        string
	AccountZICompanyID string
	DealID             string
	DealName           string
	DealStage          string
	DealAmount         *float64 // the deal's initial_amount; nil when unknown (-1 live)
	DealCloseDate      *time.Time
	Participants       []Participant
	Metrics            []Metric
	Summary            string
	SummaryError       string
	HasMeetingSummary  *bool
	ActionItems        []string
	Recap              []string
	RecordingStart     *time.Time
	RecordingDuration  *float64
	Utterances         []Utterance
	Trackers           []Tracker
	Clusters           []Cluster
	// Extra holds unknown attributes and the unmodelled keys of the known
	// sub-objects (account, deal, owner, recording, …), nested as sent.
	Extra Extra
}

// AIPending reports whether Chorus has not written the call's AI output yet
// (or failed to): such a call is read again while it settles.
func (c *Conversation) AIPending() bool {
	return (c.HasMeetingSummary != nil && !*c.HasMeetingSummary) || c.SummaryError != ""
}

// Fingerprint is a hash of what the detail says that can change after a call
// is complete: status, AI output, CRM links, participants, trackers, metrics
// and the transcript's size. No personal data.
func (c *Conversation) Fingerprint() string {
	type tr struct {
		ID, Name string
		Count    *int64
		Mentions int
	}
	trs := make([]tr, len(c.Trackers))
	for i, t := range c.Trackers {
		trs[i] = tr{t.ID, t.Name, t.Count, len(t.Mentions)}
	}
	parts := make([]string, len(c.Participants))
	for i, p := range c.Participants {
		parts[i] = ParticipantKey(p) + "/" + p.Type + "/" + p.Email
	}
	sort.Strings(parts)
	return shortHash(struct {
		Status, Name, Summary, SummaryError, Account, AccountName, AccountType, Deal, DealName, DealStage string
		Has                                                                                               *bool
		Amount                                                                                            *float64
		Close                                                                                             *time.Time
		Items, Recap, Parts                                                                               []string
		Trackers                                                                                          []tr
		Metrics                                                                                           []Metric
		Utterances, Clusters                                                                              int
	}{c.Status, c.Name, c.Summary, c.SummaryError, c.AccountExtID, c.AccountName, c.AccountType, c.DealID, c.DealName,
		c.DealStage, c.HasMeetingSummary, c.DealAmount, c.DealCloseDate, c.ActionItems, c.Recap, parts, trs, c.Metrics,
		len(c.Utterances), len(c.Clusters)})
}

// Metric is a named value Chorus computed for a call.
type Metric struct {
	Name  string
	Value *float64
}

// Utterance is one transcript entry.
type Utterance struct {
	ID          string
	Index       int
	SpokenAt    *time.Time
	Start       *float64
	Length      *float64
	WordCount   *int64
	Text        string
	SpeakerID   *int64
	SpeakerName string
	SpeakerType string // normalised: rep | customer | unknown
	Engaging    *bool
	Extra       Extra
}

// Tracker is a tracker with its mentions, from the detail.
type Tracker struct {
	ID       string
	Name     string
	Type     string
	Count    *int64
	OwnerID  *int64
	Source   string
	Mentions []Mention
	Extra    Extra
}

// Mention points at an utterance and a character offset inside it.
type Mention struct {
	Utterance int
	Offset    int
}

// Cluster is one speaker of Chorus's diarisation with the time ranges in
// which they spoke.
type Cluster struct {
	ID          int64
	SpeakerName string
	Type        string // normalised: rep | customer | unknown
	MatchMethod string
	Participant *int64 // the participant's person id
	UserID      *int64
	Ranges      []TalkRange
	Extra       Extra
}

// TalkRange is one stretch of a speaker's talk, in seconds from the
// recording start.
type TalkRange struct {
	Start, Length, TalkTime *float64
	Extra                   Extra
}

// User is a Chorus user.
type User struct {
	ID          int64
	Name        string
	FirstName   string
	LastName    string
	Email       string
	PersonID    *int64
	ManagerID   *int64
	TeamIDs     []int64
	PrimaryTeam *int64
	LicenseType string
	Role        string
	Title       string
	CreatedOn   *time.Time
	Invalidated *bool
	Extra       Extra
}

// Team is a Chorus team.
type Team struct {
	ID            string
	Name          string
	ManagerUserID *int64
	ParentTeamID  string
	UserIDs       []int64
	Extra         Extra
}

// ScorecardQuery asks for one page of scorecards by submission time; a zero
// SubmittedFrom or SubmittedTo is an open end. Page counts from 1.
type ScorecardQuery struct {
	SubmittedFrom time.Time
	SubmittedTo   time.Time
	Page          int
	Size          int
}

// ScorecardPage is one page of the scorecards listing.
type ScorecardPage struct {
	Scorecards []Scorecard
	// Count is the number of entries on the page, readable or not: a page
	// with fewer than the size asked for is the last.
	Count int
	// Unreadable describes entries that could not be used (no id).
	Unreadable []string
}

// Scorecard is a reviewer's scorecard of a call.
type Scorecard struct {
	ID                    string
	EngagementID          string
	InitiativeID          *int64
	InitiativeName        string
	InitiativeDescription string
	InitiativeURL         string
	RecipientUserID       *int64
	RecipientPersonID     *int64
	RecipientName         string
	ReviewerUserID        *int64
	ReviewerPersonID      *int64
	ReviewerName          string
	SubmittedAt           *time.Time
	Seen                  *bool
	URL                   string
	Answers               []ScorecardAnswer
	// Extra holds unknown keys and the unmodelled keys of initiative,
	// recipient and reviewer, nested as sent.
	Extra Extra
}

// ScorecardAnswer is one entry of a scorecard's scores.
type ScorecardAnswer struct {
	Index        int // position in the scores list
	QuestionID   *int64
	QuestionText string
	Score        *int64
	CommentText  string
	CommentTime  *int64 // seconds into the call
	Extra        Extra  // unknown keys; question's and comment's nested
}

// Fingerprint is a hash of everything the scorecard says: a scorecard
// listed again with the same fingerprint is not emitted again.
func (s *Scorecard) Fingerprint() string { return shortHash(s) }

// ParticipantKey identifies a person within a call, the same way whether it
// comes from the listing or the detail.
func ParticipantKey(p Participant) string {
	switch {
	case p.PersonID != nil:
		return fmt.Sprintf("p:%d", *p.PersonID)
	case strings.TrimSpace(p.Email) != "":
		return "e:" + strings.ToLower(strings.TrimSpace(p.Email))
	default:
		return "n:" + strings.ToLower(strings.TrimSpace(p.Name))
	}
}
