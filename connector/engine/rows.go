package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/derive"
)

// Row is one record of a stream: column name → value. Values are string,
// int64, float64, bool, time.Time, []int64 or nil.
type Row map[string]any

// Transcript statuses recorded in calls.transcript_status.
const (
	StatusComplete  = "complete"  // the detail was read with its final transcript
	StatusPending   = "pending"   // listed, but Chorus has not finished processing it
	StatusNoShow    = "no_show"   // nobody showed up: there is no transcript to fetch
	StatusNotFound  = "not_found" // the detail answered 404 (deleted or private)
	StatusAbandoned = "abandoned" // still not processed after pending_max_hours
)

// finalStatus reports whether a call in this status is never fetched again.
func finalStatus(s string) bool { return s != StatusPending && s != "" }

// limits bound what one call may put into the rows.
type limits struct {
	utteranceBytes  int
	transcriptBytes int
}

// emitter receives rows; sync writes through it.
type emitter func(stream string, row Row) error

// callRow builds the calls row from the listing and, when read, the detail.
func callRow(e *chorusapi.Engagement, c *chorusapi.Conversation, status string, meta rowMeta) Row {
	r := Row{
		"call_id":                e.ID,
		"engagement_type":        nullStr(e.Type),
		"title":                  nullStr(e.Subject),
		"started_at":             e.StartedAt,
		"duration_seconds":       ptrVal(e.Duration),
		"language":               nullStr(e.Language),
		"no_show":                ptrVal(e.NoShow),
		"processing_state":       nullStr(e.ProcessingState),
		"compliance":             nullStr(e.Compliance),
		"initiator":              nullStr(e.Initiator),
		"disposition_connected":  ptrVal(e.Disposition.Connected),
		"disposition_voicemail":  ptrVal(e.Disposition.Voicemail),
		"disposition_gatekeeper": ptrVal(e.Disposition.Gatekeeper),
		"disposition_tree":       ptrVal(e.Disposition.Tree),
		"transcript_status":      status,
		"account_id":             nullStr(e.AccountID),
		"account_name":           nullStr(e.AccountName),
		"opportunity_id":         nullStr(e.OpportunityID),
		"opportunity_name":       nullStr(e.OpportunityName),
		"owner_user_id":          ptrVal(e.UserID),
		"owner_name":             nullStr(e.UserName),
		"owner_email":            nullStr(strings.ToLower(e.UserEmail)),
		"url":                    nullStr(e.URL),
		"summary":                nullStr(cleanSummary(e.Summary)),
		"num_customer_questions": ptrVal(e.NumCustQuestions),
		"num_engaging_questions": ptrVal(e.NumEngagingQuestions),
	}
	if meta.children != nil {
		r["_child_streams"] = meta.children
	}
	extra := map[string]any{}
	if len(e.Extra) > 0 {
		extra["engagement"] = e.Extra
	}
	// The detail's value wins; a listing value it replaces with a different
	// one is kept in _extra.listing.
	listing := map[string]any{}
	if c != nil {
		set := func(k string, v any) {
			if v == nil || v == "" {
				return
			}
			if old := r[k]; old != nil && !sameValue(old, v) {
				listing[k] = old
			}
			r[k] = v
		}

		set("conversation_status", nullStr(c.Status))
		set("title", nullStr(c.Name))
		set("language", nullStr(c.Language))
		set("account_id", nullStr(c.AccountExtID))
		set("account_name", nullStr(c.AccountName))
		set("account_type", nullStr(c.AccountType))
		set("account_zi_company_id", nullStr(c.AccountZICompanyID))
		set("opportunity_id", nullStr(c.DealID))
		set("opportunity_name", nullStr(c.DealName))
		set("deal_stage", nullStr(c.DealStage))
		set("deal_amount", ptrVal(c.DealAmount))
		set("deal_close_date", timeVal(c.DealCloseDate))
		set("owner_user_id", ptrVal(c.OwnerUserID))
		set("owner_name", nullStr(c.OwnerName))
		set("owner_email", nullStr(strings.ToLower(c.OwnerEmail)))
		set("summary", nullStr(cleanSummary(c.Summary)))
		set("summary_error", nullStr(c.SummaryError))
		set("has_meeting_summary", ptrVal(c.HasMeetingSummary))
		if c.Recap != nil {
			r["recap"] = c.Recap
		}
		set("recording_started_at", timeVal(c.RecordingStart))
		set("recording_duration_seconds", ptrVal(c.RecordingDuration))
		set("created_at", timeVal(c.CreatedAt))
		set("modified_at", timeVal(c.ModifiedAt))
		r["utterance_count"] = int64(len(c.Utterances))
		r["transcript_truncated"] = meta.truncation != nil
		if meta.truncation != nil {
			extra["truncation"] = meta.truncation
		}
		if len(c.Extra) > 0 {
			extra["conversation"] = c.Extra
		}
	}
	if len(listing) > 0 {
		extra["listing"] = listing
	}
	setExtra(r, extra)
	return r
}

// sameValue compares two row values (times by instant).
func sameValue(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

func setExtra(r Row, extra map[string]any) {
	if len(extra) > 0 {
		r["_extra"] = mustJSON(extra)
	}
}

type rowMeta struct {
	truncation map[string]any
	// children lists the child streams whose rows of the call come with
	// this calls row, as a complete set (nil for a listing-only row).
	children []string
}

// truncateTranscript enforces the size limits in place and describes what it
// cut, or returns nil when nothing was cut.
func truncateTranscript(c *chorusapi.Conversation, lim limits) map[string]any {
	total, cutTexts := 0, 0
	for i := range c.Utterances {
		u := &c.Utterances[i]
		if lim.utteranceBytes > 0 && len(u.Text) > lim.utteranceBytes {
			orig := len(u.Text)
			u.Text = cutUTF8(u.Text, lim.utteranceBytes)
			if u.Extra == nil {
				u.Extra = chorusapi.Extra{}
			}
			u.Extra["truncation"] = []byte(fmt.Sprintf(`{"original_bytes":%d,"kept_bytes":%d}`, orig, len(u.Text)))
			cutTexts++
		}
		total += len(u.Text)
	}
	dropped := 0
	if lim.transcriptBytes > 0 && total > lim.transcriptBytes {
		sum := 0
		for i := range c.Utterances {
			sum += len(c.Utterances[i].Text)
			if sum > lim.transcriptBytes {
				dropped = len(c.Utterances) - i
				c.Utterances = c.Utterances[:i]
				break
			}
		}
	}
	if cutTexts == 0 && dropped == 0 {
		return nil
	}
	return map[string]any{
		"utterances_cut":     cutTexts,
		"utterances_dropped": dropped,
		"transcript_bytes":   total,
		"limit_bytes":        lim.transcriptBytes,
		"utterance_limit":    lim.utteranceBytes,
	}
}

func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// childRows emits every row that comes from a call's detail.
func childRows(e *chorusapi.Engagement, c *chorusapi.Conversation, emit emitter) error {
	for _, p := range mergeParticipants(e.Participants, c.Participants) {
		if err := emit("participants", participantRow(e.ID, p)); err != nil {
			return err
		}
	}
	for _, u := range c.Utterances {
		r := Row{
			"call_id": e.ID, "utterance_index": int64(u.Index), "utterance_id": nullStr(u.ID),
			"speaker_id": ptrVal(u.SpeakerID), "speaker_name": nullStr(u.SpeakerName), "speaker_type": u.SpeakerType,
			"start_seconds": ptrVal(u.Start), "duration_seconds": ptrVal(u.Length), "spoken_at": timeVal(u.SpokenAt),
			"word_count": ptrVal(u.WordCount), "text": u.Text, "engaging": ptrVal(u.Engaging),
			"text_truncated": u.Extra["truncation"] != nil,
		}
		if r["word_count"] == nil {
			r["word_count"] = int64(len(strings.Fields(u.Text)))
		}
		if len(u.Extra) > 0 {
			r["_extra"] = mustJSON(u.Extra)
		}
		if err := emit("utterances", r); err != nil {
			return err
		}
	}
	for _, cl := range c.Clusters {
		for i, rg := range cl.Ranges {
			r := Row{"call_id": e.ID, "cluster_id": cl.ID, "range_index": int64(i), "speaker_name": nullStr(cl.SpeakerName),
				"speaker_type": cl.Type, "match_method": nullStr(cl.MatchMethod), "participant_person_id": ptrVal(cl.Participant),
				"user_id": ptrVal(cl.UserID), "start_seconds": ptrVal(rg.Start), "length_seconds": ptrVal(rg.Length),
				"talk_time_seconds": ptrVal(rg.TalkTime)}
			extra := map[string]any{}
			if i == 0 && len(cl.Extra) > 0 { // the cluster's own leftovers, once
				extra["cluster"] = cl.Extra
			}
			if len(rg.Extra) > 0 {
				extra["range"] = rg.Extra
			}
			setExtra(r, extra)
			if err := emit("talk_segments", r); err != nil {
				return err
			}
		}
	}
	if err := trackerRows(e, c, emit); err != nil {
		return err
	}
	for _, a := range derive.ActionItems(e, c) {
		r := Row{"call_id": e.ID, "item_index": int64(a.Index), "text": a.Text, "source": a.Source,
			"owner_hint": nullStr(a.Owner), "due_hint": nullStr(a.Due)}
		if a.Utterance >= 0 {
			r["utterance_index"] = int64(a.Utterance)
			r["utterance_start_seconds"] = a.Start
		}
		if err := emit("action_items", r); err != nil {
			return err
		}
	}
	for _, m := range derive.Metrics(c) {
		if err := emit("call_metrics", Row{"call_id": e.ID, "metric_name": m.Name, "value": m.Value, "source": m.Source}); err != nil {
			return err
		}
	}
	return nil
}

// engagementRow is the listing's view of any engagement.
func engagementRow(e *chorusapi.Engagement) Row {
	emails := []string{}
	parts := make([]map[string]any, 0, len(e.Participants))
	for _, p := range e.Participants {
		email := strings.ToLower(strings.TrimSpace(p.Email))
		if email != "" {
			emails = append(emails, email)
		}
		m := map[string]any{}
		for k, v := range p.Extra {
			m[k] = v
		}
		for k, v := range map[string]any{"name": nullStr(p.Name), "email": nullStr(email), "title": nullStr(p.Title),
			"company_name": nullStr(p.CompanyName), "type": nullStr(p.Type), "person_id": ptrVal(p.PersonID), "user_id": ptrVal(p.UserID)} {
			if v != nil {
				m[k] = v
			}
		}
		parts = append(parts, m)
	}
	trackers := make([]map[string]any, 0, len(e.TrackerMatches))
	for _, t := range e.TrackerMatches {
		m := map[string]any{"name": t.Name, "type": nullStr(t.Type), "num_matches": ptrVal(t.Count)}
		for k, v := range t.Extra {
			m[k] = v
		}
		trackers = append(trackers, m)
	}
	r := Row{
		"engagement_id": e.ID, "engagement_type": nullStr(e.Type), "subject": nullStr(e.Subject), "started_at": e.StartedAt,
		"duration_seconds": ptrVal(e.Duration), "language": nullStr(e.Language), "no_show": ptrVal(e.NoShow),
		"processing_state": nullStr(e.ProcessingState), "compliance": nullStr(e.Compliance), "initiator": nullStr(e.Initiator),
		"disposition_connected": ptrVal(e.Disposition.Connected), "disposition_voicemail": ptrVal(e.Disposition.Voicemail),
		"disposition_gatekeeper": ptrVal(e.Disposition.Gatekeeper), "disposition_tree": ptrVal(e.Disposition.Tree),
		"account_id": nullStr(e.AccountID), "account_name": nullStr(e.AccountName), "opportunity_id": nullStr(e.OpportunityID),
		"opportunity_name": nullStr(e.OpportunityName), "owner_user_id": ptrVal(e.UserID), "owner_name": nullStr(e.UserName),
		"owner_email": nullStr(strings.ToLower(e.UserEmail)), "url": nullStr(e.URL), "summary": nullStr(cleanSummary(e.Summary)),
		"num_customer_questions": ptrVal(e.NumCustQuestions), "num_engaging_questions": ptrVal(e.NumEngagingQuestions),
		"participant_emails": emails, "participants": mustJSON(parts), "tracker_matches": mustJSON(trackers),
	}
	if e.ActionItems != nil {
		r["action_items"] = e.ActionItems
	}
	if len(e.Extra) > 0 {
		r["_extra"] = mustJSON(e.Extra)
	}
	return r
}

// childStreams are the streams a call's detail produces besides calls, in
// the order they are emitted.
var childStreams = []string{"participants", "utterances", "talk_segments", "trackers", "tracker_mentions", "action_items", "call_metrics",
	"sales_qualifications"}

// qualificationRows are the rows of a call's sales qualification analysis:
// one per field.
func qualificationRows(callID string, q *chorusapi.SalesQualification) []streamRow {
	var out []streamRow
	for _, f := range q.Fields {
		r := Row{"call_id": callID, "section": f.Section, "field_id": f.ID, "field_name": nullStr(f.Name),
			"framework": nullStr(q.Framework), "change_type": nullStr(f.ChangeType), "new_value": ptrVal(f.NewValue),
			"previous_value": ptrVal(f.PreviousValue), "supporting_quote": ptrVal(f.Quote), "analysis_id": nullStr(q.ID),
			"generated_at": timeVal(q.GeneratedAt), "user_id": ptrVal(q.UserID), "chorus_customer_id": ptrVal(q.CustomerID),
			"opportunity_id": nullStr(q.OpportunityID), "conversation_duration_seconds": ptrVal(q.Duration)}
		extra := map[string]any{}
		if len(f.Extra) > 0 {
			extra["field"] = f.Extra
		}
		if len(out) == 0 && len(q.Extra) > 0 { // the analysis's own leftovers, once
			extra["analysis"] = q.Extra
		}
		setExtra(r, extra)
		out = append(out, streamRow{"sales_qualifications", r})
	}
	return out
}

func trackerRows(e *chorusapi.Engagement, c *chorusapi.Conversation, emit emitter) error {
	type agg struct {
		id, typ, source string
		count, owner    *int64
		extra           map[string]any
	}
	byName := map[string]*agg{}
	var names []string
	get := func(name string) *agg {
		a, ok := byName[name]
		if !ok {
			a = &agg{extra: map[string]any{}}
			byName[name] = a
			names = append(names, name)
		}
		return a
	}
	for _, t := range e.TrackerMatches {
		a := get(t.Name)
		if t.Type != "" {
			a.typ = t.Type
		}
		if t.Count != nil {
			a.count = t.Count
		}
		if len(t.Extra) > 0 {
			a.extra["listing"] = t.Extra
		}
	}
	if c != nil {
		for _, t := range c.Trackers {
			a := get(t.Name)
			a.id = t.ID
			if t.Type != "" {
				a.typ = t.Type
			}
			cnt := t.Count
			if cnt == nil {
				n := int64(len(t.Mentions))
				cnt = &n
			}
			a.count, a.owner, a.source = cnt, t.OwnerID, t.Source
			if len(t.Extra) > 0 {
				a.extra["detail"] = t.Extra
			}
		}
	}
	for _, n := range names {
		a := byName[n]
		r := Row{"call_id": e.ID, "tracker_name": n, "tracker_id": nullStr(a.id), "tracker_type": nullStr(a.typ),
			"match_count": ptrVal(a.count), "tracker_owner_id": ptrVal(a.owner), "tracker_source": nullStr(a.source)}
		setExtra(r, a.extra)
		if err := emit("trackers", r); err != nil {
			return err
		}
	}
	if c == nil {
		return nil
	}
	type mkey struct {
		id       string
		utt, off int
	}
	seen := map[mkey]bool{}
	for _, t := range c.Trackers {
		for _, m := range t.Mentions {
			k := mkey{t.ID, m.Utterance, m.Offset}
			if seen[k] {
				continue
			}
			seen[k] = true
			if err := emit("tracker_mentions", Row{"call_id": e.ID, "tracker_id": t.ID, "utterance_index": int64(m.Utterance),
				"mention_offset": int64(m.Offset), "tracker_name": nullStr(t.Name), "tracker_type": nullStr(t.Type)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// mergeParticipants unites the listing's and the detail's participants; a
// person on both keeps the first non-empty value of each field.
func mergeParticipants(lists ...[]chorusapi.Participant) []chorusapi.Participant {
	var out []chorusapi.Participant
	index := map[string]int{}
	emailIndex := map[string]int{}
	for _, l := range lists {
		for _, p := range l {
			email := strings.ToLower(strings.TrimSpace(p.Email))
			i, ok := index[chorusapi.ParticipantKey(p)]
			if !ok && email != "" {
				i, ok = emailIndex[email]
			}
			if !ok {
				index[chorusapi.ParticipantKey(p)] = len(out)
				if email != "" {
					emailIndex[email] = len(out)
				}
				p.Extra = maps.Clone(p.Extra) // merged into below: not the caller's map
				out = append(out, p)
				continue
			}
			q := &out[i]
			if q.PersonID == nil {
				q.PersonID = p.PersonID
			}
			if q.UserID == nil {
				q.UserID = p.UserID
			}
			if q.IsMyTeam == nil {
				q.IsMyTeam = p.IsMyTeam
			}
			for k, v := range p.Extra { // the detail's extra keys join the listing's
				if q.Extra == nil {
					q.Extra = chorusapi.Extra{}
				}
				if _, ok := q.Extra[k]; !ok {
					q.Extra[k] = v
				}
			}
			for _, f := range []struct {
				dst *string
				src string
			}{{&q.Name, p.Name}, {&q.Email, p.Email}, {&q.Title, p.Title}, {&q.CompanyName, p.CompanyName}, {&q.Type, p.Type}} {
				if *f.dst == "" {
					*f.dst = f.src
				}
			}
		}
	}
	return out
}

func participantRow(callID string, p chorusapi.Participant) Row {
	email := strings.ToLower(strings.TrimSpace(p.Email))
	domain := ""
	if at := strings.LastIndexByte(email, '@'); at > 0 && at < len(email)-1 {
		domain = email[at+1:]
	}
	typ := chorusapi.NormalizeParticipantType(p.Type)
	if p.IsMyTeam != nil { // the detail says which side the person is on
		typ = map[bool]string{true: "rep", false: "customer"}[*p.IsMyTeam]
	}
	r := Row{
		"call_id": callID, "participant_key": chorusapi.ParticipantKey(p), "person_id": ptrVal(p.PersonID), "user_id": ptrVal(p.UserID),
		"name": nullStr(p.Name), "email": nullStr(email), "email_domain": nullStr(domain), "title": nullStr(p.Title),
		"company_name": nullStr(p.CompanyName), "participant_type": typ, "is_rep": typ == "rep", "is_my_team": ptrVal(p.IsMyTeam),
	}
	extra := map[string]any{}
	for k, v := range p.Extra {
		extra[k] = v
	}
	if p.Type != "" && p.Type != typ { // the API's own word for the side, when it is not ours
		extra["type"] = p.Type
	}
	setExtra(r, extra)
	return r
}

// cleanSummary turns HTML line breaks into newlines.
func cleanSummary(s string) string {
	r := strings.NewReplacer("<br>", "\n", "<br/>", "\n", "<br />", "\n", "<BR>", "\n")
	return strings.TrimSpace(r.Replace(s))
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func timeVal(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// mustJSON encodes a row value; the values built here always encode.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal: %v", err))
	}
	return string(b)
}
