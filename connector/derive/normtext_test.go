package derive

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// normCases are action-item texts that differ in case, punctuation, white
// space and script, with the normal form written out by hand.
var normCases = []struct{ in, want string }{
	{"Send the SOW by Friday.", "send the sow by friday"},
	{"  send   the sow, by friday!!  ", "send the sow by friday"},
	{"I'll send it", "i ll send it"},
	{"I’ll send it — today", "i ll send it today"},
	{"Follow-up w/ legal (re: DPA)", "follow up w legal re dpa"},
	{"line\nbreak\ttab", "line break tab"},
	{"Café résumé NAÏVE", "café résumé naïve"},
	{"Cafe\u0301", "cafe"}, // a combining accent is neither letter nor digit
	{"日本語のテスト。次へ", "日本語のテスト 次へ"},
	{"ΟΔΟΣ Σ", "οδοσ σ"},
	{"Price: $1,200.50 → 20%", "price 1 200 50 20"},
	{"½ done ², ٣ items", "½ done ² ٣ items"},
	{"ship it 🚀🚀 now", "ship it now"},
	{"***", ""},
	{"", ""},
	{"İstanbul ǅemal", "istanbul ǆemal"}, // simple case mapping: İ → i
}

func TestNormText(t *testing.T) {
	for _, c := range normCases {
		if got := NormText(c.in); got != c.want {
			t.Errorf("NormText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// The SQL models' text_norm (customer_tasks.sql, rendered for DuckDB as the
// transforms build it) and NormText agree on every case, run in real
// DuckDB.
func TestNormTextAgreesWithSQL(t *testing.T) {
	ctx := context.Background()
	stmts, err := transforms.Plan(ctx, transforms.PlanOnly{DialectName: "duckdb", Raw: "chorus_raw", Models: "chorus"}, transforms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var expr string
	for _, s := range stmts {
		if s.Name == "customer_tasks" {
			if m := regexp.MustCompile(`(?m)^\s*(.+?) AS text_norm,?\s*$`).FindStringSubmatch(strings.Join(s.SQL, "\n")); m != nil {
				expr = m[1]
			}
		}
	}
	if expr == "" || !strings.Contains(expr, "a.text") {
		t.Fatalf("no text_norm expression over a.text in customer_tasks (%q)", expr)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range normCases {
		var got string
		if err := db.QueryRowContext(ctx, "SELECT "+expr+" FROM (SELECT ? AS text) AS a", c.in).Scan(&got); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got != NormText(c.in) {
			t.Errorf("%q: SQL %q, Go %q", c.in, got, NormText(c.in))
		}
	}
}
