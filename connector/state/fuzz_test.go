package state

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseState: a state document either is refused with a *Error
// whose message is one line, or it yields a state of this version and
// tenant whose Marshal parses back to the same document (a fixed point), and
// which Clone copies without panicking.
func FuzzParse(f *testing.F) {
	const base = "https://acme.chorus.ai"
	wm := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	st := New(base)
	st.Calls.Watermark = &wm
	st.Calls.Known = map[string]KnownCall{"A": {StartedAt: wm.Add(-time.Hour), Status: "complete", Listing: "0123456789abcdef",
		AIPending: true, RecheckAt: &wm, Rechecks: 1}}
	st.Calls.Pending = map[string]PendingCall{"B": {StartedAt: wm, FirstSeen: wm, Attempts: 2}}
	st.Stream("users").SyncedAt = &wm
	plain := st.Marshal()
	f.Add(plain)
	f.Add([]byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"calls"},"stream_state":{"chorus_elt":` + string(plain) + `}}}]`))
	f.Add([]byte(`[{"type":"GLOBAL","global":{"shared_state":{"chorus_elt":` + string(plain) + `},"stream_states":[{"stream_descriptor":{"name":"teams"},"stream_state":{"synced_at":"2026-03-01T10:00:00Z"}}]}}]`))
	f.Add([]byte(`{"version":1,"tenant":"acme.chorus.ai","calls":{"watermark":"2026-03-01T10:00:00Z","seen":{"A":{"started_at":"2026-03-01T09:00:00Z","status":"complete"}},"pending":{"B":{"first_seen":"2026-03-01T10:00:00Z","attempts":2,"engagement":{"ID":"B","Subject":"Q3 review","StartedAt":"2026-03-01T10:00:00Z","Participants":[{"Name":"Pat","Email":"pat@acme.example"}]}}}},"directory_synced_at":"2026-03-01T10:00:00Z"}`))
	f.Add([]byte(`{"bookmarks":{"calls":{"chorus_elt":` + string(plain) + `,"started_at":"2026-03-01T10:00:00Z"}}}`))
	f.Add([]byte(`{"chorus_elt":` + string(plain) + `}`))
	for _, s := range []string{``, `{}`, `null`, `[]`, `{"version":2,"tenant":"acme.chorus.ai"}`, `{"version":1,"tenant":"other.example"}`,
		`{"version":1,"tenant":"acme.chorus.ai","calls":{"watermark":"2026-03-01T10:00:00+05:30"}}`,
		`{"version":1,"tenant":"acme.chorus.ai","extra":1}`, `{"bookmarks":5}`, `[{"type":"STREAM","stream":{"stream_state":{"chorus_elt":{"version":"x"}}}}]`,
		`{"version":1,"tenant":"acme.chorus.ai","calls":{"pending":{"X":{"engagement":{"Extra":{"k":[1, 2]}}}}}}`,
		`{"version":1,"tenant":"acme.chorus.ai"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := Parse(doc, base)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			checkErrLine(t, err)
			return
		}
		if s.Version != StateVersion || s.Tenant != "acme.chorus.ai" {
			t.Fatalf("parsed state has version %d tenant %q", s.Version, s.Tenant)
		}
		var m1 []byte
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Marshal of a parsed state panics: %v", r)
				}
			}()
			m1 = s.Marshal()
			_ = s.Clone()
		}()
		s2, err := Parse(m1, base)
		if err != nil {
			t.Fatalf("a marshalled state does not parse back: %v\n%s", err, m1)
		}
		if m2 := s2.Marshal(); !bytes.Equal(m1, m2) {
			t.Fatalf("state does not survive a round trip:\n%s\n---\n%s", m1, m2)
		}
	})
}

func checkErrLine(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error message is not one line: %q", msg)
	}
}
