package transforms

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// Dialects.
const (
	DuckDB   = "duckdb"
	BigQuery = "bigquery"
)

// renderer turns a model's SQL into one dialect's SQL by expanding its
// macros: {{ name(arg, ...) }}. Arguments are SQL expressions, or string
// literals in single or double quotes where the macro wants a name or a
// regular expression. Macros may nest: an argument may itself hold a
// {{ ... }} call, which is expanded first.
type renderer struct {
	dialect     string
	rawSchema   string
	modelSchema string
	asOf        time.Time
	vars        map[string]string // var("name") → SQL literal

	// chunk is the chunk() call of the model being rendered (nil: none).
	chunk *chunkSpec
	// piece, when set, is the range chunk() renders to; nil renders TRUE.
	piece *chunkPiece
}

// macroFunc renders one macro call.
type macroFunc func(r *renderer, args []arg) (string, error)

// arg is one macro argument: SQL text, and Str when it is a quoted literal.
type arg struct {
	Text  string
	Str   string
	IsStr bool
}

// macroDoc lists every macro with its signature and meaning; README.md
// carries the same table.
var macroDoc = map[string]string{
	"raw(\"stream\")":                  "a raw table: chorus_raw.calls | `project.dataset_raw.calls`",
	"model(\"name\")":                  "a model or seed table: chorus.name | `project.dataset.name`",
	"as_of()":                          "the run's as-of instant as a TIMESTAMP literal (UTC)",
	"as_of_date()":                     "the as-of date as a DATE literal",
	"var(\"name\")":                    "a run variable as a literal (default_due_days)",
	"cast(x, \"type\")":                "CAST to int | float | string | bool | date | timestamp",
	"cast_type(\"type\")":              "the dialect's name of a portable type (int → BIGINT | INT64, float → DOUBLE | FLOAT64, …)",
	"try_cast(x, \"type\")":            "TRY_CAST | SAFE_CAST: NULL instead of an error",
	"ts_diff_days(a, b)":               "whole calendar days from a to b (dates of two timestamps or dates)",
	"date_add_days(d, n)":              "DATE d plus n days",
	"date_add_months(d, n)":            "DATE d plus n months",
	"ts_add_days(t, n)":                "TIMESTAMP t plus n days",
	"date_trunc_week(x)":               "Monday (ISO week start) of a date or timestamp, as DATE",
	"date_trunc_quarter(x)":            "first day of the quarter, as DATE",
	"isodow(d)":                        "ISO day of week, Monday 1 … Sunday 7",
	"regexp_matches(x, 're')":          "x matches the RE2 expression (regexp_matches | REGEXP_CONTAINS)",
	"regexp_extract(x, 're')":          "the first capture group of the first match (the expression must have exactly one group), or NULL/''",
	"regexp_replace_all(x, 're', 's')": "replace every match (DuckDB needs the 'g' flag, BigQuery replaces all)",
	"md5_hex(x)":                       "lower-case hex MD5 of a string",
	"normalize_name(x)":                "company name for matching: lower case, punctuation and legal suffixes (inc, llc, ltd, corp, gmbh, …) removed",
	"unnest_split(x, 'sep', alias)":    "FROM item: one row per part of x split by sep, the part named alias",
	"unnest_range(a, b, alias)":        "FROM item: one row per integer a..b (inclusive), named alias",
	"unnest_list(x, alias)":            "FROM item: one row per element of the list (array) x, named alias",
	"chunk(x, table, column)":          "a WHERE condition: TRUE; on DuckDB the runner may build the model in pieces, each a range of x, cut at quantiles of table.column (see chunk.go)",
}

// MacroNames returns the macro signatures, sorted, with their meaning.
func MacroNames() [][2]string {
	var out [][2]string
	for k, v := range macroDoc {
		out = append(out, [2]string{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

var macros = map[string]macroFunc{
	"raw":                macroRaw,
	"model":              macroModel,
	"as_of":              macroAsOf,
	"as_of_date":         macroAsOfDate,
	"var":                macroVar,
	"cast":               macroCast(false),
	"try_cast":           macroCast(true),
	"cast_type":          macroCastType,
	"ts_diff_days":       macroTsDiffDays,
	"date_add_days":      macroDateAddDays,
	"date_add_months":    macroDateAddMonths,
	"ts_add_days":        macroTsAddDays,
	"date_trunc_week":    macroDateTruncWeek,
	"date_trunc_quarter": macroDateTruncQuarter,
	"isodow":             macroIsoDow,
	"regexp_matches":     macroRegexpMatches,
	"regexp_extract":     macroRegexpExtract,
	"regexp_replace_all": macroRegexpReplaceAll,
	"md5_hex":            macroMD5Hex,
	"normalize_name":     macroNormalizeName,
	"unnest_split":       macroUnnestSplit,
	"unnest_range":       macroUnnestRange,
	"unnest_list":        macroUnnestList,
	"chunk":              macroChunk,
}

// innermost matches a {{ ... }} block that holds no other block.
var innermost = regexp.MustCompile(`\{\{((?:[^{}]|\{[^{]|\}[^}])*?)\}\}`)

var callRe = regexp.MustCompile(`(?s)^\s*([a-z_][a-z0-9_]*)\s*\((.*)\)\s*$`)

// render expands every macro in src.
func (r *renderer) render(src string) (string, error) {
	out := src
	for i := 0; ; i++ {
		loc := innermost.FindStringSubmatchIndex(out)
		if loc == nil {
			break
		}
		if i > 10000 {
			return "", fmt.Errorf("macro expansion does not end")
		}
		body := out[loc[2]:loc[3]]
		s, err := r.call(body)
		if err != nil {
			line := 1 + strings.Count(out[:loc[0]], "\n")
			return "", fmt.Errorf("line %d: {{%s}}: %w", line, body, err)
		}
		out = out[:loc[0]] + s + out[loc[1]:]
	}
	if i := strings.Index(out, "{{"); i >= 0 {
		return "", fmt.Errorf("line %d: unbalanced {{", 1+strings.Count(out[:i], "\n"))
	}
	return out, nil
}

func (r *renderer) call(body string) (string, error) {
	m := callRe.FindStringSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("want name(args)")
	}
	f, ok := macros[m[1]]
	if !ok {
		return "", fmt.Errorf("unknown macro %q", m[1])
	}
	args, err := splitArgs(m[2])
	if err != nil {
		return "", err
	}
	return f(r, args)
}

// splitArgs splits macro arguments at top-level commas, respecting
// parentheses and quotes.
func splitArgs(s string) ([]arg, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []arg
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				if i+1 < len(s) && s[i+1] == quote { // doubled quote
					i++
				} else {
					quote = 0
				}
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, newArg(s[start:i]))
			start = i + 1
		}
	}
	if quote != 0 || depth != 0 {
		return nil, fmt.Errorf("unbalanced quotes or parentheses in arguments")
	}
	return append(out, newArg(s[start:])), nil
}

func newArg(t string) arg {
	t = strings.TrimSpace(t)
	a := arg{Text: t}
	if len(t) >= 2 && (t[0] == '\'' || t[0] == '"') && t[len(t)-1] == t[0] {
		inner := t[1 : len(t)-1]
		q := string(t[0])
		if !strings.Contains(strings.ReplaceAll(inner, q+q, ""), q) {
			a.IsStr, a.Str = true, strings.ReplaceAll(inner, q+q, q)
		}
	}
	return a
}

func want(args []arg, n int) error {
	if len(args) != n {
		return fmt.Errorf("want %d arguments, have %d", n, len(args))
	}
	return nil
}

func wantStr(a arg, what string) (string, error) {
	if !a.IsStr {
		return "", fmt.Errorf("%s must be a quoted literal, have %s", what, a.Text)
	}
	return a.Str, nil
}

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// table qualifies a table name with a schema (DuckDB) or a
// project.dataset (BigQuery).
func (r *renderer) table(schema, name string) string {
	if r.dialect == BigQuery {
		return sqlquote.Ident(BigQuery, schema+"."+name)
	}
	return schema + "." + name
}

func macroRaw(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	name, err := wantStr(args[0], "the stream")
	if err != nil || !identRe.MatchString(name) {
		return "", fmt.Errorf("raw: want a stream name such as \"calls\"")
	}
	return r.table(r.rawSchema, name), nil
}

func macroModel(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	name, err := wantStr(args[0], "the model")
	if err != nil || !identRe.MatchString(name) {
		return "", fmt.Errorf("model: want a model name such as \"stg_calls\"")
	}
	return r.table(r.modelSchema, name), nil
}

func macroAsOf(r *renderer, args []arg) (string, error) {
	if err := want(args, 0); err != nil {
		return "", err
	}
	return "TIMESTAMP '" + r.asOf.UTC().Format("2006-01-02 15:04:05") + "'", nil
}

func macroAsOfDate(r *renderer, args []arg) (string, error) {
	if err := want(args, 0); err != nil {
		return "", err
	}
	return "DATE '" + r.asOf.UTC().Format("2006-01-02") + "'", nil
}

func macroVar(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	name, err := wantStr(args[0], "the variable")
	if err != nil {
		return "", err
	}
	v, ok := r.vars[name]
	if !ok {
		return "", fmt.Errorf("unknown variable %q", name)
	}
	return v, nil
}

// typeName maps a portable type name to the dialect's.
func typeName(dialect, t string) (string, error) {
	duck := map[string]string{"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN", "date": "DATE", "timestamp": "TIMESTAMP"}
	bq := map[string]string{"int": "INT64", "float": "FLOAT64", "string": "STRING", "bool": "BOOL", "date": "DATE", "timestamp": "TIMESTAMP"}
	m := duck
	if dialect == BigQuery {
		m = bq
	}
	s, ok := m[t]
	if !ok {
		return "", fmt.Errorf("unknown type %q (want int, float, string, bool, date or timestamp)", t)
	}
	return s, nil
}

func macroCast(try bool) macroFunc {
	return func(r *renderer, args []arg) (string, error) {
		if err := want(args, 2); err != nil {
			return "", err
		}
		t, err := wantStr(args[1], "the type")
		if err != nil {
			return "", err
		}
		tn, err := typeName(r.dialect, t)
		if err != nil {
			return "", err
		}
		fn := "CAST"
		if try {
			fn = map[string]string{DuckDB: "TRY_CAST", BigQuery: "SAFE_CAST"}[r.dialect]
		}
		return fmt.Sprintf("%s(%s AS %s)", fn, args[0].Text, tn), nil
	}
}

func macroCastType(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	t, err := wantStr(args[0], "the type")
	if err != nil {
		return "", err
	}
	return typeName(r.dialect, t)
}

func macroTsDiffDays(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	a, b := args[0].Text, args[1].Text
	if r.dialect == BigQuery {
		return fmt.Sprintf("DATE_DIFF(CAST(%s AS DATE), CAST(%s AS DATE), DAY)", b, a), nil
	}
	return fmt.Sprintf("date_diff('day', CAST(%s AS DATE), CAST(%s AS DATE))", a, b), nil
}

func macroDateAddDays(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("DATE_ADD(CAST(%s AS DATE), INTERVAL CAST(%s AS INT64) DAY)", args[0].Text, args[1].Text), nil
	}
	return fmt.Sprintf("CAST(CAST(%s AS DATE) + CAST(%s AS INTEGER) AS DATE)", args[0].Text, args[1].Text), nil
}

func macroDateAddMonths(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("DATE_ADD(CAST(%s AS DATE), INTERVAL CAST(%s AS INT64) MONTH)", args[0].Text, args[1].Text), nil
	}
	return fmt.Sprintf("CAST(CAST(%s AS DATE) + to_months(CAST(%s AS INTEGER)) AS DATE)", args[0].Text, args[1].Text), nil
}

func macroTsAddDays(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("TIMESTAMP_ADD(%s, INTERVAL CAST(%s AS INT64) DAY)", args[0].Text, args[1].Text), nil
	}
	return fmt.Sprintf("(%s + to_days(CAST(%s AS INTEGER)))", args[0].Text, args[1].Text), nil
}

func macroDateTruncWeek(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("DATE_TRUNC(CAST(%s AS DATE), ISOWEEK)", args[0].Text), nil
	}
	return fmt.Sprintf("CAST(date_trunc('week', CAST(%s AS DATE)) AS DATE)", args[0].Text), nil
}

func macroDateTruncQuarter(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("DATE_TRUNC(CAST(%s AS DATE), QUARTER)", args[0].Text), nil
	}
	return fmt.Sprintf("CAST(date_trunc('quarter', CAST(%s AS DATE)) AS DATE)", args[0].Text), nil
}

func macroIsoDow(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("(MOD(EXTRACT(DAYOFWEEK FROM CAST(%s AS DATE)) + 5, 7) + 1)", args[0].Text), nil
	}
	return fmt.Sprintf("CAST(isodow(CAST(%s AS DATE)) AS BIGINT)", args[0].Text), nil
}

// regex renders a regular expression argument: a literal becomes a raw
// string in BigQuery (so that backslashes reach RE2 unchanged) and a plain
// string in DuckDB (which does not process escapes); an expression is
// passed through.
func (r *renderer) regex(a arg) (string, error) {
	if !a.IsStr {
		return a.Text, nil
	}
	if _, err := regexp.Compile(a.Str); err != nil {
		return "", fmt.Errorf("regular expression %q: %w", a.Str, err)
	}
	if strings.ContainsAny(a.Str, "'\n") {
		return "", fmt.Errorf("regular expression %q: write a quote as \\x27 and no new lines", a.Str)
	}
	if r.dialect == BigQuery {
		return "r'" + a.Str + "'", nil
	}
	return "'" + a.Str + "'", nil
}

func macroRegexpMatches(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	re, err := r.regex(args[1])
	if err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("REGEXP_CONTAINS(%s, %s)", args[0].Text, re), nil
	}
	return fmt.Sprintf("regexp_matches(%s, %s)", args[0].Text, re), nil
}

func macroRegexpExtract(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	if args[1].IsStr {
		re, err := regexp.Compile(args[1].Str)
		if err == nil && re.NumSubexp() != 1 {
			return "", fmt.Errorf("regexp_extract: %q must have exactly one capture group (use (?:…) for the others)", args[1].Str)
		}
	}
	re, err := r.regex(args[1])
	if err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("REGEXP_EXTRACT(%s, %s)", args[0].Text, re), nil
	}
	// DuckDB returns '' when nothing matches; BigQuery returns NULL. Make
	// both NULL.
	return fmt.Sprintf("NULLIF(regexp_extract(%s, %s, 1), '')", args[0].Text, re), nil
}

func macroRegexpReplaceAll(r *renderer, args []arg) (string, error) {
	if err := want(args, 3); err != nil {
		return "", err
	}
	re, err := r.regex(args[1])
	if err != nil {
		return "", err
	}
	repl, err := wantStr(args[2], "the replacement")
	if err != nil {
		return "", err
	}
	if strings.ContainsAny(repl, `\'`) {
		return "", fmt.Errorf("regexp_replace_all: the replacement may not hold backslashes or quotes")
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("REGEXP_REPLACE(%s, %s, '%s')", args[0].Text, re, repl), nil
	}
	return fmt.Sprintf("regexp_replace(%s, %s, '%s', 'g')", args[0].Text, re, repl), nil
}

func macroMD5Hex(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("TO_HEX(MD5(%s))", args[0].Text), nil
	}
	return fmt.Sprintf("md5(%s)", args[0].Text), nil
}

// legalSuffixes are words dropped from company names before matching them.
const legalSuffixes = `\b(?:inc|incorporated|llc|l l c|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|sas|srl|plc|bv|nv|pty|oy|ab|as|kk|the)\b`

func macroNormalizeName(r *renderer, args []arg) (string, error) {
	if err := want(args, 1); err != nil {
		return "", err
	}
	s := "LOWER(" + args[0].Text + ")"
	steps := [][2]string{{`[^\p{L}\p{N}]+`, " "}, {legalSuffixes, " "}, {`\s+`, " "}}
	for _, st := range steps {
		var err error
		s, err = macroRegexpReplaceAll(r, []arg{{Text: s}, newArg("'" + st[0] + "'"), newArg("'" + st[1] + "'")})
		if err != nil {
			return "", err
		}
	}
	return "TRIM(" + s + ")", nil
}

func macroUnnestSplit(r *renderer, args []arg) (string, error) {
	if err := want(args, 3); err != nil {
		return "", err
	}
	alias := args[2].Text
	if !identRe.MatchString(alias) {
		return "", fmt.Errorf("unnest_split: alias %q is not an identifier", alias)
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("UNNEST(SPLIT(%s, %s)) AS %s", args[0].Text, args[1].Text, alias), nil
	}
	return fmt.Sprintf("unnest(string_split(%s, %s)) AS _%s(%s)", args[0].Text, args[1].Text, alias, alias), nil
}

func macroUnnestRange(r *renderer, args []arg) (string, error) {
	if err := want(args, 3); err != nil {
		return "", err
	}
	alias := args[2].Text
	if !identRe.MatchString(alias) {
		return "", fmt.Errorf("unnest_range: alias %q is not an identifier", alias)
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("UNNEST(GENERATE_ARRAY(%s, %s)) AS %s", args[0].Text, args[1].Text, alias), nil
	}
	return fmt.Sprintf("unnest(generate_series(CAST(%s AS BIGINT), CAST(%s AS BIGINT))) AS _%s(%s)", args[0].Text, args[1].Text, alias, alias), nil
}

func macroUnnestList(r *renderer, args []arg) (string, error) {
	if err := want(args, 2); err != nil {
		return "", err
	}
	alias := args[1].Text
	if !identRe.MatchString(alias) {
		return "", fmt.Errorf("unnest_list: alias %q is not an identifier", alias)
	}
	if r.dialect == BigQuery {
		return fmt.Sprintf("UNNEST(%s) AS %s", args[0].Text, alias), nil
	}
	return fmt.Sprintf("unnest(%s) AS _%s(%s)", args[0].Text, alias, alias), nil
}

// literal renders a Go value as an SQL literal of the dialect.
func literal(dialect string, v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return sqlquote.String(dialect, x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "TRUE"
		}
		return "FALSE"
	case time.Time:
		return "TIMESTAMP '" + x.UTC().Format("2006-01-02 15:04:05.999999") + "'"
	default:
		return sqlquote.String(dialect, fmt.Sprint(x))
	}
}
