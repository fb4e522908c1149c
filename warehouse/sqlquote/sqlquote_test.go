package sqlquote

import (
	"database/sql"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// hostile are strings that break naive quoting.
var hostile = []string{
	``, `'`, `''`, `\`, `\'`, `\\'`, `'\`, `"`, `""`, "`", `'; DROP TABLE t; --`, `" OR 1=1 --`,
	`') OR ('1'='1`, `%_*?`, `$$ dollar $$`, `E'\x41'`, `\x27`, "line\nbreak\r\ttab", "\x1b[31mred\x1b[0m",
	"del\x7f", "ünïcödé ✓ 日本語 😀", "\u202eright-to-left", "\uFEFFbom", strings.Repeat(`'\"`, 70),
}

// Every hostile string comes back from real DuckDB unchanged, as a
// literal and as a column name.
func TestDuckDBRoundTrip(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range hostile {
		var v string
		if err := db.QueryRow("SELECT " + String(DuckDB, s)).Scan(&v); err != nil || v != s {
			t.Errorf("literal %q: came back as %q (%v)", s, v, err)
		}
		if s == "" {
			continue // DuckDB has no empty identifier
		}
		rows, err := db.Query("SELECT 1 AS " + Ident(DuckDB, s))
		if err != nil {
			t.Errorf("identifier %q: %v", s, err)
			continue
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(cols) != 1 || cols[0] != s {
			t.Errorf("identifier %q came back as %q", s, cols)
		}
	}
	// Text that is not valid UTF-8, or holds NUL, becomes a harmless
	// literal with U+FFFD in place of the bad bytes.
	for _, c := range []struct{ in, want string }{{"a\x00b", "a\uFFFDb"}, {"a\xffb'", "a\uFFFDb'"}} {
		var v string
		if err := db.QueryRow("SELECT " + String(DuckDB, c.in)).Scan(&v); err != nil || v != c.want {
			t.Errorf("%q: %q (%v), want %q", c.in, v, err, c.want)
		}
	}
}

// BigQuery's literals and quoted identifiers, written out by hand from its
// lexical rules (backslash escapes; \xhh for control characters).
func TestBigQuery(t *testing.T) {
	for _, c := range []struct{ in, lit, ident string }{
		{`it's`, `'it\'s'`, "`it's`"},
		{`a\b`, `'a\\b'`, "`a\\\\b`"},
		{`say "hi"`, `'say \"hi\"'`, "`say \"hi\"`"},
		{"a\nb\x7f", `'a\x0ab\x7f'`, "`a\nb\x7f`"},
		{"日本 😀", `'日本 😀'`, "`日本 😀`"},
		{"back`tick", "'back`tick'", "`back\\`tick`"},
		{`\'; DROP x; --`, `'\\\'; DROP x; --'`, "`\\\\'; DROP x; --`"},
		{"a\x00\xff", "'a\uFFFD\uFFFD'", "`a\x00\xff`"},
	} {
		if got := String(BigQuery, c.in); got != c.lit {
			t.Errorf("String(%q) = %s, want %s", c.in, got, c.lit)
		}
		if got := Ident(BigQuery, c.in); got != c.ident {
			t.Errorf("Ident(%q) = %s, want %s", c.in, got, c.ident)
		}
	}
}
