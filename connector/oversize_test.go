package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
)

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

// oversizeTenant serves a simulated tenant, except that the details of
// some calls are replaced by the given bodies.
func oversizeTenant(t *testing.T, opts chorustest.Options, bodies func(tenant *chorustest.Tenant) map[string][]byte) (*httptest.Server, *chorustest.Tenant, map[string][]byte) {
	t.Helper()
	tenant := chorustest.New(opts)
	override := bodies(tenant)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/api/v1/conversations/"); ok && override[id] != nil &&
			r.Header.Get("Authorization") == opts.Token {
			w.Header().Set("Content-Type", "application/vnd.api+json")
			w.Write(override[id])
			return
		}
		tenant.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, tenant, override
}

type bigUtterance struct {
	Index       int     `json:"index"`
	SnippetTime float64 `json:"snippet_time"`
	Length      float64 `json:"snippet_length"`
	Snippet     string  `json:"snippet"`
	SpeakerName string  `json:"speaker_name"`
	SpeakerType string  `json:"speaker_type"`
}

// conversationBody renders a JSON:API conversation with these utterances.
func conversationBody(id string, utts []bigUtterance) []byte {
	var b bytes.Buffer
	size := 256
	for _, u := range utts {
		size += len(u.Snippet) + len(u.SpeakerName) + 128
	}
	b.Grow(size)
	fmt.Fprintf(&b, `{"data":{"type":"engagement","id":%q,"attributes":{"name":"oversized","status":"done","language":"en","recording":{"start_time":"2026-03-01T10:00:00Z","duration":3600,"utterances":[`, id)
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i, u := range utts {
		if i > 0 {
			b.WriteByte(',')
		}
		_ = enc.Encode(u) // into a bytes.Buffer: cannot fail; the newline it writes is JSON white space
	}
	b.WriteString(`],"trackers":[]}}}}`)
	return b.Bytes()
}

// pickCalls returns n recorded calls that have a detail (not no-show, not
// 404) and started before the tenant clock.
func pickCalls(t *testing.T, tenant *chorustest.Tenant, n int) []string {
	t.Helper()
	var ids []string
	for _, e := range tenant.RecordedCalls() {
		if !e.NoShow && !e.NotFound && e.StartedAt.Before(tenant.Now().Add(-time.Hour)) && len(ids) < n {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) < n {
		t.Fatalf("the tenant has only %d usable calls", len(ids))
	}
	return ids
}

// TestOversizedTranscriptAndUtterance: a call whose transcript is 50 MB and
// a call with a 1 MB utterance do not fail the sync; the Parquet rows say
// what was cut (calls.transcript_truncated and _extra.truncation,
// utterances.text_truncated and _extra.truncation), cuts respect UTF-8, and
// the other calls are untouched.
func TestOversizedTranscriptAndUtterance(t *testing.T) {
	if testing.Short() {
		t.Skip("serves a 50 MB transcript")
	}
	const tok = "tok-OVERSIZE-51c2e0"
	const bigUttSize = 20 << 10
	bigUtts := 2560 // × 20 KiB = 50 MiB of text
	if raceEnabled() {
		// The race detector multiplies memory and time (2 GB, 20 s at
		// 50 MiB); 20 MiB still exceeds max_transcript_bytes.
		bigUtts = 1024
		t.Log("race detector on: a 20 MiB transcript instead of 50 MiB")
	}
	// 1 MiB + 1 byte: one ASCII byte then two-byte runes, so that the 64 KiB
	// limit falls inside a rune and the cut must step back one byte.
	longText := "x" + strings.Repeat("é", 1<<19)
	var bigID, longID string
	srv, tenant, _ := oversizeTenant(t, chorustest.Options{Seed: 21, Calls: 8, Token: tok, ProcessingDelay: -1},
		func(tenant *chorustest.Tenant) map[string][]byte {
			ids := pickCalls(t, tenant, 2)
			bigID, longID = ids[0], ids[1]
			chunk := strings.Repeat("pricing roadmap security integration ", bigUttSize/36+1)
			var big []bigUtterance
			for i := range bigUtts {
				text := fmt.Sprintf("%06d ", i) + chunk
				big = append(big, bigUtterance{Index: i, SnippetTime: float64(i), Length: 1, Snippet: text[:bigUttSize], SpeakerName: "Rep", SpeakerType: "rep"})
			}
			long := []bigUtterance{
				{Index: 0, SnippetTime: 0, Length: 600, Snippet: longText, SpeakerName: "Pat", SpeakerType: "customer"},
				{Index: 1, SnippetTime: 600, Length: 2, Snippet: "Thanks, I'll send the notes by Friday.", SpeakerName: "Dana", SpeakerType: "rep"},
			}
			return map[string][]byte{bigID: conversationBody(bigID, big), longID: conversationBody(longID, long)}
		})

	dir := t.TempDir()
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q,"requests_per_second":2000,"max_concurrency":4,"timeout":"60s"}`,
		tok, srv.URL, tenant.Now().Add(-32*24*time.Hour).Format(time.RFC3339))
	cfg, err := config.Parse([]byte(doc), tenant.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	res, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: dir, Now: tenant.Now, Backoff: time.Millisecond})
	if err != nil {
		t.Fatalf("extract with oversized data failed: %v", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("extract: %d calls in %.1fs; allocated %d MiB in total, heap peak ≤ %d MiB (system %d MiB)",
		res.Calls, time.Since(start).Seconds(), (after.TotalAlloc-before.TotalAlloc)>>20, after.HeapSys>>20, after.Sys>>20)

	calls := map[string]map[string]any{}
	for _, r := range readStream(t, dir, "calls") {
		calls[r["call_id"].(string)] = r
	}
	extra := func(r map[string]any) map[string]any {
		t.Helper()
		s, _ := r["_extra"].(string)
		var m map[string]any
		if s != "" {
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatalf("_extra is not JSON: %v", err)
			}
		}
		return m
	}

	// The 50 MB transcript: the first 16 MiB of utterances are kept whole,
	// the rest dropped, and the calls row records it.
	limit := cfg.MaxTranscriptByte
	keep := limit / bigUttSize
	big := calls[bigID]
	if big == nil || big["transcript_status"] != engine.StatusComplete {
		t.Fatalf("the call with a 50 MB transcript is %v", big)
	}
	if big["transcript_truncated"] != true || big["utterance_count"] != float64(keep) {
		t.Fatalf("calls row: transcript_truncated=%v utterance_count=%v, want true and %d", big["transcript_truncated"], big["utterance_count"], keep)
	}
	tr, _ := extra(big)["truncation"].(map[string]any)
	want := map[string]any{"utterances_cut": 0.0, "utterances_dropped": float64(bigUtts - keep), "transcript_bytes": float64(bigUtts * bigUttSize),
		"limit_bytes": float64(limit), "utterance_limit": float64(cfg.MaxUtteranceBytes)}
	for k, v := range want {
		if tr[k] != v {
			t.Errorf("calls._extra.truncation.%s = %v, want %v (all: %v)", k, tr[k], v, tr)
		}
	}

	// The 1 MB utterance: cut to the limit at a rune boundary.
	long := calls[longID]
	if long["transcript_truncated"] != true {
		t.Fatalf("calls row of the call with a 1 MB utterance: transcript_truncated=%v", long["transcript_truncated"])
	}
	if tr, _ := extra(long)["truncation"].(map[string]any); tr["utterances_cut"] != 1.0 || tr["utterances_dropped"] != 0.0 {
		t.Errorf("calls._extra.truncation of the 1 MB utterance's call: %v", tr)
	}

	utts := map[string]int{}
	for _, u := range readStream(t, dir, "utterances") {
		id := u["call_id"].(string)
		utts[id]++
		text, _ := u["text"].(string)
		switch {
		case id == longID && u["utterance_index"] == 0.0:
			kept := cfg.MaxUtteranceBytes - 1 // the limit falls inside an "é"
			if u["text_truncated"] != true || len(text) != kept || !utf8.ValidString(text) || !strings.HasPrefix(longText, text) {
				t.Errorf("1 MB utterance: text_truncated=%v, %d bytes kept (want %d), valid UTF-8 %v", u["text_truncated"], len(text), kept, utf8.ValidString(text))
			}
			ut, _ := extra(u)["truncation"].(map[string]any)
			if ut["original_bytes"] != float64(len(longText)) || ut["kept_bytes"] != float64(kept) {
				t.Errorf("utterances._extra.truncation = %v, want original_bytes %d kept_bytes %d", ut, len(longText), kept)
			}
		case u["text_truncated"] != false:
			t.Errorf("utterance %s/%v: text_truncated=%v (%d bytes)", id, u["utterance_index"], u["text_truncated"], len(text))
		case id == bigID && len(text) != bigUttSize:
			t.Errorf("kept utterance %v of the big call has %d bytes", u["utterance_index"], len(text))
		}
	}
	if utts[bigID] != keep || utts[longID] != 2 {
		t.Errorf("utterance rows: %d for the big call (want %d), %d for the long one (want 2)", utts[bigID], keep, utts[longID])
	}
	for id, r := range calls {
		if id != bigID && id != longID && r["transcript_truncated"] == true {
			t.Errorf("call %s marked truncated", id)
		}
	}
}
