// Package derive computes what the connector derives from a call rather than
// reads: action items (commitments) found in the transcript when Chorus
// gives none, their owner side and due phrase, and talk metrics.
package derive

import (
	"regexp"
	"sort"
	"strings"
	"unicode"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
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

// ActionItems returns the API's action items (the listing's and the
// detail's, each item once), or, when the API gives none, the ones derived
// from the transcript.
func ActionItems(e *chorusapi.Engagement, c *chorusapi.Conversation) []ActionItem {
	var out []ActionItem
	seen := map[string]bool{}
	for _, list := range [][]string{e.ActionItems, c.ActionItems} {
		for _, t := range list {
			k := NormText(t)
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
	return FromTranscript(c.Utterances)
}

// Derived action items. When the API gives none, FromTranscript derives
// them from the transcript: at most one item per utterance, for the first
// sentence of it that commits someone to a follow-up after the call; the
// item's text is that sentence.
//
// A sentence is read lower-cased, with contractions expanded ("I'll" → "i
// will", "we're gonna" → "we are going to", "our team's gonna" → "our team is
// going to", "lemme" → "let me", "won't" → "will not"; speech-to-text "ill" →
// "i will"), fillers ("um", "uh") and stutters ("I'll I'll send", "the the")
// dropped. It is a commitment when it has
//
//  1. the speaker's side as subject with "will", "going to", "would be happy
//     to" or "should be able to", then a verb, possibly after adverbs ("also",
//     "just", "go ahead and", "-ly" words). The subject is "I" or "we"; "let
//     me" ("let me get back to you"); none at the start of a clause ("gonna
//     send you the recap", "happy to send that over"); or the speaker's team
//     or a colleague ("our legal team will…", "Priya on our solutions team is
//     going to…", "my ops lead, Carla, is going to…", "legal will send…").
//     The verb is a follow-up verb (followUpVerbs: send, share, shoot over,
//     ping, get back, follow up, circle back, reach out, loop in, set up,
//     schedule, put together, review, check, confirm, talk to, find out, take
//     it back, let you know, make sure, be in touch, …, each with what must
//     follow it: "get" needs a person or a delivery, "get you the list", "get
//     the quote over to you", "get the invoice corrected", "get Maria to
//     build…", not "get a coffee"), or any other verb that is not a
//     nonFollowUp ("be", "tell", "hand", "explain", "charge", …) when its
//     clause is aimed at the listener ("I'll throw a hold on your calendar",
//     "we're going to export the calls for you"). "I'll have Marcus send…",
//     "we'll have it over to you", "I should have an answer for you" count,
//     and so does a follow-up verb joined by "and" ("I'll grab the contract
//     and send it over"). With "can" (an offer) only the follow-up verbs
//     count, and "we can …" also needs "you"/"your" in the clause or a due
//     phrase ("we can share our deck with you", not "we can send alerts to
//     Slack"). Walking through, showing and demoing need a due phrase, else
//     they happen in the call ("I can walk you through the dashboard");
//  2. the commitment said from the listener's side: "you'll have / get /
//     receive / hear back … from me / us / our team", "… in your inbox",
//     "you'll have … by <due>", "you can expect … from us", "expect an invite
//     from me";
//  3. a joint proposal: "let's schedule / set up / find a time / get something
//     on the calendar …", or "let's" with any other verb and a due phrase
//     ("let's aim for early next week");
//  4. a next step: "next step is…", "next steps on our end are…";
//  5. a request that the other side act by a time: "can you / could you /
//     would you (mind) / if you could / please / let me know", or a sentence
//     starting with send / share / forward / email / confirm / sign, then a
//     verb and a due phrase: "could you send me the user list by Monday?",
//     "send me the signed copy by Thursday"; or
//  6. the words "action item".
//
// It is not one when negated ("we won't send…", "I don't think we'll…"); a
// question other than a request (5) — a statement with a short tag ("I'll
// send it Friday, okay?") is not a question; hedged ("if we have time");
// recurring ("we will send you an invoice every month", "… automatically",
// "we'll usually…"); about someone in the call ("let me loop in Dave, he
// just joined"); an action done during the call ("let me share my screen",
// "I'll pull that up real quick", "… for a second", "… in the chat", "…
// right now"); or when its verb is not a follow-up: polite formulas ("I'll be
// honest", "I'll tell you what", "I'll let you go", "we'll see"), past
// actions ("I sent…", "I should have sent it"), hypotheticals ("we'd send…",
// "we could send…"), habits ("we usually send…"), third parties ("he said
// he'll…", "they'll…"), plans that are not follow-ups ("we're going to hire
// two SDRs").
//
// Owner is the side that is to do the follow-up: the speaker's side (the
// utterance's speaker type, rep | customer | unknown) for 1–4 and 6, the
// other side for requests (5) — "could you send me the list by Friday" said
// by the rep is the customer's; unknown when the speaker's side is.
//
// Due is the first due phrase (dueRule) from the commitment on, else the
// first in the sentence, as spoken: "by Friday", "tomorrow morning", "next
// week", "early next week", "on March 3", "by the 15th", "by end of day",
// "within 24 hours", "in the next couple of days", "before the renewal",
// "after this call".

// FromTranscript applies the documented rules to a transcript.
func FromTranscript(utts []chorusapi.Utterance) []ActionItem {
	var out []ActionItem
	var tk tokenizer
	for i := range utts {
		u := &utts[i]
		lower := strings.ToLower(u.Text)
		if !hasCommitCue(lower) {
			continue // most utterances: no rule can match, skip the rest
		}
		if len(lower) != len(u.Text) {
			lower = "" // lower-casing changed byte offsets: lower each sentence
		}
		forEachSentence(u.Text, func(a, b int) bool {
			s, ls := u.Text[a:b], ""
			if lower != "" {
				ls = lower[a:b]
			} else {
				ls = strings.ToLower(s)
			}
			m, ok := matchCommitment(&tk, s, ls)
			if !ok {
				return true
			}
			owner := u.SpeakerType
			if m.otherSide {
				owner = otherSide(owner)
			}
			out = append(out, ActionItem{
				Index: len(out), Text: strings.TrimSpace(s), Source: "derived", Owner: owner, Due: dueFrom(s, ls, m.off),
				Utterance: u.Index, Start: ptrVal(u.Start),
			})
			return false // one item per utterance
		})
	}
	return out
}

// commitCues holds, lower-cased, a piece of text every rule needs ("ill"
// for "will", "I'll" in speech-to-text, "ill"; "let" for "let me", "let's",
// "lets"; "should" for "you should have", "I should be able to"): an
// utterance without any of them cannot match a rule, and costs only these
// scans.
var commitCues = []string{"'ll", "’ll", "ill", "going to", "gonna", "let", "lemme", "i can", "we can",
	"can you", "could you", "would you", "if you", "please", "should", "next step", "action item",
	"happy to", "glad to", "expect ", "send"}

// hasCommitCue reports whether the lower-cased text holds a commitment cue.
func hasCommitCue(lower string) bool {
	for _, c := range commitCues {
		if strings.Contains(lower, c) {
			return true
		}
	}
	return false
}

func otherSide(side string) string {
	switch side {
	case "rep":
		return "customer"
	case "customer":
		return "rep"
	}
	return "unknown"
}

// forEachSentence calls f with the byte range of each sentence of text (ended
// by . ! or ? followed by white space or the end) until f returns false.
func forEachSentence(text string, f func(a, b int) bool) {
	start := 0
	for i := 0; i < len(text); i++ {
		if c := text[i]; c != '.' && c != '!' && c != '?' {
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == '.' || text[j] == '!' || text[j] == '?') {
			j++
		}
		if j < len(text) && !isSpace(text[j]) {
			i = j - 1
			continue
		}
		if strings.TrimSpace(text[start:j]) != "" && !f(start, j) {
			return
		}
		start, i = j, j-1
	}
	if strings.TrimSpace(text[start:]) != "" {
		f(start, len(text))
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// tokenizer turns a lower-cased sentence into words (contractions expanded,
// fillers and stutters dropped) and clause marks (","), each with the byte
// offset it starts at. Its buffers are reused from sentence to sentence.
type tokenizer struct {
	w   []string
	off []int
}

// contractions that the generic rules ("'ll" → will, "n't" → not, …) do not
// cover or would get wrong.
var contractions = map[string][]string{
	"won't": {"will", "not"}, "can't": {"can", "not"}, "cannot": {"can", "not"}, "gonna": {"going", "to"},
	"lemme": {"let", "me"}, "gotta": {"got", "to"}, "wanna": {"want", "to"}, "ill": {"i", "will"},
	"im": {"i", "am"}, "lets": {"let's"}, "follow-up": {"follow", "up"}, "e-mail": {"email"},
	"shan't": {"shall", "not"}, "ain't": {"is", "not"},
}

var fillers = map[string]bool{"um": true, "umm": true, "uh": true, "uhh": true, "uhm": true, "erm": true,
	"er": true, "hmm": true, "hm": true, "mm": true, "mhm": true, "ah": true}

func (t *tokenizer) tokens(s string) {
	t.w, t.off = t.w[:0], t.off[:0]
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isWordByte(c) || c >= 0x80 && !strings.HasPrefix(s[i:], "—") && !strings.HasPrefix(s[i:], "–"):
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == '\'' || s[j] == '-' || s[j] >= 0x80 && !strings.HasPrefix(s[j:], "—") && !strings.HasPrefix(s[j:], "–")) {
				j++
			}
			t.word(s[i:j], i)
			i = j
		case c == ',' || c == ';' || c == ':' || c == '(' || c == ')' || c == '-' || c >= 0x80:
			t.add(",", i)
			if c >= 0x80 {
				i += 3 // an em or en dash
			} else {
				i++
			}
		default:
			i++
		}
	}
}

func isWordByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func (t *tokenizer) word(w string, off int) {
	if strings.Contains(w, "’") {
		w = strings.ReplaceAll(w, "’", "'")
	}
	w = strings.Trim(w, "'-")
	if w == "" || fillers[w] {
		return
	}
	if n := len(t.w); (w == "gonna" || w == "going") && n > 0 && strings.HasSuffix(t.w[n-1], "'s") {
		base := strings.TrimSuffix(t.w[n-1], "'s") // "our team's gonna" → our team is going to
		t.w = t.w[:n-1]
		prev := t.off[n-1]
		t.off = t.off[:n-1]
		t.add(base, prev)
		t.add("is", prev)
	}
	if exp, ok := contractions[w]; ok {
		for _, e := range exp {
			t.add(e, off)
		}
		return
	}
	for _, sfx := range [...]struct{ s, full string }{{"n't", "not"}, {"'ll", "will"}, {"'re", "are"}, {"'m", "am"}, {"'ve", "have"}, {"'d", "would"}} {
		if base, ok := strings.CutSuffix(w, sfx.s); ok && base != "" {
			t.add(base, off)
			t.add(sfx.full, off)
			return
		}
	}
	t.add(w, off)
}

func (t *tokenizer) add(w string, off int) {
	if n := len(t.w); n > 0 && t.w[n-1] == w {
		return // a stutter: "I'll I'll", "the the", ", ,"
	}
	t.w, t.off = append(t.w, w), append(t.off, off)
}

// match is where a commitment was found.
type match struct {
	off       int  // byte offset of its start in the sentence
	otherSide bool // a request: the other side is to act
}

// matchCommitment applies the rules to one sentence (s, and ls lower-cased).
func matchCommitment(tk *tokenizer, s, ls string) (match, bool) {
	if strings.Contains(ls, "action item") {
		return match{off: strings.Index(ls, "action item")}, true
	}
	tk.tokens(ls)
	w := tk.w
	question := strings.HasSuffix(strings.TrimSpace(s), "?") && !tagQuestion(w)
	sc := &sentenceCtx{ls: ls, w: w}
	for i := range w {
		if j, ok := requestAt(w, i); ok {
			if sc.verbAt(j, requestVerbs, true, openDue) && sc.hasDue() && !hedged(ls, w) {
				return match{off: tk.off[i], otherSide: true}, true
			}
			continue
		}
		if question {
			continue // only requests count in a question
		}
		found := false
		switch j, kind := subjectAt(w, i); kind {
		case subjSelf, subjWeCan, subjICan:
			found = sc.selfAt(i, j, kind)
		case subjShould:
			found = sc.haveAt(j)
		case subjLetUs:
			found = sc.verbAt(j, jointVerbs, false, openDue)
		case subjYou:
			found = sc.listenerAt(j)
		case subjNextStep:
			found = true
		}
		if found && !sc.negated(i) && !sc.inCall(i) && !hedged(ls, w) {
			return match{off: tk.off[i]}, true
		}
	}
	return match{}, false
}

type sentenceCtx struct {
	ls  string   // the sentence, lower-cased
	w   []string // its words
	due int      // 0 unknown, 1 has a due phrase, 2 has none
}

// hasDue reports whether the sentence has a due phrase.
func (c *sentenceCtx) hasDue() bool {
	if c.due == 0 {
		c.due = 2
		if a, _ := dueSpan(c.ls, 0, len(c.ls)); a >= 0 {
			c.due = 1
		}
	}
	return c.due == 1
}

// Subject kinds.
const (
	subjNone     = iota
	subjSelf     // I / we / our team … will, going to; let me
	subjICan     // I can
	subjWeCan    // we can
	subjLetUs    // let's
	subjYou      // you will / you should
	subjNextStep // next step(s) is / are
	subjShould   // I / we should (have it for you)
)

// roles are the heads of a speaker-side subject such as "our legal team",
// "my colleague", "Priya on our solutions team"; departments can also be the
// subject alone ("legal will send").
var roles = setOf("team", "teams", "folks", "people", "guys", "group", "department", "colleague", "colleagues",
	"coworker", "manager", "boss", "lead", "admin", "administrator", "engineer", "engineers", "csm", "ae", "se",
	"rep", "person", "guy", "director", "vp", "cfo", "cto", "ceo", "cro", "ciso", "cio", "counsel", "gc",
	"attorney", "lawyer", "specialist", "analyst", "architect", "assistant", "owner", "champion", "desk",
	"legal", "procurement", "finance", "security", "engineering", "support", "it", "ops", "billing",
	"accounting", "hr", "marketing", "enablement", "revops", "onboarding", "implementation", "product",
	"sales", "success", "infosec", "compliance", "purchasing")

var departments = setOf("legal", "procurement", "finance", "security", "engineering", "support", "billing",
	"accounting", "hr", "infosec", "compliance", "purchasing", "revops", "enablement")

// interjections may start a clause before a subject-less "gonna send…".
var interjections = setOf("yeah", "yes", "yep", "ok", "okay", "k", "so", "alright", "right", "cool", "sure",
	"well", "and", "then", "great", "perfect", "oh", "no", ",", "totally", "awesome", "sounds", "good")

// modalAt reports the index after a future modal at w[i]: "will", or
// "am / is / are going to".
func modalAt(w []string, i int) (int, bool) {
	if i < len(w) && w[i] == "will" {
		return i + 1, true
	}
	if i+2 < len(w) && (w[i] == "am" || w[i] == "is" || w[i] == "are") && w[i+1] == "going" && w[i+2] == "to" {
		return i + 3, true
	}
	return 0, false
}

// subjectAt recognises a subject (with its modal) starting at w[i] and returns
// the index of the word after it.
func subjectAt(w []string, i int) (int, int) {
	at := func(k int) string {
		if k < len(w) {
			return w[k]
		}
		return ""
	}
	switch w[i] {
	case "i", "we":
		if j, ok := modalAt(w, i+1); ok {
			return j, subjSelf
		}
		if j, ok := offerAt(w, i+1); ok {
			return j, subjSelf // "I'd be happy to send…", "we're glad to set up…"
		}
		if at(i+1) == "should" && at(i+2) == "be" && at(i+3) == "able" {
			return i + 2, subjSelf // "I should be able to get you…"
		}
		if at(i+1) == "should" {
			return i + 2, subjShould // "I should have an answer for you by Friday"
		}
		if at(i+1) == "can" {
			if w[i] == "we" {
				return i + 2, subjWeCan
			}
			return i + 2, subjICan
		}
	case "let":
		if at(i+1) == "me" {
			return i + 2, subjSelf
		}
	case "let's":
		return i + 1, subjLetUs
	case "happy", "glad":
		if at(i+1) == "to" && clauseStart(w, i) {
			return i + 2, subjSelf // "happy to send that over"
		}
	case "expect":
		if clauseStart(w, i) {
			return i, subjYou // "expect an invite from me"
		}
	case "going":
		if at(i+1) == "to" && clauseStart(w, i) {
			return i + 2, subjSelf // "gonna send you the recap tomorrow"
		}
	case "you":
		if at(i+1) == "will" || at(i+1) == "should" || at(i+1) == "can" {
			return i + 2, subjYou
		}
	case "next":
		k := i + 1
		if at(k) != "step" && at(k) != "steps" {
			break
		}
		k++
		switch {
		case (at(k) == "on" || at(k) == "for") && (at(k+1) == "our" || at(k+1) == "my") && (at(k+2) == "end" || at(k+2) == "side" || at(k+2) == "part"):
			k += 3
		case at(k) == "for" && (at(k+1) == "me" || at(k+1) == "us"):
			k += 2
		}
		if at(k) == "is" || at(k) == "are" || (at(k) == "will" || at(k) == "would") && at(k+1) == "be" {
			return k + 1, subjNextStep
		}
	case "our", "my":
		// "our (…) team will", "my colleague (Ana) will", "our CSM, will"
		for k := i + 2; k <= i+6 && k < len(w); k++ {
			j, ok := modalAt(w, k)
			if !ok {
				continue
			}
			p := k - 1 // the head, or a name after it: "my ops lead, Carla, is going to"
			for p > i && w[p] == "," {
				p--
			}
			q := p - 1
			for q > i && w[q] == "," {
				q--
			}
			if roles[w[p]] || q > i && roles[w[q]] && !interjections[w[p]] {
				return j, subjSelf
			}
			break
		}
	default:
		if departments[w[i]] && (i == 0 || !possessives[w[i-1]]) {
			if j, ok := modalAt(w, i+1); ok {
				return j, subjSelf // "legal will send…"
			}
		}
	}
	return 0, subjNone
}

var possessives = setOf("the", "a", "your", "their", "his", "her", "its")

// clauseStart reports whether only interjections come before w[i] in its clause.
func clauseStart(w []string, i int) bool {
	for k := i - 1; k >= 0; k-- {
		if w[k] == "," {
			return true
		}
		if !interjections[w[k]] {
			return false
		}
	}
	return true
}

// offerAt recognises "would be / am / are happy to" and "glad to" after I / we
// and returns the index of the word after it.
func offerAt(w []string, i int) (int, bool) {
	if i < len(w) && (w[i] == "would" || w[i] == "am" || w[i] == "are") {
		i++
		if i < len(w) && w[i] == "be" {
			i++
		}
		if i+1 < len(w) && (w[i] == "happy" || w[i] == "glad") && w[i+1] == "to" {
			return i + 2, true
		}
	}
	return 0, false
}

// requestAt recognises "can / could / would you (mind / be able to / please)",
// "if you could / can", a clause-initial "please", "let me / us know" and an
// imperative verb starting the sentence ("send me the list by Friday"), and
// returns the index of the request's verb (after adverbs).
func requestAt(w []string, i int) (int, bool) {
	n := len(w)
	switch {
	case w[i] == "let" && i+2 < n && (w[i+1] == "me" || w[i+1] == "us") && w[i+2] == "know":
		return i, true // "let" is a request verb: let me know
	case imperatives[w[i]] && sentenceStart(w, i):
		return i, true
	case (w[i] == "can" || w[i] == "could" || w[i] == "would") && i+1 < n && w[i+1] == "you":
		return i + 2, true
	case w[i] == "if" && i+2 < n && w[i+1] == "you" && (w[i+2] == "could" || w[i+2] == "can"):
		return i + 3, true
	case w[i] == "please" && clauseStart(w, i):
		return i + 1, true
	}
	return 0, false
}

// imperatives start a request ("send me the signed copy by Thursday").
var imperatives = setOf("send", "share", "forward", "email", "confirm", "sign")

// sentenceStart reports whether only interjections (no clause mark) come
// before w[i].
func sentenceStart(w []string, i int) bool {
	for k := 0; k < i; k++ {
		if w[k] == "," || w[k] == "and" || !interjections[w[k]] {
			return false
		}
	}
	return true
}

// adverbs may come between the modal and the verb ("I'll also send", "I'm
// gonna go ahead and send", "would you be able to confirm", "I'll be sure to").
var adverbs = setOf("also", "then", "just", "quickly", "definitely", "certainly", "actually", "probably",
	"gladly", "happily", "personally", "still", "really", "totally", "absolutely", "first", "now",
	"immediately", "please", "mind", "both", "all", "sure", "surely", ",", "try", "and", "to", "go", "ahead",
	"be", "able", "for")

// verbSpec says what must follow a follow-up verb: nothing (the zero value),
// one of the phrases next, one of the particles within the next few words of
// the clause, a due phrase in the sentence (needDue), and not one of notNext.
type verbSpec struct {
	next      []string
	within    []string
	notNext   []string
	needDue   bool
	delivered bool // or an object that is delivered (deliveredAt)
}

var (
	objectWords = setOf(objects...)
	objects     = []string{"you", "it", "that", "this", "those", "these", "them", "the", "a", "an", "some",
		"our", "my", "your", "him", "her", "us", "everyone", "everything", "something", "someone", "all", "me"}
	particleUp = verbSpec{within: []string{"up"}}
	// "get" is a follow-up with a person ("get you the list", "get back to
	// you") or when a thing is got somewhere or done ("get the quote over to
	// you", "get the invoice corrected"), not "get a coffee" or "get the hang
	// of it".
	getSpec = verbSpec{next: []string{"back", "over", "in touch", "together", "on", "with", "you", "him", "her",
		"them", "us", "me", "everyone", "everybody"}, delivered: true}
)

// delivery words say that a thing is got somewhere or done: "get it over to
// you", "get the contract back", "get the sandbox set up".
var deliveryWords = setOf("over", "back", "across", "out", "ready", "done", "sent", "set", "spun", "built",
	"written", "together", "going", "rolling", "moving", "signed", "sorted", "inbox")

// deliveredAt: after the verb at w[k-1], an object then within a few words a
// delivery word, "to you / them / the team", or a past participle ending its
// phrase ("get the invoice corrected and resent"); or someone then "to" and a
// follow-up verb ("get Maria from enablement to build a plan").
func deliveredAt(w []string, k int) bool {
	if k >= len(w) {
		return false
	}
	object := objectWords[w[k]]
	for e := k + 1; e < len(w) && e < k+7 && !clauseEnds[w[e]]; e++ {
		next := ""
		if e+1 < len(w) {
			next = w[e+1]
		}
		switch {
		case w[e] == "to" && hasVerb(next):
			return true
		case !object:
		case deliveryWords[w[e]] && !(w[e] == "out" && next == "of"):
			return true
		case w[e] == "to" && (next == "you" || next == "your" || next == "him" || next == "her" || next == "them" || next == "us" || next == "the" || next == "our" || next == "my"):
			return true
		case strings.HasSuffix(w[e], "ed") && len(w[e]) > 4 && (next == "" || clauseEnds[next] || participleFollowers[next]):
			return true
		}
	}
	return false
}

func hasVerb(v string) bool {
	_, ok := followUpVerbs[v]
	return ok
}

var participleFollowers = setOf("for", "by", "on", "in", "before", "after", "with", "to", "asap", "today",
	"tomorrow", "this", "next", "tonight", "early", "later", "soon", "shortly", "first")

// followUpVerbs are the verbs of a follow-up after the call.
var followUpVerbs = map[string]verbSpec{
	// sending and sharing
	"send": {}, "resend": {}, "email": {}, "forward": {}, "ping": {}, "text": {}, "message": {},
	"reply": {}, "respond": {}, "circulate": {}, "deliver": {}, "provide": {}, "submit": {},
	"share":  {notNext: []string{"my screen", "the screen", "your screen", "screen"}},
	"shoot":  {next: append([]string{"over", "across"}, objects...)},
	"get":    getSpec,
	"give":   {next: []string{"you a call", "you a ring", "you a heads up", "you an update", "you access", "them access", "you a shout"}},
	"pass":   {within: []string{"along", "on"}},
	"call":   {next: []string{"you", "them", "him", "her", "back", "your"}},
	"follow": {next: []string{"up", "through"}},
	"circle": {next: []string{"back", "up"}},
	"report": {next: []string{"back"}},
	"touch":  {next: []string{"base"}},
	"come":   {next: []string{"back to", "back with"}},
	"reach":  {next: []string{"out", "back"}},
	"let":    {next: []string{"you know", "him know", "her know", "them know", "everyone know", "the team know"}},
	"keep":   {next: []string{"you posted", "you updated", "you in the loop", "you informed"}},
	// checking, finding out, talking to people
	"check":        {notNext: []string{"my calendar", "the calendar", "my notes", "the chat"}},
	"confirm":      {notNext: []string{"we", "that we", "that our", "that it", "that this"}},
	"double-check": {}, "verify": {}, "validate": {}, "review": {}, "test": {},
	"escalate": {}, "flag": {}, "chase": {}, "nudge": {}, "discuss": {}, "present": {}, "socialize": {},
	"look":   {next: []string{"into"}},
	"dig":    {next: []string{"into", "in"}},
	"find":   {next: []string{"out", "a time", "time", "some time", "someone"}},
	"figure": {within: []string{"out"}},
	"see":    {next: []string{"if", "whether", "what i can do", "what we can do"}},
	"talk":   {within: []string{"to", "with"}},
	"speak":  {within: []string{"to", "with"}},
	"chat":   {within: []string{"with", "to"}},
	"raise":  {within: []string{"with"}},
	"run":    {next: []string{"the numbers"}, within: []string{"by", "past"}},
	"ask":    {notNext: []string{"you", "a question"}},
	"remind": {notNext: []string{"you that", "everyone that"}},
	"take":   {next: []string{"a look", "a pass", "a first pass", "care of"}, within: []string{"back"}, notNext: []string{"you back"}},
	"hop":    {next: []string{"on"}},
	"jump":   {next: []string{"on"}},
	// involving people, access
	"loop": {}, "connect": {}, "invite": {}, "add": {}, "grant": {}, "enable": {}, "provision": {},
	"update":    {},
	"introduce": {notNext: []string{"myself", "ourselves", "everyone"}},
	"sign":      {notNext: []string{"with", "up for"}},
	"bring":     {within: []string{"in", "with"}},
	"make":      {next: []string{"sure", "certain", "an intro", "the intro", "an introduction", "the introduction", "a decision", "the decision", "a call"}},
	// scheduling
	"schedule": {}, "book": {}, "reserve": {}, "arrange": {}, "organize": {}, "organise": {},
	"coordinate": {}, "reconnect": {}, "regroup": {}, "sync": {}, "setup": {},
	"set":    particleUp,
	"line":   particleUp,
	"lock":   {within: []string{"in"}},
	"pencil": {within: []string{"in"}},
	// preparing and fixing things
	"draft": {}, "prepare": {}, "compile": {}, "record": {}, "build": {}, "create": {}, "issue": {},
	"handle": {}, "finish": {}, "fix": {}, "file": {},
	"put":   {next: []string{"in", "a hold", "something on", "some time on", "time on"}, within: []string{"together"}},
	"pull":  {within: []string{"together"}},
	"throw": {within: []string{"together"}},
	"write": {next: []string{"you", "a", "an"}, within: []string{"up"}},
	"type":  particleUp,
	"whip":  particleUp,
	"spin":  particleUp,
	"clean": particleUp,
	"kick":  {within: []string{"off"}},
	"turn":  {within: []string{"around"}},
	"sort":  {within: []string{"out"}},
	"work":  {next: []string{"on", "with", "out"}},
	"open":  {next: []string{"a ticket", "a case", "a support ticket", "a request"}},
	// done in the call unless given a time
	"walk": {needDue: true},
	"show": {needDue: true},
	"demo": {needDue: true},
}

// jointVerbs follow "let's".
var jointVerbs = map[string]verbSpec{
	"schedule": {}, "book": {}, "plan": {}, "meet": {}, "reconvene": {}, "regroup": {}, "sync": {},
	"arrange": {}, "organize": {}, "reconnect": {}, "connect": {}, "loop": {}, "send": {},
	"set":    particleUp,
	"get":    {next: []string{"something", "together", "time", "on", "a", "the", "it", "that", "you", "them", "your", "our", "some"}},
	"follow": {next: []string{"up"}},
	"put":    {next: []string{"something", "it", "time", "a", "that"}},
	"lock":   {within: []string{"in"}},
	"pencil": {within: []string{"in"}},
	"circle": {next: []string{"back"}},
	"find":   {next: []string{"a time", "time", "some time"}},
	"touch":  {next: []string{"base"}},
	"hop":    {next: []string{"on"}},
	"jump":   {next: []string{"on"}},
	"make":   {next: []string{"sure"}},
	"do":     {needDue: true},
	"share":  {notNext: []string{"my screen", "the screen", "your screen", "screen"}},
}

// requestVerbs follow "could you" and the like.
var requestVerbs = map[string]verbSpec{
	"send": {}, "share": {}, "confirm": {}, "review": {}, "sign": {}, "loop": {}, "introduce": {}, "forward": {},
	"provide": {}, "email": {}, "complete": {}, "return": {}, "check": {}, "book": {}, "schedule": {}, "update": {},
	"get":  {next: append([]string{"back", "over"}, objects...)},
	"fill": {within: []string{"out", "in"}},
	"let":  {next: []string{"me know", "us know"}},
	"set":  particleUp,
	"put":  {within: []string{"together"}},
	"pull": {within: []string{"together"}},
	"pass": {within: []string{"along", "on"}},
}

// What verbAt does with a verb that is not in its table.
const (
	openNone     = iota // reject it
	openListener        // accept it when its clause is aimed at the listener ("you", "your")
	openDue             // accept it when the sentence has a due phrase
)

// verbAt reports whether a verb of the table follows w[j] (after adverbs),
// or, depending on open, another verb that is not a nonFollowUp. gerunds
// counts "sending" as "send" ("would you mind sending…").
func (c *sentenceCtx) verbAt(j int, verbs map[string]verbSpec, gerunds bool, open int) bool {
	w := c.w
	for n := 0; j < len(w) && n < 5 && (adverbs[w[j]] || strings.HasSuffix(w[j], "ly") && len(w[j]) > 4); n++ {
		if w[j] == "be" && j+1 < len(w) && !adverbs[w[j+1]] {
			gerunds = true // "we'll be sending"
		}
		j++
	}
	if j >= len(w) {
		return false
	}
	if j > 0 && w[j-1] == "be" && hasPhrase(w, j, "in touch") {
		return true // "I'll be in touch"
	}
	v := w[j]
	spec, ok := verbs[v]
	if !ok && gerunds {
		spec, ok = verbs[stem(v)]
	}
	if ok {
		return c.specOK(spec, j+1)
	}
	if open == openNone || nonFollowUps[v] && !(open == openDue && v == "have") || !isPlainWord(v) || j > 0 && (w[j-1] == "be" || w[j-1] == "able") {
		// "be" + an adjective ("I'll be honest with you") is not a follow-up
		return false
	}
	if open == openDue {
		return c.hasDue() // "could you have your admin whitelist our IPs by the 10th"
	}
	for k := j + 1; k < len(w) && !clauseEnds[w[k]]; k++ {
		if w[k] == "you" || w[k] == "your" {
			return true // "I'll throw a hold on your calendar", "we'll export the calls for you"
		}
	}
	return false
}

// nonFollowUps are verbs that do not make a follow-up even when aimed at the
// listener: formulas, actions in the call, generic statements ("I'll be
// honest with you", "I'll hand it over to Marcus to show you", "we'll charge
// you per seat").
var nonFollowUps = setOf("be", "have", "say", "tell", "admit", "note", "mention", "guess", "bet", "think",
	"assume", "hope", "love", "like", "want", "need", "miss", "trust", "owe", "leave", "hand", "pop", "click",
	"stop", "start", "begin", "go", "move", "scroll", "switch", "flip", "pause", "mute", "unmute", "answer",
	"explain", "guide", "help", "charge", "bill", "hear", "do", "cover", "address", "repeat", "clarify",
	"interrupt", "stay", "wait", "hold", "hang", "lose", "use", "recommend", "suggest", "encourage", "agree",
	"disagree", "understand", "appreciate", "thank", "welcome", "join", "sit", "stand", "lead", "teach", "read",
	"skip", "save", "support", "push", "challenge", "cut", "continue", "wrap", "end", "believe", "imagine",
	"remember", "forget", "know", "learn", "notice", "feel", "seem", "happen", "play", "pick", "dive", "spend",
	"catch", "get", "not", "never", "just", "only", "probably", "definitely", "recap", "reiterate",
	"paraphrase", "defer", "spare", "integrate", "crush", "emphasize", "stress", "point", "pivot", "segue", "level")

// isPlainWord: letters only, no function word ("the", "to", "you", …).
func isPlainWord(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 'a' || v[i] > 'z' {
			return false
		}
	}
	return !functionWords[v]
}

var functionWords = setOf("the", "a", "an", "to", "of", "in", "on", "at", "for", "with", "from", "by", "and",
	"or", "but", "so", "if", "that", "this", "it", "you", "your", "we", "i", "me", "us", "they", "them", "he",
	"she", "him", "her", "there", "here", "what", "how", "when", "why", "who", "which", "as", "all", "some")

func (c *sentenceCtx) specOK(spec verbSpec, k int) bool {
	w := c.w
	for _, p := range spec.notNext {
		if hasPhrase(w, k, p) {
			return false
		}
	}
	if spec.next != nil || spec.within != nil {
		ok := false
		for _, p := range spec.next {
			if hasPhrase(w, k, p) {
				ok = true
				break
			}
		}
		ok = ok || spec.delivered && deliveredAt(w, k)
		for e := k; !ok && e < len(w) && e < k+5 && !clauseEnds[w[e]]; e++ {
			for _, p := range spec.within {
				if w[e] == p {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	return !spec.needDue || c.hasDue()
}

// stem turns a gerund into the verb: sending → send, sharing → share,
// getting → get.
func stem(g string) string {
	b, ok := strings.CutSuffix(g, "ing")
	if !ok || len(b) < 2 {
		return g
	}
	if _, ok := followUpVerbs[b]; ok {
		return b
	}
	if _, ok := followUpVerbs[b+"e"]; ok {
		return b + "e"
	}
	if b[len(b)-1] == b[len(b)-2] {
		return b[:len(b)-1]
	}
	return b
}

// hasPhrase reports whether the words of phrase (separated by single spaces)
// are w[k:k+n].
func hasPhrase(w []string, k int, phrase string) bool {
	for phrase != "" {
		p, rest, _ := strings.Cut(phrase, " ")
		if k >= len(w) || w[k] != p {
			return false
		}
		phrase, k = rest, k+1
	}
	return true
}

// clauseEnds end the clause a verb's particle or a listener-side "from me"
// is looked for in.
var clauseEnds = setOf(",", "and", "but", "so", "because", "cause", "or", "while", "though", "although", "once", "when", "if")

// selfAt checks the verb after a speaker-side subject w[i:j]: a follow-up
// verb, "have someone do / have it over to you", or a follow-up verb joined by
// "and" later in the sentence ("I'll grab the contract and send it over").
func (c *sentenceCtx) selfAt(i, j int, kind int) bool {
	w := c.w
	open := openListener
	if kind != subjSelf {
		open = openNone // "I can" / "we can": offers only with the listed verbs
	}
	ok := c.verbAt(j, followUpVerbs, false, open) || c.haveAt(j)
	if !ok {
		for k := j; k < len(w) && k < j+10 && w[k] != "," && w[k] != "but" && w[k] != "so" && w[k] != "because"; k++ {
			if w[k] == "and" && c.verbAt(k+1, followUpVerbs, false, openNone) {
				ok = true
				break
			}
		}
	}
	if ok && kind == subjWeCan {
		// "we can" is a capability unless it is aimed at the listener or timed.
		ok = c.hasDue()
		for k := j; !ok && k < len(w) && w[k] != ","; k++ {
			ok = w[k] == "you" || w[k] == "your"
		}
	}
	return ok
}

// haveAt: "I'll have Marcus send you…", "we'll have it over to you…",
// "we will have a decision for you…"; not "we'll have to…".
func (c *sentenceCtx) haveAt(j int) bool {
	w := c.w
	for n := 0; j < len(w) && n < 3 && adverbs[w[j]] && w[j] != "to"; n++ {
		j++
	}
	if j+1 >= len(w) || w[j] != "have" || w[j+1] == "to" || participles[w[j+1]] || strings.HasSuffix(w[j+1], "ed") {
		return false // not "we'll have to…", "I should have sent it"
	}
	for k := j + 1; k < len(w) && k < j+8 && !clauseEnds[w[k]]; k++ {
		switch w[k] {
		case "over", "back", "ready", "done", "built", "sent", "inbox":
			return true
		case "to", "for":
			if k+1 < len(w) && w[k+1] == "you" {
				return true
			}
		}
		if spec, ok := followUpVerbs[w[k]]; ok && k > j+1 && c.specOK(spec, k+1) {
			return true
		}
	}
	return false
}

var participles = setOf("sent", "done", "built", "written", "set", "spun", "gotten", "got", "had", "been",
	"known", "seen", "given", "taken", "gone", "made", "put")

// listenerAt: "you'll have / get / receive / hear back … from me / us / our
// team", "… in your inbox", "you'll have / get … by <due>".
func (c *sentenceCtx) listenerAt(j int) bool {
	w := c.w
	for n := 0; j < len(w) && n < 3 && (adverbs[w[j]] && w[j] != "be" || w[j] == "also"); n++ {
		j++
	}
	if j < len(w) && w[j] == "be" {
		j++ // "you'll be getting"
	}
	if j >= len(w) {
		return false
	}
	switch w[j] {
	case "have", "get", "receive", "getting", "receiving", "hear", "hearing", "see", "seeing", "expect":
	default:
		return false
	}
	for k := j + 1; k < len(w) && !clauseEnds[w[k]]; k++ {
		if w[k] == "from" && k+1 < len(w) && (w[k+1] == "me" || w[k+1] == "us" || w[k+1] == "our" || w[k+1] == "my") {
			return true
		}
		if w[k] == "inbox" {
			return true
		}
	}
	return (w[j] == "have" || w[j] == "get") && c.hasDue()
}

// negated: "not" or "never" earlier in the subject's clause ("I don't think
// we'll…").
func (c *sentenceCtx) negated(i int) bool {
	for k := i - 1; k >= 0 && c.w[k] != "," && c.w[k] != "but"; k-- {
		if c.w[k] == "not" || c.w[k] == "never" {
			return true
		}
	}
	return false
}

// inCallMarks are signs that the action happens during the call.
var inCallMarks = []string{"real quick", "for a second", "for a sec", "for a moment", "for a minute",
	"one sec", "one second", "in the chat", "my screen", "right here", "right now"}

// presentMarks, anywhere in the sentence, say the person is in the call:
// "let me loop in Dave, he just joined".
var presentMarks = []string{"just joined", "joining us", "with us today", "on the line"}

// habitMarks (and "every / each" + a period) say the action is a recurring
// one, not a follow-up: "we will send you an invoice every month".
var habitMarks = setOf("automatically",
	"usually", "always", "typically", "normally", "generally")

// inCall: an in-call mark in the clause of the subject at w[i].
func (c *sentenceCtx) inCall(i int) bool {
	w := c.w
	for k := i; k < len(w) && w[k] != "," && w[k] != "but" && w[k] != "so"; k++ {
		for _, m := range inCallMarks {
			if hasPhrase(w, k, m) {
				return true
			}
		}
	}
	return false
}

var periods = setOf("day", "week", "month", "quarter", "year", "morning", "time", "other", "monday", "tuesday",
	"wednesday", "thursday", "friday")

// tagQuestion reports whether a question is a statement with a short tag:
// "I'll send it by Friday, okay?", "…, does that work?".
func tagQuestion(w []string) bool {
	k := len(w) - 1
	for k >= 0 && w[k] != "," {
		if !tagWords[w[k]] {
			return false
		}
		k--
	}
	return k > 0 && len(w)-1-k <= 3
}

var tagWords = setOf("okay", "ok", "right", "yeah", "sound", "sounds", "good", "does", "that", "work", "fair",
	"cool", "alright", "yes", "no", "great")

// hedged: "if I / we have / get (the) time", a habit or a person present
// anywhere in the sentence (ls lower-cased, w its words).
func hedged(ls string, w []string) bool {
	for _, m := range presentMarks {
		if strings.Contains(ls, m) {
			return true
		}
	}
	for k := range w {
		if habitMarks[w[k]] || (w[k] == "every" || w[k] == "each") && k+1 < len(w) && periods[w[k+1]] {
			return true
		}
	}
	for k := 0; k+3 < len(w); k++ {
		if w[k] == "if" && (w[k+1] == "i" || w[k+1] == "we") && (w[k+2] == "have" || w[k+2] == "get") &&
			(w[k+3] == "time" || w[k+3] == "the" && k+4 < len(w) && w[k+4] == "time") {
			return true
		}
	}
	return false
}

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// dueRule finds a due phrase, in lower-cased text, where one starts: an
// optional "by / before / on / until / within / after / ahead of" and a time
// ("end of day", "EOD", "next week", "early next week", "tomorrow morning",
// "later today", "Thursday at two", "March 3", "the 15th", "5pm"), "in /
// within 24 hours / the next couple of days", or "before / after / by" an
// event ("before the renewal", "after this call", "before Thursday's call").
// It is anchored: dueSpan tries it only at words that can start one
// (dueStarts), which keeps it off the hot path.
var dueRule = regexp.MustCompile(`^(?:` +
	`(?:before|after|ahead\s+of|by)\s+(?:the|our|your|this|next|\w+'s)\s+(?:[\w-]+\s+){0,2}?(?:meeting|call|kickoff|kick-off|renewal|training|demo|review|offsite|qbr|deadline|session|workshop|launch|go-live|holidays|weekend)` +
	`|(?:in|within)\s+(?:\d+|a|one|two|three|four|five|a\s+couple\s+(?:of\s+)?|a\s+few)\s+(?:hours|days|weeks|business\s+days)` +
	`|(?:in|within)\s+(?:the\s+)?next\s+(?:couple\s+(?:of\s+)?|few\s+)?(?:days|weeks|hours)` +
	`|(?:(?:in|within)\s+)?(?:the\s+next\s+|a\s+)(?:day|week)\s+or\s+two` +
	`|(?:(?:by|before|on|until|till|no\s+later\s+than|within|after|ahead\s+of)\s+)?(?:` +
	`(?:the\s+)?end\s+of\s+(?:the\s+|this\s+|next\s+)?(?:day|week|month|quarter|year)(?:\s+(?:today|tomorrow|` + dueDays + `))?` +
	`|eod|eow|eom|cob|close\s+of\s+business` +
	`|(?:(?:early|late|later|mid)\s+)?(?:this|next)\s+(?:week|month|quarter|year|morning|afternoon|evening|` + dueDays + `)` +
	`|tomorrow(?:\s+(?:morning|afternoon|evening|night|eod))?` +
	`|(?:later\s+)?today|tonight` +
	`|` + dueDays + `(?:\s+(?:morning|afternoon|evening|at\s+(?:\d{1,2}(?::\d{2})?\s?(?:am|pm)?|noon|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)))?` +
	`|(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+\d{1,2}(?:st|nd|rd|th)?` +
	`|the\s+\d{1,2}(?:st|nd|rd|th)` +
	`|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}(?:/\d{2,4})?` +
	`|\d{1,2}(?::\d{2})?\s?(?:am|pm)|noon` +
	`|(?:the\s+)?next\s+(?:couple\s+(?:of\s+)?|few\s+)?(?:days|weeks|hours)` +
	`))\b`)

const dueDays = `(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`

// dueStarts are the words a due phrase can start with (besides numbers).
var dueStarts = setOf("by", "before", "on", "until", "till", "no", "within", "in", "after", "ahead", "the",
	"end", "eod", "eow", "eom", "cob", "close", "early", "late", "later", "mid", "this", "next", "tomorrow",
	"today", "tonight", "noon", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
	"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
	"aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec", "december")

// dueSpan returns the byte range of the first due phrase in the lower-cased
// ls that starts at or after from and before to, or -1, -1.
func dueSpan(ls string, from, to int) (int, int) {
	for i := from; i < to; i++ {
		if !isWordByte(ls[i]) || i > 0 && isWordByte(ls[i-1]) {
			continue // not a word start
		}
		j := i
		for j < len(ls) && isWordByte(ls[j]) {
			j++
		}
		if ls[i] >= '0' && ls[i] <= '9' || dueStarts[ls[i:j]] {
			// A possessive ("today's call", "Friday's demo") names a thing,
			// not a due date.
			if m := dueRule.FindStringIndex(ls[i:]); m != nil && !possessive(ls[i+m[1]:]) {
				return i, i + m[1]
			}
		}
		i = j
	}
	return -1, -1
}

func possessive(rest string) bool {
	return strings.HasPrefix(rest, "'s") || strings.HasPrefix(rest, "’s")
}

// dueFrom returns the first due phrase of the sentence s (ls lower-cased)
// from byte offset off on, else the first in s.
func dueFrom(s, ls string, off int) string {
	a, b := dueSpan(ls, off, len(ls))
	if a < 0 && off > 0 {
		a, b = dueSpan(ls, 0, off)
	}
	switch {
	case a < 0:
		return ""
	case len(ls) == len(s):
		return s[a:b] // as spoken
	}
	return ls[a:b]
}

// dueHint returns the first due phrase in s.
func dueHint(s string) string {
	return dueFrom(s, strings.ToLower(s), 0)
}

// NormText is the text by which the same action item reported twice is
// recognised: lower-cased, every run of characters that are neither letters
// nor digits (Unicode classes L and N) one space, none at either end. The
// SQL models compute the same as text_norm (customer_tasks.sql:
// TRIM(regexp_replace_all(LOWER(text), '[^\p{L}\p{N}]+', ' '))), and a test
// feeds both the same strings.
func NormText(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// bestUtterance finds the utterance that says most of an action item's words
// (at least half of them), to link the item to the moment in the call.
func bestUtterance(item string, utts []chorusapi.Utterance) *chorusapi.Utterance {
	words := map[string]bool{}
	for _, w := range strings.Fields(NormText(item)) {
		if len(w) > 3 {
			words[w] = true
		}
	}
	if len(words) == 0 {
		return nil
	}
	var best *chorusapi.Utterance
	bestScore := 0
	for i := range utts {
		score := 0
		for _, w := range strings.Fields(NormText(utts[i].Text)) {
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

// Metric is one call_metrics row.
type Metric struct {
	Name   string
	Value  any
	Source string
}

// talk sums talk time by side; longest is the longest run of the rep side
// talking with nobody else in between.
type talk struct{ rep, customer, total, longest float64 }

// add counts one stretch of talk of a side, in time order.
func (t *talk) add(side string, seconds float64, run *float64) {
	t.total += seconds
	switch side {
	case "rep":
		t.rep += seconds
		*run += seconds
		t.longest = max(t.longest, *run)
		return
	case "customer":
		t.customer += seconds
	}
	*run = 0
}

func talkFromUtterances(utts []chorusapi.Utterance) talk {
	var t talk
	var run float64
	for _, u := range utts {
		l := 0.0
		if u.Length != nil {
			l = *u.Length
		}
		t.add(u.SpeakerType, l, &run)
	}
	return t
}

// talkFromClusters uses each range's talk time (its length when absent),
// the ranges of every speaker in order of their start.
func talkFromClusters(clusters []chorusapi.Cluster) talk {
	type stretch struct {
		start, seconds float64
		side           string
	}
	var all []stretch
	for _, cl := range clusters {
		for _, r := range cl.Ranges {
			secs := r.TalkTime
			if secs == nil {
				secs = r.Length
			}
			if secs == nil || r.Start == nil {
				continue
			}
			all = append(all, stretch{*r.Start, *secs, cl.Type})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].start < all[j].start })
	var t talk
	var run float64
	for _, s := range all {
		t.add(s.side, s.seconds, &run)
	}
	return t
}

// Metrics returns the API's metrics plus the ones derived from the call
// that the API did not give: talk ratio, customer talk share and longest
// monologue from Chorus's own speaker diarisation (recording.clusters) when
// the call has it, else from the utterances; question counts from the
// utterances.
func Metrics(c *chorusapi.Conversation) []Metric {
	var out []Metric
	have := map[string]bool{}
	for _, m := range c.Metrics {
		name := strings.ToLower(strings.TrimSpace(m.Name))
		if have[name] {
			continue
		}
		have[name] = true
		out = append(out, Metric{Name: name, Value: ptrVal(m.Value), Source: "chorus"})
	}
	if len(c.Utterances) == 0 && len(c.Clusters) == 0 {
		return out
	}
	var custQuestions, engaging int64
	for _, u := range c.Utterances {
		if u.SpeakerType == "customer" && strings.HasSuffix(strings.TrimSpace(u.Text), "?") {
			custQuestions++
		}
		if u.Engaging != nil && *u.Engaging {
			engaging++
		}
	}
	talk := talkFromUtterances(c.Utterances)
	if len(c.Clusters) > 0 {
		talk = talkFromClusters(c.Clusters)
	}
	derived := []Metric{
		{Name: "longest_monologue_seconds", Value: talk.longest},
		{Name: "customer_questions", Value: float64(custQuestions)},
		{Name: "engaging_questions", Value: float64(engaging)},
		{Name: "utterances", Value: float64(len(c.Utterances))},
		{Name: "talk_seconds", Value: talk.total},
	}
	if talk.total > 0 {
		derived = append(derived,
			Metric{Name: "talk_ratio", Value: talk.rep / talk.total},
			Metric{Name: "customer_talk_share", Value: talk.customer / talk.total})
	}
	for _, d := range derived {
		if !have[d.Name] {
			d.Source = "derived"
			out = append(out, d)
		}
	}
	return out
}

// ptrVal is *p, or nil.
func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
