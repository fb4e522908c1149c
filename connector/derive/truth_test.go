package derive_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/derive"
)

// TestDeriveActionItemsTruth scores the derived action items against the
// commitments the simulated tenant actually put into its transcripts: an
// item is right when it points at an utterance that holds a true commitment.
// Targets: recall ≥ 90% with precision ≥ 80% (PRD: action item capture > 90%).
func TestDeriveActionItemsTruth(t *testing.T) {
	ten := chorustest.New(chorustest.Options{Seed: 7, Calls: 600, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	var truthN, derivedN, hit, calls int
	var fps, fns []string
	seenFP := map[string]bool{}
	for _, e := range ten.RecordedCalls() {
		utts := ten.Utterances(e.ID)
		if len(utts) == 0 {
			continue
		}
		calls++
		in := make([]chorusapi.Utterance, len(utts))
		for i, u := range utts {
			start := u.Start
			in[i] = chorusapi.Utterance{Index: u.Index, Text: u.Text, SpeakerName: u.SpeakerName,
				SpeakerType: chorusapi.NormalizeParticipantType(u.SpeakerType), Start: &start}
		}
		truth := map[int]string{}
		for _, a := range e.TrueActionItems {
			truth[a.UtteranceIndex] = a.Text
		}
		got := map[int]bool{}
		for _, a := range derive.FromTranscript(in) {
			derivedN++
			got[a.Utterance] = true
			if _, ok := truth[a.Utterance]; ok {
				hit++
			} else if !seenFP[a.Text] && len(fps) < 15 {
				seenFP[a.Text] = true
				fps = append(fps, fmt.Sprintf("%q (utterance %d)", a.Text, a.Utterance))
			}
		}
		truthN += len(truth)
		for i, text := range truth {
			if !got[i] && len(fns) < 15 {
				fns = append(fns, fmt.Sprintf("%q (utterance %d)", text, i))
			}
		}
	}
	if truthN == 0 || derivedN == 0 {
		t.Fatalf("fixture: %d true and %d derived action items", truthN, derivedN)
	}
	precision := float64(hit) / float64(derivedN)
	recall := float64(hit) / float64(truthN)
	line := fmt.Sprintf("derived action items: precision %.1f%% (%d/%d), recall %.1f%% (%d/%d) over %d transcripts",
		100*precision, hit, derivedN, 100*recall, hit, truthN, calls)
	t.Log(line)
	fmt.Println("connector:", line)
	for _, s := range fps {
		t.Logf("false positive: %s", s)
	}
	for _, s := range fns {
		t.Logf("missed: %s", s)
	}
	if recall < 0.90 {
		t.Errorf("recall %.1f%% < 90%%", 100*recall)
	}
	if precision < 0.80 {
		t.Errorf("precision %.1f%% < 80%%", 100*precision)
	}
}

// TestDeriveActionItemsRules checks the documented rules on sentences the
// simulated tenant never says.
func TestDeriveActionItemsRules(t *testing.T) {
	cases := []struct {
		text string
		want bool
		due  string
	}{
		{"Sure, I'll send over the signed contract by Thursday.", true, "by Thursday"},
		{"We're going to set up the sandbox next week.", true, "next week"},
		{"Next steps are a pilot with two teams.", true, ""},
		{"Let's book a call with legal.", true, ""},
		{"Could you send the user list by end of month?", true, "by end of month"},
		{"Let me get back to you on the SSO question.", true, ""},
		{"Let me show you the screen where that lives.", false, ""},
		{"Let me pull this up for a second.", false, ""},
		{"We won't send anything until legal approves.", false, ""},
		{"I'll be honest with you.", false, ""},
		{"Did you share the deck?", false, ""},
		{"We will see what the board says.", false, ""},
		{"The team sent the report yesterday.", false, ""},
	}
	for _, c := range cases {
		items := derive.FromTranscript([]chorusapi.Utterance{{Index: 3, Text: c.text, SpeakerType: "rep"}})
		if got := len(items) == 1; got != c.want {
			t.Errorf("%q: commitment %v, want %v", c.text, got, c.want)
			continue
		}
		if c.want && items[0].Due != c.due {
			t.Errorf("%q: due %q, want %q", c.text, items[0].Due, c.due)
		}
	}
}
