package transforms_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// bqParseDir holds the node script and its package.json; `npm ci` there
// installs sql-parser-cst.
const bqParseDir = "testdata/bqparse"

// TestBigQueryModelsParse renders every seed and model for BigQuery and
// parses each statement with sql-parser-cst (dialect bigquery), a real
// BigQuery grammar that rejects DuckDB-only syntax such as :: casts.
func TestBigQueryModelsParse(t *testing.T) {
	if _, err := os.Stat(filepath.Join(bqParseDir, "node_modules", "sql-parser-cst")); err != nil {
		t.Skipf("sql-parser-cst is not installed: run `npm ci --prefix transforms/%s` (CI does) to check the BigQuery SQL", bqParseDir)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the BigQuery SQL check needs it")
	}
	cust := []transforms.Customer{{ID: "c1", Name: "Acme O'Brien", Domains: []string{"acme.example"}, CSMEmail: "jo@seller.example"}}
	stmts, err := transforms.Plan(context.Background(), transforms.PlanOnly{DialectName: "bigquery", Raw: "proj.chorus_raw", Models: "proj.chorus"},
		transforms.Options{Customers: cust, SellerDomains: []string{"seller.example"}, AsOf: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	stmts = append(stmts, transforms.Statement{Name: "search", Kind: "query", SQL: []string{
		transforms.SearchSQL("bigquery", "proj.chorus", transforms.SearchOptions{Phrase: `it's a "test" \ phrase`, CustomerID: "c1", Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 5}),
		transforms.TranscriptSQL("bigquery", "proj.chorus", "ABC'1"),
	}})
	dir := t.TempDir()
	var files []string
	where := map[string]string{}
	for _, st := range stmts {
		for i, q := range st.SQL {
			f := filepath.Join(dir, fmt.Sprintf("%s-%d.sql", st.Name, i))
			if err := os.WriteFile(f, []byte(q), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
			where[f] = q
		}
	}
	cmd := exec.Command(node, append([]string{filepath.Join(bqParseDir, "parse.js")}, files...)...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	runErr := cmd.Run()
	ok := 0
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r struct {
			File  string `json:"file"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("parse.js output %q: %v", sc.Text(), err)
		}
		if r.OK {
			ok++
			continue
		}
		t.Errorf("%s does not parse as BigQuery: %s\n--- SQL ---\n%s", filepath.Base(r.File), r.Error, numbered(where[r.File]))
	}
	if ok != len(files) && !t.Failed() {
		t.Fatalf("parse.js: %d of %d parsed; %v: %s", ok, len(files), runErr, stderr.String())
	}
	t.Logf("BigQuery: %d statements rendered and parsed with sql-parser-cst", ok)
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}
