// Package sqlquote writes text into SQL for the two warehouse dialects: a
// value as a string literal, a name as a quoted identifier. It is the one
// place the project quotes SQL; the warehouse loaders, the transforms and
// the read surfaces all go through it.
package sqlquote

import (
	"fmt"
	"strings"
)

// The dialects, as Warehouse.Dialect names them.
const (
	DuckDB   = "duckdb"
	BigQuery = "bigquery"
)

// String is s as a string literal of the dialect.
//
// DuckDB literals are standard SQL: a quote is doubled and nothing else is
// special (a backslash is a backslash). BigQuery literals use backslash
// escapes: the backslash and both quote characters are escaped, and control
// characters are written as \xhh. In both, bytes that are not valid UTF-8
// become U+FFFD, and so does NUL, which neither engine keeps in a string
// (and which would end the query text where the engine reads it as a C
// string).
func String(dialect, s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if dialect != BigQuery {
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

// Ident is name as a quoted identifier of the dialect: "name" in DuckDB
// (a quote doubled), `name` in BigQuery (a backtick or backslash escaped
// with a backslash). A BigQuery path such as project.dataset.table may be
// quoted whole.
func Ident(dialect, name string) string {
	if dialect == BigQuery {
		return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
