package chorustest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// fixedNow is the clock used by tests that need byte-for-byte determinism.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// response is one HTTP exchange as a test sees it.
type response struct {
	status  int
	header  http.Header
	body    []byte
	readErr error
}

// get sends an authorised GET (raw token) and reads the whole body.
func get(t testing.TB, base, path string) response {
	t.Helper()
	return getAuth(t, base, path, "test-token")
}

func getAuth(t testing.TB, base, path, auth string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, rerr := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b, readErr: rerr}
}

// listPage is a decoded /v3/engagements page; key distinguishes absent
// (nil), null and string.
type listPage struct {
	Key         json.RawMessage `json:"continuation_key"`
	Engagements []struct {
		ID              string          `json:"engagement_id"`
		Type            string          `json:"engagement_type"`
		DateTime        int64           `json:"date_time"`
		ProcessingState string          `json:"processing_state"`
		TrackerMatches  json.RawMessage `json:"tracker_matches"`
		ActionItems     json.RawMessage `json:"action_items"`
	} `json:"engagements"`
}

// endings of a listing, as a client sees them.
const (
	endNull      = "null"
	endAbsent    = "absent"
	endEmpty     = `""`
	endEmptyPage = "empty page"
	endSpace     = `" "` // the live behaviour
	endRepeat    = "repeated key"
)

// listAll pages through /v3/engagements like a simple client: it stops on an
// empty page, a null/absent/empty key, or a repeated key. between, when set,
// runs between pages.
func listAll(t testing.TB, base string, params url.Values, between func()) (ids []string, pages []listPage, ending string) {
	t.Helper()
	key := ""
	for range 10000 {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		if key != "" {
			q.Set("continuation_key", key)
		}
		r := get(t, base, "/v3/engagements?"+q.Encode())
		if r.status != 200 {
			t.Fatalf("list: status %d: %s", r.status, r.body)
		}
		var p listPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("list: %v", err)
		}
		pages = append(pages, p)
		if len(p.Engagements) == 0 && p.Key != nil && string(p.Key) != "null" && string(p.Key) != `""` && string(p.Key) != `" "` {
			return ids, pages, endEmptyPage
		}
		for _, e := range p.Engagements {
			ids = append(ids, e.ID)
		}
		switch {
		case p.Key == nil:
			return ids, pages, endAbsent
		case string(p.Key) == "null":
			return ids, pages, endNull
		case string(p.Key) == `""`:
			return ids, pages, endEmpty
		case string(p.Key) == `" "`:
			return ids, pages, endSpace
		}
		var next string
		if err := json.Unmarshal(p.Key, &next); err != nil {
			t.Fatalf("continuation_key %s: %v", p.Key, err)
		}
		if next == key {
			return ids, pages, endRepeat
		}
		key = next
		if between != nil {
			between()
		}
	}
	t.Fatal("listing does not end")
	return
}

// conversation is a decoded detail response (the parts tests look at).
type conversation struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			Status      string          `json:"status"`
			ActionItems json.RawMessage `json:"action_items"`
			Recording   struct {
				Utterances []struct {
					Index       int     `json:"index"`
					Snippet     string  `json:"snippet"`
					SpeakerType *string `json:"speaker_type"`
					SnippetTime float64 `json:"snippet_time"`
				} `json:"utterances"`
				Trackers []struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Count    int    `json:"count"`
					Mentions []struct {
						Utterance int `json:"utterance"`
						Offset    int `json:"offset"`
					} `json:"mentions"`
				} `json:"trackers"`
			} `json:"recording"`
		} `json:"attributes"`
	} `json:"data"`
}

func getConversation(t testing.TB, base, id string) (conversation, response) {
	t.Helper()
	r := get(t, base, "/api/v1/conversations/"+id)
	var c conversation
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatalf("conversation %s: %v", id, err)
		}
	}
	return c, r
}

// visible returns the ids of truth engagements started by now within
// [min, max], newest first.
func visible(ten *chorustest.Tenant, minT, maxT time.Time) []string {
	var ids []string
	all := ten.Engagements()
	now := ten.Now()
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if e.StartedAt.After(now) || e.StartedAt.Before(minT) || (!maxT.IsZero() && e.StartedAt.After(maxT)) {
			continue
		}
		ids = append(ids, e.ID)
	}
	return ids
}
