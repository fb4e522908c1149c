package chorustest

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// Wire shapes, as in docs/chorus-api.md. Fields the spec does not document
// (call_state, languages, …) are included on purpose to exercise tolerant
// decoding.

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
	EngagementID         string              `json:"engagement_id"`
	EngagementType       string              `json:"engagement_type"`
	Subject              string              `json:"subject"`
	DateTime             int64               `json:"date_time"`
	Duration             float64             `json:"duration"`
	Language             string              `json:"language"`
	NoShow               bool                `json:"no_show"`
	ProcessingState      string              `json:"processing_state"`
	Compliance           string              `json:"compliance"`
	AccountID            string              `json:"account_id"`
	AccountName          string              `json:"account_name"`
	OpportunityID        string              `json:"opportunity_id"`
	OpportunityName      string              `json:"opportunity_name"`
	Initiator            string              `json:"initiator"`
	NumCustQuestions     int                 `json:"num_cust_questions"`
	NumEngagingQuestions int                 `json:"num_engaging_questions"`
	UserID               int64               `json:"user_id"`
	UserName             string              `json:"user_name"`
	UserEmail            string              `json:"user_email"`
	URL                  string              `json:"url"`
	Participants         []participantJSON   `json:"participants"`
	TrackerMatches       *[]trackerMatchJSON `json:"tracker_matches,omitempty"`
	MeetingSummary       string              `json:"meeting_summary,omitempty"`
	ActionItems          *[]string           `json:"action_items,omitempty"`
	CallState            string              `json:"call_state"`
	Languages            []string            `json:"languages"`
}

type metricJSON struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
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
}

type rangeJSON struct {
	Start    float64 `json:"start"`
	Length   float64 `json:"length"`
	TalkTime float64 `json:"talk_time"`
}

type clusterJSON struct {
	ID          int         `json:"id"`
	SpeakerName string      `json:"speaker_name"`
	Type        string      `json:"type"`
	Ranges      []rangeJSON `json:"ranges"`
}

type recordingJSON struct {
	StartTime  string          `json:"start_time"`
	Duration   float64         `json:"duration"`
	Utterances []utteranceJSON `json:"utterances,omitempty"`
	Trackers   []trackerJSON   `json:"trackers"`
	Clusters   []clusterJSON   `json:"clusters"`
}

const isoSeconds = "2006-01-02T15:04:05Z"

func iso(t time.Time) string { return t.UTC().Format(isoSeconds) }

func strPtr(s string) *string { return &s }

func (e *engagement) participantsJSON() []participantJSON {
	out := make([]participantJSON, len(e.Participants))
	for i, p := range e.Participants {
		out[i] = participantJSON{Name: p.Name, CompanyName: p.CompanyName, Title: p.Title, Type: p.Type, PersonID: p.PersonID}
		if !e.emailMissing[i] {
			out[i].Email = strPtr(p.Email)
		}
		if p.UserID != 0 {
			id := p.UserID
			out[i].UserID = &id
		}
	}
	return out
}

// engagementJSON renders an engagement as /v3/engagements lists it at now.
func (t *Tenant) engagementJSON(e *engagement, now time.Time, withTrackers bool) engagementJSON {
	j := engagementJSON{
		EngagementID: e.ID, EngagementType: e.Type, Subject: e.Subject, DateTime: e.epoch, Duration: e.Duration,
		Language: "en", NoShow: e.NoShow, ProcessingState: "done", Compliance: "compliant",
		AccountID: e.AccountID, AccountName: e.AccountName, OpportunityID: e.oppID, OpportunityName: e.oppName,
		UserID: e.OwnerUserID, UserName: e.OwnerName, UserEmail: e.OwnerEmail,
		URL: "https://chorus.ai/meeting/" + e.ID, Participants: e.participantsJSON(),
		CallState: "ended", Languages: []string{"en"},
	}
	if e.Type == TypeDialer {
		j.Initiator = e.OwnerEmail
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
	if e.plan != nil && !proc {
		j.NumCustQuestions, j.NumEngagingQuestions = e.plan.questions, e.plan.engaging
		j.MeetingSummary = summary(e)
		j.ActionItems = e.apiActionItems()
	}
	return j
}

// apiActionItems is the action_items field: nil when absent.
func (e *engagement) apiActionItems() *[]string {
	switch e.apiItems {
	case apiItemsEmpty:
		return &[]string{}
	case apiItemsPresent:
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

// conversation renders GET /api/v1/conversations/{id} at now. fields, when
// non-empty, limits the attributes.
func (t *Tenant) conversation(e *engagement, now time.Time, fields map[string]bool) []byte {
	proc := t.processing(e, now)
	status := "done"
	switch {
	case proc:
		status = "processing"
	case e.NoShow:
		status = "no show"
	}
	created := e.StartedAt.Add(time.Duration(e.Duration * float64(time.Second)))
	modified := created
	if !proc {
		modified = created.Add(t.opts.ProcessingDelay / 2)
	}
	account := map[string]any{"id": nil, "name": nil, "ext_id": nil}
	if e.accountNum != 0 || e.AccountName != "" {
		account["name"] = e.AccountName
		if e.accountNum != 0 {
			account["id"] = e.accountNum
		}
		if e.AccountID != "" {
			account["ext_id"] = e.AccountID
		}
	}
	deal := map[string]any{"id": nil, "name": nil, "current_stage": nil, "close_date": nil}
	if e.oppID != "" {
		deal = map[string]any{"id": e.oppID, "name": e.oppName, "current_stage": "Negotiation",
			"close_date": e.StartedAt.AddDate(0, 2, 0).Format("2006-01-02")}
	}
	parts := e.participantsJSON()
	for i := range parts { // conversation participants always carry the key
		if parts[i].Email == nil {
			parts[i].Email = strPtr("")
		}
	}
	recStart := e.StartedAt.Add(5 * time.Second)
	rec := recordingJSON{StartTime: iso(recStart), Duration: e.Duration, Trackers: []trackerJSON{}, Clusters: []clusterJSON{}}

	attrs := []attr{
		{"_created_at", iso(created)}, {"_modified_at", iso(modified)},
		{"name", e.Subject}, {"status", status}, {"language", "en"}, {"languages", []string{"en"}},
		{"owner", map[string]any{"user_id": e.OwnerUserID, "person_id": e.Participants[0].PersonID,
			"name": e.OwnerName, "email": e.OwnerEmail}},
		{"account", account}, {"deal", deal}, {"participants", parts},
	}
	if !proc && e.plan != nil {
		utts := t.transcript(e)
		rec.Utterances = make([]utteranceJSON, len(utts))
		clusters := map[int]*clusterJSON{}
		var order []int
		for i, u := range utts {
			rec.Utterances[i] = utteranceJSON{ID: "u" + itoa(i+1), Index: u.Index,
				DateTime: iso(recStart.Add(time.Duration(u.Start * float64(time.Second)))), SnippetTime: u.Start,
				SnippetLength: u.Length, SnippetWordCount: wordCount(u.Text), Snippet: u.Text,
				Participant: u.SpeakerID, SpeakerID: u.SpeakerID, SpeakerName: u.SpeakerName, SpeakerType: u.SpeakerType,
				Engaging: u.Engaging}
			c := clusters[u.SpeakerID]
			if c == nil {
				typ := "cust"
				if i%2 == 0 {
					typ = "rep"
				}
				c = &clusterJSON{ID: u.SpeakerID, SpeakerName: u.SpeakerName, Type: typ}
				clusters[u.SpeakerID] = c
				order = append(order, u.SpeakerID)
			}
			c.Ranges = append(c.Ranges, rangeJSON{Start: u.Start, Length: u.Length, TalkTime: u.Length})
		}
		for _, id := range order {
			rec.Clusters = append(rec.Clusters, *clusters[id])
		}
		for _, pt := range e.plan.trackers {
			tj := trackerJSON{ID: pt.def.ID, Name: pt.def.Name, Type: pt.def.Type, Count: len(pt.mentions)}
			for _, m := range pt.mentions {
				tj.Mentions = append(tj.Mentions, mentionJSON{m.utterance, m.offset})
			}
			rec.Trackers = append(rec.Trackers, tj)
		}
		if e.hasMetrics {
			attrs = append(attrs, attr{"metrics", t.metrics(e, utts)})
		}
		attrs = append(attrs, attr{"summary", summary(e)})
		if items := e.apiActionItems(); items != nil {
			attrs = append(attrs, attr{"action_items", *items})
		}
		recap := []string{"Discussed " + strings.ToLower(e.Subject) + "."}
		for _, tr := range e.Trackers {
			recap = append(recap, tr.Name+" came up.")
		}
		attrs = append(attrs, attr{"recap", recap})
	} else {
		attrs = append(attrs, attr{"recap", []string{}})
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

func (t *Tenant) usersJSON() []byte {
	type userJSON struct {
		UserID   int64  `json:"user_id"`
		Name     string `json:"name"`
		Email    string `json:"email"`
		Role     string `json:"role"`
		TeamID   string `json:"team_id"`
		Active   bool   `json:"active"`
		PersonID int64  `json:"person_id"`
	}
	users := make([]userJSON, len(t.users))
	for i, u := range t.users {
		users[i] = userJSON{u.ID, u.Name, u.Email, u.Role, u.TeamID, true, int64(17000000 + i)}
	}
	var b bytes.Buffer
	writeJSON(&b, map[string]any{"users": users})
	return b.Bytes()
}

func (t *Tenant) teamsJSON() []byte {
	type ref = map[string]any
	data := make([]ref, len(t.teams))
	for i, tm := range t.teams {
		var members []int64
		var manager ref
		for _, u := range t.users {
			if u.TeamID == tm.ID {
				members = append(members, u.ID)
			}
			if u.ID == tm.ManagerID {
				manager = ref{"user_id": u.ID, "name": u.Name, "email": u.Email}
			}
		}
		var parent any
		for _, p := range t.teams {
			if p.ID == tm.ParentID {
				parent = ref{"id": p.ID, "name": p.Name}
			}
		}
		data[i] = ref{"type": "team", "id": tm.ID, "attributes": ref{"name": tm.Name, "users": members,
			"manager": manager, "parent_team": parent}}
	}
	var b bytes.Buffer
	writeJSON(&b, ref{"data": data})
	return b.Bytes()
}
