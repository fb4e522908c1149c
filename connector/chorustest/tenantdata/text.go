package tenantdata

import (
	"math/rand/v2"
	"strings"
)

// Sentence material for transcripts. Filler sentences contain no tracker
// keyword, no commitment and no question mark, so trackers, questions and
// action items come only from the planned special utterances, whose truth is
// therefore known without generating the transcript.

var repFillers = []string{
	"Thanks for making the time today.",
	"Let me share my screen for a moment.",
	"That makes sense, thanks for walking me through it.",
	"Our platform records and analyzes your customer conversations.",
	"Most teams see value within the first few weeks.",
	"Happy to go deeper on any of this.",
	"I can walk you through the dashboard.",
	"We integrate with the CRM you already use.",
	"Coaching is where most managers start.",
	"The reporting view is fully customizable.",
	"Good to hear the team is settling in.",
	"That is a common pattern with teams your size.",
}

var customerFillers = []string{
	"Our team has grown quite a bit this year.",
	"We mostly use it for coaching new hires.",
	"The rollout went fine for the east region.",
	"I need to check with my manager on that.",
	"Adoption has been steady across the team.",
	"We have about forty people using it daily.",
	"That would help our onboarding a lot.",
	"Right now it is mostly a manual process.",
	"Our reps like the call summaries.",
	"The security review took longer than expected.",
	"We reorganized the sales floor in the spring.",
	"Makes sense to me.",
}

// customerQuestions are questions without tracker keywords.
var customerQuestions = []string{
	"How does the integration with Salesforce work?",
	"Can we export the call data?",
	"What does onboarding look like?",
	"Is there an API we can use?",
	"How long does implementation usually take?",
	"Who else on your side would be involved?",
	"Does it support calls in German?",
	"Can managers leave comments on a call?",
}

// trackerDef is a tracker and the keywords that fire it.
type trackerDef struct {
	ID, Name, Type string
	Keywords       []string // lower case; matched case-insensitively on word boundaries
	Sentences      []string // sentences that mention a keyword
}

var trackerDefs = []trackerDef{
	{"t1", "Competitor - Gong", "competitor", []string{"gong"}, []string{
		"We are also evaluating Gong at the moment.",
		"Gong came up in our last review.",
		"Some of our reps used Gong at their previous company.",
	}},
	{"t2", "Competitor - Clari", "competitor", []string{"clari"}, []string{
		"Our forecasting team uses Clari today.",
		"How do you compare to Clari?",
	}},
	{"t3", "Pricing", "pricing", []string{"pricing", "price"}, []string{
		"Can you walk me through the pricing?",
		"The price per seat seems high for us.",
		"The list price went up this year.",
	}},
	{"t4", "Objection - Budget", "objection", []string{"budget"}, []string{
		"We do not have budget for this until next year.",
		"Honestly, budget is tight this quarter.",
	}},
	{"t5", "Next Steps", "next_steps", []string{"next step"}, []string{
		"What are the next steps on your side?",
		"We talked about next steps in the last meeting.",
	}},
	{"t6", "Risk - Churn", "risk", []string{"churn", "cancel"}, []string{
		"Leadership asked whether we should cancel at renewal.",
		"There is some churn risk if adoption stays low.",
	}},
	{"t7", "Feature Request", "feature_request", []string{"feature request", "roadmap"}, []string{
		"One feature request is better Slack alerts.",
		"Is bulk export on the roadmap?",
	}},
}

// Commitments: a sentence template with {obj} and {due}, who owns it, and the
// API-style summary verb.
type commitmentTmpl struct {
	Text, Owner, Summary string
	Meeting              bool // {obj} is a meeting, not a document
}

var commitments = []commitmentTmpl{
	{"I'll send {obj}{due}.", "rep", "Send {obj}{due}", false},
	{"I will get back to you with {obj}{due}.", "rep", "Get back with {obj}{due}", false},
	{"We will share {obj}{due}.", "rep", "Share {obj}{due}", false},
	{"Let me put together {obj}{due}.", "rep", "Put together {obj}{due}", false},
	{"Next step is {obj}{due}.", "rep", "Hold {obj}{due}", true},
	{"Let's schedule {obj}{due}.", "rep", "Schedule {obj}{due}", true},
	{"I'll loop in our procurement team{due}.", "customer", "Customer to loop in procurement{due}", false},
	{"We will review {obj} internally{due}.", "customer", "Customer to review {obj}{due}", false},
	{"I'll get you the list of admins{due}.", "customer", "Customer to send the list of admins{due}", false},
}

var commitmentObjects = []string{
	"the security questionnaire", "the revised proposal", "the SOC 2 report", "the implementation plan",
	"the updated pricing", "a summary of today's call", "the integration docs", "the ROI analysis",
}

var commitmentMeetings = []string{
	"a technical deep-dive", "a follow-up with your CFO", "a demo for the wider team", "an onsite workshop",
}

var months = []string{"January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

// distractors look like commitments but are not (past tense, hedged,
// questions), so that derived action items can be scored honestly.
var distractors = []string{
	"I sent that last week.",
	"We will see how the quarter goes.",
	"Did you schedule the demo?",
	"We already shared the proposal in March.",
	"I would send it if I had it, but it is not ready.",
	"They will probably decide sometime.",
	"I'll be honest, the last rollout was rough.",
	"Last time we scheduled a follow-up it slipped.",
}

// dueHint draws a due phrase; "" means none.
func dueHint(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "by Friday"
	case 1:
		return "next week"
	case 2:
		return "by end of month"
	case 3:
		return "on " + months[r.IntN(12)] + " " + itoa(1+r.IntN(28))
	case 4:
		return "tomorrow"
	case 5:
		return "before the renewal"
	case 6:
		return "by Tuesday"
	default:
		return ""
	}
}

// makeCommitment draws a commitment: the sentence, its owner, the due hint
// and the summary the API would give.
func makeCommitment(r *rand.Rand) (text, owner, due, summary string) {
	c := commitments[r.IntN(len(commitments))]
	obj := commitmentObjects[r.IntN(len(commitmentObjects))]
	if c.Meeting {
		obj = commitmentMeetings[r.IntN(len(commitmentMeetings))]
	}
	due = dueHint(r)
	d := ""
	if due != "" {
		d = " " + due
	}
	rep := strings.NewReplacer("{obj}", obj, "{due}", d)
	return rep.Replace(c.Text), c.Owner, due, rep.Replace(c.Summary)
}

// filler draws one or two filler sentences for a side.
func filler(r *rand.Rand, rep bool) string {
	pool := customerFillers
	if rep {
		pool = repFillers
	}
	s := pool[r.IntN(len(pool))]
	if r.IntN(3) == 0 {
		s += " " + pool[r.IntN(len(pool))]
	}
	return s
}

// findKeyword returns the byte offset of the first case-insensitive match of
// kw (lower case) in text on word boundaries (a trailing plural "s" allowed),
// or -1.
func findKeyword(text, kw string) int {
	lower := strings.ToLower(text)
	for from := 0; ; {
		i := strings.Index(lower[from:], kw)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(kw)
		if end < len(lower) && lower[end] == 's' {
			end++
		}
		if (i == 0 || !isLetter(lower[i-1])) && (end == len(lower) || !isLetter(lower[end])) {
			return i
		}
		from = i + 1
	}
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
