package serve

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestParseQuestion(t *testing.T) {
	cases := []struct {
		q, intent, account string
	}{
		{"Show Chorus calls for Acme", intentCalls, "acme"},
		{"show chorus calls for acme systems", intentCalls, "acme systems"},
		{"SHOW CHORUS CALLS FOR ACME!", intentCalls, "acme"},
		{"Show me Chorus calls for Acme.", intentCalls, "acme"},
		{"show me the calls with Acme Holdings?", intentCalls, "acme holdings"},
		{"List calls for Acme", intentCalls, "acme"},
		{"list all chorus calls for  Acme   Holdings", intentCalls, "acme holdings"},
		{"Please show the recent calls from Globex", intentCalls, "globex"},
		{"Can you list meetings with Initech Corp?", intentCalls, "initech corp"},
		{"Chorus calls for Acme", intentCalls, "acme"},
		{"calls with the Acme team", intentCalls, "acme team"},
		{"What action items from Acme calls?", intentActionItems, "acme"},
		{"what action items from acme holdings calls", intentActionItems, "acme holdings"},
		{"What are the action items from Acme's calls?", intentActionItems, "acme"},
		{"What are the action items from Acme’s calls?", intentActionItems, "acme"},
		{"Which action items came out of the Globex calls?", intentActionItems, "globex"},
		{"show me the pending action items for Acme", intentActionItems, "acme"},
		{"List open action items for Acme Holdings", intentActionItems, "acme holdings"},
		{"action items from Acme", intentActionItems, "acme"},
		{"What actionitems from Acme Chorus calls?", intentActionItems, "acme"},
		{"What action items do we have from Acme meetings", intentActionItems, "acme"},
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

func TestAsk(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	cust := f.tenant.Customers()[2]
	// A unique prefix of the name, as a person would type it.
	short := strings.Fields(cust.Name)[0]
	for _, c := range f.tenant.Customers() {
		if c.ID != cust.ID && strings.HasPrefix(strings.ToLower(c.Name), strings.ToLower(short)) {
			short = cust.Name
		}
	}

	var calls AskAnswer
	getJSON(t, ts, "/api/chorus/ask?q="+url.QueryEscape("Show me Chorus calls for "+strings.ToUpper(short)+"?"), http.StatusOK, &calls)
	var page MeetingPage
	getJSON(t, ts, "/api/chorus/meetings?customer="+cust.ID, http.StatusOK, &page)
	if calls.Intent != intentCalls || calls.Customer.ID != cust.ID || calls.Calls == nil ||
		!slices.Equal(ids(calls.Calls.Meetings), ids(page.Meetings)) || calls.Calls.Total != page.Total || page.Total == 0 {
		t.Errorf("calls for %s: %+v, want the meetings endpoint's %d", short, calls, page.Total)
	}
	if !strings.Contains(calls.Answer, cust.Name) {
		t.Errorf("answer %q", calls.Answer)
	}

	var items AskAnswer
	getJSON(t, ts, "/api/chorus/ask?q="+url.QueryEscape("What action items from "+cust.Name+" calls?"), http.StatusOK, &items)
	var in Insights
	getJSON(t, ts, "/api/chorus/insights/"+cust.ID, http.StatusOK, &in)
	if items.Intent != intentActionItems || items.Customer.ID != cust.ID || items.ActionItemsTotal != in.PendingTotal || len(items.ActionItems) == 0 {
		t.Fatalf("action items for %s: %d of %d, want the insights' %d", cust.Name, len(items.ActionItems), items.ActionItemsTotal, in.PendingTotal)
	}
	for i := range items.ActionItems {
		if items.ActionItems[i].ID != in.PendingActionItems[i].ID {
			t.Errorf("item %d differs from the insights' pending item", i)
		}
	}

	for _, c := range []struct {
		q      string
		status int
		says   string
	}{
		{"", 400, "ask a question"},
		{"what's the weather?", 400, "I can answer questions such as"},
		{"show chorus calls for Nobody Inc", 404, `no customer is named "nobody inc"`},
	} {
		code, body := call(t, "GET", ts.URL+"/api/chorus/ask?q="+url.QueryEscape(c.q), testToken, nil)
		var e errorBody
		_ = json.Unmarshal(body, &e)
		if code != c.status || !strings.Contains(e.Error, c.says) {
			t.Errorf("%q: %d %s, want %d saying %q", c.q, code, body, c.status, c.says)
		}
		if c.status == 400 && len(e.Examples) == 0 {
			t.Errorf("%q: no examples: %s", c.q, body)
		}
	}
}
