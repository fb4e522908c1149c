package tenantdata

import "math"

// Utterances regenerates the utterances of a call from its plan and a
// per-call seed: nil for engagements without a transcript. Even indexes are
// spoken by reps, odd ones by customers.
func (e *Engagement) Utterances() []TruthUtterance {
	p := e.Plan
	if p == nil {
		return nil
	}
	r := NewRand(e.seed, "call/"+e.ID)
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
		length := Round2(2 + r.Float64()*(maxLen-2))
		if rep && e.profile == ProfileHealthy {
			length = Round2(length * 3 / 7) // the customer speaks ~70% of the time
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

// Round2 rounds to hundredths, as the API's seconds are.
func Round2(f float64) float64 { return math.Round(f*100) / 100 }
