package schemas

import (
	"strings"
	"testing"
)

func TestStreams(t *testing.T) {
	// Stream names are part of the interface (Airbyte/Singer stream names,
	// Parquet folders, raw tables): a rename must be deliberate.
	want := []string{"calls", "participants", "utterances", "talk_segments", "trackers", "tracker_mentions",
		"action_items", "call_metrics", "sales_qualifications", "engagements", "users", "teams", "user_teams", "scorecards", "scorecard_answers"}
	if got := Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("streams %v, want %v", got, want)
	}
	for _, s := range All() {
		if len(s.Key) == 0 {
			t.Errorf("%s has no key", s.Name)
		}
		for _, k := range s.Key {
			c, _ := s.Column(k)
			if c.Nullable {
				t.Errorf("%s: key column %s is nullable", s.Name, k)
			}
		}
		if s.Columns[0].Name != s.Key[0] {
			t.Errorf("%s: the first column is %s, not the key", s.Name, s.Columns[0].Name)
		}
		for _, c := range s.Columns {
			if strings.TrimSpace(c.Description) == "" {
				t.Errorf("%s.%s has no description", s.Name, c.Name)
			}
		}
	}
	calls := Get("calls")
	for name, typ := range map[string]Type{"started_at": Timestamp, "duration_seconds": Number, "no_show": Boolean, "utterance_count": Integer, "_extra": JSON} {
		if c, ok := calls.Column(name); !ok || c.Type != typ {
			t.Errorf("calls.%s: %v, want %s", name, c.Type, typ)
		}
	}
	if c, _ := Get("teams").Column("user_ids"); c.Type != IntList {
		t.Errorf("teams.user_ids is %s", c.Type)
	}
	if calls.Cursor != "started_at" || !calls.Incremental() || Get("users").Incremental() {
		t.Error("cursor / sync modes")
	}
	for _, name := range []string{"scorecards", "scorecard_answers"} {
		s := Get(name)
		if s.Family() != FamilyScorecards || !s.Incremental() || s.Cursor != "submitted_at" {
			t.Errorf("%s: family %s, incremental %v, cursor %q", name, s.Family(), s.Incremental(), s.Cursor)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"title":"x","properties":{"a":{"type":"object"}}}`, "unsupported type"},
		{`{"title":"x","x-primary-key":["b"],"properties":{"a":{"type":"string"}}}`, `key or cursor "b"`},
		{`{"title":"x","x-primary-key":["a"],"properties":{"a":{"type":"string"}}}`, "lineage column"},
		{`{"title":"x"}`, "no properties"},
		{`not json`, "parse schema"},
	}
	for _, tc := range tests {
		if _, err := Parse([]byte(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s): %v, want %q", tc.doc, err, tc.want)
		}
	}
}
