package streamrows

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/derive"
)

// Limits bound what one call may put into the rows (0: no limit).
type Limits struct {
	UtteranceBytes  int
	TranscriptBytes int
}

// callRow builds the calls row from the listing and, when read, the detail:
// the detail's value wins; a listing value it replaces with a different one
// is kept in _extra.listing.
func callRow(b *Batch, e *chorusapi.Engagement, c *chorusapi.Conversation, status string, meta rowMeta) {
	r := b.row(sCalls)
	if r == nil {
		return
	}
	col := &colCalls
	title, language := e.Subject, e.Language
	accountID, accountName, oppID, oppName := e.AccountID, e.AccountName, e.OpportunityID, e.OpportunityName
	ownerID, ownerName, ownerEmail := e.UserID, e.UserName, strings.ToLower(e.UserEmail)
	summary := cleanSummary(e.Summary)
	extra := map[string]any{}
	if len(e.Extra) > 0 {
		extra["engagement"] = e.Extra
	}
	listing := map[string]any{}
	if c != nil {
		setStr(listing, "title", &title, c.Name)
		setStr(listing, "language", &language, c.Language)
		setStr(listing, "account_id", &accountID, c.AccountExtID)
		setStr(listing, "account_name", &accountName, c.AccountName)
		setStr(listing, "opportunity_id", &oppID, c.DealID)
		setStr(listing, "opportunity_name", &oppName, c.DealName)
		setPtr(listing, "owner_user_id", &ownerID, c.OwnerUserID)
		setStr(listing, "owner_name", &ownerName, c.OwnerName)
		setStr(listing, "owner_email", &ownerEmail, strings.ToLower(c.OwnerEmail))
		setStr(listing, "summary", &summary, cleanSummary(c.Summary))
	}
	r.Str(col.CallID, e.ID)
	r.NullStr(col.EngagementType, e.Type)
	r.NullStr(col.Title, title)
	r.Time(col.StartedAt, e.StartedAt)
	r.FloatP(col.DurationSeconds, e.Duration)
	r.NullStr(col.Language, language)
	r.BoolP(col.NoShow, e.NoShow)
	r.NullStr(col.ProcessingState, e.ProcessingState)
	r.NullStr(col.Compliance, e.Compliance)
	r.NullStr(col.Initiator, e.Initiator)
	r.BoolP(col.DispositionConnected, e.Disposition.Connected)
	r.BoolP(col.DispositionVoicemail, e.Disposition.Voicemail)
	r.BoolP(col.DispositionGatekeeper, e.Disposition.Gatekeeper)
	r.BoolP(col.DispositionTree, e.Disposition.Tree)
	r.Str(col.TranscriptStatus, status)
	r.NullStr(col.AccountID, accountID)
	r.NullStr(col.AccountName, accountName)
	r.NullStr(col.OpportunityID, oppID)
	r.NullStr(col.OpportunityName, oppName)
	r.IntP(col.OwnerUserID, ownerID)
	r.NullStr(col.OwnerName, ownerName)
	r.NullStr(col.OwnerEmail, ownerEmail)
	r.NullStr(col.URL, e.URL)
	r.NullStr(col.Summary, summary)
	r.IntP(col.NumCustomerQuestions, e.NumCustQuestions)
	r.IntP(col.NumEngagingQuestions, e.NumEngagingQuestions)
	if meta.children != nil {
		r.Strs(col.ChildStreams, meta.children)
	}
	if c != nil {
		r.NullStr(col.ConversationStatus, c.Status)
		r.NullStr(col.AccountType, c.AccountType)
		r.NullStr(col.AccountZICompanyID, c.AccountZICompanyID)
		r.NullStr(col.DealStage, c.DealStage)
		r.FloatP(col.DealAmount, c.DealAmount)
		r.TimeP(col.DealCloseDate, c.DealCloseDate)
		r.NullStr(col.SummaryError, c.SummaryError)
		r.BoolP(col.HasMeetingSummary, c.HasMeetingSummary)
		if c.Recap != nil {
			r.Strs(col.Recap, c.Recap)
		}
		r.TimeP(col.RecordingStartedAt, c.RecordingStart)
		r.FloatP(col.RecordingDurationSeconds, c.RecordingDuration)
		r.TimeP(col.CreatedAt, c.CreatedAt)
		r.TimeP(col.ModifiedAt, c.ModifiedAt)
		r.Int(col.UtteranceCount, int64(len(c.Utterances)))
		r.Bool(col.TranscriptTruncated, meta.truncation != nil)
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
	setExtra(r, col.Extra, extra)
	r.End()
}

// Call builds every row of a call in a final state: the calls row and,
// from the detail, participants, utterances, talk segments, trackers, action
// items and metrics. Without a detail (no-show, 404, abandoned) the listing
// still tells who was on the call, which trackers matched and the action
// items. children names the child streams emitted, which the calls row
// records: together they replace the call's earlier child rows.
func Call(b *Batch, e *chorusapi.Engagement, c *chorusapi.Conversation, status string, lim Limits, children []string) {
	meta := rowMeta{children: children}
	if meta.children == nil {
		meta.children = []string{}
	}
	detail := c
	if detail == nil {
		detail = &chorusapi.Conversation{}
	} else {
		meta.truncation = truncateTranscript(c, lim)
	}
	callRow(b, e, c, status, meta)
	childRows(b, e, detail)
}

// ListedCall builds the calls row of a call from its listing alone, with
// no child rows (a call whose transcript is not ready): its _child_streams
// is null, as it carries no set of child rows.
func ListedCall(b *Batch, e *chorusapi.Engagement, status string) {
	callRow(b, e, nil, status, rowMeta{})
}

// setStr gives a column the detail's value v, unless it is empty; the
// listing's value it replaces, when different, is kept in listing.
func setStr(listing map[string]any, key string, cur *string, v string) {
	if v == "" {
		return
	}
	if *cur != "" && *cur != v {
		listing[key] = *cur
	}
	*cur = v
}

// setPtr is setStr for a value that may be absent (nil).
func setPtr[T comparable](listing map[string]any, key string, cur **T, v *T) {
	if v == nil {
		return
	}
	if *cur != nil && **cur != *v {
		listing[key] = **cur
	}
	*cur = v
}

// setExtra writes the _extra column when extra has anything.
func setExtra(r *rowBuilder, c strCol, extra map[string]any) {
	if len(extra) > 0 {
		r.Str(c, mustJSON(extra))
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
func truncateTranscript(c *chorusapi.Conversation, lim Limits) map[string]any {
	total, cutTexts := 0, 0
	for i := range c.Utterances {
		u := &c.Utterances[i]
		if lim.UtteranceBytes > 0 && len(u.Text) > lim.UtteranceBytes {
			orig := len(u.Text)
			u.Text = cutUTF8(u.Text, lim.UtteranceBytes)
			if u.Extra == nil {
				u.Extra = chorusapi.Extra{}
			}
			u.Extra["truncation"] = []byte(fmt.Sprintf(`{"original_bytes":%d,"kept_bytes":%d}`, orig, len(u.Text)))
			cutTexts++
		}
		total += len(u.Text)
	}
	dropped := 0
	if lim.TranscriptBytes > 0 && total > lim.TranscriptBytes {
		sum := 0
		for i := range c.Utterances {
			sum += len(c.Utterances[i].Text)
			if sum > lim.TranscriptBytes {
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
		"limit_bytes":        lim.TranscriptBytes,
		"utterance_limit":    lim.UtteranceBytes,
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

// childRows builds every row that comes from a call's detail.
func childRows(b *Batch, e *chorusapi.Engagement, c *chorusapi.Conversation) {
	if r := b.row(sParticipants); r != nil {
		for _, p := range mergeParticipants(e.Participants, c.Participants) {
			participantRow(r, e.ID, p)
		}
	}
	if r := b.row(sUtterances); r != nil {
		utteranceRows(r, e.ID, c.Utterances)
	}
	if r := b.row(sTalkSegments); r != nil {
		col := &colSegments
		n := 0
		for _, cl := range c.Clusters {
			n += len(cl.Ranges)
		}
		r.Reserve(n)
		r.ReserveData(col.CallID, n*len(e.ID))
		r.ReserveData(col.SpeakerType, n*len("customer"))
		for _, cl := range c.Clusters {
			r.ReserveData(col.SpeakerName, len(cl.Ranges)*len(cl.SpeakerName))
			r.ReserveData(col.MatchMethod, len(cl.Ranges)*len(cl.MatchMethod))
			for i, rg := range cl.Ranges {
				r.Str(col.CallID, e.ID)
				r.Int(col.ClusterID, cl.ID)
				r.Int(col.RangeIndex, int64(i))
				r.NullStr(col.SpeakerName, cl.SpeakerName)
				r.Str(col.SpeakerType, cl.Type)
				r.NullStr(col.MatchMethod, cl.MatchMethod)
				r.IntP(col.ParticipantPersonID, cl.Participant)
				r.IntP(col.UserID, cl.UserID)
				r.FloatP(col.StartSeconds, rg.Start)
				r.FloatP(col.LengthSeconds, rg.Length)
				r.FloatP(col.TalkTimeSeconds, rg.TalkTime)
				if (i == 0 && len(cl.Extra) > 0) || len(rg.Extra) > 0 {
					extra := map[string]any{}
					if i == 0 && len(cl.Extra) > 0 { // the cluster's own leftovers, once
						extra["cluster"] = cl.Extra
					}
					if len(rg.Extra) > 0 {
						extra["range"] = rg.Extra
					}
					setExtra(r, col.Extra, extra)
				}
				r.End()
			}
		}
	}
	trackerRows(b, e, c)
	if r := b.row(sActionItems); r != nil {
		col := &colItems
		for _, a := range derive.ActionItems(e, c) {
			r.Str(col.CallID, e.ID)
			r.Int(col.ItemIndex, int64(a.Index))
			r.Str(col.Text, a.Text)
			r.Str(col.Source, a.Source)
			r.NullStr(col.OwnerHint, a.Owner)
			r.NullStr(col.DueHint, a.Due)
			if a.Utterance >= 0 {
				r.Int(col.UtteranceIndex, int64(a.Utterance))
				r.FloatAny(col.UtteranceStartSeconds, a.Start)
			}
			r.End()
		}
	}
	if r := b.row(sCallMetrics); r != nil {
		col := &colMetrics
		for _, m := range derive.Metrics(c) {
			r.Str(col.CallID, e.ID)
			r.Str(col.MetricName, m.Name)
			r.FloatAny(col.Value, m.Value)
			r.Str(col.Source, m.Source)
			r.End()
		}
	}
}

// utteranceRows builds the utterances rows of a call: the bulk of every
// extract.
func utteranceRows(r *rowBuilder, callID string, utts []chorusapi.Utterance) {
	col := &colUtt
	text, names, ids := 0, 0, 0
	for i := range utts {
		text, names, ids = text+len(utts[i].Text), names+len(utts[i].SpeakerName), ids+len(utts[i].ID)
	}
	n := len(utts)
	r.Reserve(n)
	r.ReserveData(col.CallID, n*len(callID))
	r.ReserveData(col.Text, text)
	r.ReserveData(col.SpeakerName, names)
	r.ReserveData(col.UtteranceID, ids)
	r.ReserveData(col.SpeakerType, n*len("customer"))
	r.ReserveData(col.Extra, n*len(`{"expired":false,"participant":10}`))
	for i := range utts {
		u := &utts[i]
		r.Str(col.CallID, callID)
		r.Int(col.UtteranceIndex, int64(u.Index))
		r.NullStr(col.UtteranceID, u.ID)
		r.IntP(col.SpeakerID, u.SpeakerID)
		r.NullStr(col.SpeakerName, u.SpeakerName)
		r.Str(col.SpeakerType, u.SpeakerType)
		r.FloatP(col.StartSeconds, u.Start)
		r.FloatP(col.DurationSeconds, u.Length)
		r.TimeP(col.SpokenAt, u.SpokenAt)
		if u.WordCount != nil {
			r.Int(col.WordCount, *u.WordCount)
		} else {
			r.Int(col.WordCount, int64(len(strings.Fields(u.Text))))
		}
		r.Str(col.Text, u.Text)
		r.BoolP(col.Engaging, u.Engaging)
		r.Bool(col.TextTruncated, u.Extra["truncation"] != nil)
		if len(u.Extra) > 0 {
			r.Str(col.Extra, extraJSON(u.Extra))
		}
		r.End()
	}
}

// Engagement builds the engagements row: the listing's view of any engagement.
func Engagement(b *Batch, e *chorusapi.Engagement) {
	r := b.row(sEngagements)
	if r == nil {
		return
	}
	col := &colEng
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
	r.Str(col.EngagementID, e.ID)
	r.NullStr(col.EngagementType, e.Type)
	r.NullStr(col.Subject, e.Subject)
	r.Time(col.StartedAt, e.StartedAt)
	r.FloatP(col.DurationSeconds, e.Duration)
	r.NullStr(col.Language, e.Language)
	r.BoolP(col.NoShow, e.NoShow)
	r.NullStr(col.ProcessingState, e.ProcessingState)
	r.NullStr(col.Compliance, e.Compliance)
	r.NullStr(col.Initiator, e.Initiator)
	r.BoolP(col.DispositionConnected, e.Disposition.Connected)
	r.BoolP(col.DispositionVoicemail, e.Disposition.Voicemail)
	r.BoolP(col.DispositionGatekeeper, e.Disposition.Gatekeeper)
	r.BoolP(col.DispositionTree, e.Disposition.Tree)
	r.NullStr(col.AccountID, e.AccountID)
	r.NullStr(col.AccountName, e.AccountName)
	r.NullStr(col.OpportunityID, e.OpportunityID)
	r.NullStr(col.OpportunityName, e.OpportunityName)
	r.IntP(col.OwnerUserID, e.UserID)
	r.NullStr(col.OwnerName, e.UserName)
	r.NullStr(col.OwnerEmail, strings.ToLower(e.UserEmail))
	r.NullStr(col.URL, e.URL)
	r.NullStr(col.Summary, cleanSummary(e.Summary))
	r.IntP(col.NumCustomerQuestions, e.NumCustQuestions)
	r.IntP(col.NumEngagingQuestions, e.NumEngagingQuestions)
	r.Strs(col.ParticipantEmails, emails)
	r.Str(col.Participants, mustJSON(parts))
	r.Str(col.TrackerMatches, mustJSON(trackers))
	if e.ActionItems != nil {
		r.Strs(col.ActionItems, e.ActionItems)
	}
	if len(e.Extra) > 0 {
		r.Str(col.Extra, mustJSON(e.Extra))
	}
	r.End()
}

// childStreams are the streams a call's detail produces besides calls, in
// the order they are emitted.
var childStreams = []string{"participants", "utterances", "talk_segments", "trackers", "tracker_mentions", "action_items", "call_metrics",
	"sales_qualifications"}

// ChildStreams names the streams a call's detail produces besides calls, in
// the order they are emitted.
func ChildStreams() []string { return slices.Clone(childStreams) }

// Qualification builds the rows of a call's sales qualification analysis:
// one per field.
func Qualification(b *Batch, callID string, q *chorusapi.SalesQualification) {
	r := b.row(sSalesQualifications)
	if r == nil {
		return
	}
	col := &colQual
	for i, f := range q.Fields {
		r.Str(col.CallID, callID)
		r.Str(col.Section, f.Section)
		r.Str(col.FieldID, f.ID)
		r.NullStr(col.FieldName, f.Name)
		r.NullStr(col.Framework, q.Framework)
		r.NullStr(col.ChangeType, f.ChangeType)
		r.StrP(col.NewValue, f.NewValue)
		r.StrP(col.PreviousValue, f.PreviousValue)
		r.StrP(col.SupportingQuote, f.Quote)
		r.NullStr(col.AnalysisID, q.ID)
		r.TimeP(col.GeneratedAt, q.GeneratedAt)
		r.IntP(col.UserID, q.UserID)
		r.IntP(col.ChorusCustomerID, q.CustomerID)
		r.NullStr(col.OpportunityID, q.OpportunityID)
		r.IntP(col.ConversationDurationSeconds, q.Duration)
		extra := map[string]any{}
		if len(f.Extra) > 0 {
			extra["field"] = f.Extra
		}
		if i == 0 && len(q.Extra) > 0 { // the analysis's own leftovers, once
			extra["analysis"] = q.Extra
		}
		setExtra(r, col.Extra, extra)
		r.End()
	}
}

func trackerRows(b *Batch, e *chorusapi.Engagement, c *chorusapi.Conversation) {
	type agg struct {
		id, typ, source string
		count, owner    *int64
		extra           map[string]any
	}
	if r := b.row(sTrackers); r != nil {
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
		col := &colTrackers
		for _, n := range names {
			a := byName[n]
			r.Str(col.CallID, e.ID)
			r.Str(col.TrackerName, n)
			r.NullStr(col.TrackerID, a.id)
			r.NullStr(col.TrackerType, a.typ)
			r.IntP(col.MatchCount, a.count)
			r.IntP(col.TrackerOwnerID, a.owner)
			r.NullStr(col.TrackerSource, a.source)
			setExtra(r, col.Extra, a.extra)
			r.End()
		}
	}
	if c == nil {
		return
	}
	r := b.row(sTrackerMentions)
	if r == nil {
		return
	}
	type mkey struct {
		id       string
		utt, off int
	}
	col := &colMentions
	seen := map[mkey]bool{}
	for _, t := range c.Trackers {
		for _, m := range t.Mentions {
			k := mkey{t.ID, m.Utterance, m.Offset}
			if seen[k] {
				continue
			}
			seen[k] = true
			r.Str(col.CallID, e.ID)
			r.Str(col.TrackerID, t.ID)
			r.Int(col.UtteranceIndex, int64(m.Utterance))
			r.Int(col.MentionOffset, int64(m.Offset))
			r.NullStr(col.TrackerName, t.Name)
			r.NullStr(col.TrackerType, t.Type)
			r.End()
		}
	}
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

func participantRow(r *rowBuilder, callID string, p chorusapi.Participant) {
	col := &colParticipants
	email := strings.ToLower(strings.TrimSpace(p.Email))
	domain := ""
	if at := strings.LastIndexByte(email, '@'); at > 0 && at < len(email)-1 {
		domain = email[at+1:]
	}
	typ := chorusapi.NormalizeParticipantType(p.Type)
	if p.IsMyTeam != nil { // the detail says which side the person is on
		typ = map[bool]string{true: "rep", false: "customer"}[*p.IsMyTeam]
	}
	r.Str(col.CallID, callID)
	r.Str(col.ParticipantKey, chorusapi.ParticipantKey(p))
	r.IntP(col.PersonID, p.PersonID)
	r.IntP(col.UserID, p.UserID)
	r.NullStr(col.Name, p.Name)
	r.NullStr(col.Email, email)
	r.NullStr(col.EmailDomain, domain)
	r.NullStr(col.Title, p.Title)
	r.NullStr(col.CompanyName, p.CompanyName)
	r.Str(col.ParticipantType, typ)
	r.Bool(col.IsRep, typ == "rep")
	r.BoolP(col.IsMyTeam, p.IsMyTeam)
	extra := map[string]any{}
	for k, v := range p.Extra {
		extra[k] = v
	}
	if p.Type != "" && p.Type != typ { // the API's own word for the side, when it is not ours
		extra["type"] = p.Type
	}
	setExtra(r, col.Extra, extra)
	r.End()
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

// mustJSON encodes a row value; the values built here always encode.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal: %v", err))
	}
	return string(b)
}

// extraJSON encodes an object's leftovers as mustJSON does (keys sorted,
// values compacted and HTML-escaped), without reflection for the common
// case — short values of plain ASCII with nothing to escape or compact, as
// every utterance's contract keys (participant, expired) are; anything
// else goes through encoding/json.
func extraJSON(x chorusapi.Extra) string {
	size := 2
	for k, v := range x {
		if !plainJSON(k) || !plainValue(v) {
			return mustJSON(x)
		}
		size += len(k) + len(v) + 4
	}
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
		b = append(b, x[k]...)
	}
	b = append(b, '}')
	return string(b)
}

// plainJSON reports whether s needs no escaping in a JSON string.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// plainValue reports whether a JSON value is written as is by encoding/json:
// no whitespace to compact, no character to escape, nothing beyond ASCII.
// Strings with escapes are left to encoding/json.
func plainValue(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x80 || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// User builds a user's row and its user_teams rows.
func User(b *Batch, u *chorusapi.User) {
	if r := b.row(sUsers); r != nil {
		col := &colUsers
		r.Int(col.UserID, u.ID)
		r.NullStr(col.Name, u.Name)
		r.NullStr(col.FirstName, u.FirstName)
		r.NullStr(col.LastName, u.LastName)
		r.NullStr(col.Email, u.Email)
		r.IntP(col.PersonID, u.PersonID)
		r.IntP(col.ManagerID, u.ManagerID)
		r.NullStr(col.Role, u.Role)
		r.NullStr(col.Title, u.Title)
		r.NullStr(col.LicenseType, u.LicenseType)
		r.Ints(col.TeamIDs, u.TeamIDs)
		r.IntP(col.PrimaryTeamID, u.PrimaryTeam)
		r.TimeP(col.CreatedOn, u.CreatedOn)
		r.BoolP(col.Invalidated, u.Invalidated)
		if u.Invalidated != nil {
			r.Bool(col.Active, !*u.Invalidated)
		}
		if len(u.Extra) > 0 {
			r.Str(col.Extra, mustJSON(u.Extra))
		}
		r.End()
	}
	if r := b.row(sUserTeams); r != nil {
		col := &colUserTeams
		for _, team := range u.TeamIDs {
			r.Int(col.UserID, u.ID)
			r.Str(col.TeamID, fmt.Sprint(team))
			r.Bool(col.IsPrimary, u.PrimaryTeam != nil && *u.PrimaryTeam == team)
			r.End()
		}
	}
}

// Team builds a team's row.
func Team(b *Batch, t *chorusapi.Team) {
	r := b.row(sTeams)
	if r == nil {
		return
	}
	col := &colTeams
	r.Str(col.TeamID, t.ID)
	r.NullStr(col.Name, t.Name)
	r.IntP(col.ManagerUserID, t.ManagerUserID)
	r.NullStr(col.ParentTeamID, t.ParentTeamID)
	r.Ints(col.UserIDs, t.UserIDs)
	if len(t.Extra) > 0 {
		r.Str(col.Extra, mustJSON(t.Extra))
	}
	r.End()
}
