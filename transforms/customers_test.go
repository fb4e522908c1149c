package transforms_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/transforms"
)

func TestReadCustomersCSV(t *testing.T) {
	const header = "customer_id,name,domains,crm_account_id,csm_email,csm_name\n"
	cases := []struct {
		name, csv string
		want      []string // substrings of the error; none means valid
	}{
		{"valid", header + "c1,Acme Inc,acme.com; @Acme-EU.com ;www.acme.io,001A,jo@seller.com,Jo\nc2,Globex,,,,\n", nil},
		{"reordered and extra columns", "name,customer_id,notes,domains,crm_account_id,csm_email,csm_name\nAcme,c1,x,acme.com,,,\n", nil},
		{"missing column", "customer_id,name,domains,crm_account_id,csm_name\nc1,Acme,acme.com,,Jo\n", []string{`line 1: missing column "csm_email"`}},
		{"duplicate id", header + "c1,Acme,acme.com,,,\nc2,B,b.com,,,\nc1,Acme again,,,,\n", []string{`line 4, column customer_id: duplicate id "c1" (first on line 2)`}},
		{"bad email", header + "c1,Acme,acme.com,,jo@,Jo\nc2,B,,,Jo <jo@b.com>,Jo\n", []string{`line 2, column csm_email: "jo@" is not an email address`, `line 3, column csm_email`}},
		{"bad domain and empty fields", header + "c1,Acme,acme com,,,\n,NoID,,,,\nc3,,,,,\n", []string{`line 2, column domains: "acme com"`, "line 3, column customer_id: empty", "line 4, column name: empty"}},
		{"empty file", "", []string{"the file is empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs, err := transforms.ReadCustomersCSV(strings.NewReader(c.csv), "customers.csv")
			if c.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if c.name == "valid" && (len(cs) != 2 || strings.Join(cs[0].Domains, ",") != "acme.com,acme-eu.com,acme.io" || cs[1].Domains != nil) {
					t.Errorf("customers %+v", cs)
				}
				return
			}
			var ce *transforms.CustomersError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v, want a CustomersError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), "nothing was loaded") {
				t.Errorf("error %q does not say nothing was loaded", err)
			}
		})
	}
}

// TestCustomersTestdataIsCurrent checks that testdata/customers.csv is the
// simulated tenant's customer list with its default seed. Regenerate with
// UPDATE_TESTDATA=1 go test ./transforms -run TestCustomersTestdataIsCurrent.
func TestCustomersTestdataIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	if err := chorustest.New(chorustest.Options{}).WriteCustomersCSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "testdata", "customers.csv")
	if os.Getenv("UPDATE_TESTDATA") != "" {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, buf.Bytes()) {
		t.Fatalf("%s is not the simulated tenant's customer list; regenerate it with UPDATE_TESTDATA=1 go test ./transforms -run TestCustomersTestdataIsCurrent", path)
	}
	cs, err := transforms.ReadCustomersFile(path)
	if err != nil || len(cs) != 12 {
		t.Fatalf("%d customers, %v", len(cs), err)
	}
}

// TestCustomersFromTable copies the customer list from a warehouse table
// (customers_table) and refuses one with duplicate ids.
func TestCustomersFromTable(t *testing.T) {
	ctx := context.Background()
	w := openDuck(t, "wh.duckdb")
	for _, q := range []string{
		"CREATE SCHEMA crm",
		"CREATE TABLE crm.accounts (customer_id INTEGER, name VARCHAR, domains VARCHAR, crm_account_id VARCHAR, csm_email VARCHAR, csm_name VARCHAR, tier VARCHAR)",
		"INSERT INTO crm.accounts VALUES (1, 'Acme', 'acme.com;acme.io', '001', 'jo@s.com', 'Jo', 'gold'), (2, 'Globex', NULL, NULL, NULL, NULL, 'silver')",
	} {
		if err := w.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf, CustomersTable: "crm.accounts"}); err != nil {
		t.Fatal(err)
	}
	rows, err := w.Query(ctx, "SELECT customer_id, domain FROM chorus.int_customer_domains ORDER BY domain")
	if err != nil || len(rows) != 2 || rows[0]["customer_id"] != "1" || rows[0]["domain"] != "acme.com" {
		t.Errorf("customer domains from the table: %v %v", rows, err)
	}
	// Without a customer source the last list is kept.
	if _, err := transforms.Run(ctx, w, transforms.Options{AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	if rows, _ := w.Query(ctx, "SELECT * FROM chorus.customers"); len(rows) != 2 {
		t.Errorf("customers kept: %d rows", len(rows))
	}
	if err := w.Exec(ctx, "INSERT INTO crm.accounts VALUES (2, 'Globex again', NULL, NULL, NULL, NULL, NULL)"); err != nil {
		t.Fatal(err)
	}
	_, err = transforms.Run(ctx, w, transforms.Options{AsOf: asOf, CustomersTable: "crm.accounts"})
	if err == nil || !strings.Contains(err.Error(), "customer_id must be unique") || !strings.Contains(err.Error(), "2 (2 rows)") {
		t.Errorf("duplicate ids in customers_table: %v", err)
	}
	_, err = transforms.Run(ctx, w, transforms.Options{AsOf: asOf, CustomersTable: "crm.nope"})
	if err == nil || !strings.Contains(err.Error(), "customers_table crm.nope cannot be read") {
		t.Errorf("missing customers_table: %v", err)
	}
}

func TestSignals(t *testing.T) {
	d := transforms.DefaultSignals()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"recency_grace_days", "green_min", "amber_min"} {
		if _, ok := d.Weights[w]; !ok {
			t.Errorf("default weight %s missing", w)
		}
	}
	for k := range d.Weights {
		if transforms.WeightDoc[k] == "" {
			t.Errorf("weight %s is not documented", k)
		}
	}
	s, err := transforms.ReadSignalsFile(filepath.Join("..", "testdata", "signals.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Rules) == 0 || s.Weights["green_min"] == 0 {
		t.Errorf("testdata/signals.json: %+v", s)
	}
	bad := []struct{ doc, want string }{
		{`{"signals":[{"category":"gossip","tracker_name":"x"}]}`, `unknown category "gossip"`},
		{`{"signals":[{"category":"pricing","tracker_name":"("}]}`, "pattern"},
		{`{"signals":[{"category":"pricing"}]}`, "give tracker_name or tracker_type"},
		{`{"health_weights":{"nope":1}}`, `unknown health weight "nope"`},
		{`{"health_weights":{"amber_min":90}}`, "amber_min (90) is above green_min"},
		{`{"signal":[]}`, "unknown field"},
	}
	for _, b := range bad {
		if _, err := transforms.ParseSignals([]byte(b.doc), "x.json"); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v, want %q", b.doc, err, b.want)
		}
	}
	// Weights override one by one; the rules stay the defaults.
	s, err = transforms.ParseSignals([]byte(`{"health_weights":{"green_min":80}}`), "x.json")
	if err != nil || s.Weights["green_min"] != 80 || s.Weights["amber_min"] != d.Weights["amber_min"] || len(s.Rules) != len(d.Rules) {
		t.Errorf("override: %+v %v", s, err)
	}
}
