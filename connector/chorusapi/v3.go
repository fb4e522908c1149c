package chorusapi

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/client"
)

// V3 is the adapter for the API Chorus publishes today: /v3/engagements for
// listing (plain JSON, continuation_key) and /api/v1/conversations/{id}
// (JSON:API, the contract's RecordingDoc) for the detail and transcript.
//
// Every property the contract documents is decoded into a field or, when the
// connector does not model it, kept in the object's Extra (nested objects
// keep their unmodelled keys under their own key), so that it reaches the
// row's _extra column.
type V3 struct{ c *client.Client }

// NewV3 returns the adapter for the current Chorus API.
func NewV3(c *client.Client) *V3 { return &V3{c: c} }

const jsonAPI = "application/vnd.api+json"

// ListEngagements implements API.
func (a *V3) ListEngagements(ctx context.Context, q ListQuery) (Page, error) {
	v := url.Values{}
	if len(q.IDs) > 0 {
		v.Set("engagement_id", strings.Join(q.IDs, ","))
	} else {
		v.Set("min_date", q.From.UTC().Format(time.RFC3339))
		v.Set("max_date", q.To.UTC().Format(time.RFC3339))
	}
	v.Set("with_trackers", "true")
	if q.Continuation != "" {
		v.Set("continuation_key", q.Continuation)
	}
	var raw struct {
		ContinuationKey flexString      `json:"continuation_key"`
		Engagements     json.RawMessage `json:"engagements"`
		Data            json.RawMessage `json:"data"` // tolerated alternative envelope
	}
	err := a.c.GetJSON(ctx, client.Request{Path: "/v3/engagements", Query: v, Accept: "application/json", NoRetry504: len(q.IDs) == 0}, &raw)
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
		return Page{}, &client.APIError{Path: "/v3/engagements", Detail: "the response has no \"engagements\" array"}
	}
	// The last page's key is a single space live; TrimSpace ends the listing.
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

func decodeEngagement(r json.RawMessage) (Engagement, error) {
	var e Engagement
	var dateOK bool
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "engagement_id":
			return takeStr(v, &e.ID)
		case "engagement_type":
			return takeStr(v, &e.Type)
		case "subject":
			return takeStr(v, &e.Subject)
		case "date_time":
			var t *time.Time
			dateOK = takeTime(v, &t) && t != nil
			if dateOK {
				e.StartedAt = *t
			}
			return dateOK
		case "duration":
			return takeFloat(v, &e.Duration)
		case "language":
			return takeStr(v, &e.Language)
		case "no_show":
			return takeBool(v, &e.NoShow)
		case "processing_state":
			return takeStr(v, &e.ProcessingState)
		case "compliance":
			return takeStr(v, &e.Compliance)
		case "initiator":
			return takeStr(v, &e.Initiator)
		case "disposition_connected":
			return takeBool(v, &e.Disposition.Connected)
		case "disposition_gatekeeper":
			return takeBool(v, &e.Disposition.Gatekeeper)
		case "disposition_tree":
			return takeBool(v, &e.Disposition.Tree)
		case "disposition_voicemail":
			return takeBool(v, &e.Disposition.Voicemail)
		case "account_id":
			return takeStr(v, &e.AccountID)
		case "account_name":
			return takeStr(v, &e.AccountName)
		case "opportunity_id":
			return takeStr(v, &e.OpportunityID)
		case "opportunity_name":
			return takeStr(v, &e.OpportunityName)
		case "num_cust_questions":
			return takeInt(v, &e.NumCustQuestions)
		case "num_engaging_questions":
			return takeInt(v, &e.NumEngagingQuestions)
		case "user_id":
			return takeInt(v, &e.UserID)
		case "user_name":
			return takeStr(v, &e.UserName)
		case "user_email":
			return takeStr(v, &e.UserEmail)
		case "url":
			return takeStr(v, &e.URL)
		case "meeting_summary":
			return takeStr(v, &e.Summary)
		case "action_items":
			return takeTexts(v, &e.ActionItems)
		case "participants":
			return takeList(v, func(r json.RawMessage) bool {
				p, ok := decodeParticipant(r)
				if ok {
					e.Participants = append(e.Participants, p)
				}
				return ok
			})
		case "tracker_matches":
			return takeList(v, func(r json.RawMessage) bool {
				var t TrackerMatch
				left, ok := object(r, func(k string, v json.RawMessage) bool {
					switch k {
					case "name":
						return takeStr(v, &t.Name)
					case "type":
						return takeStr(v, &t.Type)
					case "num_matches":
						return takeInt(v, &t.Count)
					}
					return false
				})
				if ok && t.Name != "" {
					t.Extra = left
					e.TrackerMatches = append(e.TrackerMatches, t)
				}
				return ok && t.Name != ""
			})
		}
		return false
	})
	if !ok {
		return Engagement{}, fmt.Errorf("engagement is not a JSON object (starts %q)", client.Preview(r))
	}
	e.ID = strings.TrimSpace(e.ID)
	if e.ID == "" {
		return Engagement{}, fmt.Errorf("engagement without engagement_id (starts %q)", client.Preview(r))
	}
	if !dateOK {
		return Engagement{}, fmt.Errorf("engagement %s has no readable date_time", e.ID)
	}
	e.Type = strings.ToLower(e.Type)
	e.Extra = left
	return e, nil
}

func decodeParticipant(r json.RawMessage) (Participant, bool) {
	var p Participant
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "person_id":
			return takeInt(v, &p.PersonID)
		case "user_id":
			return takeInt(v, &p.UserID)
		case "name":
			return takeStr(v, &p.Name)
		case "email":
			return takeStr(v, &p.Email)
		case "title":
			return takeStr(v, &p.Title)
		case "company_name":
			return takeStr(v, &p.CompanyName)
		case "type":
			return takeStr(v, &p.Type)
		case "is_my_team":
			return takeBool(v, &p.IsMyTeam)
		}
		return false
	})
	p.Extra = left
	return p, ok
}

// GetConversation implements API.
func (a *V3) GetConversation(ctx context.Context, id string) (*Conversation, error) {
	var doc struct {
		Data json.RawMessage `json:"data"`
	}
	path := "/api/v1/conversations/" + url.PathEscape(id)
	if err := a.c.GetJSON(ctx, client.Request{Path: path, Accept: jsonAPI}, &doc); err != nil {
		return nil, err
	}
	var res resourceDoc
	if !res.scan(doc.Data) {
		res = resourceDoc{}
		if err := json.Unmarshal(doc.Data, &res); err != nil {
			res.Attributes = nil
		}
	}
	if len(res.Attributes) == 0 {
		return nil, &client.APIError{Path: path, Detail: "response has no data.attributes object"}
	}
	conv, err := decodeConversation(res.Attributes)
	if err != nil {
		return nil, &client.APIError{Path: path, Detail: err.Error()}
	}
	conv.ID = string(res.ID)
	if conv.ID == "" {
		conv.ID = id
	}
	return conv, nil
}

// resourceDoc is the head of a JSON:API resource.
type resourceDoc struct {
	Type       string          `json:"type"`
	ID         flexString      `json:"id"`
	Attributes json.RawMessage `json:"attributes"`
}

var resourceDocKeys = map[string]bool{"type": true, "id": true, "attributes": true}

// scan reads the resource's head from its members in place, without copying
// the attributes (the bulk of a conversation). It reports false where it
// would not read it as goccy's struct decoding does (a type that is not a
// string, a key differing from type, id or attributes only in case), and
// the caller decodes it so.
func (r *resourceDoc) scan(raw []byte) bool {
	var buf [8]member
	ms, ok := appendMembers(buf[:0], raw)
	if !ok {
		return false
	}
	for _, m := range ms {
		switch string(m.key) {
		case "type":
			if isNull(m.val) {
				continue
			}
			t, ok := plainString(m.val)
			if !ok {
				return false
			}
			r.Type = t
		case "id":
			_ = r.ID.UnmarshalJSON(m.val)
		case "attributes":
			r.Attributes = m.val
		default:
			if knownFold(m.key, resourceDocKeys) {
				return false
			}
		}
	}
	return true
}

// decodeConversation reads the attributes of a RecordingDoc.
func decodeConversation(attrs json.RawMessage) (*Conversation, error) {
	c := &Conversation{}
	nested := Extra{}
	var status string
	left, ok := object(attrs, func(k string, v json.RawMessage) bool {
		switch k {
		case "_created_at":
			return takeTime(v, &c.CreatedAt)
		case "_modified_at":
			return takeTime(v, &c.ModifiedAt)
		case "name":
			return takeStr(v, &c.Name)
		case "status":
			return takeStr(v, &status)
		case "language":
			return takeStr(v, &c.Language)
		case "summary":
			return takeStr(v, &c.Summary)
		case "summary_error":
			return takeStr(v, &c.SummaryError)
		case "action_items":
			return takeTexts(v, &c.ActionItems)
		case "recap":
			return takeTexts(v, &c.Recap)
		case "owner":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "user_id":
					return takeInt(v, &c.OwnerUserID)
				case "name":
					return takeStr(v, &c.OwnerName)
				case "email":
					return takeStr(v, &c.OwnerEmail)
				}
				return false
			})
		case "account":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "ext_id":
					return takeStr(v, &c.AccountExtID)
				case "name":
					return takeStr(v, &c.AccountName)
				case "type":
					return takeStr(v, &c.AccountType)
				case "zi_company_id":
					return takeStr(v, &c.AccountZICompanyID)
				}
				return false
			})
		case "deal":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "id":
					return takeStr(v, &c.DealID)
				case "name":
					return takeStr(v, &c.DealName)
				case "current_stage":
					return takeStr(v, &c.DealStage)
				case "close_date":
					return takeTime(v, &c.DealCloseDate)
				case "initial_amount":
					// -1.0 means unknown (live); it stays in _extra too.
					return takeFloat(v, &c.DealAmount) && c.DealAmount != nil && *c.DealAmount >= 0
				}
				return false
			})
		case "participants":
			return takeList(v, func(r json.RawMessage) bool {
				p, ok := decodeParticipant(r)
				if ok {
					c.Participants = append(c.Participants, p)
				}
				return ok
			})
		case "metrics":
			return takeList(v, func(r json.RawMessage) bool {
				var m Metric
				left, ok := object(r, func(k string, v json.RawMessage) bool {
					switch k {
					case "name":
						return takeStr(v, &m.Name)
					case "value":
						return takeFloat(v, &m.Value)
					}
					return false
				})
				if ok && m.Name != "" && len(left) == 0 {
					c.Metrics = append(c.Metrics, m)
					return true
				}
				return false
			})
		case "recording":
			return sub(nested, k, v, func(k string, v json.RawMessage) bool {
				switch k {
				case "start_time":
					return takeTime(v, &c.RecordingStart)
				case "duration":
					return takeFloat(v, &c.RecordingDuration)
				case "has_meeting_summary":
					return takeBool(v, &c.HasMeetingSummary)
				case "utterances":
					return takeUtterances(v, &c.Utterances)
				case "trackers":
					return takeList(v, func(r json.RawMessage) bool {
						t, ok := decodeTracker(r)
						if ok {
							c.Trackers = append(c.Trackers, t)
						}
						return ok
					})
				case "clusters":
					return takeList(v, func(r json.RawMessage) bool {
						cl, ok := decodeCluster(r)
						if ok {
							c.Clusters = append(c.Clusters, cl)
						}
						return ok
					})
				}
				return false
			})
		}
		return false
	})
	if !ok {
		return nil, fmt.Errorf("attributes is not a JSON object (starts %q)", client.Preview(attrs))
	}
	c.Status = strings.ToLower(strings.TrimSpace(status))
	for k, v := range nested {
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	c.Extra = left
	c.fillSpeakerTypes()
	return c, nil
}

// fillSpeakerTypes gives utterances without a speaker type the type of
// their speaker's cluster (Chorus's diarisation), when there is one.
func (c *Conversation) fillSpeakerTypes() {
	if len(c.Clusters) == 0 {
		return
	}
	byID := make(map[int64]string, len(c.Clusters))
	for _, cl := range c.Clusters {
		if cl.Type != "unknown" {
			byID[cl.ID] = cl.Type
		}
	}
	for i := range c.Utterances {
		u := &c.Utterances[i]
		if u.SpeakerType == "unknown" && u.SpeakerID != nil {
			if t, ok := byID[*u.SpeakerID]; ok {
				u.SpeakerType = t
			}
		}
	}
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
	SpeakerName flexString `json:"speaker_name"`
	SpeakerType flexString `json:"speaker_type"`
	Engaging    flexBool   `json:"engaging"`
}

// utteranceKeys are the keys utteranceJSON models. "participant" is not
// among them: it is kept in _extra, as speaker_id is the speaker.
var utteranceKeys = keySet("id", "index", "date_time", "snippet_time", "snippet_length", "snippet_word_count",
	"snippet", "speaker_id", "speaker_name", "speaker_type", "engaging")

// utteranceKeysFolded are utteranceKeys in lower case.
var utteranceKeysFolded = foldSet(utteranceKeys)

// takeUtterances reads the utterance list v into dst, as takeList with
// decodeUtterance would, in one pass over the list: each utterance's members
// are found as the list is walked.
func takeUtterances(v json.RawMessage, dst *[]Utterance) bool {
	if isNull(v) {
		return true
	}
	before, all := len(*dst), true
	if objectElements(v, func(r []byte, ms []member, scanned bool) {
		u, ok := decodeUtteranceFrom(r, ms, scanned, len(*dst))
		if ok {
			*dst = append(*dst, u)
		} else {
			all = false
		}
	}) {
		return all
	}
	*dst = (*dst)[:before]
	return takeList(v, func(r json.RawMessage) bool {
		u, ok := decodeUtterance(r, len(*dst))
		if ok {
			*dst = append(*dst, u)
		}
		return ok
	})
}

// decodeUtterance reads one utterance; pos is its position in the list (its
// index when it has none).
func decodeUtterance(r json.RawMessage, pos int) (Utterance, bool) {
	var buf [16]member
	ms, ok := appendMembers(buf[:0], r)
	return decodeUtteranceFrom(r, ms, ok, pos)
}

// decodeUtteranceFrom reads one utterance r whose members ms were found
// (scanned) by the scanner. Utterances are the bulk of every response: they
// are read in one pass over their members (utteranceMembers), which fills
// the fields and keeps the keys not modelled; an utterance that pass does
// not take (not an object, a key with an escape, a key that differs from a
// modelled one only in case) is decoded into a struct by goccy and its
// unmodelled keys found in a second pass, with the same result.
func decodeUtteranceFrom(r json.RawMessage, ms []member, scanned bool, pos int) (Utterance, bool) {
	var u utteranceJSON
	var extra Extra
	ok := scanned
	if ok {
		extra, ok = utteranceMembers(ms, &u)
	}
	if !ok {
		u = utteranceJSON{}
		if err := json.Unmarshal(r, &u); err != nil {
			return Utterance{}, false
		}
		extra = extraFields(r, utteranceKeys)
	}
	idx := pos
	if u.Index.V != nil {
		idx = int(*u.Index.V)
	}
	speaker := u.SpeakerID.V
	typ := NormalizeSpeakerType(string(u.SpeakerType))
	if raw := string(u.SpeakerType); raw != "" && raw != typ { // "cust", or a type we do not know: kept as sent
		if extra == nil {
			extra = Extra{}
		}
		extra["speaker_type"] = mustRaw(raw)
	}
	if speaker == nil { // no speaker_id: the participant number stands in
		var p flexInt
		if v, ok := extra["participant"]; ok && json.Unmarshal(v, &p) == nil {
			speaker = p.V
		}
	}
	return Utterance{
		ID: string(u.ID), Index: idx, SpokenAt: u.DateTime.T, Start: u.SnippetTime.V, Length: u.Length.V,
		WordCount: u.WordCount.V, Text: string(u.Snippet), SpeakerID: speaker, SpeakerName: string(u.SpeakerName),
		SpeakerType: typ, Engaging: u.Engaging.V, Extra: extra,
	}, true
}

// scanUtterance reads an utterance object in one pass (see
// utteranceMembers); false when it cannot stand in for the struct decoding.
func scanUtterance(r json.RawMessage, u *utteranceJSON) (Extra, bool) {
	var buf [16]member
	ms, ok := appendMembers(buf[:0], r)
	if !ok {
		return nil, false
	}
	return utteranceMembers(ms, u)
}

// utteranceMembers reads the members of an utterance into u, each value
// through the same decoder goccy would call for its field, and returns the
// members not modelled (as extraFields would). It reports false when it
// cannot stand in for the struct decoding (a key that differs from a
// modelled one only in case, which goccy would take for that field).
func utteranceMembers(ms []member, u *utteranceJSON) (Extra, bool) {
	var extra Extra
	for _, m := range ms {
		var err error
		switch string(m.key) {
		case "id":
			err = u.ID.UnmarshalJSON(m.val)
		case "index":
			err = u.Index.UnmarshalJSON(m.val)
		case "date_time":
			err = u.DateTime.UnmarshalJSON(m.val)
		case "snippet_time":
			err = u.SnippetTime.UnmarshalJSON(m.val)
		case "snippet_length":
			err = u.Length.UnmarshalJSON(m.val)
		case "snippet_word_count":
			err = u.WordCount.UnmarshalJSON(m.val)
		case "snippet":
			err = u.Snippet.UnmarshalJSON(m.val)
		case "speaker_id":
			err = u.SpeakerID.UnmarshalJSON(m.val)
		case "speaker_name":
			err = u.SpeakerName.UnmarshalJSON(m.val)
		case "speaker_type":
			err = u.SpeakerType.UnmarshalJSON(m.val)
		case "engaging":
			err = u.Engaging.UnmarshalJSON(m.val)
		default:
			if knownFold(m.key, utteranceKeysFolded) {
				return nil, false
			}
			if extra == nil {
				extra = make(Extra, 2)
			}
			extra[internKey(m.key)] = keepRaw(m.val)
		}
		if err != nil {
			return nil, false
		}
	}
	return extra, true
}

func decodeTracker(r json.RawMessage) (Tracker, bool) {
	var t Tracker
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "id":
			return takeStr(v, &t.ID)
		case "name":
			return takeStr(v, &t.Name)
		case "type":
			return takeStr(v, &t.Type)
		case "count":
			return takeInt(v, &t.Count)
		case "owner_id":
			return takeInt(v, &t.OwnerID)
		case "source":
			return takeStr(v, &t.Source)
		case "mentions":
			var ms []Mention
			used := takeList(v, func(r json.RawMessage) bool {
				var m struct {
					Utterance flexInt `json:"utterance"`
					Offset    flexInt `json:"offset"`
				}
				if json.Unmarshal(r, &m) != nil || m.Utterance.V == nil {
					return false
				}
				off := 0
				if m.Offset.V != nil {
					off = int(*m.Offset.V)
				}
				ms = append(ms, Mention{Utterance: int(*m.Utterance.V), Offset: off})
				return true
			})
			t.Mentions = ms
			return used
		}
		return false
	})
	if !ok {
		return Tracker{}, false
	}
	if t.ID == "" {
		t.ID = t.Name
	}
	t.Extra = left
	return t, t.ID != ""
}

func decodeCluster(r json.RawMessage) (Cluster, bool) {
	var c Cluster
	var id *int64
	var typ string
	left, ok := object(r, func(k string, v json.RawMessage) bool {
		switch k {
		case "id":
			return takeInt(v, &id)
		case "speaker_name":
			return takeStr(v, &c.SpeakerName)
		case "type":
			return takeStr(v, &typ)
		case "match_method":
			return takeStr(v, &c.MatchMethod)
		case "participant":
			return takeInt(v, &c.Participant)
		case "user_id":
			return takeInt(v, &c.UserID)
		case "ranges":
			return takeList(v, func(r json.RawMessage) bool {
				var rg TalkRange
				left, ok := object(r, func(k string, v json.RawMessage) bool {
					switch k {
					case "start":
						return takeFloat(v, &rg.Start)
					case "length":
						return takeFloat(v, &rg.Length)
					case "talk_time":
						return takeFloat(v, &rg.TalkTime)
					}
					return false
				})
				rg.Extra = left
				if ok {
					c.Ranges = append(c.Ranges, rg)
				}
				return ok
			})
		}
		return false
	})
	if !ok || id == nil {
		return Cluster{}, false
	}
	c.ID, c.Type, c.Extra = *id, NormalizeSpeakerType(typ), left
	return c, true
}

// ListUsers implements API. The envelope is undocumented, so {"users": [...]},
// {"data": [...]} (plain or JSON:API) and a bare array are all accepted; the
// users have the contract User's fields (team_ids, primary_team, …).
func (a *V3) ListUsers(ctx context.Context) ([]User, error) {
	var raw json.RawMessage
	if err := a.c.GetJSON(ctx, client.Request{Path: "/v3/users", Accept: "application/json"}, &raw); err != nil {
		return nil, err
	}
	items, err := listItems(raw, "users")
	if err != nil {
		return nil, &client.APIError{Path: "/v3/users", Detail: err.Error()}
	}
	var out []User
	for _, it := range items {
		u, ok := decodeUser(it)
		if ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// decodeUser reads a user given flat or as a JSON:API resource; one without
// an id is skipped.
func decodeUser(it json.RawMessage) (User, bool) {
	var u User
	var id *int64
	take := func(k string, v json.RawMessage) bool {
		switch k {
		case "id", "user_id":
			var n *int64
			if takeInt(v, &n) && n != nil && id == nil {
				id = n
				return true
			}
			return isNull(v)
		case "name":
			return takeStr(v, &u.Name)
		case "first_name":
			return takeStr(v, &u.FirstName)
		case "last_name":
			return takeStr(v, &u.LastName)
		case "email":
			var s string
			ok := takeStr(v, &s)
			u.Email = strings.ToLower(strings.TrimSpace(s))
			return ok
		case "person_id":
			return takeInt(v, &u.PersonID)
		case "manager_id":
			return takeInt(v, &u.ManagerID)
		case "team_ids":
			return takeInts(v, &u.TeamIDs)
		case "primary_team":
			return takeInt(v, &u.PrimaryTeam)
		case "license_type":
			return takeStr(v, &u.LicenseType)
		case "role":
			return takeStr(v, &u.Role)
		case "title":
			return takeStr(v, &u.Title)
		case "created_on":
			return takeTime(v, &u.CreatedOn)
		case "invalidated":
			return takeBool(v, &u.Invalidated)
		}
		return false
	}
	left, ok := resource(it, take)
	if !ok || id == nil {
		return User{}, false
	}
	u.ID, u.Extra = *id, left
	return u, true
}

// resource walks a JSON:API resource ({"type", "id", "attributes"}) or a
// plain object with take; the JSON:API type is dropped, the id offered as
// "id", the attributes' leftovers returned.
func resource(it json.RawMessage, take func(k string, v json.RawMessage) bool) (Extra, bool) {
	var head struct {
		Attributes json.RawMessage `json:"attributes"`
	}
	if json.Unmarshal(it, &head) != nil || len(head.Attributes) == 0 || head.Attributes[0] != '{' {
		return object(it, take)
	}
	var attrs Extra
	left, ok := object(it, func(k string, v json.RawMessage) bool {
		switch k {
		case "type":
			return true
		case "attributes":
			var ok bool
			attrs, ok = object(v, take)
			return ok
		}
		return take(k, v)
	})
	for k, v := range attrs {
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	return left, ok
}

// ListTeams implements API (the contract's TeamsDoc: manager and parent_team
// are integers; objects with an id are accepted too).
func (a *V3) ListTeams(ctx context.Context) ([]Team, error) {
	var raw json.RawMessage
	if err := a.c.GetJSON(ctx, client.Request{Path: "/api/v1/teams", Accept: jsonAPI}, &raw); err != nil {
		return nil, err
	}
	items, err := listItems(raw, "teams")
	if err != nil {
		return nil, &client.APIError{Path: "/api/v1/teams", Detail: err.Error()}
	}
	var out []Team
	for _, it := range items {
		var t Team
		left, ok := resource(it, func(k string, v json.RawMessage) bool {
			switch k {
			case "id":
				return takeStr(v, &t.ID)
			case "name":
				return takeStr(v, &t.Name)
			case "users":
				return takeInts(v, &t.UserIDs)
			case "manager":
				t.ManagerUserID = refInt(v, "user_id", "id")
				return t.ManagerUserID != nil || isNull(v)
			case "parent_team":
				if p := refInt(v, "id"); p != nil {
					t.ParentTeamID = fmt.Sprint(*p)
					return true
				}
				return takeStr(v, &t.ParentTeamID)
			}
			return false
		})
		if !ok || t.ID == "" {
			continue
		}
		t.Extra = left
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
		return nil, fmt.Errorf("expected a JSON object or array (starts %q)", client.Preview(raw))
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
