package chorustest

import (
	"math"
	"strings"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/tenantdata"
)

// metrics are the API's own call metrics, computed from the transcript.
func (t *Tenant) metrics(e *tenantdata.Engagement, utts []TruthUtterance) []metricJSON {
	var rep, total, longest float64
	for _, u := range utts {
		total += u.Length
		if u.SpeakerType == "rep" {
			rep += u.Length
		}
		longest = max(longest, u.Length)
	}
	if total == 0 {
		return nil
	}
	r := tenantdata.NewRand(t.opts.Seed, "metrics/"+e.ID)
	return []metricJSON{
		{"talk_ratio", math.Round(rep/total*1000) / 1000},
		{"longest_monologue", longest},
		{"patience", tenantdata.Round2(0.4 + 2*r.Float64())},
	}
}

// summary is the API's meeting summary (with <br>), empty without a plan.
func summary(e *tenantdata.Engagement) string {
	if e.Plan == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("Call about " + e.Subject + ".")
	if len(e.Trackers) > 0 {
		names := make([]string, len(e.Trackers))
		for i, tr := range e.Trackers {
			names[i] = tr.Name
		}
		b.WriteString("<br>Topics: " + strings.Join(names, ", ") + ".")
	}
	if len(e.APIActionItems) > 0 {
		b.WriteString("<br>Follow-ups: " + strings.Join(e.APIActionItems, "; ") + ".")
	}
	return b.String()
}

func wordCount(s string) int { return len(strings.Fields(s)) }
