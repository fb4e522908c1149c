package answers

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// DefaultPageSize is the calls of a library page unless asked otherwise.
const DefaultPageSize = 25

// Meeting is one recorded call as the call library lists it (model
// customer_calls).
type Meeting struct {
	ID               string    `json:"id"`
	Title            string    `json:"title"`
	StartedAt        time.Time `json:"started_at"`
	DurationSeconds  float64   `json:"duration_seconds"`
	EngagementType   string    `json:"engagement_type,omitempty"`
	CustomerID       string    `json:"customer_id,omitempty"`
	CustomerName     string    `json:"customer_name,omitempty"`
	MatchMethod      string    `json:"match_method,omitempty"`
	OwnerName        string    `json:"owner_name,omitempty"`
	OwnerEmail       string    `json:"owner_email,omitempty"`
	ParticipantNames []string  `json:"participant_names"`
	Summary          string    `json:"summary,omitempty"`
	RecordingURL     string    `json:"recording_url,omitempty"`
	TranscriptStatus string    `json:"transcript_status,omitempty"`
}

const meetingCols = `c.call_id, c.title, c.started_at, c.duration_seconds, c.engagement_type, c.customer_id, c.customer_name,
  c.match_method, c.owner_name, c.owner_email, c.participant_names, c.url, c.summary, c.transcript_status`

func meetingOf(r row) Meeting {
	m := Meeting{ID: r.str("call_id"), Title: r.str("title"), StartedAt: r.time("started_at"),
		DurationSeconds: r.float("duration_seconds"), EngagementType: r.str("engagement_type"),
		CustomerID: r.str("customer_id"), CustomerName: r.str("customer_name"), MatchMethod: r.str("match_method"),
		OwnerName: r.str("owner_name"), OwnerEmail: r.str("owner_email"), Summary: r.str("summary"),
		RecordingURL: r.str("url"), TranscriptStatus: r.str("transcript_status"), ParticipantNames: []string{}}
	for _, n := range strings.Split(r.str("participant_names"), "; ") {
		if n != "" {
			m.ParticipantNames = append(m.ParticipantNames, n)
		}
	}
	return m
}

// MeetingFilter selects calls for the library. From is inclusive, To
// exclusive; zero times and empty strings do not filter.
type MeetingFilter struct {
	CustomerID  string
	From, To    time.Time
	Participant string // substring of a participant's name or email
	Text        string // substring of the title or the summary
	Page        int    // 1-based; ignored when After is set
	PageSize    int
	After       *Cursor
}

// Cursor is a position in the library's order (newest first, then by id).
type Cursor struct {
	StartedAt time.Time `json:"t"`
	ID        string    `json:"id"`
}

// String encodes the cursor for a next_cursor field.
func (c Cursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a cursor from a next_cursor field.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("cursor is not one this server gave out")
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.StartedAt.IsZero() || c.ID == "" || !ValidText(c.ID) {
		return nil, fmt.Errorf("cursor is not one this server gave out")
	}
	return &c, nil
}

// MeetingPage is one page of the library.
type MeetingPage struct {
	Meetings   []Meeting `json:"meetings"`
	Total      int64     `json:"total"` // calls matching the filters, all pages
	Page       int       `json:"page,omitempty"`
	PageSize   int       `json:"page_size"`
	NextPage   int       `json:"next_page,omitempty"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

// where renders the filters (without the cursor) as SQL conditions.
func (f MeetingFilter) where(q sqlText) []string {
	conds := []string{"TRUE"}
	if f.CustomerID != "" {
		conds = append(conds, "c.customer_id = "+q.str(f.CustomerID))
	}
	if !f.From.IsZero() {
		conds = append(conds, "c.started_at >= "+q.timestamp(f.From))
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.started_at < "+q.timestamp(f.To))
	}
	if f.Participant != "" {
		conds = append(conds, q.contains("CONCAT(COALESCE(c.participant_names, ''), ' ', COALESCE(c.participant_emails, ''))", f.Participant))
	}
	if f.Text != "" {
		conds = append(conds, "("+q.contains("COALESCE(c.title, '')", f.Text)+" OR "+q.contains("COALESCE(c.summary, '')", f.Text)+")")
	}
	return conds
}

// meetingsSQL is the page query and the count query of a filter.
func meetingsSQL(q sqlText, f MeetingFilter) (page, count string) {
	conds := f.where(q)
	count = fmt.Sprintf("SELECT COUNT(*) AS n FROM %s AS c WHERE %s", q.table("customer_calls"), strings.Join(conds, " AND "))
	offset := 0
	if f.After != nil {
		t := q.timestamp(f.After.StartedAt)
		conds = append(conds, fmt.Sprintf("(c.started_at < %s OR (c.started_at = %s AND c.call_id > %s))", t, t, q.str(f.After.ID)))
	} else {
		offset = (f.Page - 1) * f.PageSize
	}
	// One more row than the page says whether there is a next one.
	page = fmt.Sprintf(`SELECT %s
FROM %s AS c
WHERE %s
ORDER BY c.started_at DESC, c.call_id
LIMIT %s OFFSET %s`, meetingCols, q.table("customer_calls"), strings.Join(conds, "\n  AND "), q.integer(f.PageSize+1), q.integer(offset))
	return page, count
}

// meetings answers one page of the library.
func (s *Store) meetings(ctx context.Context, f MeetingFilter) (*MeetingPage, error) {
	pageSQL, countSQL := meetingsSQL(s.q, f)
	rows, err := s.query(ctx, "meetings", pageSQL)
	if err != nil {
		return nil, err
	}
	counted, err := s.query(ctx, "meetings count", countSQL)
	if err != nil {
		return nil, err
	}
	out := &MeetingPage{Meetings: []Meeting{}, PageSize: f.PageSize}
	if len(counted) == 1 {
		out.Total = counted[0].int("n")
	}
	more := len(rows) > f.PageSize
	if more {
		rows = rows[:f.PageSize]
	}
	for _, r := range rows {
		out.Meetings = append(out.Meetings, meetingOf(r))
	}
	if f.After == nil {
		out.Page = f.Page
		if more {
			out.NextPage = f.Page + 1
		}
	}
	if more {
		last := out.Meetings[len(out.Meetings)-1]
		out.NextCursor = Cursor{StartedAt: last.StartedAt, ID: last.ID}.String()
	}
	return out, nil
}

// MeetingDetail is one call with its people, tasks and signals.
type MeetingDetail struct {
	Meeting
	AccountName       string        `json:"account_name,omitempty"`
	OpportunityName   string        `json:"opportunity_name,omitempty"`
	DealStage         string        `json:"deal_stage,omitempty"`
	MatchConfidence   *float64      `json:"match_confidence,omitempty"`
	CSMName           string        `json:"csm_name,omitempty"`
	CSMEmail          string        `json:"csm_email,omitempty"`
	CustomerTalkShare *float64      `json:"customer_talk_share,omitempty"`
	EngagingQuestions *float64      `json:"engaging_questions,omitempty"`
	Participants      []Participant `json:"participants"`
	Tasks             []Task        `json:"tasks"`
	Signals           []Signal      `json:"signals"`
}

// Participant is a person on a call.
type Participant struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Type       string `json:"type"` // rep, customer, …
	IsRep      bool   `json:"is_rep"`
	IsExternal bool   `json:"is_external"`
}

// Signal is a mapped tracker that fired on a call.
type Signal struct {
	Tracker  string `json:"tracker"`
	Category string `json:"category"`
	Mentions int64  `json:"mentions"`
}

// meeting answers one call, ErrNotFound when the warehouse has none.
func (s *Store) meeting(ctx context.Context, id string) (*MeetingDetail, error) {
	q := s.q
	rows, err := s.query(ctx, "meeting", fmt.Sprintf(`SELECT %s, c.account_name, c.opportunity_name, c.deal_stage, c.match_confidence,
  c.csm_name, c.csm_email, c.customer_talk_share, c.engaging_questions
FROM %s AS c WHERE c.call_id = %s`, meetingCols, q.table("customer_calls"), q.str(id)))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, notFoundf("meeting %q is not in the warehouse", id)
	}
	r := rows[0]
	d := &MeetingDetail{Meeting: meetingOf(r), AccountName: r.str("account_name"), OpportunityName: r.str("opportunity_name"),
		DealStage: r.str("deal_stage"), MatchConfidence: r.optFloat("match_confidence"), CSMName: r.str("csm_name"),
		CSMEmail: r.str("csm_email"), CustomerTalkShare: r.optFloat("customer_talk_share"), EngagingQuestions: r.optFloat("engaging_questions"),
		Participants: []Participant{}, Signals: []Signal{}}
	people, err := s.query(ctx, "participants", fmt.Sprintf(`SELECT p.name, p.email, p.participant_type, p.is_rep, p.is_external
FROM %s AS p WHERE p.call_id = %s
ORDER BY p.is_rep DESC, p.name, p.email`, q.table("int_call_participants"), q.str(id)))
	if err != nil {
		return nil, err
	}
	for _, p := range people {
		d.Participants = append(d.Participants, Participant{Name: p.str("name"), Email: p.str("email"),
			Type: p.str("participant_type"), IsRep: p.bool("is_rep"), IsExternal: p.bool("is_external")})
	}
	if d.Tasks, _, err = s.tasks(ctx, "call_id", id, false, 0); err != nil {
		return nil, err
	}
	signals, err := s.query(ctx, "signals", fmt.Sprintf(`SELECT s.tracker_name, s.category, s.mentions
FROM %s AS s WHERE s.call_id = %s
ORDER BY s.mentions DESC, s.tracker_name`, q.table("int_call_signals"), q.str(id)))
	if err != nil {
		return nil, err
	}
	for _, g := range signals {
		d.Signals = append(d.Signals, Signal{Tracker: g.str("tracker_name"), Category: g.str("category"), Mentions: g.int("mentions")})
	}
	return d, nil
}

// Task is an action item as a task (model customer_tasks).
type Task struct {
	ID            string    `json:"id"`
	CallID        string    `json:"call_id"`
	CallTitle     string    `json:"call_title,omitempty"`
	CustomerID    string    `json:"customer_id,omitempty"`
	CustomerName  string    `json:"customer_name,omitempty"`
	Description   string    `json:"description"`
	Source        string    `json:"source"` // chorus | derived
	OwnerHint     string    `json:"owner_hint,omitempty"`
	AssigneeName  string    `json:"assignee_name,omitempty"`
	AssigneeEmail string    `json:"assignee_email,omitempty"`
	DueDate       string    `json:"due_date,omitempty"`
	DueHint       string    `json:"due_hint,omitempty"`
	Status        string    `json:"status"` // open | overdue | followed_up | stale (customer_tasks)
	CreatedAt     time.Time `json:"created_at"`
	// UtteranceIndex and StartSeconds place the item in the transcript.
	UtteranceIndex *int64   `json:"utterance_index,omitempty"`
	StartSeconds   *float64 `json:"start_seconds,omitempty"`
	Link           string   `json:"link,omitempty"` // the moment in the recording
}

// actionableTasks is the condition on customer_tasks (as t) of the tasks
// still to act on: open or overdue (not followed up, not stale).
const actionableTasks = "t.status IN ('open', 'overdue')"

// tasks lists the tasks whose column col (call_id or customer_id) equals
// value, soonest due first; only the actionable ones when actionable;
// limit 0 means all. total counts them all.
func (s *Store) tasks(ctx context.Context, col, value string, actionable bool, limit int) ([]Task, int64, error) {
	q := s.q
	where := fmt.Sprintf("t.%s = %s", col, q.str(value))
	if actionable {
		where += " AND " + actionableTasks
	}
	sql := fmt.Sprintf(`SELECT t.task_id, t.call_id, t.call_title, t.customer_id, t.customer_name, t.description, t.source,
  t.owner_hint, t.assignee_name, t.assignee_email, t.due_date, t.due_hint, t.status, t.created_at,
  t.utterance_index, t.utterance_start_seconds, t.call_link, t.item_index
FROM %s AS t WHERE %s`, q.table("customer_tasks"), where)
	if limit > 0 {
		sql += "\nORDER BY t.due_date IS NULL, t.due_date, t.created_at, t.call_id, t.item_index LIMIT " + q.integer(limit)
	}
	rows, err := s.query(ctx, "tasks", sql)
	if err != nil {
		return nil, 0, err
	}
	total := int64(len(rows))
	if limit > 0 && len(rows) == limit {
		n, err := s.query(ctx, "tasks count", fmt.Sprintf("SELECT COUNT(*) AS n FROM %s AS t WHERE %s", q.table("customer_tasks"), where))
		if err != nil {
			return nil, 0, err
		}
		total = n[0].int("n")
	}
	if limit == 0 { // a call's few tasks: sorted here, which costs DuckDB less
		slices.SortFunc(rows, func(a, b row) int {
			da, db := a.date("due_date"), b.date("due_date")
			return cmp.Or(cmp.Compare(b2i(da == ""), b2i(db == "")), cmp.Compare(da, db), a.time("created_at").Compare(b.time("created_at")),
				cmp.Compare(a.str("call_id"), b.str("call_id")), cmp.Compare(a.int("item_index"), b.int("item_index")))
		})
	}
	out := []Task{}
	for _, r := range rows {
		out = append(out, Task{ID: r.str("task_id"), CallID: r.str("call_id"), CallTitle: r.str("call_title"),
			CustomerID: r.str("customer_id"), CustomerName: r.str("customer_name"), Description: r.str("description"),
			Source: r.str("source"), OwnerHint: r.str("owner_hint"), AssigneeName: r.str("assignee_name"),
			AssigneeEmail: r.str("assignee_email"), DueDate: r.date("due_date"), DueHint: r.str("due_hint"),
			Status: r.str("status"), CreatedAt: r.time("created_at"), UtteranceIndex: r.optInt("utterance_index"),
			StartSeconds: r.optFloat("utterance_start_seconds"), Link: r.str("call_link")})
	}
	return out, total, nil
}

// Transcript is a call's speaker-attributed transcript.
type Transcript struct {
	CallID           string      `json:"call_id"`
	Title            string      `json:"title"`
	StartedAt        time.Time   `json:"started_at"`
	CustomerID       string      `json:"customer_id,omitempty"`
	CustomerName     string      `json:"customer_name,omitempty"`
	RecordingURL     string      `json:"recording_url,omitempty"`
	TranscriptStatus string      `json:"transcript_status,omitempty"`
	Utterances       []Utterance `json:"utterances"`
}

// Utterance is one line of a transcript.
type Utterance struct {
	Index           int64    `json:"index"`
	Speaker         string   `json:"speaker"`
	SpeakerType     string   `json:"speaker_type"`
	StartSeconds    float64  `json:"start_seconds"`
	Start           string   `json:"start"` // mm:ss or h:mm:ss
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	Text            string   `json:"text"`
	Link            string   `json:"link,omitempty"` // recording URL#t=seconds
}

// transcript answers a call's transcript: every utterance, in order. A
// call without one (processing, no-show) has no utterances and says its
// transcript_status; a call the warehouse does not hold is ErrNotFound.
// transcript_search is stored in call order, so the filter on call_id
// reads the few row groups that hold the call.
func (s *Store) transcript(ctx context.Context, id string) (*Transcript, error) {
	q := s.q
	calls, err := s.query(ctx, "transcript call", fmt.Sprintf(`SELECT c.call_id, c.title, c.started_at, c.customer_id, c.customer_name,
  c.url, c.transcript_status FROM %s AS c WHERE c.call_id = %s`, q.table("customer_calls"), q.str(id)))
	if err != nil {
		return nil, err
	}
	if len(calls) == 0 {
		return nil, notFoundf("meeting %q is not in the warehouse", id)
	}
	c := calls[0]
	t := &Transcript{CallID: id, Title: c.str("title"), StartedAt: c.time("started_at"), CustomerID: c.str("customer_id"),
		CustomerName: c.str("customer_name"), RecordingURL: c.str("url"), TranscriptStatus: c.str("transcript_status"),
		Utterances: []Utterance{}}
	// Sorted here rather than by ORDER BY: under load a sort operator
	// costs DuckDB more than the scan that finds the call's rows.
	rows, err := s.query(ctx, "transcript", fmt.Sprintf(`SELECT s.utterance_index, s.speaker_name, s.speaker_type, s.start_seconds,
  s.duration_seconds, s.text, s.link
FROM %s AS s WHERE s.call_id = %s`, q.table("transcript_search"), q.str(id)))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(a, b row) int { return cmp.Compare(a.int("utterance_index"), b.int("utterance_index")) })
	for _, r := range rows {
		t.Utterances = append(t.Utterances, Utterance{Index: r.int("utterance_index"), Speaker: r.str("speaker_name"),
			SpeakerType: r.str("speaker_type"), StartSeconds: r.float("start_seconds"), Start: transforms.FormatOffset(r.float("start_seconds")),
			DurationSeconds: r.optFloat("duration_seconds"), Text: r.str("text"), Link: r.str("link")})
	}
	return t, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
