package engine

// A fuzz target for the engagement listing's continuation keys (the fuzz
// targets of the API bodies and the rows built from them are in
// connector/streamrows). Short CI run:
//
//	go test ./connector/engine/ -run '^$' -fuzz '^FuzzListing$' -fuzztime 10s
//
// Seeds live in testdata/fuzz/FuzzListing/ (plus the f.Add calls below).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

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
