package serve

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

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

	var calls answers.AskAnswer
	getJSON(t, ts, "/api/chorus/ask?q="+url.QueryEscape("Show me Chorus calls for "+strings.ToUpper(short)+"?"), http.StatusOK, &calls)
	var page answers.MeetingPage
	getJSON(t, ts, "/api/chorus/meetings?customer="+cust.ID, http.StatusOK, &page)
	if calls.Intent != answers.IntentCalls || calls.Customer.ID != cust.ID || calls.Calls == nil ||
		!slices.Equal(ids(calls.Calls.Meetings), ids(page.Meetings)) || calls.Calls.Total != page.Total || page.Total == 0 {
		t.Errorf("calls for %s: %+v, want the meetings endpoint's %d", short, calls, page.Total)
	}
	if !strings.Contains(calls.Answer, cust.Name) {
		t.Errorf("answer %q", calls.Answer)
	}

	var items answers.AskAnswer
	getJSON(t, ts, "/api/chorus/ask?q="+url.QueryEscape("What action items from "+cust.Name+" calls?"), http.StatusOK, &items)
	var in answers.Insights
	getJSON(t, ts, "/api/chorus/insights/"+cust.ID, http.StatusOK, &in)
	if items.Intent != answers.IntentActionItems || items.Customer.ID != cust.ID || items.ActionItemsTotal != in.PendingTotal || len(items.ActionItems) == 0 {
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
