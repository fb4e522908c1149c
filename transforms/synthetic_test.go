package transforms_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// TestSyntheticMatchingAndDueDates runs the models on a few hand-written raw
// rows that cover the matching rules' edges and every due-date rule.
func TestSyntheticMatchingAndDueDates(t *testing.T) {
	ctx := context.Background()
	w := openDuck(t, "wh.duckdb")
	exec := func(q string) {
		t.Helper()
		if err := w.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	call := func(id, acctID, acctName string) {
		exec(fmt.Sprintf(`INSERT INTO chorus_raw.calls (call_id, title, started_at, account_id, account_name, owner_email, owner_name, url, transcript_status)
			VALUES ('%s', 'Call %s', TIMESTAMP '2026-02-25 15:00:00', NULLIF('%s', ''), NULLIF('%s', ''), 'owner@seller.com', 'Owner', 'https://chorus.ai/meeting/%s', 'complete')`, id, id, acctID, acctName, id))
	}
	person := func(callID, email string, rep bool) {
		typ := "customer"
		if rep {
			typ = "rep"
		}
		exec(fmt.Sprintf(`INSERT INTO chorus_raw.participants (call_id, participant_key, email, email_domain, participant_type, is_rep)
			VALUES ('%s', 'e:%s', '%s', split_part('%s', '@', 2), '%s', %v)`, callID, email, email, email, typ, rep))
	}
	call("A", "001abc", "")
	person("A", "rep@seller.com", true)
	call("B", "", "")
	person("B", "x@eu.acme.com", false)
	call("C", "", "")
	person("C", "someone@gmail.com", false)
	call("D", "", "")
	person("D", "p@b.com", false)
	person("D", "q@c.com", false)
	call("E", "", "ACME, Inc.")
	call("F", "", "")
	person("F", "r@b.com", false)
	person("F", "s@c.com", false)
	person("F", "t@c.com", false)
	call("G", "", "")
	person("G", "u@partner.com", false)
	call("H", "", "Unknown Prospect LLC")
	person("H", "v@prospect.com", false)

	dues := []struct{ hint, want, rule string }{
		{"by Friday", "2026-02-27", "weekday"},
		{"next Friday", "2026-03-06", "next_weekday"},
		{"tomorrow", "2026-02-26", "tomorrow"},
		{"by EOD", "2026-02-25", "today"},
		{"next week", "2026-03-06", "next_week"},
		{"by end of month", "2026-02-28", "end_of_month"},
		{"next month", "2026-03-31", "next_month"},
		{"by the end of the quarter", "2026-03-31", "end_of_quarter"},
		{"on March 3", "2026-03-03", "month_day"},
		{"on Feb 1st", "2027-02-01", "month_day"},
		{"by 2026-04-15", "2026-04-15", "date"},
		{"by 3/20", "2026-03-20", "numeric_date"},
		{"in two weeks", "2026-03-11", "in_weeks"},
		{"in 3 days", "2026-02-28", "in_days"},
		{"", "2026-03-04", "default"},
	}
	for i, d := range dues {
		exec(fmt.Sprintf(`INSERT INTO chorus_raw.action_items (call_id, item_index, text, source, due_hint, utterance_index, utterance_start_seconds)
			VALUES ('A', %d, 'Send item %d %s', 'chorus', NULLIF('%s', ''), %d, %d.7)`, i, i, d.hint, d.hint, i, 60+i))
	}
	// The same item twice (case and punctuation differ) is one task.
	exec(`INSERT INTO chorus_raw.action_items (call_id, item_index, text, source) VALUES ('E', 0, 'Send the SOC 2 report.', 'chorus'), ('E', 1, 'send the SOC-2 report', 'chorus')`)

	cust := []transforms.Customer{
		{ID: "c1", Name: "Acme Inc", Domains: []string{"acme.com"}, CRMAccountID: "001ABC", CSMEmail: "csm1@seller.com", CSMName: "CSM One"},
		{ID: "c2", Name: "Bee", Domains: []string{"b.com", "gmail.com"}},
		{ID: "c3", Name: "Cee", Domains: []string{"c.com"}},
		{ID: "c4", Name: "Partner", Domains: []string{"partner.com"}},
	}
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, Customers: cust, SellerDomains: []string{"partner.com"}}); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"A": {"c1", "crm_account_id"}, "B": {"c1", "email_domain"}, "C": {"", ""}, "D": {"c2", "email_domain"},
		"E": {"c1", "account_name"}, "F": {"c3", "email_domain"}, "G": {"", ""}, "H": {"", ""},
	}
	rows, err := w.Query(ctx, "SELECT call_id, customer_id, match_method, match_confidence FROM chorus.customer_calls")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("customer_calls: %d rows, want %d", len(rows), len(want))
	}
	for _, r := range rows {
		id := str(r["call_id"])
		if got := [2]string{str(r["customer_id"]), str(r["match_method"])}; got != want[id] {
			t.Errorf("call %s: %v, want %v (confidence %v)", id, got, want[id], r["match_confidence"])
		}
	}
	un, _ := w.Query(ctx, "SELECT call_id, reason FROM chorus.unattached_calls ORDER BY call_id")
	if len(un) != 3 || str(un[0]["reason"]) != "only free-mail participants and no CRM account" {
		t.Errorf("unattached_calls: %v", un)
	}

	tasks, err := w.Query(ctx, "SELECT * FROM chorus.customer_tasks WHERE call_id = 'A' ORDER BY item_index")
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != len(dues) {
		t.Fatalf("%d tasks, want %d", len(tasks), len(dues))
	}
	for i, d := range dues {
		tk := tasks[i]
		got, _ := tk["due_date"].(time.Time)
		if got.Format(time.DateOnly) != d.want || str(tk["due_rule"]) != d.rule {
			t.Errorf("%q (call on Wed 2026-02-25): due %s by %s, want %s by %s", d.hint, got.Format("Mon 2006-01-02"), str(tk["due_rule"]), d.want, d.rule)
		}
		wantStatus := "open"
		if d.want < asOf.Format(time.DateOnly) {
			wantStatus = "overdue"
		}
		if str(tk["status"]) != wantStatus || str(tk["assignee_email"]) != "csm1@seller.com" || str(tk["call_link"]) != fmt.Sprintf("https://chorus.ai/meeting/A#t=%d", 60+i) {
			t.Errorf("%q: status %s assignee %s link %s", d.hint, str(tk["status"]), str(tk["assignee_email"]), str(tk["call_link"]))
		}
	}
	dup, _ := w.Query(ctx, "SELECT COUNT(*) AS n FROM chorus.customer_tasks WHERE call_id = 'E'")
	if i64(dup[0]["n"]) != 1 {
		t.Errorf("the same action item twice: %v tasks", dup[0]["n"])
	}
}
