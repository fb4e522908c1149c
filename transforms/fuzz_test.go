package transforms

// Fuzzing the customers CSV reader. Short CI run:
//
//	go test ./transforms/ -run '^$' -fuzz '^FuzzCustomersCSV$' -fuzztime 10s

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzCustomersCSV: a customer list is either refused with a
// *CustomersError listing at least one problem, each on one line, or it
// yields customers with a trimmed non-empty unique id, a name, lower-case
// well-formed domains and a lower-case email; and writing them back as CSV
// reads back to the same customers.
func FuzzCustomersCSV(f *testing.F) {
	header := strings.Join(CustomerColumns, ",") + "\n"
	for _, s := range []string{
		header + "c1,Acme,acme.example;www.acme.io,001A,csm@seller.example,Casey\n",
		header + "c1,Acme,@ACME.example,,,\n\nc2,\"Beta, Inc.\",beta.example,,,\n",
		"\ufeff" + header + "c1,Acme,acme.example,,,\n",
		"name,customer_id,domains,csm_email,csm_name,crm_account_id,extra\nAcme,c1,acme.example,,,,x\n",
		header + "c1,Acme,acme.example,,,\nc1,Acme again,acme.example,,,\n",        // duplicate id
		header + "c1,Acme,not a domain,,not-an-email,\n",                           // bad domain and email
		header + ",,acme.example,,,\n",                                             // empty id and name
		"customer_id,name\nc1,Acme\n",                                              // missing columns
		"customer_id,customer_id,name,domains,crm_account_id,csm_email,csm_name\n", // duplicate column
		header + "c1,\"Acme\"Corp,acme.example,,,\n",                               // bare quote
		header + "c1,Acme\n", // short record
		"",
		"\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ReadCustomersCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			var ce *CustomersError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			for _, p := range ce.Problems {
				if p == "" || strings.ContainsAny(p, "\r\n") {
					t.Fatalf("problem is not one line: %q", p)
				}
			}
			return
		}
		ids := map[string]bool{}
		for _, c := range cs {
			if c.ID == "" || c.ID != strings.TrimSpace(c.ID) || ids[c.ID] {
				t.Fatalf("customer id %q (seen: %v)", c.ID, ids[c.ID])
			}
			ids[c.ID] = true
			if c.Name == "" {
				t.Fatalf("customer %q without a name", c.ID)
			}
			for _, d := range c.Domains {
				if d != strings.ToLower(d) || !domainRe.MatchString(d) {
					t.Fatalf("customer %q: domain %q", c.ID, d)
				}
			}
			if c.CSMEmail != strings.ToLower(c.CSMEmail) || (c.CSMEmail != "" && !strings.Contains(c.CSMEmail, "@")) {
				t.Fatalf("customer %q: csm_email %q", c.ID, c.CSMEmail)
			}
		}
		// Round trip.
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		rows := [][]string{CustomerColumns}
		for _, c := range cs {
			rows = append(rows, []string{c.ID, c.Name, strings.Join(c.Domains, ";"), c.CRMAccountID, c.CSMEmail, c.CSMName})
		}
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCustomersCSV(&b, "again.csv")
		if err != nil {
			t.Fatalf("customers written back do not read: %v\n%s", err, b.String())
		}
		if len(cs) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(cs, again) {
			t.Fatalf("round trip changed the customers:\n%+v\n%+v", cs, again)
		}
	})
}
