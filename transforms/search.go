package transforms

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// SearchOptions is a transcript search.
type SearchOptions struct {
	Phrase     string    // case-insensitive substring of an utterance
	CustomerID string    // only this customer's calls, when set
	Since      time.Time // only calls started at or after, when set
	Limit      int       // at most this many hits; 0 means 50
}

// SearchHit is one utterance that holds the phrase.
type SearchHit struct {
	CallID         string    `json:"call_id"`
	CallTitle      string    `json:"call_title"`
	StartedAt      time.Time `json:"started_at"`
	CustomerID     string    `json:"customer_id,omitempty"`
	CustomerName   string    `json:"customer_name,omitempty"`
	UtteranceIndex int64     `json:"utterance_index"`
	Speaker        string    `json:"speaker"`
	SpeakerType    string    `json:"speaker_type"`
	Offset         float64   `json:"offset_seconds"`
	Snippet        string    `json:"snippet"`
	Link           string    `json:"link,omitempty"`
}

// SearchSQL is the query behind Search, against the transcript_search model.
func SearchSQL(dialect, modelSchema string, o SearchOptions) string {
	limit := o.Limit
	if limit <= 0 {
		limit = 50
	}
	where := []string{fmt.Sprintf("STRPOS(LOWER(s.text), LOWER(%s)) > 0", sqlquote.String(dialect, o.Phrase))}
	if o.CustomerID != "" {
		where = append(where, "s.customer_id = "+sqlquote.String(dialect, o.CustomerID))
	}
	if !o.Since.IsZero() {
		where = append(where, "s.started_at >= "+literal(dialect, o.Since))
	}
	return fmt.Sprintf(`SELECT s.call_id, s.call_title, s.started_at, s.customer_id, s.customer_name, s.utterance_index,
  s.speaker_name, s.speaker_type, s.start_seconds, s.text, s.link
FROM %s AS s
WHERE %s
ORDER BY s.started_at DESC, s.call_id, s.utterance_index
LIMIT %d`, tableName(dialect, modelSchema, "transcript_search"), strings.Join(where, "\n  AND "), limit)
}

// Search finds utterances that hold a phrase, newest calls first.
func Search(ctx context.Context, e Engine, o SearchOptions) ([]SearchHit, error) {
	if strings.TrimSpace(o.Phrase) == "" {
		return nil, fmt.Errorf("search: the phrase is empty")
	}
	e, err := qualified(ctx, e)
	if err != nil {
		return nil, err
	}
	rows, err := e.Query(ctx, SearchSQL(e.Dialect(), e.ModelSchema(), o))
	if err != nil {
		return nil, fmt.Errorf("search: %w (has `chorus-elt transform` built transcript_search?)", err)
	}
	out := make([]SearchHit, 0, len(rows))
	for _, r := range rows {
		text := str(r["text"])
		out = append(out, SearchHit{
			CallID: str(r["call_id"]), CallTitle: str(r["call_title"]), StartedAt: tm(r["started_at"]),
			CustomerID: str(r["customer_id"]), CustomerName: str(r["customer_name"]),
			UtteranceIndex: toInt64(r["utterance_index"]), Speaker: str(r["speaker_name"]), SpeakerType: str(r["speaker_type"]),
			Offset: num(r["start_seconds"]), Snippet: Snippet(text, o.Phrase, 60), Link: str(r["link"]),
		})
	}
	return out, nil
}

// Snippet returns the text around the first case-insensitive match of
// phrase, about width characters either side, the match marked «like this».
func Snippet(text, phrase string, width int) string {
	loc := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(phrase)).FindStringIndex(text)
	if loc == nil {
		return clip(text, 2*width)
	}
	before, match, after := text[:loc[0]], text[loc[0]:loc[1]], text[loc[1]:]
	pre, post := "", ""
	if utf8.RuneCountInString(before) > width {
		r := []rune(before)
		before, pre = string(r[len(r)-width:]), "…"
	}
	if utf8.RuneCountInString(after) > width {
		r := []rune(after)
		after, post = string(r[:width]), "…"
	}
	return pre + before + "«" + match + "»" + after + post
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// CallTranscript is a call's speaker-attributed transcript.
type CallTranscript struct {
	CallID       string
	Title        string
	StartedAt    time.Time
	CustomerID   string
	CustomerName string
	Lines        []TranscriptLine
}

// TranscriptLine is one utterance.
type TranscriptLine struct {
	Index       int64
	Start       float64
	Speaker     string
	SpeakerType string
	Text        string
}

// TranscriptSQL is the query behind Transcript.
func TranscriptSQL(dialect, modelSchema, callID string) string {
	return fmt.Sprintf(`SELECT s.call_id, s.call_title, s.started_at, s.customer_id, s.customer_name, s.utterance_index,
  s.speaker_name, s.speaker_type, s.start_seconds, s.text
FROM %s AS s
WHERE s.call_id = %s
ORDER BY s.utterance_index`, tableName(dialect, modelSchema, "transcript_search"), sqlquote.String(dialect, callID))
}

// Transcript reads one call's transcript from transcript_search.
func Transcript(ctx context.Context, e Engine, callID string) (*CallTranscript, error) {
	e, err := qualified(ctx, e)
	if err != nil {
		return nil, err
	}
	rows, err := e.Query(ctx, TranscriptSQL(e.Dialect(), e.ModelSchema(), callID))
	if err != nil {
		return nil, fmt.Errorf("transcript %s: %w (has `chorus-elt transform` built transcript_search?)", callID, err)
	}
	if len(rows) == 0 {
		status := "not in the warehouse"
		st, err := e.Query(ctx, fmt.Sprintf("SELECT transcript_status FROM %s WHERE call_id = %s",
			tableName(e.Dialect(), e.ModelSchema(), "customer_calls"), sqlquote.String(e.Dialect(), callID)))
		if err == nil && len(st) > 0 {
			status = "transcript status " + str(st[0]["transcript_status"])
			if str(st[0]["transcript_status"]) == "" {
				status = "no transcript status"
			}
		}
		return nil, fmt.Errorf("transcript %s: no utterances (%s)", callID, status)
	}
	t := &CallTranscript{CallID: callID, Title: str(rows[0]["call_title"]), StartedAt: tm(rows[0]["started_at"]),
		CustomerID: str(rows[0]["customer_id"]), CustomerName: str(rows[0]["customer_name"])}
	for _, r := range rows {
		t.Lines = append(t.Lines, TranscriptLine{Index: toInt64(r["utterance_index"]), Start: num(r["start_seconds"]),
			Speaker: str(r["speaker_name"]), SpeakerType: str(r["speaker_type"]), Text: str(r["text"])})
	}
	return t, nil
}

// String renders the transcript: a header, then "[mm:ss] Speaker (rep): text"
// per utterance.
func (t *CallTranscript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s  %s", t.CallID, t.StartedAt.UTC().Format("2006-01-02 15:04 UTC"), t.Title)
	if t.CustomerID != "" {
		fmt.Fprintf(&b, "  [%s %s]", t.CustomerID, t.CustomerName)
	}
	b.WriteByte('\n')
	for _, l := range t.Lines {
		sp := l.Speaker
		if sp == "" {
			sp = "Unknown speaker"
		}
		typ := l.SpeakerType
		if typ == "" {
			typ = "unknown"
		}
		fmt.Fprintf(&b, "[%s] %s (%s): %s\n", FormatOffset(l.Start), sp, typ, l.Text)
	}
	return b.String()
}

// FormatOffset renders seconds as mm:ss, or h:mm:ss from an hour on.
func FormatOffset(sec float64) string {
	if sec < 0 || math.IsNaN(sec) {
		sec = 0
	}
	s := int64(sec)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	}
	return 0
}

func tm(v any) time.Time {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return time.Time{}
}
