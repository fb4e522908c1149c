package connector

import (
	"context"
	"fmt"
	json "github.com/goccy/go-json"
	"net/url"
	"strings"
	"time"
)

// V3 is the adapter for the API Chorus publishes today: /v3/engagements for
// listing (plain JSON, continuation_key) and /api/v1/conversations/{id}
// (JSON:API) for the detail and transcript.
type V3 struct{ c *Client }

// NewV3 returns the adapter for the current Chorus API.
func NewV3(c *Client) *V3 { return &V3{c: c} }

const jsonAPI = "application/vnd.api+json"

// ListEngagements implements API.
func (a *V3) ListEngagements(ctx context.Context, q ListQuery) (Page, error) {
	v := url.Values{}
	v.Set("min_date", q.From.UTC().Format(time.RFC3339))
	v.Set("max_date", q.To.UTC().Format(time.RFC3339))
	v.Set("with_trackers", "true")
	if q.Continuation != "" {
		v.Set("continuation_key", q.Continuation)
	}
	var raw struct {
		ContinuationKey flexString      `json:"continuation_key"`
		Engagements     json.RawMessage `json:"engagements"`
		Data            json.RawMessage `json:"data"` // tolerated alternative envelope
	}
	err := a.c.getJSON(ctx, request{path: "/v3/engagements", query: v, accept: "application/json", noRetry504: true}, &raw)
	if err != nil {
		return Page{}, err
	}
	// A page without an engagements array is not an empty page: taking it
	// for one would end the listing and move the watermark past calls that
	// were never listed.
	list := raw.Engagements
	if len(list) == 0 {
		list = raw.Data
	}
	var items []json.RawMessage // "engagements": null is an empty page
	if string(list) != "null" && (len(list) == 0 || json.Unmarshal(list, &items) != nil) {
		return Page{}, &APIError{Path: "/v3/engagements", Detail: "the response has no \"engagements\" array"}
	}
	p := Page{Next: strings.TrimSpace(string(raw.ContinuationKey))}
	for _, r := range items {
		e, err := decodeEngagement(r)
		if err != nil {
			p.Unreadable = append(p.Unreadable, err.Error())
			continue
		}
		p.Engagements = append(p.Engagements, e)
	}
	return p, nil
}

type engagementJSON struct {
	ID                   flexString                 `json:"engagement_id"`
	Type                 flexString                 `json:"engagement_type"`
	Subject              flexString                 `json:"subject"`
	DateTime             flexTime                   `json:"date_time"`
	Duration             flexFloat                  `json:"duration"`
	Language             flexString                 `json:"language"`
	NoShow               flexBool                   `json:"no_show"`
	ProcessingState      flexString                 `json:"processing_state"`
	AccountID            flexString                 `json:"account_id"`
	AccountName          flexString                 `json:"account_name"`
	OpportunityID        flexString                 `json:"opportunity_id"`
	OpportunityName      flexString                 `json:"opportunity_name"`
	NumCustQuestions     flexInt                    `json:"num_cust_questions"`
	NumEngagingQuestions flexInt                    `json:"num_engaging_questions"`
	UserID               flexInt                    `json:"user_id"`
	UserName             flexString                 `json:"user_name"`
	UserEmail            flexString                 `json:"user_email"`
	URL                  flexString                 `json:"url"`
	MeetingSummary       flexString                 `json:"meeting_summary"`
	Participants         flexList[json.RawMessage]  `json:"participants"`
	TrackerMatches       flexList[trackerMatchJSON] `json:"tracker_matches"`
	ActionItems          textList                   `json:"action_items"`
}

var engagementKeys = keySet("engagement_id", "engagement_type", "subject", "date_time", "duration", "language",
	"no_show", "processing_state", "account_id", "account_name", "opportunity_id", "opportunity_name",
	"num_cust_questions", "num_engaging_questions", "user_id", "user_name", "user_email", "url",
	"meeting_summary", "participants", "tracker_matches", "action_items")

type trackerMatchJSON struct {
	Name       flexString `json:"name"`
	NumMatches flexInt    `json:"num_matches"`
	Type       flexString `json:"type"`
}

func decodeEngagement(r json.RawMessage) (Engagement, error) {
	var j engagementJSON
	if err := json.Unmarshal(r, &j); err != nil {
		return Engagement{}, fmt.Errorf("engagement is not a JSON object: %w", err)
	}
	id := strings.TrimSpace(string(j.ID))
	if id == "" {
		return Engagement{}, fmt.Errorf("engagement without engagement_id (starts %q)", preview(r))
	}
	if j.DateTime.T == nil {
		return Engagement{}, fmt.Errorf("engagement %s has no readable date_time", id)
	}
	e := Engagement{
		ID: id, Type: strings.ToLower(string(j.Type)), Subject: string(j.Subject), StartedAt: *j.DateTime.T,
		Duration: j.Duration.V, Language: string(j.Language), NoShow: j.NoShow.V,
		ProcessingState: string(j.ProcessingState), AccountID: string(j.AccountID), AccountName: string(j.AccountName),
		OpportunityID: string(j.OpportunityID), OpportunityName: string(j.OpportunityName),
		NumCustQuestions: j.NumCustQuestions.V, NumEngagingQuestions: j.NumEngagingQuestions.V,
		UserID: j.UserID.V, UserName: string(j.UserName), UserEmail: string(j.UserEmail), URL: string(j.URL),
		Summary: string(j.MeetingSummary), ActionItems: j.ActionItems,
		Extra: extraFields(r, engagementKeys),
	}
	for _, p := range j.Participants {
		e.Participants = append(e.Participants, decodeParticipant(p))
	}
	for _, t := range j.TrackerMatches {
		if t.Name != "" {
			e.TrackerMatches = append(e.TrackerMatches, TrackerMatch{Name: string(t.Name), Type: string(t.Type), Count: t.NumMatches.V})
		}
	}
	return e, nil
}

type participantJSON struct {
	PersonID    flexInt    `json:"person_id"`
	UserID      flexInt    `json:"user_id"`
	Name        flexString `json:"name"`
	Email       flexString `json:"email"`
	Title       flexString `json:"title"`
	CompanyName flexString `json:"company_name"`
	Type        flexString `json:"type"`
}

var participantKeys = keySet("person_id", "user_id", "name", "email", "title", "company_name", "type")

func decodeParticipant(r json.RawMessage) Participant {
	var j participantJSON
	_ = json.Unmarshal(r, &j)
	return Participant{
		PersonID: j.PersonID.V, UserID: j.UserID.V, Name: string(j.Name), Email: string(j.Email),
		Title: string(j.Title), CompanyName: string(j.CompanyName), Type: string(j.Type),
		Extra: extraFields(r, participantKeys),
	}
}

// GetConversation implements API.
func (a *V3) GetConversation(ctx context.Context, id string) (*Conversation, error) {
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	path := "/api/v1/conversations/" + url.PathEscape(id)
	if err := a.c.getJSON(ctx, request{path: path, accept: jsonAPI}, &doc); err != nil {
		return nil, err
	}
	var res struct {
		Type       string          `json:"type"`
		ID         flexString      `json:"id"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal(doc.Data, &res); err != nil || len(res.Attributes) == 0 {
		return nil, &APIError{Path: path, Detail: "response has no data.attributes object"}
	}
	conv, err := decodeConversation(res.Attributes)
	if err != nil {
		return nil, &APIError{Path: path, Detail: err.Error()}
	}
	conv.ID = string(res.ID)
	if conv.ID == "" {
		conv.ID = id
	}
	return conv, nil
}

type conversationJSON struct {
	CreatedAt  flexTime   `json:"_created_at"`
	ModifiedAt flexTime   `json:"_modified_at"`
	Name       flexString `json:"name"`
	Status     flexString `json:"status"`
	Language   flexString `json:"language"`
	Owner      flexObject[struct {
		UserID flexInt    `json:"user_id"`
		Name   flexString `json:"name"`
		Email  flexString `json:"email"`
	}] `json:"owner"`
	Account flexObject[struct {
		Name  flexString `json:"name"`
		ExtID flexString `json:"ext_id"`
	}] `json:"account"`
	Deal flexObject[struct {
		CurrentStage flexString `json:"current_stage"`
	}] `json:"deal"`
	Participants flexList[json.RawMessage] `json:"participants"`
	Metrics      flexList[struct {
		Name  flexString `json:"name"`
		Value flexFloat  `json:"value"`
	}] `json:"metrics"`
	Summary     flexString `json:"summary"`
	ActionItems textList   `json:"action_items"`
	Recording   flexObject[struct {
		StartTime  flexTime                  `json:"start_time"`
		Duration   flexFloat                 `json:"duration"`
		Utterances flexList[json.RawMessage] `json:"utterances"`
		Trackers   flexList[trackerJSON]     `json:"trackers"`
	}] `json:"recording"`
}

var conversationKeys = keySet("_created_at", "_modified_at", "name", "status", "language", "owner", "account",
	"deal", "participants", "metrics", "summary", "action_items", "recording")

type trackerJSON struct {
	ID       flexString `json:"id"`
	Name     flexString `json:"name"`
	Type     flexString `json:"type"`
	Count    flexInt    `json:"count"`
	Mentions flexList[struct {
		Utterance flexInt `json:"utterance"`
		Offset    flexInt `json:"offset"`
	}] `json:"mentions"`
}

type utteranceJSON struct {
	ID          flexString `json:"id"`
	Index       flexInt    `json:"index"`
	DateTime    flexTime   `json:"date_time"`
	SnippetTime flexFloat  `json:"snippet_time"`
	Length      flexFloat  `json:"snippet_length"`
	WordCount   flexInt    `json:"snippet_word_count"`
	Snippet     flexString `json:"snippet"`
	SpeakerID   flexInt    `json:"speaker_id"`
	Participant flexInt    `json:"participant"`
	SpeakerName flexString `json:"speaker_name"`
	SpeakerType flexString `json:"speaker_type"`
	Engaging    flexBool   `json:"engaging"`
}

var utteranceKeys = keySet("id", "index", "date_time", "snippet_time", "snippet_length", "snippet_word_count",
	"snippet", "participant", "speaker_id", "speaker_name", "speaker_type", "engaging")

func decodeConversation(attrs json.RawMessage) (*Conversation, error) {
	var j conversationJSON
	if err := json.Unmarshal(attrs, &j); err != nil {
		return nil, fmt.Errorf("attributes: %w", err)
	}
	c := &Conversation{
		Name: string(j.Name), Status: strings.ToLower(strings.TrimSpace(string(j.Status))), Language: string(j.Language),
		CreatedAt: j.CreatedAt.T, ModifiedAt: j.ModifiedAt.T,
		OwnerUserID: j.Owner.V.UserID.V, OwnerName: string(j.Owner.V.Name), OwnerEmail: string(j.Owner.V.Email),
		AccountExtID: string(j.Account.V.ExtID), AccountName: string(j.Account.V.Name), DealStage: string(j.Deal.V.CurrentStage),
		Summary: string(j.Summary), ActionItems: j.ActionItems,
		RecordingStart: j.Recording.V.StartTime.T, RecordingDuration: j.Recording.V.Duration.V,
		Extra: extraFields(attrs, conversationKeys),
	}
	// Known sub-objects of an unusable shape are kept, not lost.
	for key, bad := range map[string]json.RawMessage{"owner": j.Owner.Bad, "account": j.Account.Bad, "deal": j.Deal.Bad, "recording": j.Recording.Bad} {
		if bad != nil {
			if c.Extra == nil {
				c.Extra = Extra{}
			}
			c.Extra[key] = bad
		}
	}
	for _, p := range j.Participants {
		c.Participants = append(c.Participants, decodeParticipant(p))
	}
	for _, m := range j.Metrics {
		if m.Name != "" {
			c.Metrics = append(c.Metrics, Metric{Name: string(m.Name), Value: m.Value.V})
		}
	}
	for i, r := range j.Recording.V.Utterances {
		var u utteranceJSON
		if err := json.Unmarshal(r, &u); err != nil {
			continue
		}
		idx := i
		if u.Index.V != nil {
			idx = int(*u.Index.V)
		}
		speaker := u.SpeakerID.V
		if speaker == nil {
			speaker = u.Participant.V
		}
		c.Utterances = append(c.Utterances, Utterance{
			ID: string(u.ID), Index: idx, SpokenAt: u.DateTime.T, Start: u.SnippetTime.V, Length: u.Length.V,
			WordCount: u.WordCount.V, Text: string(u.Snippet), SpeakerID: speaker, SpeakerName: string(u.SpeakerName),
			SpeakerType: NormalizeSpeakerType(string(u.SpeakerType)), Engaging: u.Engaging.V,
			Extra: extraFields(r, utteranceKeys),
		})
	}
	for _, t := range j.Recording.V.Trackers {
		tr := Tracker{ID: string(t.ID), Name: string(t.Name), Type: string(t.Type), Count: t.Count.V}
		if tr.ID == "" {
			tr.ID = tr.Name
		}
		for _, m := range t.Mentions {
			if m.Utterance.V == nil {
				continue
			}
			off := 0
			if m.Offset.V != nil {
				off = int(*m.Offset.V)
			}
			tr.Mentions = append(tr.Mentions, Mention{Utterance: int(*m.Utterance.V), Offset: off})
		}
		c.Trackers = append(c.Trackers, tr)
	}
	return c, nil
}

// ListUsers implements API. The envelope is undocumented, so {"users": [...]},
// {"data": [...]} (plain or JSON:API) and a bare array are all accepted.
func (a *V3) ListUsers(ctx context.Context) ([]User, error) {
	var raw json.RawMessage
	if err := a.c.getJSON(ctx, request{path: "/v3/users", accept: "application/json"}, &raw); err != nil {
		return nil, err
	}
	items, err := listItems(raw, "users")
	if err != nil {
		return nil, &APIError{Path: "/v3/users", Detail: err.Error()}
	}
	var out []User
	for _, it := range items {
		obj := jsonAPIAttributes(it)
		var j struct {
			UserID flexInt    `json:"user_id"`
			ID     flexInt    `json:"id"`
			Name   flexString `json:"name"`
			Email  flexString `json:"email"`
			Role   flexString `json:"role"`
			TeamID flexString `json:"team_id"`
			Active flexBool   `json:"active"`
		}
		if json.Unmarshal(obj, &j) != nil {
			continue
		}
		id := j.UserID.V
		if id == nil {
			id = j.ID.V
		}
		if id == nil {
			continue
		}
		out = append(out, User{ID: *id, Name: string(j.Name), Email: strings.ToLower(string(j.Email)), Role: string(j.Role),
			TeamID: string(j.TeamID), Active: j.Active.V,
			Extra: extraFields(obj, keySet("user_id", "id", "name", "email", "role", "team_id", "active"))})
	}
	return out, nil
}

// ListTeams implements API.
func (a *V3) ListTeams(ctx context.Context) ([]Team, error) {
	var raw json.RawMessage
	if err := a.c.getJSON(ctx, request{path: "/api/v1/teams", accept: jsonAPI}, &raw); err != nil {
		return nil, err
	}
	items, err := listItems(raw, "teams")
	if err != nil {
		return nil, &APIError{Path: "/api/v1/teams", Detail: err.Error()}
	}
	var out []Team
	for _, it := range items {
		var head struct {
			ID flexString `json:"id"`
		}
		_ = json.Unmarshal(it, &head)
		obj := jsonAPIAttributes(it)
		var j struct {
			Name    flexString        `json:"name"`
			Users   flexList[flexInt] `json:"users"`
			Manager json.RawMessage   `json:"manager"`
			Parent  json.RawMessage   `json:"parent_team"`
		}
		if json.Unmarshal(obj, &j) != nil || head.ID == "" {
			continue
		}
		t := Team{ID: string(head.ID), Name: string(j.Name), Extra: extraFields(obj, keySet("name", "users", "manager", "parent_team"))}
		for _, u := range j.Users {
			if u.V != nil {
				t.UserIDs = append(t.UserIDs, *u.V)
			}
		}
		t.ManagerUserID = refInt(j.Manager, "user_id", "id")
		if p := refInt(j.Parent, "id"); p != nil {
			t.ParentTeamID = fmt.Sprint(*p)
		} else {
			var s flexString
			_ = json.Unmarshal(j.Parent, &s)
			if s == "" {
				var o struct {
					ID flexString `json:"id"`
				}
				_ = json.Unmarshal(j.Parent, &o)
				s = o.ID
			}
			t.ParentTeamID = string(s)
		}
		out = append(out, t)
	}
	return out, nil
}

// refInt reads a reference given as a number or as an object with one of keys.
func refInt(raw json.RawMessage, keys ...string) *int64 {
	if len(raw) == 0 {
		return nil
	}
	var n flexInt
	if json.Unmarshal(raw, &n) == nil && n.V != nil {
		return n.V
	}
	var o map[string]flexInt
	if json.Unmarshal(raw, &o) == nil {
		for _, k := range keys {
			if v, ok := o[k]; ok && v.V != nil {
				return v.V
			}
		}
	}
	return nil
}

// listItems finds the array in {"<name>": [...]}, {"data": [...]} or [...].
func listItems(raw json.RawMessage, name string) ([]json.RawMessage, error) {
	var arr []json.RawMessage
	if json.Unmarshal(raw, &arr) == nil {
		return arr, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("expected a JSON object or array (starts %q)", preview(raw))
	}
	for _, k := range []string{name, "data"} {
		if v, ok := obj[k]; ok {
			if err := json.Unmarshal(v, &arr); err != nil {
				return nil, fmt.Errorf("%q is not an array", k)
			}
			return arr, nil
		}
	}
	return nil, fmt.Errorf("no %q or \"data\" array in the response", name)
}

// jsonAPIAttributes returns a JSON:API resource's attributes, or the object
// itself when it is not a JSON:API resource.
func jsonAPIAttributes(it json.RawMessage) json.RawMessage {
	var r struct {
		Attributes json.RawMessage `json:"attributes"`
	}
	if json.Unmarshal(it, &r) == nil && len(r.Attributes) > 0 && r.Attributes[0] == '{' {
		return r.Attributes
	}
	return it
}
