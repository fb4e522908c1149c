package chorusapi

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
)

// serveFixtures serves recorded API responses from testdata/api.
func serveFixtures(t *testing.T) *V3 {
	t.Helper()
	srv := testkit.ServeFixtures(t)
	return NewV3(client.New(testkit.Config(t, srv.URL, ""), client.Options{Backoff: time.Millisecond}))
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

func TestDecodeConversation(t *testing.T) {
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
