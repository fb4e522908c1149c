package tenantdata

import (
	"strings"
	"testing"
)

// Filler material must not fire trackers, count as questions or look like a
// commitment; otherwise the eager truth would miss it.
func TestFillersAreNeutral(t *testing.T) {
	var all []string
	all = append(all, repFillers...)
	all = append(all, customerFillers...)
	for _, s := range all {
		if strings.Contains(s, "?") || strings.Contains(s, "I'll") || strings.Contains(s, "will") {
			t.Errorf("filler %q is a question or sounds like a commitment", s)
		}
	}
	all = append(all, customerQuestions...)
	all = append(all, distractors...)
	for _, s := range all {
		for _, td := range trackerDefs {
			for _, kw := range td.Keywords {
				if findKeyword(s, kw) >= 0 {
					t.Errorf("%q fires tracker %s", s, td.Name)
				}
			}
		}
	}
	for _, td := range trackerDefs {
		for _, s := range td.Sentences {
			found := false
			for _, kw := range td.Keywords {
				found = found || findKeyword(s, kw) >= 0
			}
			if !found {
				t.Errorf("tracker sentence %q does not fire %s", s, td.Name)
			}
		}
	}
}

func TestFindKeyword(t *testing.T) {
	for _, tc := range []struct {
		text, kw string
		want     int
	}{
		{"We use Clari today.", "clari", 7},
		{"Can you clarify that?", "clari", -1},
		{"What are the next steps?", "next step", 13},
		{"Prices went up; the price is high.", "price", 0},
		{"Budget", "budget", 0},
		{"nobudget here", "budget", -1},
	} {
		if got := findKeyword(tc.text, tc.kw); got != tc.want {
			t.Errorf("findKeyword(%q, %q) = %d, want %d", tc.text, tc.kw, got, tc.want)
		}
	}
}
