package transforms

import (
	"context"
	"fmt"
	"strings"
)

// Building a large model in pieces.
//
// A model whose WHERE holds {{ chunk(x, table, column) }} renders it as
// TRUE: one statement builds the whole table. On DuckDB, when table holds
// more than Options.ChunkRows rows, the runner builds the model instead in
// pieces, each the same SELECT restricted to one range of x — the ranges
// cut at quantiles of table.column, read from a sample of it — the first
// piece creating the table and the others appended in range order, all in
// one transaction. A model whose ORDER BY starts with x comes out in the
// same order as when built whole, and each piece's sort holds only its
// share of the rows: transcript_search, every utterance sorted by call,
// needs a few tens of MB per piece rather than its whole size (which the
// sort otherwise spills to disk, several times over, under DuckDB's
// memory_limit). The rows are the same whichever way the model is built.

// DefaultChunkRows is Options.ChunkRows when zero.
const DefaultChunkRows = 100_000

// chunkSpec is a model's chunk() call.
type chunkSpec struct {
	expr          string // the SQL expression the ranges are of
	table, column string // where the range boundaries are read
}

// chunkPiece is the range a piece covers: lo <= x < hi, a bound "" open;
// the last piece also takes the rows whose x is NULL (they sort last).
type chunkPiece struct {
	lo, hi string // SQL literals
	nulls  bool
}

func macroChunk(r *renderer, args []arg) (string, error) {
	if err := want(args, 3); err != nil {
		return "", err
	}
	spec := &chunkSpec{expr: args[0].Text, table: args[1].Text, column: args[2].Text}
	if spec.column == "" || !identRe.MatchString(spec.column) {
		return "", fmt.Errorf("chunk: the column %q is not an identifier", args[2].Text)
	}
	if r.chunk != nil && *r.chunk != *spec {
		return "", fmt.Errorf("chunk: a model has one chunk() condition")
	}
	r.chunk = spec
	p := r.piece
	if p == nil {
		return "TRUE", nil
	}
	var conds []string
	if p.lo != "" {
		conds = append(conds, fmt.Sprintf("(%s) >= %s", spec.expr, p.lo))
	}
	if p.hi != "" {
		conds = append(conds, fmt.Sprintf("(%s) < %s", spec.expr, p.hi))
	}
	cond := strings.Join(conds, " AND ")
	switch {
	case cond == "":
		cond = "TRUE"
	case p.nulls:
		cond = fmt.Sprintf("%s OR (%s) IS NULL", cond, spec.expr)
	}
	return "(" + cond + ")", nil
}

// TxEngine is an Engine that runs statements in one transaction: all of
// them or none (DuckDB). A model is built in pieces only on such an engine.
type TxEngine interface {
	ExecTx(ctx context.Context, statements []string) error
}

// txEngine returns e's transactions, looking through the catalog-qualified
// wrapper.
func txEngine(e Engine) (TxEngine, bool) {
	if q, ok := e.(qualifiedEngine); ok {
		e = q.Engine
	}
	t, ok := e.(TxEngine)
	return t, ok
}

// chunkedStatements renders a chunked model's pieces: CREATE OR REPLACE
// TABLE with the first range, INSERT INTO with each next one. It returns
// nil when the model is small enough to build whole.
func chunkedStatements(ctx context.Context, e Engine, r *renderer, st *step, chunkRows int) ([]string, error) {
	spec := st.chunk
	rows, err := e.Query(ctx, fmt.Sprintf("SELECT COUNT(*) AS n FROM %s", spec.table))
	if err != nil || len(rows) != 1 {
		return nil, fmt.Errorf("transforms: %s: rows of %s: %w", st.name, spec.table, err)
	}
	n := toInt64(rows[0]["n"])
	pieces := (n + int64(chunkRows) - 1) / int64(chunkRows)
	if pieces <= 1 {
		return nil, nil
	}
	// The quantiles of a uniform sample of the column: about chunkRows
	// rows a piece, without reading (or sorting) the whole column.
	sample := min(n, max(10_000, 100*pieces))
	fractions := make([]string, pieces-1)
	for i := range fractions {
		fractions[i] = fmt.Sprintf("%.6f", float64(i+1)/float64(pieces))
	}
	col := `"` + spec.column + `"`
	q := fmt.Sprintf(`SELECT DISTINCT b FROM (
  SELECT unnest(quantile_disc(%s, [%s])) AS b
  FROM (SELECT %s FROM %s USING SAMPLE reservoir(%d ROWS) REPEATABLE (1))
) WHERE b IS NOT NULL ORDER BY b`, col, strings.Join(fractions, ", "), col, spec.table, sample)
	bounds, err := e.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("transforms: %s: ranges of %s.%s: %w", st.name, spec.table, spec.column, err)
	}
	if len(bounds) == 0 {
		return nil, nil
	}
	lits := make([]string, len(bounds))
	for i, b := range bounds {
		lits[i] = literal(r.dialect, b["b"])
	}
	target := r.table(r.modelSchema, st.name)
	defer func() { r.piece, r.chunk = nil, nil }()
	out := make([]string, 0, len(lits)+1)
	for i := 0; i <= len(lits); i++ {
		p := &chunkPiece{}
		if i > 0 {
			p.lo = lits[i-1]
		}
		if i < len(lits) {
			p.hi = lits[i]
		} else {
			p.nulls = true
		}
		r.piece, r.chunk = p, nil
		body, err := r.render(st.model.Body)
		if err != nil {
			return nil, fmt.Errorf("transforms: %s: %w", st.model.File, err)
		}
		if i == 0 {
			out = append(out, fmt.Sprintf("CREATE OR REPLACE TABLE %s AS\n%s", target, body))
		} else {
			out = append(out, fmt.Sprintf("INSERT INTO %s\n%s", target, body))
		}
	}
	return out, nil
}
