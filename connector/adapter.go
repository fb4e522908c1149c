package connector

import (
	"context"
	"encoding/json"
	"time"
)

// API is everything the connector needs from Chorus. All knowledge of the
// API's URLs and JSON shapes sits behind it: another API version (or a
// third-party variant) is one new implementation, in one new file.
type API interface {
	// ListEngagements returns one page of engagements that started in
	// [q.From, q.To), newest first, and the key of the next page ("" at the
	// end). A 504 comes back as *GatewayTimeoutError so that the caller can
	// narrow the window.
	ListEngagements(ctx context.Context, q ListQuery) (Page, error)
	// GetConversation returns the detail and transcript of one engagement;
	// *NotFoundError when it is gone or not visible.
	GetConversation(ctx context.Context, id string) (*Conversation, error)
	ListUsers(ctx context.Context) ([]User, error)
	ListTeams(ctx context.Context) ([]Team, error)
}

// ListQuery asks for one page of engagements.
type ListQuery struct {
	From, To     time.Time
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

// Extra holds fields of an API object that the connector does not model.
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

// IsRecordedCall reports whether the engagement is a recorded call, the only
// kind that has a conversation detail.
func (e *Engagement) IsRecordedCall() bool { return e.Type == "meeting" || e.Type == "dialer" }

// Participant is a person on a call.
type Participant struct {
	PersonID    *int64
	UserID      *int64
	Name        string
	Email       string
	Title       string
	CompanyName string
	Type        string // as the API says it
	Extra       Extra
}

// TrackerMatch is a tracker count from the listing (with_trackers=true).
type TrackerMatch struct {
	Name  string
	Type  string
	Count *int64
}

// Conversation is the detail of one recorded call.
type Conversation struct {
	ID                string
	Name              string
	Status            string
	Language          string
	CreatedAt         *time.Time
	ModifiedAt        *time.Time
	OwnerUserID       *int64
	OwnerName         string
	OwnerEmail        string
	AccountExtID      string
	AccountName       string
	DealStage         string
	Participants      []Participant
	Metrics           []Metric
	Summary           string
	ActionItems       []string
	RecordingStart    *time.Time
	RecordingDuration *float64
	Utterances        []Utterance
	Trackers          []Tracker
	Extra             Extra
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
	Mentions []Mention
}

// Mention points at an utterance and a character offset inside it.
type Mention struct {
	Utterance int
	Offset    int
}

// User is a Chorus user.
type User struct {
	ID     int64
	Name   string
	Email  string
	Role   string
	TeamID string
	Active *bool
	Extra  Extra
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
