package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// serveFixtures serves recorded API responses from testdata/api.
func serveFixtures(t *testing.T) *V3 {
	t.Helper()
	mux := http.NewServeMux()
	for path, file := range map[string]string{
		"/v3/engagements": "engagements_page.json",
		"/api/v1/conversations/EE8ED5BBBC254177B8201B9D84855949": "conversation.json",
		"/v3/users":     "users.json",
		"/api/v1/teams": "teams.json",
	} {
		body, err := os.ReadFile("../testdata/api/" + file)
		if err != nil {
			t.Fatal(err)
		}
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return NewV3(NewClient(testConfig(t, srv.URL, ""), ClientOptions{Backoff: time.Millisecond}))
}

func TestDecodeEngagements(t *testing.T) {
	api := serveFixtures(t)
	p, err := api.ListEngagements(context.Background(), ListQuery{From: time.Unix(0, 0), To: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if p.Next != "1591110020.0 20C790A0EB9646DBB95725D7951C2506" || len(p.Engagements) != 3 {
		t.Fatalf("page: next=%q n=%d", p.Next, len(p.Engagements))
	}
	e := p.Engagements[0]
	if !e.StartedAt.Equal(time.Unix(1632490362, 0)) || *e.Duration != 2872.75 || *e.NumEngagingQuestions != 2 {
		t.Errorf("epoch date / string number not decoded: %+v", e)
	}
	if len(e.ActionItems) != 2 || e.ActionItems[1] != "Share pricing next week" {
		t.Errorf("action items: %q", e.ActionItems)
	}
	if _, ok := e.Extra["call_state"]; !ok {
		t.Errorf("undocumented field dropped: %v", e.Extra)
	}
	if e.Compliance == "" {
		t.Errorf("compliance not read: %+v", e)
	}
	if len(e.Participants) != 3 || *e.Participants[1].PersonID != 2 || string(e.Participants[1].Extra["linkedin"]) != `"pat-b"` {
		t.Errorf("participants: %+v", e.Participants)
	}
	if p.Engagements[1].IsRecordedCall() || !p.Engagements[2].IsRecordedCall() {
		t.Errorf("engagement types misread")
	}
	third := p.Engagements[2]
	if third.NoShow == nil || !*third.NoShow || third.Duration != nil || len(third.Participants) != 0 || len(third.TrackerMatches) != 0 {
		t.Errorf("tolerant decoding of the third engagement: %+v", third)
	}
	if third.StartedAt.UnixMilli() != 1632490000500 {
		t.Errorf("fractional epoch string: %s", third.StartedAt)
	}
}

func TestDecodeConversationAndRows(t *testing.T) {
	api := serveFixtures(t)
	c, err := api.GetConversation(context.Background(), "EE8ED5BBBC254177B8201B9D84855949")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != "done" || c.DealStage != "Negotiation" || c.ModifiedAt == nil || len(c.Utterances) != 3 {
		t.Fatalf("conversation: %+v", c)
	}
	// The third utterance has no speaker_type: its speaker's cluster (id 7,
	// type cust) tells.
	types := []string{c.Utterances[0].SpeakerType, c.Utterances[1].SpeakerType, c.Utterances[2].SpeakerType}
	if strings.Join(types, ",") != "customer,rep,customer" {
		t.Errorf("speaker types not normalised: %v", types)
	}
	if c.Utterances[2].Index != 2 || *c.Utterances[2].SpeakerID != 7 || *c.Utterances[1].Start != 16.5 {
		t.Errorf("utterance fallbacks: %+v", c.Utterances)
	}
	if _, ok := c.Extra["sentiment"]; !ok {
		t.Errorf("unknown conversation field dropped")
	}

	p, _ := api.ListEngagements(context.Background(), ListQuery{From: time.Unix(0, 0), To: time.Now()})
	e := p.Engagements[0]
	rows := map[string][]Row{}
	emit := func(stream string, r Row) error { rows[stream] = append(rows[stream], r); return nil }
	if err := emit("calls", callRow(&e, c, StatusComplete, rowMeta{})); err != nil {
		t.Fatal(err)
	}
	if err := childRows(&e, c, emit); err != nil {
		t.Fatal(err)
	}
	call := rows["calls"][0]
	if call["summary"] != "First\nSecond" || call["owner_email"] != "dana@seller.example" || call["utterance_count"] != int64(3) {
		t.Errorf("call row: %v", call)
	}
	var extra map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(call["_extra"].(string)), &extra); err != nil || extra["engagement"]["languages"] == nil ||
		string(extra["conversation"]["account"]) != `{"id":123}` || !slices.Equal(call["recap"].([]string), []string{"r1"}) {
		t.Errorf("_extra of the call: %v %v", call["_extra"], err)
	}
	// Pat appears in both listing and detail: one participant row.
	if n := len(rows["participants"]); n != 3 {
		t.Errorf("participants = %d, want 3 (rep, Pat once, dial-in)", n)
	}
	for _, r := range rows["participants"] {
		if r["participant_key"] == "p:2" && (r["email_domain"] != "acme.example" || r["participant_type"] != "customer" || r["title"] != "VP Ops") {
			t.Errorf("merged participant: %v", r)
		}
	}
	if n := len(rows["tracker_mentions"]); n != 3 {
		t.Errorf("tracker mentions = %d, want 3 (null utterance skipped)", n)
	}
	if n := len(rows["trackers"]); n != 2 {
		t.Errorf("trackers = %d, want 2 (Pricing from listing and detail merged)", n)
	}
	// API action items: two from the listing, none in the detail.
	items := rows["action_items"]
	if len(items) != 2 || items[0]["source"] != "chorus" || items[0]["due_hint"] != "by Friday" {
		t.Errorf("action items: %v", items)
	}
	metrics := map[string]Row{}
	for _, m := range rows["call_metrics"] {
		metrics[m["metric_name"].(string)] = m
	}
	if metrics["talk_ratio"]["source"] != "chorus" || metrics["talk_ratio"]["value"] != 0.42 {
		t.Errorf("API metric should win over derived: %v", metrics["talk_ratio"])
	}
	if metrics["customer_questions"]["value"] != 1.0 || metrics["customer_questions"]["source"] != "derived" {
		t.Errorf("derived customer questions: %v", metrics["customer_questions"])
	}
}

func TestDecodeDirectory(t *testing.T) {
	api := serveFixtures(t)
	users, err := api.ListUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].Email != "dana@seller.example" || users[1].ID != 305922 || !*users[1].Invalidated ||
		!slices.Equal(users[0].TeamIDs, []int64{11, 10}) || *users[0].PrimaryTeam != 11 || *users[0].ManagerID != 305922 || users[0].FirstName != "Dana" {
		t.Errorf("users: %+v", users)
	}
	// Unknown fields, and known ones of an unusable shape, are kept.
	if _, ok := users[0].Extra["timezone"]; !ok {
		t.Errorf("unknown user field dropped: %v", users[0].Extra)
	}
	if string(users[1].Extra["team_ids"]) != `"not a list"` {
		t.Errorf("a team_ids that is not a list is not kept: %v", users[1].Extra)
	}
	teams, err := api.ListTeams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(teams) != 2 || teams[0].ParentTeamID != "10" || *teams[0].ManagerUserID != 305922 || len(teams[0].UserIDs) != 2 || teams[1].ID != "10" || *teams[1].ManagerUserID != 305922 {
		t.Errorf("teams: %+v", teams)
	}
}

func TestDeriveActionItems(t *testing.T) {
	tests := []struct {
		text string
		want bool
		due  string
	}{
		{"I'll send the security questionnaire by Friday.", true, "by Friday"},
		{"We will share the revised proposal next week.", true, "next week"},
		{"Next step is a technical deep-dive on March 3.", true, "on March 3"},
		{"Let's schedule a follow-up with your CFO.", true, ""},
		{"Great. I will get back to you with pricing by end of month.", true, "by end of month"},
		{"Can you send the signed order form by Tuesday?", true, "by Tuesday"},
		{"I sent that last week.", false, ""},
		{"We will see how the quarter goes.", false, ""},
		{"Did you schedule the demo?", false, ""},
		{"We won't send anything until legal signs off.", false, ""},
		{"Will you share the deck?", false, ""},
	}
	for _, tc := range tests {
		got := DeriveActionItems([]Utterance{{Index: 4, Text: tc.text, SpeakerType: "rep"}})
		if (len(got) == 1) != tc.want {
			t.Errorf("%q: derived %d items, want commitment=%v", tc.text, len(got), tc.want)
			continue
		}
		if tc.want && (got[0].Due != tc.due || got[0].Utterance != 4 || got[0].Source != "derived") {
			t.Errorf("%q: %+v, want due %q", tc.text, got[0], tc.due)
		}
	}
}

func TestTruncation(t *testing.T) {
	big := strings.Repeat("é", 1000) // 2000 bytes
	c := &Conversation{Utterances: []Utterance{{Text: big}, {Text: "short"}, {Text: strings.Repeat("x", 900)}}}
	info := truncateTranscript(c, limits{utteranceBytes: 1001, transcriptBytes: 1500})
	if info == nil || info["utterances_cut"] != 1 || info["utterances_dropped"] != 1 {
		t.Fatalf("truncation info: %v", info)
	}
	if len(c.Utterances[0].Text) != 1000 || !strings.HasSuffix(c.Utterances[0].Text, "é") {
		t.Errorf("cut inside a rune: %d bytes", len(c.Utterances[0].Text))
	}
	if len(c.Utterances) != 2 {
		t.Errorf("kept %d utterances, want 2", len(c.Utterances))
	}
}
