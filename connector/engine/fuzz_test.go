package engine

// Fuzz targets for everything the connector reads from outside: API
// response bodies (through the real client and the chorusapi.V3 adapter, over an
// in-memory transport), the continuation keys of the engagement listing, and
// state documents. Each checks invariants, not only "does not panic".
//
// Short CI runs (one target per command; go test -fuzz takes one target):
//
//	go test ./connector/ -run '^$' -fuzz '^FuzzEngagementPage$' -fuzztime 10s
//	go test ./connector/ -run '^$' -fuzz '^FuzzConversation$'   -fuzztime 10s
//	go test ./connector/ -run '^$' -fuzz '^FuzzListing$'        -fuzztime 10s
//	go test ./connector/ -run '^$' -fuzz '^FuzzParseState$'     -fuzztime 10s
//
// Seeds live in testdata/fuzz/<FuzzName>/ (plus the f.Add calls below);
// a plain `go test ./connector/` runs every seed as a regular test.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
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
			callRow(b, e, nil, StatusPending, rowMeta{})
			r := b.Row(sParticipants)
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
		trunc := truncateTranscript(c, limits{utteranceBytes: uttLimit, transcriptBytes: transcriptLimit})
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
		callRow(b, e, c, StatusComplete, rowMeta{truncation: trunc})
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

// scriptAPI serves a listing scripted by fuzz input. Every request costs one
// step; the pages it returns are chosen by the continuation key asked for.
// served records the engagement ids of every page it answered, in order, a
// page read twice twice.
type scriptAPI struct {
	pages    []scriptPage
	calls    int
	maxCalls int
	fresh    int
	served   []string
}

type scriptPage struct {
	next   string
	n      int // engagements on the page
	first  int // id of the first
	err504 bool
}

var errRunaway = errors.New("listing did not terminate")

func (s *scriptAPI) ListEngagements(_ context.Context, q chorusapi.ListQuery) (chorusapi.Page, error) {
	s.calls++
	if s.calls > s.maxCalls {
		return chorusapi.Page{}, errRunaway
	}
	// The page for a key: keys "p<i>" name page i; the first request, and
	// any key the script does not know, get page (hash of key) so that
	// unknown keys still map somewhere deterministic.
	idx := 0
	if q.Continuation != "" {
		h := 0
		for _, c := range []byte(q.Continuation) {
			h = h*31 + int(c)
		}
		idx = (h & 0x7fffffff) % len(s.pages)
		var i int
		if _, err := fmt.Sscanf(q.Continuation, "p%d", &i); err == nil && i >= 0 && i < len(s.pages) {
			idx = i
		}
	}
	pg := s.pages[idx]
	if pg.err504 && q.To.Sub(q.From) > 5*time.Minute {
		return chorusapi.Page{}, &client.GatewayTimeoutError{Path: "/v3/engagements"}
	}
	p := chorusapi.Page{Next: pg.next}
	if pg.next == "*" { // a key never seen before, every time
		s.fresh++
		p.Next = fmt.Sprintf("fresh-%d", s.fresh)
	}
	for i := 0; i < pg.n; i++ {
		p.Engagements = append(p.Engagements, chorusapi.Engagement{ID: fmt.Sprintf("E%d", pg.first+i), Type: "meeting", StartedAt: q.From})
		s.served = append(s.served, p.Engagements[i].ID)
	}
	return p, nil
}

func (s *scriptAPI) GetConversation(context.Context, string) (*chorusapi.Conversation, error) {
	return nil, errors.New("not used")
}
func (s *scriptAPI) ListUsers(context.Context) ([]chorusapi.User, error) { return nil, nil }
func (s *scriptAPI) ListTeams(context.Context) ([]chorusapi.Team, error) { return nil, nil }
func (s *scriptAPI) ListScorecards(context.Context, chorusapi.ScorecardQuery) (chorusapi.ScorecardPage, error) {
	return chorusapi.ScorecardPage{}, nil
}
func (s *scriptAPI) GetSalesQualification(context.Context, string) (*chorusapi.SalesQualification, error) {
	return nil, &client.NotFoundError{}
}

// parseScript turns fuzz bytes into pages: each 4-byte group is one page
// (next key selector, engagement count, first id, flags).
func parseScript(data []byte) []scriptPage {
	var pages []scriptPage
	for len(data) >= 4 && len(pages) < 64 {
		sel, n, first, flags := data[0], data[1], data[2], data[3]
		data = data[4:]
		p := scriptPage{n: int(n % 8), first: int(first), err504: flags&1 != 0}
		switch {
		case sel == 0:
			p.next = ""
		case sel == 255:
			p.next = "*"
		case sel >= 200:
			p.next = fmt.Sprintf("junk-%d", sel)
		default:
			p.next = fmt.Sprintf("p%d", int(sel)%64)
		}
		if flags&2 != 0 {
			p.next = " " + p.next // untrimmed keys are still keys
		}
		pages = append(pages, p)
	}
	if len(pages) == 0 {
		pages = []scriptPage{{}}
	}
	return pages
}

// FuzzListing drives the listing loop (continuation keys, repeated and
// unknown keys, empty pages, 504s that narrow the window) with scripted
// pages. Invariants: it never panics, it terminates (within a bound far
// above any legitimate listing of the script), and every engagement on the
// pages it read is returned exactly once per reading: the engagements
// returned are, as a multiset, those of the pages the script served —
// none lost (a page read before a 504 narrowed the window, the last page),
// none added twice, none invented. An engagement on two pages, or on a page
// read again after a 504, is returned once per page: the listing keeps them
// ("duplicates are dropped later", by the producer, per call id), so the
// distinct ids returned are exactly the distinct ids served.
func FuzzListing(f *testing.F) {
	for _, s := range [][]byte{
		{0, 3, 0, 0},                         // one page, no key
		{1, 3, 0, 0, 2, 3, 3, 0, 0, 2, 6, 0}, // p0 → p1 → p2 → end
		{1, 3, 0, 0, 0, 0, 0, 0},             // p0 → p1 (empty)
		{1, 3, 0, 0, 1, 3, 0, 0},             // a key that repeats
		{1, 3, 0, 0, 0, 3, 9, 0},             // p0 → p1 (another page)
		{2, 1, 0, 0, 1, 1, 1, 0, 2, 1, 2, 0}, // p0 → p2 → p1 → p2 …
		{1, 3, 0, 1, 0, 3, 0, 0},             // 504 on the first page
		{210, 2, 0, 0},                       // a key the API does not know
		{1, 2, 0, 2, 1, 2, 0, 2},             // untrimmed keys
		{255, 3, 0, 0},                       // a fresh key every time, same page
		{255, 0, 0, 0},                       // a fresh key every time, empty page
		{1, 3, 0, 0, 0, 2, 10, 1},            // p0 → p1, which times out: p0 is read again in each narrowed window
		{1, 2, 0, 0, 2, 2, 1, 0, 0, 2, 2, 1}, // p0 → p1 (overlaps p0) → p2 (504 after two pages read)
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pages := parseScript(data)
		// A 504 halves the window until it is five minutes or less: 24 h
		// halves into at most 512 leaves, 1023 windows in all, each reading
		// at most one page per distinct key plus one.
		bound := 1024 * (len(pages) + 2)
		api := &scriptAPI{pages: pages, maxCalls: bound}
		cfg := &config.Config{SliceHours: 24, LookbackHours: 24, MaxConcurrency: 1}
		s := &Syncer{opt: Options{Config: cfg, API: api}, now: time.Now, done: map[string]bool{}}
		s.log = slog.New(slog.DiscardHandler)
		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		out, err := s.list(context.Background(), chorusapi.ListQuery{From: from, To: from.Add(24 * time.Hour)})
		if errors.Is(err, errRunaway) {
			t.Fatalf("the listing did not end after %d requests (pages %+v)", api.maxCalls, api.pages)
		}
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		// Each served engagement once per reading, and nothing else.
		served, returned, seen := map[string]int{}, map[string]int{}, map[string]bool{}
		for _, id := range api.served {
			served[id]++
			seen[id] = true
		}
		for _, e := range out {
			if e.ID == "" {
				t.Fatal("engagement without id")
			}
			returned[e.ID]++
			seen[e.ID] = true
		}
		for _, id := range slices.Sorted(maps.Keys(seen)) {
			if served[id] != returned[id] {
				t.Errorf("engagement %s: on %d pages read, returned %d times (pages %+v)", id, served[id], returned[id], api.pages)
			}
		}
	})
}
