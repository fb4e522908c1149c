package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A version 1 state (pending engagements kept whole, with Go field names,
// names and emails) migrates when read: the watermark, the seen calls and
// the pending calls' times and attempts are kept, the personal data is not,
// and saving writes version 2.
func TestStateV1Migrates(t *testing.T) {
	v1 := `{"version":1,"tenant":"acme.chorus.ai","calls":{"watermark":"2026-03-01T10:00:00Z",
 "seen":{"A":{"started_at":"2026-03-01T09:00:00Z","status":"complete"},"N":{"started_at":"2026-02-28T09:00:00Z","status":"no_show"}},
 "pending":{"B":{"first_seen":"2026-03-01T10:00:00Z","attempts":2,"engagement":{"ID":"B","Type":"meeting","Subject":"Q3 review with Pat",
   "StartedAt":"2026-03-01T09:30:00Z","UserEmail":"dana@seller.example","Participants":[{"Name":"Pat Buyer","Email":"pat@acme.example"}]}}}},
 "directory_synced_at":"2026-03-01T10:00:00Z"}`
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := Load(path, "https://acme.chorus.ai")
	if err != nil {
		t.Fatal(err)
	}
	wm := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if st.Version != StateVersion || st.Format != StateFormat || !st.Calls.Watermark.Equal(wm) {
		t.Errorf("migrated: version %d format %q watermark %v", st.Version, st.Format, st.Calls.Watermark)
	}
	if k := st.Calls.Known["A"]; k.Status != "complete" || k.Listing != "" || len(st.Calls.Known) != 2 {
		t.Errorf("known: %+v", st.Calls.Known)
	}
	if p := st.Calls.Pending["B"]; p.Attempts != 2 || !p.StartedAt.Equal(time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)) || !p.FirstSeen.Equal(wm) {
		t.Errorf("pending: %+v", p)
	}
	if st.Streams["users"] == nil || !st.Streams["teams"].SyncedAt.Equal(wm) {
		t.Errorf("streams: %+v", st.Streams)
	}
	if err := Save(path, st); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	for _, personal := range []string{"Q3 review", "Pat Buyer", "pat@acme.example", "dana@seller.example", `"Subject"`, `"Engagement"`} {
		if strings.Contains(string(b), personal) {
			t.Errorf("the migrated state keeps %q:\n%s", personal, b)
		}
	}
	if again, err := Load(path, "https://acme.chorus.ai"); err != nil || string(again.Marshal()) != string(b) {
		t.Errorf("the saved state does not read back the same: %v", err)
	}
}

// A state the build cannot read is refused with a message naming the file.
func TestStateRefused(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"format":"chorus-elt-state","version":9,"tenant":"acme.chorus.ai"}`, "version 9 was written by a newer chorus-elt"},
		{`{"format":"chorus-elt-state","version":2,"tenant":"acme.chorus.ai","calls":{"pending":{"B":{"attempts":1}}}}`, `calls.pending["B"] needs`},
		{`{"format":"chorus-elt-state","version":2,"tenant":"acme.chorus.ai","colls":{}}`, `unknown field "colls"`},
		{`{"version":1,"tenant":"acme.chorus.ai","calls":{"seen":{"A":{"started_at":"yesterday"}}}}`, "version 1"},
	} {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path, "https://acme.chorus.ai")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v; want an error with %q naming the file", tc.doc, err, tc.want)
		}
	}
}
