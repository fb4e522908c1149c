package answers

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// AskExamples are shown with a question the lookup does not understand.
var AskExamples = []string{
	"Show Chorus calls for Acme",
	"What action items from Acme calls?",
	"list calls for acme systems",
	"show me the pending action items for Acme",
}

// Intents of a question.
const (
	IntentCalls       = "calls"
	IntentActionItems = "action_items"
)

// askPatterns match a normalised question (lower case, single spaces, no
// trailing punctuation); the first group is the account.
var askPatterns = []struct {
	intent string
	re     *regexp.Regexp
}{
	{IntentActionItems, regexp.MustCompile(`^(?:what|which|show(?: me)?|list|get|give me|display|find)(?: are| were)?(?: all)?(?: the)?(?: open| pending| outstanding)? action ?items(?: are there| do we have| came out)?(?: from| for| in| on| of| out of)(?: the| our| my)? (.+?)(?:'s)?(?: chorus)?(?: calls?| meetings?)?$`)},
	{IntentActionItems, regexp.MustCompile(`^(?:open |pending )?action ?items (?:from|for) (.+?)(?:'s)?(?: chorus)?(?: calls?| meetings?)?$`)},
	{IntentCalls, regexp.MustCompile(`^(?:show(?: me)?|list|display|get|find|give me)(?: all)?(?: the| my| our)?(?: recent| latest)?(?: chorus)? (?:calls|meetings|recordings) (?:for|with|from|of) (?:the )?(.+)$`)},
	{IntentCalls, regexp.MustCompile(`^(?:chorus )?calls (?:for|with|from) (?:the )?(.+)$`)},
}

var (
	askSpace  = regexp.MustCompile(`\s+`)
	askPolite = regexp.MustCompile(`^(?:(?:hey|hi|ok|okay),? )?(?:please |can you |could you |would you )?`)
)

// parseQuestion finds the intent and the account of a question; ok is
// false for a question the lookup does not understand.
func parseQuestion(q string) (intent, account string, ok bool) {
	s := strings.ToLower(strings.TrimSpace(q))
	s = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u201c", `"`, "\u201d", `"`).Replace(s)
	s = askSpace.ReplaceAllString(s, " ")
	s = strings.TrimRight(s, "?!. ")
	s = askPolite.ReplaceAllString(s, "")
	s = strings.TrimSuffix(s, " please")
	s = strings.TrimRight(s, "?!., ")
	for _, p := range askPatterns {
		if m := p.re.FindStringSubmatch(s); m != nil {
			account = strings.Trim(m[1], ` "'`)
			if account != "" {
				return p.intent, account, true
			}
		}
	}
	return "", "", false
}

// normName is a name for matching: lower case, letters and digits, single
// spaces.
func normName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r > 127 && r != '\u2019':
			b.WriteRune(r)
		default:
			b.WriteRune(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// resolveCustomer finds the customer a question names: by name (case and
// punctuation aside) or id, else by a unique prefix of the name.
func resolveCustomer(list []CustomerSummary, account string) (*Customer, error) {
	want := normName(account)
	if want == "" {
		return nil, Badf("the question names no account")
	}
	var prefix []Customer
	for _, c := range list {
		name := normName(c.Name)
		if name == want || strings.EqualFold(c.ID, account) {
			c := c.Customer
			return &c, nil
		}
		if strings.HasPrefix(name, want) {
			prefix = append(prefix, c.Customer)
		}
	}
	switch len(prefix) {
	case 1:
		return &prefix[0], nil
	case 0:
		return nil, notFoundf("no customer is named %q", account)
	}
	names := make([]string, 0, len(prefix))
	for i, c := range prefix {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(prefix)-5))
			break
		}
		names = append(names, c.Name)
	}
	return nil, Badf("%q matches %d customers (%s): name one", account, len(prefix), strings.Join(names, ", "))
}

// AskAnswer answers a chat-style question with the data of the endpoints:
// calls are the first page of /api/chorus/meetings?customer=ID, action
// items the pending_action_items of /api/chorus/insights/ID.
type AskAnswer struct {
	Question         string       `json:"question"`
	Intent           string       `json:"intent"` // calls | action_items
	Customer         Customer     `json:"customer"`
	Answer           string       `json:"answer"`
	Calls            *MeetingPage `json:"calls,omitempty"`
	ActionItems      []Task       `json:"action_items,omitempty"`
	ActionItemsTotal int64        `json:"action_items_total,omitempty"`
}

// Ask answers a chat-style question.
func (s *Store) Ask(ctx context.Context, question string) (*AskAnswer, error) {
	intent, account, ok := parseQuestion(question)
	if !ok {
		return nil, Badf("I can answer questions such as %q or %q", AskExamples[0], AskExamples[1])
	}
	list, err := s.Customers(ctx)
	if err != nil {
		return nil, err
	}
	c, err := resolveCustomer(list, account)
	if err != nil {
		return nil, err
	}
	a := &AskAnswer{Question: question, Intent: intent, Customer: *c}
	switch intent {
	case IntentCalls:
		if a.Calls, err = s.meetings(ctx, MeetingFilter{CustomerID: c.ID, Page: 1, PageSize: DefaultPageSize}); err != nil {
			return nil, err
		}
		a.Answer = fmt.Sprintf("%d Chorus calls for %s", a.Calls.Total, c.Name)
		if a.Calls.Total > int64(len(a.Calls.Meetings)) {
			a.Answer += fmt.Sprintf(" (the newest %d here; page on with /api/chorus/meetings?customer=%s&page=2)", len(a.Calls.Meetings), c.ID)
		}
	case IntentActionItems:
		if a.ActionItems, a.ActionItemsTotal, err = s.tasks(ctx, "customer_id", c.ID, true, MaxPendingItems); err != nil {
			return nil, err
		}
		overdue := 0
		for _, t := range a.ActionItems {
			if t.Status == "overdue" {
				overdue++
			}
		}
		a.Answer = fmt.Sprintf("%d pending action items from %s calls", a.ActionItemsTotal, c.Name)
		if a.ActionItemsTotal > int64(len(a.ActionItems)) {
			a.Answer += fmt.Sprintf(" (the %d due soonest here, %d of them overdue)", len(a.ActionItems), overdue)
		} else if overdue > 0 {
			a.Answer += fmt.Sprintf(", %d overdue", overdue)
		}
	}
	return a, nil
}
