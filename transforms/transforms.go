// Package transforms builds customer-level models from the raw Chorus
// tables: it loads the seed tables (customers, free-mail domains, the
// seller's configured domains, the signal mapping and the health weights),
// renders the versioned SQL models of package sqlmodels for the warehouse's
// dialect, builds them in dependency order with CREATE OR REPLACE and
// records every build in a ledger. A model file whose content changed
// without a version bump is refused. README.md in this directory documents
// the file format, the macros, the models and the health score.
package transforms

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"time"

	sqlmodels "github.com/chorus-elt/chorus-elt/sql"
	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// Engine is what the runner needs of a warehouse; warehouse.Warehouse
// satisfies it.
type Engine interface {
	// Dialect is "duckdb" or "bigquery".
	Dialect() string
	// RawSchema and ModelSchema are where raw tables live and where models
	// are built ("chorus_raw", "chorus"; "project.dataset_raw",
	// "project.dataset").
	RawSchema() string
	ModelSchema() string
	Exec(ctx context.Context, sql string) error
	Query(ctx context.Context, sql string) ([]map[string]any, error)
}

// Options tune Run.
type Options struct {
	// Customers, when not nil, replace the customers table (see
	// ReadCustomersFile). Otherwise CustomersTable, when set, names an
	// existing warehouse table with the customer columns to copy from.
	// Otherwise the customers table of the last run is kept (an empty one
	// is created the first time).
	Customers      []Customer
	CustomersTable string
	// Signals is the signal mapping and health weights; nil means
	// DefaultSignals().
	Signals *Signals
	// SellerDomains are the seller's own email domains beyond those of its
	// Chorus users and rep participants (never matched to a customer).
	SellerDomains []string
	// AsOf is "now" for the health and overdue computations; zero means
	// time.Now().
	AsOf time.Time
	// DefaultDueDays is the due date of a task without a due phrase, in days
	// after the call; 0 means 7.
	DefaultDueDays int
	// DryRun prints the plan and the rendered SQL to Out and changes nothing.
	DryRun bool
	Out    io.Writer
	// Models replaces the embedded SQL files (tests); nil means sqlmodels.FS().
	Models fs.FS
	Logger *slog.Logger
	// Now is the clock for the ledger; nil means time.Now.
	Now func() time.Time
	// ChunkRows: a table model with a chunk() condition is built, on
	// DuckDB, in pieces of about this many rows of its chunk table (see
	// chunk.go); 0 means DefaultChunkRows, a negative value builds it whole.
	ChunkRows int
}

// Result says what Run built.
type Result struct {
	Dialect string         `json:"dialect"`
	AsOf    time.Time      `json:"as_of"`
	DryRun  bool           `json:"dry_run,omitempty"`
	Steps   []*StepResult  `json:"steps"`
	Rows    map[string]int `json:"rows"`
	Seconds float64        `json:"seconds"`
}

// StepResult is one seed or model build.
type StepResult struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"` // seed, view or table
	Version  int     `json:"version"`
	Checksum string  `json:"checksum"`
	Rows     int64   `json:"rows"` // -1 for views
	Seconds  float64 `json:"seconds"`
}

// Seed tables the runner loads before the models.
const (
	SeedCustomers     = "customers"
	SeedFreeMail      = "free_mail_domains"
	SeedSellerDomains = "seller_domains_config"
	SeedSignalMap     = "signal_map"
	SeedHealthWeights = "health_weights"
)

// LedgerTable records every build, in the model schema.
const LedgerTable = "_chorus_models"

func seedNames() []string {
	return []string{SeedCustomers, SeedFreeMail, SeedSellerDomains, SeedSignalMap, SeedHealthWeights}
}

// step is one rendered statement to run.
type step struct {
	name, kind string
	version    int
	checksum   string
	sql        []string // statements, run in order
	count      bool     // count rows after
	model      *Model
	chunk      *chunkSpec // the model's chunk() condition, when it has one
}

// Plan renders every step without running anything: seeds first, then the
// models in dependency order.
func plan(ctx context.Context, e Engine, opt *Options) ([]*step, error) {
	steps, _, err := planWith(ctx, e, opt)
	return steps, err
}

// planWith is plan that also returns the renderer, for the pieces of
// chunked models.
func planWith(ctx context.Context, e Engine, opt *Options) ([]*step, *renderer, error) {
	fsys := opt.Models
	if fsys == nil {
		fsys = sqlmodels.FS()
	}
	models, err := loadModels(fsys, seedNames())
	if err != nil {
		return nil, nil, err
	}
	r, err := newRenderer(e, opt)
	if err != nil {
		return nil, nil, err
	}
	seeds, err := seedSteps(ctx, e, r, opt)
	if err != nil {
		return nil, nil, err
	}
	steps := seeds
	for _, m := range models {
		r.chunk = nil
		body, err := r.render(m.Body)
		if err != nil {
			return nil, nil, fmt.Errorf("transforms: %s: %w", m.File, err)
		}
		kind := strings.ToUpper(m.Materialized)
		stmt := fmt.Sprintf("CREATE OR REPLACE %s %s AS\n%s", kind, r.table(r.modelSchema, m.Name), body)
		st := &step{name: m.Name, kind: m.Materialized, version: m.Version, checksum: m.Checksum,
			sql: []string{stmt}, count: m.Materialized == "table", model: m}
		if m.Materialized == "table" {
			st.chunk = r.chunk
		}
		steps = append(steps, st)
	}
	r.chunk = nil
	return steps, r, nil
}

// Statement is one rendered step of a plan: a seed or a model and the SQL
// statements that build it.
type Statement struct {
	Name    string
	Kind    string // seed, view or table
	Version int
	SQL     []string
}

// Plan renders every step for e's dialect without running anything (a
// customers table named in opt is not checked).
func Plan(ctx context.Context, e Engine, opt Options) ([]Statement, error) {
	opt.DryRun = true
	if opt.AsOf.IsZero() {
		opt.AsOf = time.Now().UTC()
	}
	if opt.Signals == nil {
		opt.Signals = DefaultSignals()
	}
	steps, err := plan(ctx, e, &opt)
	if err != nil {
		return nil, err
	}
	out := make([]Statement, len(steps))
	for i, st := range steps {
		out[i] = Statement{Name: st.name, Kind: st.kind, Version: st.version, SQL: st.sql}
	}
	return out, nil
}

func newRenderer(e Engine, opt *Options) (*renderer, error) {
	d := e.Dialect()
	if d != DuckDB && d != BigQuery {
		return nil, fmt.Errorf("transforms: unknown dialect %q (want duckdb or bigquery)", d)
	}
	due := opt.DefaultDueDays
	if due <= 0 {
		due = 7
	}
	return &renderer{dialect: d, rawSchema: e.RawSchema(), modelSchema: e.ModelSchema(), asOf: opt.AsOf,
		vars: map[string]string{"default_due_days": fmt.Sprint(due)}}, nil
}

// Run loads the seeds and builds every model. A model whose file changed
// without a version bump stops the run before anything is built.
func Run(ctx context.Context, e Engine, opt Options) (*Result, error) {
	start := time.Now()
	if opt.AsOf.IsZero() {
		opt.AsOf = time.Now().UTC()
	}
	opt.AsOf = opt.AsOf.UTC().Truncate(time.Second)
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Out == nil {
		opt.Out = io.Discard
	}
	if opt.Signals == nil {
		opt.Signals = DefaultSignals()
	}
	if err := opt.Signals.Validate(); err != nil {
		return nil, fmt.Errorf("transforms: signals: %w", err)
	}
	res := &Result{Dialect: e.Dialect(), AsOf: opt.AsOf, DryRun: opt.DryRun, Rows: map[string]int{}}
	if !opt.DryRun {
		qe, err := qualified(ctx, e)
		if err != nil {
			return nil, err
		}
		e = qe
	}
	steps, r, err := planWith(ctx, e, &opt)
	if err != nil {
		return nil, err
	}
	if opt.DryRun {
		return res, printPlan(opt.Out, e, steps, &opt)
	}
	chunkRows := opt.ChunkRows
	if chunkRows == 0 {
		chunkRows = DefaultChunkRows
	}
	tx, canTx := txEngine(e)
	lg := &ledger{e: e, table: tableName(e.Dialect(), e.ModelSchema(), LedgerTable)}
	if err := lg.ensure(ctx); err != nil {
		return nil, err
	}
	if err := lg.check(ctx, steps); err != nil {
		return nil, err
	}
	for _, st := range steps {
		t0 := time.Now()
		where := st.name
		if st.model != nil {
			where = fmt.Sprintf("%s (%s, version %d)", st.name, st.model.File, st.version)
		}
		var pieces []string
		if st.chunk != nil && canTx && chunkRows > 0 {
			if pieces, err = chunkedStatements(ctx, e, r, st, chunkRows); err != nil {
				return res, err
			}
		}
		if len(pieces) > 0 {
			if err := tx.ExecTx(ctx, pieces); err != nil {
				return res, fmt.Errorf("transforms: build %s in %d pieces: %w", where, len(pieces), err)
			}
			opt.Logger.Debug("built in pieces", "model", st.name, "pieces", len(pieces))
		} else {
			for _, q := range st.sql {
				if err := e.Exec(ctx, q); err != nil {
					return res, fmt.Errorf("transforms: build %s: %w", where, err)
				}
			}
		}
		sr := &StepResult{Name: st.name, Kind: st.kind, Version: st.version, Checksum: st.checksum, Rows: -1}
		if st.count {
			n, err := countRows(ctx, e, tableName(e.Dialect(), e.ModelSchema(), st.name))
			if err != nil {
				return res, fmt.Errorf("transforms: count %s: %w", st.name, err)
			}
			sr.Rows = n
			res.Rows[st.name] = int(n)
		}
		sr.Seconds = time.Since(t0).Seconds()
		if err := lg.record(ctx, sr, opt.Now().UTC(), opt.AsOf); err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, sr)
		opt.Logger.Debug("built", "model", st.name, "kind", st.kind, "version", st.version, "rows", sr.Rows, "seconds", round3(sr.Seconds))
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func tableName(dialect, schema, name string) string {
	return (&renderer{dialect: dialect}).table(schema, name)
}

func countRows(ctx context.Context, e Engine, table string) (int64, error) {
	rows, err := e.Query(ctx, "SELECT COUNT(*) AS n FROM "+table)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("no count")
	}
	return toInt64(rows[0]["n"]), nil
}

func printPlan(w io.Writer, e Engine, steps []*step, opt *Options) error {
	fmt.Fprintf(w, "-- chorus-elt transform plan: dialect %s, raw %s, models %s, as of %s\n", e.Dialect(), e.RawSchema(), e.ModelSchema(), opt.AsOf.Format(time.RFC3339))
	for i, st := range steps {
		v := ""
		if st.model != nil {
			v = fmt.Sprintf(" version %d (%s, sha256 %s)", st.version, st.model.File, st.checksum[:12])
		}
		fmt.Fprintf(w, "-- %2d. %s %s%s\n", i+1, st.kind, st.name, v)
	}
	for _, st := range steps {
		fmt.Fprintf(w, "\n-- ==== %s %s ====\n", st.kind, st.name)
		for _, q := range st.sql {
			if st.kind == "seed" && strings.HasPrefix(q, "INSERT") && len(q) > 600 {
				q = q[:600] + " …"
			}
			if _, err := fmt.Fprintf(w, "%s;\n", q); err != nil {
				return err
			}
		}
	}
	return nil
}

// qualified returns e with DuckDB schema names prefixed by the database
// (catalog) name: a file named chorus.duckdb has a catalog "chorus", and a
// bare chorus.table would then be ambiguous between it and the schema.
func qualified(ctx context.Context, e Engine) (Engine, error) {
	if e.Dialect() != DuckDB || strings.Contains(e.ModelSchema(), ".") {
		return e, nil
	}
	rows, err := e.Query(ctx, "SELECT current_database() AS db")
	if err != nil || len(rows) != 1 {
		return nil, fmt.Errorf("transforms: DuckDB database name: %w", err)
	}
	db := sqlquote.Ident(DuckDB, str(rows[0]["db"]))
	return qualifiedEngine{Engine: e, raw: db + "." + e.RawSchema(), models: db + "." + e.ModelSchema()}, nil
}

type qualifiedEngine struct {
	Engine
	raw, models string
}

func (q qualifiedEngine) RawSchema() string   { return q.raw }
func (q qualifiedEngine) ModelSchema() string { return q.models }

// PlanOnly is an Engine for --dry-run: it knows the dialect and schema
// names, and refuses to run anything.
type PlanOnly struct{ DialectName, Raw, Models string }

// Dialect is the dialect named by the URL.
func (p PlanOnly) Dialect() string { return p.DialectName }

// RawSchema is the schema of the raw tables.
func (p PlanOnly) RawSchema() string { return p.Raw }

// ModelSchema is the schema the models are built in.
func (p PlanOnly) ModelSchema() string { return p.Models }

// Exec refuses: a plan runs nothing.
func (p PlanOnly) Exec(context.Context, string) error {
	return fmt.Errorf("transforms: a dry run runs nothing")
}

// Query refuses: a plan reads nothing.
func (p PlanOnly) Query(context.Context, string) ([]map[string]any, error) {
	return nil, fmt.Errorf("transforms: a dry run queries nothing")
}

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	case fmt.Stringer: // *big.Int and the like
		n, err := strconv.ParseInt(x.String(), 10, 64)
		if err != nil {
			return 0 // not an integer: no count
		}
		return n
	}
	return 0
}
