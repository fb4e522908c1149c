package chorustest

import (
	"math"
	"strings"
)

// transcript regenerates the utterances of a call from its plan and a
// per-call seed. Even indexes are spoken by reps, odd ones by customers.
func (t *Tenant) transcript(e *engagement) []TruthUtterance {
	p := e.plan
	if p == nil {
		return nil
	}
	r := newRand(t.opts.Seed, "call/"+e.ID)
	var reps, custs []int // participant positions
	for i, pt := range e.Participants {
		if pt.Type == "rep" {
			reps = append(reps, i)
		} else {
			custs = append(custs, i)
		}
	}
	slot := e.Duration / float64(p.n)
	maxLen := min(15, slot-0.5)
	out := make([]TruthUtterance, p.n)
	next := 0 // next special
	for i := range out {
		rep := i%2 == 0
		var who int
		switch {
		case !rep:
			who = custs[r.IntN(len(custs))]
		case r.IntN(10) < 7:
			who = reps[0] // the owner does most of the talking
		default:
			who = reps[r.IntN(len(reps))]
		}
		text, engaging := filler(r, rep), false
		if next < len(p.specials) && p.specials[next].index == i {
			text, engaging = p.specials[next].text, p.specials[next].engaging
			next++
		}
		length := round2(2 + r.Float64()*(maxLen-2))
		if rep && e.profile == ProfileHealthy {
			length = round2(length * 3 / 7) // the customer speaks ~70% of the time
		}
		start := math.Floor((float64(i)*slot+r.Float64()*(slot-length))*100) / 100
		typ := "rep"
		if !rep {
			typ = e.custType
			if r.IntN(4) == 0 && e.missingTypes {
				typ = ""
			}
		}
		out[i] = TruthUtterance{Index: i, SpeakerName: e.Participants[who].Name, SpeakerType: typ, SpeakerID: who + 1,
			Start: start, Length: length, Text: text, Engaging: engaging}
	}
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// metrics are the API's own call metrics, computed from the transcript.
func (t *Tenant) metrics(e *engagement, utts []TruthUtterance) []metricJSON {
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
	r := newRand(t.opts.Seed, "metrics/"+e.ID)
	return []metricJSON{
		{"talk_ratio", math.Round(rep/total*1000) / 1000},
		{"longest_monologue", longest},
		{"patience", round2(0.4 + 2*r.Float64())},
	}
}

// summary is the API's meeting summary (with <br>), empty without a plan.
func summary(e *engagement) string {
	if e.plan == nil {
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
