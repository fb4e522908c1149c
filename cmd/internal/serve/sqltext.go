package serve

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Dialect names, as Warehouse.Dialect reports them.
const (
	duckDB   = "duckdb"
	bigQuery = "bigquery"
)

// sqlText writes the few pieces of SQL the read surfaces need in the
// warehouse's dialect. The Warehouse takes SQL text only, with no bound
// parameters, so every value that comes from a request goes through str,
// date or timestamp: nothing else may put request text into a query.
type sqlText struct {
	dialect string // duckdb | bigquery
	models  string // the model schema: chorus | project.dataset
}

// table names a model (or seed) table.
func (q sqlText) table(name string) string {
	if q.dialect == bigQuery {
		return "`" + q.models + "." + name + "`"
	}
	return q.models + "." + name
}

// str is s as a string literal. DuckDB literals are standard SQL: a quote
// is doubled and nothing else is special (a backslash is a backslash).
// BigQuery literals use backslash escapes: the backslash and both quote
// characters are escaped, and control characters are written as \xhh.
// Text that is not valid UTF-8 has the bad bytes replaced by U+FFFD, and a
// NUL (which neither engine keeps in a string) becomes U+FFFD too; request
// text is validated before it gets here (see textParam), so that never
// changes what a user asked for.
func (q sqlText) str(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if q.dialect != bigQuery {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\' || r == '\'' || r == '"':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// timestamp is t (in UTC, to the microsecond) as a TIMESTAMP literal.
func (q sqlText) timestamp(t time.Time) string {
	return "TIMESTAMP '" + t.UTC().Format("2006-01-02 15:04:05.999999") + "'"
}

// integer is n as a literal.
func (q sqlText) integer(n int) string { return strconv.Itoa(n) }

// contains is a case-insensitive substring test of a string expression
// against a request value. STRPOS rather than LIKE: a user's % and _ are
// characters, not wildcards.
func (q sqlText) contains(expr, needle string) string {
	return fmt.Sprintf("STRPOS(LOWER(%s), LOWER(%s)) > 0", expr, q.str(needle))
}

// validText reports whether request text may be put in a query: valid
// UTF-8 without NUL.
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
