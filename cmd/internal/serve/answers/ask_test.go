package answers

import (
	"strings"
	"testing"
)

func TestParseQuestion(t *testing.T) {
	cases := []struct {
		q, intent, account string
	}{
		{"Show Chorus calls for Acme", IntentCalls, "acme"},
		{"show chorus calls for acme systems", IntentCalls, "acme systems"},
		{"SHOW CHORUS CALLS FOR ACME!", IntentCalls, "acme"},
		{"Show me Chorus calls for Acme.", IntentCalls, "acme"},
		{"show me the calls with Acme Holdings?", IntentCalls, "acme holdings"},
		{"List calls for Acme", IntentCalls, "acme"},
		{"list all chorus calls for  Acme   Holdings", IntentCalls, "acme holdings"},
		{"Please show the recent calls from Globex", IntentCalls, "globex"},
		{"Can you list meetings with Initech Corp?", IntentCalls, "initech corp"},
		{"Chorus calls for Acme", IntentCalls, "acme"},
		{"calls with the Acme team", IntentCalls, "acme team"},
		{"What action items from Acme calls?", IntentActionItems, "acme"},
		{"what action items from acme holdings calls", IntentActionItems, "acme holdings"},
		{"What are the action items from Acme's calls?", IntentActionItems, "acme"},
		{"What are the action items from Acme’s calls?", IntentActionItems, "acme"},
		{"Which action items came out of the Globex calls?", IntentActionItems, "globex"},
		{"show me the pending action items for Acme", IntentActionItems, "acme"},
		{"List open action items for Acme Holdings", IntentActionItems, "acme holdings"},
		{"action items from Acme", IntentActionItems, "acme"},
		{"What actionitems from Acme Chorus calls?", IntentActionItems, "acme"},
		{"What action items do we have from Acme meetings", IntentActionItems, "acme"},
	}
	for _, c := range cases {
		intent, account, ok := parseQuestion(c.q)
		if !ok || intent != c.intent || account != c.account {
			t.Errorf("%q: %q %q %v, want %q %q", c.q, intent, account, ok, c.intent, c.account)
		}
	}
	for _, q := range []string{"", "hello", "show calls", "what is the weather in Acme", "delete calls for Acme", "action items", "show chorus calls for"} {
		if intent, account, ok := parseQuestion(q); ok {
			t.Errorf("%q: understood as %q %q", q, intent, account)
		}
	}
}

func TestResolveCustomer(t *testing.T) {
	list := []CustomerSummary{
		{Customer: Customer{ID: "c1", Name: "Acme Holdings"}},
		{Customer: Customer{ID: "c2", Name: "Acme Systems, Inc."}},
		{Customer: Customer{ID: "c3", Name: "Globex"}},
		{Customer: Customer{ID: "c4", Name: "Globex Europe"}},
	}
	for _, c := range []struct{ account, id, err string }{
		{"acme holdings", "c1", ""},
		{"ACME SYSTEMS INC", "c2", ""},
		{"acme sys", "c2", ""},
		{"globex", "c3", ""}, // an exact name beats a longer one it prefixes
		{"c4", "c4", ""},
		{"acme", "", "matches 2 customers"},
		{"initech", "", "no customer is named"},
		{"!!", "", "names no account"},
	} {
		got, err := resolveCustomer(list, c.account)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: %v %v, want an error saying %q", c.account, got, err, c.err)
		case c.err == "" && (err != nil || got.ID != c.id):
			t.Errorf("%q: %v %v, want %s", c.account, got, err, c.id)
		}
	}
}
