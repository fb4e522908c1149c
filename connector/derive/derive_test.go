package derive

import (
	"testing"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
)

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
		got := FromTranscript([]chorusapi.Utterance{{Index: 4, Text: tc.text, SpeakerType: "rep"}})
		if (len(got) == 1) != tc.want {
			t.Errorf("%q: derived %d items, want commitment=%v", tc.text, len(got), tc.want)
			continue
		}
		if tc.want && (got[0].Due != tc.due || got[0].Utterance != 4 || got[0].Source != "derived") {
			t.Errorf("%q: %+v, want due %q", tc.text, got[0], tc.due)
		}
	}
}
