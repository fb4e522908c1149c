package streamrows

// Fuzz targets for the API response bodies (through the real client and the
// chorusapi.V3 adapter, over an in-memory transport) and the rows built from
// them. Each checks invariants, not only "does not panic". The listing's
// continuation keys are fuzzed in connector/engine.
//
// Short CI runs (one target per command; go test -fuzz takes one target):
//
//	go test ./connector/streamrows/ -run '^$' -fuzz '^FuzzEngagementPage$' -fuzztime 10s
//	go test ./connector/streamrows/ -run '^$' -fuzz '^FuzzConversation$'   -fuzztime 10s
//
// Seeds live in testdata/fuzz/<FuzzName>/ (plus the f.Add calls below);
// a plain `go test ./connector/streamrows/` runs every seed as a regular test.

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// bodyTransport answers every request with the same status and body,
// without a network: fuzzing goes through the real client (status handling,
// body limits, retries, decoding) at in-memory speed.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: b.status, Status: http.StatusText(b.status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(b.body)),
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// fuzzAPI is a V3 adapter whose every response is body; retries happen at
// once.
func fuzzAPI(t testing.TB, body []byte) *chorusapi.V3 {
	cfg, err := config.Parse([]byte(`{"api_token":"fuzz-token-0123","base_url":"http://chorus.fuzz.invalid","requests_per_second":1e9,"max_retries":1}`), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	return chorusapi.NewV3(client.New(cfg, client.Options{HTTPClient: &http.Client{Transport: bodyTransport{200, body}}, Backoff: time.Nanosecond, MaxBackoff: time.Nanosecond}))
}

// addSeedFile adds a recorded response as a seed when it exists.
func addSeedFile(f *testing.F, path string) {
	if b, err := os.ReadFile(path); err == nil {
		f.Add(b)
	}
}

// representable reports whether t survives the trip to a Parquet
// microsecond timestamp (and a JSON time) unchanged.
func representable(t time.Time) bool {
	u := t.UTC()
	return u.Year() >= 0 && u.Year() <= 9999 && time.UnixMicro(u.UnixMicro()).Equal(u.Truncate(time.Microsecond))
}

// checkRow asserts that a row only holds the value types the sinks accept
// and that every non-null column exists in the stream's schema.
func checkRow(t *testing.T, stream string, r Row) {
	t.Helper()
	st := schemas.Get(stream)
	if st == nil {
		t.Fatalf("row for unknown stream %q", stream)
	}
	cols := map[string]bool{}
	for _, c := range st.Columns {
		cols[c.Name] = true
	}
	for k, v := range r {
		if !cols[k] {
			t.Fatalf("%s row has column %q that the schema does not know", stream, k)
		}
		switch x := v.(type) {
		case nil, string, int64, bool, []int64, []string:
		case float64:
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%s.%s is %v", stream, k, x)
			}
		case time.Time:
			if !representable(x) {
				t.Fatalf("%s.%s = %v does not fit a Parquet timestamp", stream, k, x)
			}
		default:
			t.Fatalf("%s.%s has type %T", stream, k, v)
		}
	}
	if x, ok := r["_extra"].(string); ok && !json.Valid([]byte(x)) {
		t.Fatalf("%s._extra is not JSON: %q", stream, x)
	}
	for _, k := range st.Key {
		if r[k] == nil {
			t.Fatalf("%s row without key column %s: %v", stream, k, r)
		}
	}
}

// checkExtra: what is kept in _extra is valid JSON (a known key may be there
// too, when its value had a shape the connector cannot use).
func checkExtra(t *testing.T, what string, x chorusapi.Extra) {
	t.Helper()
	for k, v := range x {
		if !json.Valid(v) {
			t.Fatalf("%s: _extra[%q] is not JSON: %q", what, k, v)
		}
	}
}

func checkErrLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error message is not one line: %q", msg)
	}
}

// FuzzEngagementPage decodes a listing page through the client and adapter.
// Invariants: no panic; an error is one line; a decoded page has engagements
// with a trimmed, non-empty id, a representable start time and a lower-case
// type; _extra keeps only unknown keys, as JSON; the rows built from the
// page fit the schemas.
func FuzzEngagementPage(f *testing.F) {
	addSeedFile(f, "../../testdata/api/engagements_page.json")
	for _, s := range []string{
		`{"continuation_key":null,"engagements":[]}`,
		`{"continuation_key":"1591110020.0 X","engagements":[{"engagement_id":"A","engagement_type":"MEETING","date_time":1632490362}]}`,
		`{"data":[{"engagement_id":7,"engagement_type":"dialer","date_time":"2026-03-01T10:00:00+02:00","participants":{"x":1},"tracker_matches":[{"name":"P","num_matches":"3"},{"name":""},5]}]}`,
		`{"engagements":[{"engagement_id":"  ","date_time":1}]}`,
		`{"engagements":[{"engagement_id":"B","date_time":"NaN"}]}`,
		`{"engagements":[{"engagement_id":"B","date_time":1e300}]}`,
		`{"engagements":[{"engagement_id":"B","date_time":"-62135596801"}]}`,
		`{"engagements":[{"engagement_id":"C","date_time":"2026-03-01","duration":"Infinity","no_show":"yes","user_id":1.5,"action_items":"call back"}]}`,
		`{"engagements":"nope"}`,
		`[1,2,3]`,
		`<html><body>502 Bad Gateway</body></html>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := fuzzAPI(t, body).ListEngagements(context.Background(), chorusapi.ListQuery{From: time.Unix(0, 0), To: time.Unix(2e9, 0)})
		if err != nil {
			checkErrLine(t, err)
			return
		}
		if p.Next != strings.TrimSpace(p.Next) {
			t.Fatalf("continuation key not trimmed: %q", p.Next)
		}
		for i := range p.Engagements {
			e := &p.Engagements[i]
			if e.ID == "" || e.ID != strings.TrimSpace(e.ID) {
				t.Fatalf("engagement id %q", e.ID)
			}
			if e.Type != strings.ToLower(e.Type) {
				t.Fatalf("engagement type %q not lower-cased", e.Type)
			}
			if !representable(e.StartedAt) {
				t.Fatalf("engagement %s starts at %v: not a usable time", e.ID, e.StartedAt)
			}
			checkExtra(t, "engagement", e.Extra)
			for _, m := range e.TrackerMatches {
				if m.Name == "" {
					t.Fatal("tracker match without a name")
				}
			}
			for _, pp := range e.Participants {
				checkExtra(t, "participant", pp.Extra)
			}
			b := testBatch()
			callRow(b, e, nil, "pending", rowMeta{})
			r := b.row(sParticipants)
			for _, pp := range mergeParticipants(e.Participants) {
				participantRow(r, e.ID, pp)
			}
			trackerRows(b, e, nil)
			for s, rows := range batchRows(t, b) {
				for _, r := range rows {
					checkRow(t, s, r)
				}
			}
		}
	})
}

// FuzzConversation decodes a conversation detail through the client and
// adapter, applies the size limits and builds every row. Invariants: no
// panic; an error is one line; the conversation has an id and a normalised
// status and speaker types; after truncation no utterance text exceeds the
// limit, the kept text is a prefix of the original (valid UTF-8 stays
// valid), the transcript total is within its limit, and the truncation
// record is there exactly when something was cut; every row fits its schema.
func FuzzConversation(f *testing.F) {
	addSeedFile(f, "../../testdata/api/conversation.json")
	for _, s := range []string{
		`{"data":{"id":"X","attributes":{"status":"DONE ","recording":{"utterances":[{"snippet":"héllo wörld, this is long enough to cut","speaker_type":"rep"}]}}}}`,
		`{"data":{"attributes":{"status":"processing"}}}`,
		`{"data":{"attributes":{"recording":{"utterances":[{"index":5,"snippet":"a"},{"index":5,"snippet":"b"},{"index":-3,"snippet":"日本語のテキストです。日本語のテキストです。"}],"trackers":[{"name":"P","mentions":[{"utterance":5,"offset":1},{"utterance":5,"offset":1},{"utterance":"x"}]}]}}}}`,
		`{"data":{"attributes":{"metrics":[{"name":"talk_ratio","value":"NaN"},{"name":"","value":1}],"recording":{"start_time":1e300,"duration":"1e999"}}}}`,
		`{"data":{"attributes":{"recording":"oops"}}}`,
		`{"data":[]}`,
		`{"data":null}`,
		`{}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	const uttLimit, transcriptLimit = 16, 64
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := fuzzAPI(t, body).GetConversation(context.Background(), "C1")
		if err != nil {
			checkErrLine(t, err)
			return
		}
		if c.ID == "" {
			t.Fatal("conversation without an id")
		}
		if c.Status != strings.ToLower(strings.TrimSpace(c.Status)) {
			t.Fatalf("status %q not normalised", c.Status)
		}
		checkExtra(t, "conversation", c.Extra)
		orig := make([]string, len(c.Utterances))
		for i, u := range c.Utterances {
			orig[i] = u.Text
			switch u.SpeakerType {
			case "rep", "customer", "unknown":
			default:
				t.Fatalf("speaker type %q", u.SpeakerType)
			}
			checkExtra(t, "utterance", u.Extra)
		}
		before := len(c.Utterances)
		trunc := truncateTranscript(c, Limits{UtteranceBytes: uttLimit, TranscriptBytes: transcriptLimit})
		cut, sum := false, 0
		for i, u := range c.Utterances {
			if len(u.Text) > uttLimit {
				t.Fatalf("utterance %d keeps %d bytes, limit %d", i, len(u.Text), uttLimit)
			}
			if !strings.HasPrefix(orig[i], u.Text) {
				t.Fatalf("utterance %d: %q is not a prefix of %q", i, u.Text, orig[i])
			}
			if utf8.ValidString(orig[i]) && !utf8.ValidString(u.Text) {
				t.Fatalf("utterance %d: cutting made invalid UTF-8: %q", i, u.Text)
			}
			if u.Text != orig[i] {
				cut = true
				if u.Extra["truncation"] == nil {
					t.Fatalf("utterance %d was cut without a truncation record", i)
				}
			}
			sum += len(u.Text)
		}
		if sum > transcriptLimit {
			t.Fatalf("transcript keeps %d bytes, limit %d", sum, transcriptLimit)
		}
		dropped := before - len(c.Utterances)
		if (cut || dropped > 0) != (trunc != nil) {
			t.Fatalf("cut=%v dropped=%d but truncation record %v", cut, dropped, trunc)
		}
		if trunc != nil && trunc["utterances_dropped"] != dropped {
			t.Fatalf("truncation says %v dropped, %d were", trunc["utterances_dropped"], dropped)
		}
		e := &chorusapi.Engagement{ID: "C1", Type: "meeting", StartedAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		b := testBatch()
		callRow(b, e, c, "complete", rowMeta{truncation: trunc})
		childRows(b, e, c)
		built := batchRows(t, b)
		if len(built["calls"]) != 1 {
			t.Fatalf("%d calls rows", len(built["calls"]))
		}
		rows := map[string]int{}
		for _, s := range schemas.Order {
			for _, r := range built[s] {
				checkRow(t, s, r)
				if s == "calls" {
					continue
				}
				rows[s]++
				if s == "utterances" && r["text_truncated"] == true && !strings.Contains(r["_extra"].(string), "truncation") {
					t.Fatal("text_truncated without _extra.truncation")
				}
			}
		}
		if rows["utterances"] != len(c.Utterances) {
			t.Fatalf("%d utterance rows for %d utterances", rows["utterances"], len(c.Utterances))
		}
	})
}
