package chorustest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/tenantdata"
)

// Wire shapes. The conversation, teams and error documents follow the
// vendor's OpenAPI document (chorus-openapi.json: RecordingDoc, TeamsDoc,
// Error), every documented property set; the listing and /v3/users, for
// which the document has only an example, follow docs/chorus-api.md.
// Fields the document does not name (call_state, languages) are included on
// purpose, as live tenants send them, to exercise tolerant decoding.

type participantJSON struct {
	Name        string  `json:"name"`
	Email       *string `json:"email,omitempty"` // nil: field absent
	CompanyName string  `json:"company_name"`
	Title       string  `json:"title"`
	Type        string  `json:"type"`
	PersonID    int64   `json:"person_id"`
	UserID      *int64  `json:"user_id"`
}

type trackerMatchJSON struct {
	Name       string `json:"name"`
	NumMatches int    `json:"num_matches"`
	Type       string `json:"type"`
}

type engagementJSON struct {
	EngagementID          string              `json:"engagement_id"`
	EngagementType        string              `json:"engagement_type"`
	Subject               string              `json:"subject"`
	DateTime              int64               `json:"date_time"`
	Duration              float64             `json:"duration"`
	Language              string              `json:"language"`
	NoShow                bool                `json:"no_show"`
	ProcessingState       string              `json:"processing_state"`
	Compliance            string              `json:"compliance"`
	DispositionConnected  *bool               `json:"disposition_connected,omitempty"`
	DispositionGatekeeper *bool               `json:"disposition_gatekeeper,omitempty"`
	DispositionTree       *bool               `json:"disposition_tree,omitempty"`
	DispositionVoicemail  *bool               `json:"disposition_voicemail,omitempty"`
	AccountID             string              `json:"account_id"`
	AccountName           string              `json:"account_name"`
	OpportunityID         string              `json:"opportunity_id"`
	OpportunityName       string              `json:"opportunity_name"`
	Initiator             string              `json:"initiator"`
	NumCustQuestions      int                 `json:"num_cust_questions"`
	NumEngagingQuestions  int                 `json:"num_engaging_questions"`
	UserID                int64               `json:"user_id"`
	UserName              string              `json:"user_name"`
	UserEmail             string              `json:"user_email"`
	URL                   string              `json:"url"`
	Participants          []participantJSON   `json:"participants"`
	TrackerMatches        *[]trackerMatchJSON `json:"tracker_matches,omitempty"`
	MeetingSummary        string              `json:"meeting_summary,omitempty"`
	ActionItems           *[]string           `json:"action_items,omitempty"`
	CallState             string              `json:"call_state"`
	Languages             []string            `json:"languages"`
}

type metricJSON struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// convParticipantJSON is a participant of the conversation detail.
type convParticipantJSON struct {
	Name        string  `json:"name"`
	Email       *string `json:"email"`
	CompanyName *string `json:"company_name"`
	Title       *string `json:"title"`
	Type        string  `json:"type"`
	PersonID    int64   `json:"person_id"`
	UserID      *int64  `json:"user_id"`
	IsMyTeam    *bool   `json:"is_my_team"`
	ZIPersonID  *int64  `json:"zi_person_id"`
	Picture     *string `json:"picture"`
}

type utteranceJSON struct {
	ID               string  `json:"id"`
	Index            int     `json:"index"`
	DateTime         string  `json:"date_time"`
	SnippetTime      float64 `json:"snippet_time"`
	SnippetLength    float64 `json:"snippet_length"`
	SnippetWordCount int     `json:"snippet_word_count"`
	Snippet          string  `json:"snippet"`
	Participant      int     `json:"participant"`
	SpeakerID        int     `json:"speaker_id"`
	SpeakerName      string  `json:"speaker_name"`
	SpeakerType      string  `json:"speaker_type,omitempty"` // occasionally missing
	Engaging         bool    `json:"engaging"`
	Expired          bool    `json:"expired"`
}

type mentionJSON struct {
	Utterance int `json:"utterance"`
	Offset    int `json:"offset"`
}

type trackerJSON struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Count    int           `json:"count"`
	Mentions []mentionJSON `json:"mentions"`
	OwnerID  int64         `json:"owner_id"`
	Source   string        `json:"source"`
	TeamIDs  []int64       `json:"team_ids"`
}

type rangeJSON struct {
	Start    float64 `json:"start"`
	Length   float64 `json:"length"`
	TalkTime float64 `json:"talk_time"`
}

type clusterJSON struct {
	ID          int         `json:"id"`
	SpeakerName string      `json:"speaker_name"`
	DisplayName *string     `json:"display_name"`
	CompanyName *string     `json:"company_name"`
	Title       *string     `json:"title"`
	Type        string      `json:"type"` // cust | rep | unknown
	MatchMethod string      `json:"match_method"`
	Participant *int64      `json:"participant"`
	UserID      *int64      `json:"user_id"`
	Ranges      []rangeJSON `json:"ranges"`
}

type thumbnailJSON struct {
	ID           string  `json:"id"`
	Type         string  `json:"type"`
	KeyframeType *string `json:"keyframe_type"`
	OffsetStart  int     `json:"offset_start"`
	OffsetEnd    int     `json:"offset_end"`
	Duration     *int    `json:"duration"`
}

type recordingJSON struct {
	StartTime         string          `json:"start_time"`
	Duration          float64         `json:"duration"`
	ScheduleStartTime string          `json:"schedule_start_time"`
	ScheduleEndTime   string          `json:"schedule_end_time"`
	EndReason         string          `json:"end_reason"`
	HasMeetingSummary bool            `json:"has_meeting_summary"`
	AudioOnly         bool            `json:"audio_only"`
	Autojoin          bool            `json:"autojoin"`
	AutojoinReason    string          `json:"autojoin_reason"`
	Recordable        bool            `json:"recordable"`
	UnrecordedReason  string          `json:"unrecorded_reason"`
	Thumbnails        []thumbnailJSON `json:"thumbnails"`
	Utterances        []utteranceJSON `json:"utterances"`
	Trackers          []trackerJSON   `json:"trackers"`
	Clusters          []clusterJSON   `json:"clusters"`
}

const (
	isoSeconds = "2006-01-02T15:04:05Z"
	isoMicros  = "2006-01-02T15:04:05.000000Z" // _created_at and _modified_at carry microseconds live
)

func iso(t time.Time) string { return t.UTC().Format(isoSeconds) }

func strPtr(s string) *string { return &s }

func boolPtr(b bool) *bool { return &b }

func int64Ptr(i int64) *int64 { return &i }

// optStr is s, or JSON null when s is empty.
func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// hashOf is a stable number drawn from the seed and labels, for choices
// that must not depend on generation order.
func (t *Tenant) hashOf(labels ...string) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d", t.opts.Seed)
	for _, l := range labels {
		fmt.Fprintf(h, "/%s", l)
	}
	return h.Sum32()
}

func participantsJSON(e *tenantdata.Engagement) []participantJSON {
	out := make([]participantJSON, len(e.Participants))
	for i, p := range e.Participants {
		out[i] = participantJSON{Name: p.Name, CompanyName: p.CompanyName, Title: p.Title, Type: p.Type, PersonID: p.PersonID}
		if !e.EmailMissing[i] {
			out[i].Email = strPtr(p.Email)
		}
		if p.UserID != 0 {
			out[i].UserID = int64Ptr(p.UserID)
		}
	}
	return out
}

// engagementJSON renders an engagement as /v3/engagements lists it at now.
func (t *Tenant) engagementJSON(e *tenantdata.Engagement, now time.Time, withTrackers bool) engagementJSON {
	j := engagementJSON{
		EngagementID: e.ID, EngagementType: e.Type, Subject: e.Subject, DateTime: e.Epoch, Duration: e.Duration,
		Language: "en", NoShow: e.NoShow, ProcessingState: "done", Compliance: "compliant",
		AccountID: e.AccountID, AccountName: e.AccountName, OpportunityID: e.OppID, OpportunityName: e.OppName,
		UserID: e.OwnerUserID, UserName: e.OwnerName, UserEmail: e.OwnerEmail,
		URL: "https://chorus.ai/meeting/" + e.ID, Participants: participantsJSON(e),
		CallState: "ended", Languages: []string{"en"},
	}
	if e.Type == TypeDialer {
		j.Initiator = e.OwnerEmail
		connected := !e.NoShow
		j.DispositionConnected, j.DispositionGatekeeper = boolPtr(connected), boolPtr(false)
		j.DispositionTree, j.DispositionVoicemail = boolPtr(false), boolPtr(!connected)
	}
	if t.hashOf("compliance", e.ID)%10 == 0 {
		j.Compliance = "non-compliant"
	}
	proc := t.processing(e, now)
	if proc {
		j.ProcessingState = "processing"
		j.CallState = "processing"
	}
	if withTrackers {
		matches := []trackerMatchJSON{}
		if !proc {
			for _, tr := range e.Trackers {
				matches = append(matches, trackerMatchJSON{Name: tr.Name, NumMatches: len(tr.Mentions), Type: tr.Type})
			}
		}
		j.TrackerMatches = &matches
	}
	if e.Plan != nil && !proc {
		j.NumCustQuestions, j.NumEngagingQuestions = e.Plan.Questions, e.Plan.Engaging
	}
	if e.AIReady(now) {
		j.MeetingSummary = summary(e)
		j.ActionItems = apiActionItems(e)
	}
	return j
}

// apiActionItems is the action_items field: nil when absent.
func apiActionItems(e *tenantdata.Engagement) *[]string {
	switch e.APIItems {
	case tenantdata.ItemsEmpty:
		return &[]string{}
	case tenantdata.ItemsPresent:
		items := append([]string(nil), e.APIActionItems...)
		return &items
	}
	return nil
}

// attr is one conversation attribute, kept in order.
type attr struct {
	key string
	val any
}

// conversationStatus is the status the detail reports at now. A small share
// of complete calls say "unknown", the documented default, as live tenants
// do: with a transcript, that is a complete call.
func (t *Tenant) conversationStatus(e *tenantdata.Engagement, proc bool) string {
	switch {
	case proc:
		return "processing"
	case e.NoShow:
		return "no show"
	case t.hashOf("status", e.ID)%20 == 0:
		return "unknown"
	}
	return "done"
}

// account renders the account object. It is required by the contract with
// an integer id and a name, so a call without an account gets id 0 and an
// empty name.
func (t *Tenant) account(e *tenantdata.Engagement) map[string]any {
	a := map[string]any{"id": e.AccountNum, "name": e.AccountName, "ext_id": optStr(e.AccountID), "type": nil, "zi_company_id": nil}
	if e.AccountNum != 0 {
		a["type"] = "Customer"
		if strings.HasPrefix(e.AccountName, "Prospect") {
			a["type"] = "Prospect"
		}
		a["zi_company_id"] = fmt.Sprintf("ZI%09d", 100000000+e.AccountNum)
	}
	return a
}

// deal renders the deal object; initial_amount is -1.0 when unknown, as live.
func (t *Tenant) deal(e *tenantdata.Engagement) map[string]any {
	d := map[string]any{"id": nil, "name": nil, "current_stage": nil, "close_date": nil, "initial_stage": nil,
		"initial_amount": -1.0, "size": nil, "stage_advancement": nil, "engaged": nil, "on_stage_since": nil,
		"follow_up": nil, "size_increased_amount": 0}
	if e.OppID == "" {
		return d
	}
	h := t.hashOf("deal", e.ID)
	amount := float64(10000 + 2500*int(h%40))
	d["id"], d["name"], d["current_stage"] = e.OppID, e.OppName, e.DealStage
	d["close_date"] = e.StartedAt.AddDate(0, 2, 0).Format(isoSeconds)
	d["initial_stage"], d["initial_amount"], d["size"] = "Discovery", amount, int64(amount)
	d["stage_advancement"], d["engaged"] = "advanced", "yes"
	d["on_stage_since"] = e.StartedAt.AddDate(0, 0, -7).Format(isoSeconds)
	d["size_increased_amount"] = 0
	return d
}

// conversation renders GET /api/v1/conversations/{id} at now. fields, when
// non-empty, limits the attributes.
func (t *Tenant) conversation(e *tenantdata.Engagement, now time.Time, fields map[string]bool) []byte {
	proc := t.processing(e, now)
	ai := e.AIReady(now)
	created := e.StartedAt.Add(time.Duration(e.Duration * float64(time.Second)))
	micros := time.Duration(t.hashOf("micros", e.ID)%1000000) * time.Microsecond
	modified := created
	if !proc {
		modified = created.Add(t.opts.ProcessingDelay / 2)
	}
	if ai && e.AIReadyAt.After(modified) {
		modified = e.AIReadyAt
	}
	parts := make([]convParticipantJSON, len(e.Participants))
	for i, p := range e.Participants {
		cp := convParticipantJSON{Name: p.Name, Email: strPtr(p.Email), CompanyName: optStr(p.CompanyName),
			Title: optStr(p.Title), Type: p.Type, PersonID: p.PersonID, ZIPersonID: int64Ptr(p.PersonID + 7000000000)}
		if p.UserID != 0 {
			cp.UserID = int64Ptr(p.UserID)
		}
		// is_my_team is reported for most participants (true for the
		// seller's people); null for some, as live.
		if t.hashOf("mine", e.ID, strconv.Itoa(i))%8 != 0 {
			cp.IsMyTeam = boolPtr(p.Type == "rep")
		}
		parts[i] = cp
	}
	recStart := e.StartedAt.Add(5 * time.Second)
	sched := e.StartedAt.Truncate(15 * time.Minute)
	rec := recordingJSON{StartTime: iso(recStart), Duration: e.Duration,
		ScheduleStartTime: iso(sched), ScheduleEndTime: iso(sched.Add(30 * time.Minute)),
		EndReason: "host_ended", HasMeetingSummary: ai, AudioOnly: e.Type == TypeDialer, Autojoin: e.Type == TypeMeeting,
		AutojoinReason: "calendar", Recordable: true, UnrecordedReason: "",
		Thumbnails: []thumbnailJSON{}, Utterances: []utteranceJSON{}, Trackers: []trackerJSON{}, Clusters: []clusterJSON{}}
	if e.NoShow {
		rec.EndReason = "no_participants"
	}

	attrs := []attr{
		{"_created_at", created.Add(micros).UTC().Format(isoMicros)},
		{"_modified_at", modified.UTC().Format(isoMicros)},
		{"name", e.Subject}, {"generated_subject", nil}, {"status", t.conversationStatus(e, proc)}, {"language", "en"},
		{"languages", []string{"en"}}, {"source", map[string]string{TypeMeeting: "zoom", TypeDialer: "dialer"}[e.Type]},
		{"private", false}, {"company_name", tenantdata.SellerCompany}, {"user_company_name", tenantdata.SellerCompany},
		{"owner", map[string]any{"user_id": e.OwnerUserID, "person_id": e.Participants[0].PersonID,
			"name": e.OwnerName, "email": e.OwnerEmail}},
		{"account", t.account(e)}, {"deal", t.deal(e)}, {"participants", parts},
	}
	if e.Type == TypeMeeting {
		attrs = append(attrs, attr{"meeting", map[string]any{"id": "mtg-" + strings.ToLower(e.ID[:12]),
			"calendar_id": "cal-" + strings.ToLower(e.ID[12:20]), "ical_uid": strings.ToLower(e.ID) + "@calendar.seller.example",
			"meeting_url": "https://zoom.example/j/" + fmt.Sprint(t.hashOf("zoom", e.ID))}})
	} else {
		attrs = append(attrs, attr{"meeting", nil}, attr{"disposition", map[string]any{"connected": !e.NoShow,
			"gatekeeper": false, "voicemail": e.NoShow, "tree": false, "Task___CallDisposition": map[bool]string{true: "No Answer", false: "Connected"}[e.NoShow]}})
	}
	attrs = append(attrs, attr{"meta", nil}, attr{"tracker_match", nil}, attr{"custom_questions", []any{}}, attr{"custom_summaries", []any{}})
	if !proc && e.Plan != nil {
		utts := e.Utterances()
		rec.Utterances = make([]utteranceJSON, len(utts))
		clusters := map[int]*clusterJSON{}
		var order []int
		for i, u := range utts {
			rec.Utterances[i] = utteranceJSON{ID: "u" + strconv.Itoa(i+1), Index: u.Index,
				DateTime: iso(recStart.Add(time.Duration(u.Start * float64(time.Second)))), SnippetTime: u.Start,
				SnippetLength: u.Length, SnippetWordCount: wordCount(u.Text), Snippet: u.Text,
				Participant: u.SpeakerID, SpeakerID: u.SpeakerID, SpeakerName: u.SpeakerName, SpeakerType: u.SpeakerType,
				Engaging: u.Engaging}
			c := clusters[u.SpeakerID]
			if c == nil {
				c = t.cluster(e, u)
				clusters[u.SpeakerID] = c
				order = append(order, u.SpeakerID)
			}
			c.Ranges = append(c.Ranges, rangeJSON{Start: u.Start, Length: u.Length, TalkTime: TalkTime(u.Length, u.SpeakerType)})
		}
		for _, id := range order {
			rec.Clusters = append(rec.Clusters, *clusters[id])
		}
		for _, pt := range e.Plan.Trackers {
			tj := trackerJSON{ID: pt.ID, Name: pt.Name, Type: pt.Type, Count: len(pt.Mentions),
				OwnerID: 305901, Source: "chorus", TeamIDs: []int64{tenantdata.TeamRevenue}}
			if pt.Type == "competitor" { // the seller's own trackers

				tj.Source, tj.OwnerID, tj.TeamIDs = "custom", 305902, []int64{tenantdata.TeamAEs, tenantdata.TeamCS}
			}
			for _, m := range pt.Mentions {
				tj.Mentions = append(tj.Mentions, mentionJSON{m.Utterance, m.Offset})
			}
			rec.Trackers = append(rec.Trackers, tj)
		}
		if len(utts) > 0 {
			rec.Thumbnails = append(rec.Thumbnails, thumbnailJSON{ID: "th-" + e.ID[:8], Type: "keyframe",
				KeyframeType: strPtr("deck"), OffsetStart: 60, OffsetEnd: 120, Duration: intPtr(60)})
		}
		if e.HasMetrics {
			attrs = append(attrs, attr{"metrics", t.metrics(e, utts)})
		} else {
			attrs = append(attrs, attr{"metrics", nil})
		}
	}
	if ai {
		attrs = append(attrs, attr{"summary", summary(e)}, attr{"summary_error", nil})
		if items := apiActionItems(e); items != nil {
			attrs = append(attrs, attr{"action_items", *items})
		} else {
			attrs = append(attrs, attr{"action_items", nil})
		}
		recap := []string{"Discussed " + strings.ToLower(e.Subject) + "."}
		for _, tr := range e.Trackers {
			recap = append(recap, tr.Name+" came up.")
		}
		attrs = append(attrs, attr{"recap", recap})
	} else {
		attrs = append(attrs, attr{"summary", nil}, attr{"action_items", nil}, attr{"recap", nil}, attr{"summary_error", nil})
	}
	attrs = append(attrs, attr{"recording", rec}, attr{"call_state", map[bool]string{true: "processing", false: "ended"}[proc]})

	var b bytes.Buffer
	b.Grow(256 + 400*len(rec.Utterances))
	b.WriteString(`{"data":{"type":"recording","id":`)
	writeJSON(&b, e.ID)
	b.WriteString(`,"attributes":{`)
	first := true
	for _, a := range attrs {
		if len(fields) > 0 && !fields[a.key] {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSON(&b, a.key)
		b.WriteByte(':')
		writeJSON(&b, a.val)
	}
	b.WriteString("}}}\n")
	return b.Bytes()
}

func intPtr(i int) *int { return &i }

// TalkTime is the talk time Chorus's diarisation reports for a range of the
// given length spoken by a speaker of the served type: pauses inside an
// utterance are not talk, and customers pause more than reps.
func TalkTime(length float64, speakerType string) float64 {
	if NormalizeSpeaker(speakerType) == "rep" {
		return tenantdata.Round2(length * 0.95)
	}
	return tenantdata.Round2(length * 0.8)
}

// cluster is the speaker cluster of an utterance's speaker.
func (t *Tenant) cluster(e *tenantdata.Engagement, u TruthUtterance) *clusterJSON {
	c := &clusterJSON{ID: u.SpeakerID, SpeakerName: u.SpeakerName, Type: "unknown", MatchMethod: "voice"}
	switch NormalizeSpeaker(u.SpeakerType) {
	case "rep":
		c.Type, c.MatchMethod = "rep", "user"
	case "customer":
		c.Type = "cust"
	}
	if i := u.SpeakerID - 1; i >= 0 && i < len(e.Participants) {
		p := e.Participants[i]
		c.Participant = int64Ptr(p.PersonID)
		c.DisplayName, c.CompanyName, c.Title = strPtr(p.Name), optStr(p.CompanyName), optStr(p.Title)
		if p.UserID != 0 {
			c.UserID = int64Ptr(p.UserID)
		}
	}
	return c
}

// NormalizeSpeaker maps a served speaker type onto rep | customer | unknown
// the way the API documents it: "rep" is the seller side, "customer" and
// "cust" the customer, anything else unknown.
func NormalizeSpeaker(s string) string {
	switch s {
	case "rep":
		return "rep"
	case "customer", "cust":
		return "customer"
	}
	return "unknown"
}

// writeJSON appends v's encoding (without HTML escaping) to b. The values
// rendered here always encode.
func writeJSON(b *bytes.Buffer, v any) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false) // keep <br> readable, as the API does
	if err := enc.Encode(v); err != nil {
		panic("chorustest: encoding " + err.Error())
	}
	b.Truncate(b.Len() - 1) // drop Encode's newline
}

// userJSON is a /v3/users entry with the contract User's fields.
type userJSON struct {
	ID           int64   `json:"id"`
	Email        string  `json:"email"`
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Name         string  `json:"name"`
	PersonID     int64   `json:"person_id"`
	ManagerID    int64   `json:"manager_id"`
	TeamIDs      []int64 `json:"team_ids"`
	PrimaryTeam  int64   `json:"primary_team"`
	LicenseType  string  `json:"license_type"`
	Role         string  `json:"role"`
	Title        string  `json:"title"`
	CreatedOn    string  `json:"created_on"`
	Invalidated  bool    `json:"invalidated"`
	Internal     bool    `json:"internal"`
	Language     string  `json:"language"`
	LastLoginAt  string  `json:"last_login_at"`
	Seniority    string  `json:"seniority"`
	UTCOffset    float64 `json:"utc_offset"`
	ProvisionTyp string  `json:"provisioning_type"`
}

// managerOf is the manager of a user: the manager of the user's primary
// team, or that team's parent's manager for the manager himself.
func (t *Tenant) managerOf(u TruthUser) int64 {
	for _, tm := range t.teams {
		if tm.ID != u.PrimaryTeam {
			continue
		}
		if tm.ManagerID != u.ID {
			return tm.ManagerID
		}
		for _, p := range t.teams {
			if p.ID == tm.ParentID {
				return p.ManagerID
			}
		}
	}
	return 0
}

func (t *Tenant) usersJSON() []byte {
	t.data.RLock()
	defer t.data.RUnlock()
	users := make([]userJSON, len(t.users))
	for i, u := range t.users {
		first, last, _ := strings.Cut(u.Name, " ")
		lic := "RECORDER"
		if u.Role == "manager" {
			lic = "LISTENER"
		}
		users[i] = userJSON{ID: u.ID, Email: u.Email, FirstName: first, LastName: last, Name: u.Name,
			PersonID: int64(17000000 + i), ManagerID: t.managerOf(u), TeamIDs: u.TeamIDs, PrimaryTeam: u.PrimaryTeam,
			LicenseType: lic, Role: u.Role, Title: map[string]string{"manager": "Manager", "ae": "AE", "csm": "CSM"}[u.Role],
			CreatedOn: iso(t.opts.Start.AddDate(-1, 0, i)), Invalidated: i == len(t.users)-1 && len(t.users) > 3,
			Internal: false, Language: "en", LastLoginAt: iso(t.opts.Now.Add(-time.Duration(i+1) * time.Hour)),
			Seniority: "individual_contributor", UTCOffset: -5, ProvisionTyp: "manual"}
	}
	var b bytes.Buffer
	writeJSON(&b, map[string]any{"users": users})
	return b.Bytes()
}

func (t *Tenant) teamsJSON() []byte {
	t.data.RLock()
	defer t.data.RUnlock()
	type ref = map[string]any
	data := make([]ref, len(t.teams))
	for i, tm := range t.teams {
		members := []int64{}
		for _, u := range t.users {
			for _, id := range u.TeamIDs {
				if id == tm.ID {
					members = append(members, u.ID)
				}
			}
		}
		var manager, parent any
		if tm.ManagerID != 0 {
			manager = tm.ManagerID
		}
		if tm.ParentID != 0 {
			parent = tm.ParentID
		}
		data[i] = ref{"type": "team", "id": fmt.Sprint(tm.ID), "attributes": ref{"name": tm.Name, "language": "en",
			"users": members, "manager": manager, "parent_team": parent, "default": i == 0,
			"description": nil, "include_descendant_teams": tm.ParentID == 0}}
	}
	var b bytes.Buffer
	writeJSON(&b, ref{"data": data})
	return b.Bytes()
}
