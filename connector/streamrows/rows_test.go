package streamrows

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
)

// The rows one call's listing and detail make, from the recorded fixtures:
// the listing's and the detail's participants merged, trackers merged,
// action items from the API, metrics (the API's win over derived ones).
func TestRowsFromFixtures(t *testing.T) {
	srv := testkit.ServeFixtures(t)
	api := chorusapi.NewV3(client.New(testkit.Config(t, srv.URL, ""), client.Options{Backoff: time.Millisecond}))
	c, err := api.GetConversation(context.Background(), testkit.FixtureCallID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := api.ListEngagements(context.Background(), chorusapi.ListQuery{From: time.Unix(0, 0), To: time.Now()})
	e := p.Engagements[0]
	b := testBatch()
	callRow(b, &e, c, "complete", rowMeta{})
	childRows(b, &e, c)
	rows := batchRows(t, b)
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

func TestTruncation(t *testing.T) {
	big := strings.Repeat("é", 1000) // 2000 bytes
	c := &chorusapi.Conversation{Utterances: []chorusapi.Utterance{{Text: big}, {Text: "short"}, {Text: strings.Repeat("x", 900)}}}
	info := truncateTranscript(c, Limits{UtteranceBytes: 1001, TranscriptBytes: 1500})
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
