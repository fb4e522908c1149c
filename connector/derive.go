package connector

import (
	"regexp"
	"strings"
)

// ActionItem is one action item of a call, from the API or derived.
type ActionItem struct {
	Index     int
	Text      string
	Source    string // chorus | derived
	Owner     string // rep | customer | unknown, or ""
	Due       string // the due phrase, or ""
	Utterance int    // utterance index, -1 when unknown
	Start     any    // utterance start seconds, or nil
}

// actionItems returns the API's action items (the listing's and the
// detail's, each item once), or, when the API gives none, the ones derived
// from the transcript.
func actionItems(e *Engagement, c *Conversation) []ActionItem {
	var out []ActionItem
	seen := map[string]bool{}
	for _, list := range [][]string{e.ActionItems, c.ActionItems} {
		for _, t := range list {
			k := normText(t)
			if k == "" || seen[k] {
				continue
			}
			seen[k] = true
			a := ActionItem{Index: len(out), Text: strings.TrimSpace(t), Source: "chorus", Due: dueHint(t), Utterance: -1}
			if u := bestUtterance(t, c.Utterances); u != nil {
				a.Utterance, a.Start, a.Owner = u.Index, ptrVal(u.Start), u.SpeakerType
			}
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out
	}
	return DeriveActionItems(c.Utterances)
}

// The rules for derived action items. An utterance is a commitment when a
// sentence in it
//   - has a first-person subject committing to a future action
//     ("I'll send…", "we will share…", "I'm going to set up…", "let me get back…"),
//   - states a next step ("next step is…", "next steps are…"),
//   - proposes a joint action ("let's schedule…", "let's set up…"), or
//   - asks the other side to act with a deadline ("can you send … by Friday").
//
// It is not one when the sentence is negated ("we won't…"), a question
// without a deadline, a known non-commitment ("we'll see", "I will say"), or
// an action done then and there during the call ("let me share my screen",
// "let me show you … for a moment"): those are not follow-ups.
var (
	commitRules = []*regexp.Regexp{
		regexp.MustCompile(`(?i)\b(i'll|i will|i'm going to|i am going to|we'll|we will|we're going to|we are going to|let me)\s+(?:also\s+|then\s+|quickly\s+|definitely\s+|make sure to\s+|try to\s+)?(send|share|follow up|follow-up|get back|schedule|set up|setup|loop in|review|prepare|draft|put together|book|introduce|circle back|confirm|check|update|provide|connect|reach out|email|call|deliver|run|look into|work on|finali[sz]e|sign|start|get you|get the|write up|organi[sz]e|arrange|coordinate|send over|walk|demo|escalate|open|file|create|test|validate|enable|grant|loop|invite|forward|ping|talk to|sync|set|get)\b`),
		regexp.MustCompile(`(?i)\bnext steps?\s+(is|are|will be|would be)\b`),
		regexp.MustCompile(`(?i)\blet'?s\s+(schedule|set up|setup|book|plan|meet|reconvene|regroup|get|sync|follow up|put|lock in|pencil in|arrange|organi[sz]e|loop in|circle back)\b`),
		regexp.MustCompile(`(?i)\b(can|could) you\s+(please\s+)?(send|share|get|confirm|review|sign|loop in|introduce|forward)\b.*\b(by|before|next week|tomorrow|end of)\b`),
		regexp.MustCompile(`(?i)\baction item\b`),
	}
	notCommit   = regexp.MustCompile(`(?i)\b(won't|will not|wouldn't|can't|cannot|didn't|never)\b|\b(we'll|we will|i'll|i will) (see|say|admit|note|tell you)\b|\bif (i|we) (have|get) time\b|\b(share|sharing|show|showing) (my|the|your) screen\b|\bfor a (moment|second|sec|minute)\b`)
	sentenceEnd = regexp.MustCompile(`[.!?]+\s+|[.!?]+$`)
	dueRule     = regexp.MustCompile(`(?i)\b(by|before|on|until|no later than)\s+(end of (the )?(day|week|month|quarter)|eod|eow|eom|tomorrow|tonight|(next|this)\s+(week|month|monday|tuesday|wednesday|thursday|friday)|monday|tuesday|wednesday|thursday|friday|saturday|sunday|(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(st|nd|rd|th)?|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(/\d{2,4})?)\b|\b(next week|next month|tomorrow|this week|end of (the )?(day|week|month|quarter)|in (two|2|three|3|a couple of) (days|weeks))\b`)
)

// DeriveActionItems applies the documented rules to a transcript.
func DeriveActionItems(utts []Utterance) []ActionItem {
	var out []ActionItem
	for i := range utts {
		u := &utts[i]
		if !hasCommitCue(u.Text) {
			continue // most utterances: no rule can match, skip the regexes
		}
		for _, s := range splitSentences(u.Text) {
			if !isCommitment(s) {
				continue
			}
			out = append(out, ActionItem{
				Index: len(out), Text: s, Source: "derived", Owner: u.SpeakerType, Due: dueHint(s),
				Utterance: u.Index, Start: ptrVal(u.Start),
			})
			break // one item per utterance
		}
	}
	return out
}

// commitCues holds, lower-cased, a phrase every commitment rule needs; an
// utterance without any of them cannot match a rule.
var commitCues = []string{"i'll", "i will", "i'm going", "i am going", "we'll", "we will", "we're going",
	"we are going", "let", "next step", "can you", "could you", "action item"}

func hasCommitCue(text string) bool {
	lower := strings.ToLower(text)
	for _, c := range commitCues {
		if strings.Contains(lower, c) {
			return true
		}
	}
	return false
}

func isCommitment(s string) bool {
	if notCommit.MatchString(s) {
		return false
	}
	question := strings.HasSuffix(strings.TrimSpace(s), "?")
	for i, r := range commitRules {
		if r.MatchString(s) {
			if question && i != 3 { // only "can you … by <date>" counts as a question
				return false
			}
			return true
		}
	}
	return false
}

func splitSentences(text string) []string {
	var out []string
	last := 0
	for _, m := range sentenceEnd.FindAllStringIndex(text, -1) {
		if s := strings.TrimSpace(text[last:m[1]]); s != "" {
			out = append(out, s)
		}
		last = m[1]
	}
	if s := strings.TrimSpace(text[last:]); s != "" {
		out = append(out, s)
	}
	return out
}

func dueHint(s string) string {
	return strings.TrimSpace(dueRule.FindString(s))
}

// normText folds case, punctuation and white space, to recognise the same
// action item reported twice.
func normText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > 127:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

// bestUtterance finds the utterance that says most of an action item's words
// (at least half of them), to link the item to the moment in the call.
func bestUtterance(item string, utts []Utterance) *Utterance {
	words := map[string]bool{}
	for _, w := range strings.Fields(normText(item)) {
		if len(w) > 3 {
			words[w] = true
		}
	}
	if len(words) == 0 {
		return nil
	}
	var best *Utterance
	bestScore := 0
	for i := range utts {
		score := 0
		for _, w := range strings.Fields(normText(utts[i].Text)) {
			if words[w] {
				score++
			}
		}
		if score > bestScore {
			best, bestScore = &utts[i], score
		}
	}
	if bestScore*2 < len(words) {
		return nil
	}
	return best
}

// metricValue is one call_metrics row.
type metricValue struct {
	Name   string
	Value  any
	Source string
}

// callMetrics returns the API's metrics plus the ones derived from the
// transcript that the API did not give.
func callMetrics(c *Conversation) []metricValue {
	var out []metricValue
	have := map[string]bool{}
	for _, m := range c.Metrics {
		name := strings.ToLower(strings.TrimSpace(m.Name))
		if have[name] {
			continue
		}
		have[name] = true
		out = append(out, metricValue{Name: name, Value: ptrVal(m.Value), Source: "chorus"})
	}
	if len(c.Utterances) == 0 {
		return out
	}
	var repTalk, custTalk, total, longest, run float64
	var custQuestions, engaging int64
	prev := ""
	for _, u := range c.Utterances {
		l := 0.0
		if u.Length != nil {
			l = *u.Length
		}
		total += l
		switch u.SpeakerType {
		case "rep":
			repTalk += l
		case "customer":
			custTalk += l
			if strings.HasSuffix(strings.TrimSpace(u.Text), "?") {
				custQuestions++
			}
		}
		if u.Engaging != nil && *u.Engaging {
			engaging++
		}
		if u.SpeakerType == "rep" && prev == "rep" {
			run += l
		} else if u.SpeakerType == "rep" {
			run = l
		} else {
			run = 0
		}
		longest = max(longest, run)
		prev = u.SpeakerType
	}
	derived := []metricValue{
		{Name: "longest_monologue_seconds", Value: longest},
		{Name: "customer_questions", Value: float64(custQuestions)},
		{Name: "engaging_questions", Value: float64(engaging)},
		{Name: "utterances", Value: float64(len(c.Utterances))},
		{Name: "talk_seconds", Value: total},
	}
	if total > 0 {
		derived = append(derived,
			metricValue{Name: "talk_ratio", Value: repTalk / total},
			metricValue{Name: "customer_talk_share", Value: custTalk / total})
	}
	for _, d := range derived {
		if !have[d.Name] {
			d.Source = "derived"
			out = append(out, d)
		}
	}
	return out
}
