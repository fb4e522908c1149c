package answers

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// Dialect names, as Warehouse.Dialect reports them.
const (
	DuckDB   = "duckdb"
	BigQuery = "bigquery"
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
	if q.dialect == BigQuery {
		return sqlquote.Ident(BigQuery, q.models+"."+name)
	}
	return q.models + "." + name
}

// str is s as a string literal of the dialect (see sqlquote.String: bad
// UTF-8 and NUL become U+FFFD; request text is validated before it gets
// here, see textParam, so that never changes what a user asked for).
func (q sqlText) str(s string) string { return sqlquote.String(q.dialect, s) }

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

// ValidText reports whether request text may be put in a query: valid
// UTF-8 without NUL.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
