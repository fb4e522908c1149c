// Package tenantdata generates the data of a simulated Chorus tenant
// deterministically from a seed: the seller's users and teams, its
// customers, their engagements with participants, deals and action items,
// and each call's transcript, together with the ground truth tests compare
// against. It knows nothing of HTTP; the tenant in the parent package
// chorustest serves this data in the API's shapes.
//
// Engagement metadata is generated eagerly (it is small); transcripts are
// regenerated on demand from a per-call seed, so a tenant with 20,000 calls of
// 200 utterances never holds its 4M utterances in memory.
package tenantdata

import "time"

// Engagement types.
const (
	TypeMeeting           = "meeting"
	TypeDialer            = "dialer"
	TypeEmail             = "email"
	TypeContentViewed     = "content_viewed"
	TypeUnrecordedMeeting = "unrecorded_meeting"
)

// Customer-matching rules, in the order the connector applies them.
const (
	MatchCRMAccountID = "crm_account_id"
	MatchEmailDomain  = "email_domain"
	MatchAccountName  = "account_name"
)

// TruthEngagement is the ground truth of one engagement.
type TruthEngagement struct {
	ID        string
	Type      string // meeting|dialer|email|content_viewed|unrecorded_meeting
	StartedAt time.Time
	Duration  float64 // seconds
	Subject   string
	// CustomerID is the customer the call belongs to; "" for a prospect or an
	// unknown company.
	CustomerID string
	// AccountID and AccountName are the CRM ext id and name as the API reports
	// them (either may be "").
	AccountID, AccountName string
	OwnerUserID            int64
	OwnerEmail, OwnerName  string
	Participants           []TruthParticipant
	NoShow                 bool
	// NotFound calls answer 404 on detail (private or deleted). Their
	// transcript is never revealed, so they carry no transcript truth.
	NotFound bool
	// APIActionItems are the action items the API itself returns (the same in
	// the engagement and the conversation); empty for many calls.
	APIActionItems []string
	// TrueActionItems are the commitments actually said in the transcript.
	TrueActionItems []TruthActionItem
	// Trackers lists the trackers with at least one mention.
	Trackers []TruthTracker
	// MatchableBy is the first customer-matching rule that can attach the
	// call to a customer ("" when none can).
	MatchableBy string
	// AIReadyAt is when Chorus has written the call's AI output (summary,
	// action items, recap): Params.AIDelay after the transcript is ready.
	// Zero for engagements without a transcript.
	AIReadyAt time.Time
}

// IsCall reports whether the engagement is a recorded call (meeting or dialer).
func (e TruthEngagement) IsCall() bool { return e.Type == TypeMeeting || e.Type == TypeDialer }

// TruthParticipant is a participant as the API reports it. Type is the raw
// value ("rep", "customer", occasionally "external" or "").
type TruthParticipant struct {
	Name, Email, Title, CompanyName, Type string
	PersonID                              int64
	UserID                                int64 // 0 for external participants
}

// TruthUtterance is one utterance of a transcript. SpeakerType is the raw value
// served ("rep", "customer", occasionally "cust", or "" when the field is
// missing).
type TruthUtterance struct {
	Index         int
	SpeakerName   string
	SpeakerType   string
	SpeakerID     int
	Start, Length float64 // seconds from the recording start
	Text          string
	Engaging      bool
}

// TruthActionItem is a commitment said in a call: Text is the verbatim
// utterance, Owner "rep" or "customer", DueHint the due phrase ("by Friday",
// "next week", …; "" when none).
type TruthActionItem struct {
	UtteranceIndex int
	Text           string
	Owner          string
	DueHint        string
}

// TruthTracker is a tracker that fired in a call; Mentions are utterance
// indexes (ascending, one per utterance).
type TruthTracker struct {
	ID, Name, Type string
	Mentions       []int
}

// Customer is one of the seller's customers, as a customer list would hold it.
type Customer struct {
	ID, Name     string
	Domains      []string
	CRMAccountID string
	CSMEmail     string
	CSMName      string
	// Profile is how the simulated customer behaves (Params.Profiles):
	// ground truth, not part of a customer list.
	Profile Profile
}

// TruthUser is a user of the seller's Chorus tenant. TeamIDs lists every
// team the user belongs to; PrimaryTeam is one of them.
type TruthUser struct {
	ID                int64
	Name, Email, Role string
	TeamIDs           []int64
	PrimaryTeam       int64
}

// TruthTeam is a team of the seller's tenant; ParentID and ManagerID are 0
// when the team has none.
type TruthTeam struct {
	ID        int64
	Name      string
	ManagerID int64
	ParentID  int64
}
