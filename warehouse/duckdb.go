package warehouse

/*
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#if defined(__linux__)
// DuckDB's allocator on Linux: the jemalloc it is built with, under its own
// prefix. Declared weak so that a build without it links, and finds NULL.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));
#endif

// chorus_duckdb_decay sets how long DuckDB's allocator keeps pages freed
// (dirty, then muzzy) before handing them back to the system, for every
// arena and for those created later. It returns the number of arenas, or
// -1 when the allocator is not there.
static int chorus_duckdb_decay(long dirty_ms, long muzzy_ms) {
#if defined(__linux__)
	if (duckdb_je_mallctl == NULL) {
		return -1;
	}
	ssize_t dirty = dirty_ms, muzzy = muzzy_ms;
	if (duckdb_je_mallctl("arenas.dirty_decay_ms", NULL, NULL, &dirty, sizeof(dirty)) != 0) {
		return -1;
	}
	duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &muzzy, sizeof(muzzy));
	unsigned n = 0;
	size_t len = sizeof(n);
	if (duckdb_je_mallctl("arenas.narenas", &n, &len, NULL, 0) != 0) {
		return -1;
	}
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		// Arenas not in use yet fail here; they start with the defaults above.
		snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &dirty, sizeof(dirty));
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &muzzy, sizeof(muzzy));
	}
	return (int)n;
#else
	return -1;
#endif
}
*/
import "C"

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// duckDB loads into a DuckDB file.
//
// A load first checks every new file's columns against the tables (a type
// conflict stops it before anything changes), then applies the files one
// extract commit at a time, each in one transaction: added columns, every
// stream's staging and MERGE and the ledger rows commit together or not at
// all, and the state commits with the last batch. A crash leaves whole
// batches applied and recorded, so a rerun applies every file exactly once,
// and memory is bounded by one commit's files rather than the whole load.
// Staging is a temporary table built with read_parquet (never row-by-row
// INSERTs); it keeps one row per key — the newest _extracted_at, ties broken
// by the later file name and then the later row in the file — and DuckDB's
// MERGE INTO applies it: new keys are inserted, existing keys are replaced
// when the staged row is at least as new.
type duckDB struct {
	path string
	db   *sql.DB
	opt  Options
}

func openDuckDB(ctx context.Context, path string, opt Options) (*duckDB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("warehouse: duckdb path %s: %w", path, err)
	}
	if opt.ReadOnly {
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("warehouse: DuckDB file %s: %w", abs, err)
		}
	} else if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("warehouse: cannot create the directory for DuckDB file %s: %w", abs, err)
	}
	memLimit, err := duckMemoryLimit(opt.DuckDBMemoryLimit)
	if err != nil {
		return nil, err
	}
	if opt.DuckDBThreads < 0 {
		return nil, &OptionError{Option: "DuckDB threads", Msg: fmt.Sprintf("%d: use 0 (one per core) or more", opt.DuckDBThreads)}
	}
	releaseFreedMemory()
	// The file is attached under a fixed name rather than opened directly:
	// opened directly, a file named chorus.duckdb would be a catalog called
	// "chorus", and every chorus.<model> reference would be ambiguous
	// between that catalog and the schema "chorus".
	attach := fmt.Sprintf("ATTACH IF NOT EXISTS %s AS %s", sqlquote.String(sqlquote.DuckDB, abs), DuckDBCatalog)
	if opt.ReadOnly {
		attach += " (READ_ONLY)"
	} else {
		// A new file is written in the storage format of DuckDB 1.4 (the
		// library's); an older file is upgraded on its first write. Opening
		// a file reads every column's statistics, and the 1.0 format keeps
		// their distinct counts in a form that is converted, slowly, on
		// every open. DuckDB 1.4 clients read either.
		attach += " (STORAGE_VERSION '" + duckDBStorageVersion + "')"
	}
	settings := []string{
		// Large loads and models spill to disk, next to the file, instead
		// of growing the process: the whole run's budget is 256 MB, and
		// DuckDB's memory_limit bounds its buffers, not all it allocates.
		"SET memory_limit = '" + memLimit + "'",
		"SET temp_directory = " + sqlquote.String(sqlquote.DuckDB, abs+".tmp"),
		// Pages DuckDB frees go back to the system in the background rather
		// than staying with its allocator (see releaseFreedMemory).
		"SET allocator_background_threads = true",
	}
	if opt.DuckDBThreads > 0 {
		settings = append(settings, fmt.Sprintf("SET threads = %d", opt.DuckDBThreads))
	}
	// The settings and the ATTACH are the database's, made once (DuckDB
	// refuses to move its temp directory once used); every connection then
	// selects the catalog and the time zone.
	var initMu sync.Mutex
	initialized := false
	conn, err := duckdb.NewConnector("", func(ex driver.ExecerContext) error {
		initMu.Lock()
		defer initMu.Unlock()
		stmts := []string{
			"USE " + DuckDBCatalog,
			// Timestamps are stored as TIMESTAMP in UTC; the session time
			// zone makes TIMESTAMPTZ → TIMESTAMP casts (and transforms) use UTC.
			"SET TimeZone = 'UTC'",
		}
		if !initialized {
			stmts = append(append(append([]string{}, settings...), attach), stmts...)
		}
		for _, q := range stmts {
			if _, err := ex.ExecContext(ctx, q, nil); err != nil {
				return err
			}
		}
		initialized = true
		return nil
	})
	if err != nil {
		return nil, duckOpenError(abs, err)
	}
	d := &duckDB{path: abs, db: sql.OpenDB(conn), opt: opt}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, duckOpenError(abs, err)
	}
	if !opt.ReadOnly {
		if err := d.ensure(ctx, d.db); err != nil {
			d.db.Close()
			return nil, duckOpenError(abs, err)
		}
	}
	return d, nil
}

// Pages DuckDB's allocator (jemalloc, on Linux) frees stay in the process
// for a while — 5 seconds by DuckDB's configuration — in case they are
// needed again. A load or a model build churns through far more than its
// memory_limit that way: measured, a transcript_search build under a
// 96 MB limit held 250 MB of resident memory, 160 MB of it freed pages.
// They are handed back to the system at once instead, by the allocator's
// background thread (allocator_background_threads); what that costs is a
// page fault when DuckDB takes a page again.
const (
	duckDirtyDecayMS = 0
	duckMuzzyDecayMS = 0
)

var releaseOnce sync.Once

// releaseFreedMemory sets, once per process, how fast DuckDB's allocator
// hands freed pages back (see duckDirtyDecayMS); a no-op where DuckDB is
// built without jemalloc.
func releaseFreedMemory() {
	releaseOnce.Do(func() { C.chorus_duckdb_decay(duckDirtyDecayMS, duckMuzzyDecayMS) })
}

// duckDBStorageVersion is the storage format new DuckDB files are written
// in (ATTACH … STORAGE_VERSION).
const duckDBStorageVersion = "v1.4.0"

// DefaultDuckDBMemory is DuckDB's memory_limit unless
// Options.DuckDBMemoryLimit says otherwise; past it, loads and transforms
// spill to disk. DuckDB allocates some memory outside the limit (query
// plans, Parquet readers, the catalog), and the process holds the Go heap
// and the program itself besides, so the limit is well under the run's
// budget of 256 MB.
const DefaultDuckDBMemory = "96MB"

var memorySize = regexp.MustCompile(`^(?i)\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$`)

// duckMemoryLimit validates a memory_limit ("" is the default).
func duckMemoryLimit(v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultDuckDBMemory, nil
	}
	if !memorySize.MatchString(v) {
		return "", &OptionError{Option: "DuckDB memory limit", Msg: fmt.Sprintf("%q: use a size such as 512MB or 2GB", v)}
	}
	return v, nil
}

// duckOpenError explains the usual reasons a DuckDB file cannot be opened.
func duckOpenError(path string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "lock"):
		return fmt.Errorf("warehouse: DuckDB file %s is locked by another process (only one process may write it at a time); wait for that process to finish or stop it, then retry: %w", path, err)
	case strings.Contains(msg, "ermission denied") || strings.Contains(msg, "ead-only") || strings.Contains(msg, "not a directory"):
		return fmt.Errorf("warehouse: DuckDB file %s cannot be written; check the path and its permissions: %w", path, err)
	default:
		return fmt.Errorf("warehouse: open DuckDB file %s: %w", path, err)
	}
}

func (d *duckDB) Dialect() string     { return "duckdb" }
func (d *duckDB) RawSchema() string   { return DuckDBRawSchema }
func (d *duckDB) ModelSchema() string { return DuckDBModelSchema }
func (d *duckDB) Close() error        { return d.db.Close() }

// Path is the absolute path of the DuckDB file.
func (d *duckDB) Path() string { return d.path }

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// duckType is the DuckDB column type of a schema type.
func duckType(t schemas.Type) string {
	switch t {
	case schemas.Integer:
		return "BIGINT"
	case schemas.Number:
		return "DOUBLE"
	case schemas.Boolean:
		return "BOOLEAN"
	case schemas.Timestamp:
		return "TIMESTAMP"
	case schemas.Date:
		return "DATE"
	case schemas.JSON:
		return "JSON"
	case schemas.IntList:
		return "BIGINT[]"
	case schemas.StrList:
		return "VARCHAR[]"
	default:
		return "VARCHAR"
	}
}

// DuckDBTableDDL is the CREATE TABLE statement of a stream's raw table.
// The stream key is unique by construction (staging keeps one row per key
// and MERGE matches on it) rather than by a PRIMARY KEY: DuckDB keeps such
// an index in memory whole, and for millions of utterances it alone would
// outgrow the connector's memory budget.
func DuckDBTableDDL(st *schemas.Stream) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s.%s (", DuckDBRawSchema, sqlquote.Ident(sqlquote.DuckDB, st.Name))
	for i, c := range st.Columns {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  %s %s", sqlquote.Ident(sqlquote.DuckDB, c.Name), duckType(c.Type))
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
	}
	b.WriteString("\n)")
	return b.String()
}

// ensure creates the schemas, raw tables, ledger and state table.
func (d *duckDB) ensure(ctx context.Context, ex execer) error {
	stmts := []string{
		"CREATE SCHEMA IF NOT EXISTS " + DuckDBRawSchema,
		"CREATE SCHEMA IF NOT EXISTS " + DuckDBModelSchema,
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
  stream VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, file VARCHAR NOT NULL, bytes BIGINT NOT NULL,
  rows BIGINT NOT NULL, sync_id VARCHAR, load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL,
  PRIMARY KEY (stream, sha256))`, DuckDBRawSchema, LedgerTable),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.%s (
  id VARCHAR PRIMARY KEY, state JSON NOT NULL, updated_at TIMESTAMP NOT NULL)`, DuckDBRawSchema, StateTable),
	}
	for _, st := range schemas.All() {
		stmts = append(stmts, DuckDBTableDDL(st))
	}
	for _, s := range stmts {
		if _, err := ex.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("create tables: %w", err)
		}
	}
	return nil
}

func (d *duckDB) Exec(ctx context.Context, q string) error {
	if _, err := d.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	return nil
}

// ExecTx runs statements in order in one transaction, on one connection:
// all of them or none (transforms build a large model in pieces with it).
func (d *duckDB) ExecTx(ctx context.Context, stmts []string) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("duckdb: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("duckdb: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("duckdb: commit: %w", err)
	}
	return nil
}

func (d *duckDB) Query(ctx context.Context, q string) ([]map[string]any, error) {
	_, rows, err := d.QueryTable(ctx, q)
	return rows, err
}

func (d *duckDB) QueryTable(ctx context.Context, q string) ([]string, []map[string]any, error) {
	rows, err := d.db.QueryContext(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("duckdb: %w", err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, nil, fmt.Errorf("duckdb: %w", err)
	}
	out, err := scanMaps(rows)
	return cols, out, err
}

func scanMaps(rows *sql.Rows) ([]map[string]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (d *duckDB) State(ctx context.Context) ([]byte, error) {
	var s string
	err := d.db.QueryRowContext(ctx, fmt.Sprintf("SELECT CAST(state AS VARCHAR) FROM %s.%s WHERE id = ?", DuckDBRawSchema, StateTable), stateID).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: read state from %s: %w", d.path, err)
	}
	return []byte(s), nil
}

// Load implements Warehouse. See the type comment for the transactions.
func (d *duckDB) Load(ctx context.Context, dir string, state []byte) (*LoadResult, error) {
	start := time.Now()
	res := newResult()
	files, err := scanDir(dir)
	if err != nil {
		return nil, err
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %s: %w", d.path, err)
	}
	defer conn.Close()
	if err := d.ensure(ctx, conn); err != nil {
		return nil, err
	}
	seen, err := d.ledger(ctx, conn)
	if err != nil {
		return nil, err
	}
	todo := newFiles(files, seen, res)
	// Every new file is checked against the tables before anything is
	// applied, so that a type conflict leaves the warehouse as it was.
	if err := d.checkSchemas(ctx, conn, todo); err != nil {
		return nil, err
	}
	batches := commitBatches(todo)
	loadID := fmt.Sprintf("%s-%d", d.opt.Now().UTC().Format("20060102T150405Z"), os.Getpid())
	if len(batches) == 0 {
		batches = []map[string][]*sourceFile{{}} // nothing new: the state alone
	}
	for i, batch := range batches {
		var st []byte
		if i == len(batches)-1 {
			st = state
		}
		if err := d.loadBatch(ctx, conn, batch, st, loadID, res); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// commitBatches groups new files by the extract commit that wrote them
// (the file name without its stream folder: <sync_id>-<n>.parquet), in
// commit order. Each batch is loaded in its own transaction, so that a load
// of any size needs the memory of one commit, not of all of them.
func commitBatches(todo map[string][]*sourceFile) []map[string][]*sourceFile {
	byName := map[string]map[string][]*sourceFile{}
	var names []string
	for stream, fs := range todo {
		for _, f := range fs {
			name := filepath.Base(f.Rel)
			if byName[name] == nil {
				byName[name] = map[string][]*sourceFile{}
				names = append(names, name)
			}
			byName[name][stream] = append(byName[name][stream], f)
		}
	}
	sort.Strings(names)
	out := make([]map[string][]*sourceFile, 0, len(names))
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out
}

// loadBatch applies one batch of files in one transaction: staging and
// MERGE per stream, the ledger rows, and the state when given. A crash
// leaves every earlier batch applied and in the ledger, so a rerun applies
// each file exactly once; the state is stored with the last batch only, so
// a run that stops half-way resumes from the state before it (re-extracting
// rows already merged changes nothing: the newest version wins).
func (d *duckDB) loadBatch(ctx context.Context, conn *sql.Conn, todo map[string][]*sourceFile, state []byte, loadID string, res *LoadResult) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("warehouse: begin load in %s: %w", d.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	replaced := false
	for _, st := range schemas.All() {
		fs := todo[st.Name]
		if len(fs) == 0 {
			continue
		}
		if err := d.loadStream(ctx, tx, st, fs, res); err != nil {
			return err
		}
		if st.Name == replacingStream {
			var err error
			if replaced, err = d.stageReplaced(ctx, tx); err != nil {
				return err
			}
		}
		if fullRefresh(st) {
			r, err := tx.ExecContext(ctx, deleteStaleSQL(DuckDBRawSchema+"."+sqlquote.Ident(sqlquote.DuckDB, st.Name), "_chorus_stage"))
			if err != nil {
				return fmt.Errorf("warehouse: replace %s.%s with the newest full refresh: %w", DuckDBRawSchema, st.Name, err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res.stream(st.Name).Deleted += n
			}
		}
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS _chorus_stage"); err != nil {
			return fmt.Errorf("warehouse: drop staging for %s: %w", st.Name, err)
		}
		if err := d.opt.fail("merged:" + st.Name); err != nil {
			return err
		}
		now := d.opt.Now().UTC()
		for _, f := range fs {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s.%s VALUES (?, ?, ?, ?, ?, ?, ?, ?)", DuckDBRawSchema, LedgerTable),
				f.Stream, f.SHA256, f.Rel, f.Size, f.Rows, f.SyncID, loadID, now); err != nil {
				return fmt.Errorf("warehouse: ledger: %w", err)
			}
		}
	}
	if replaced {
		if err := d.deleteReplaced(ctx, tx, res); err != nil {
			return err
		}
	}
	if state != nil {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT OR REPLACE INTO %s.%s VALUES (?, ?, ?)", DuckDBRawSchema, StateTable),
			stateID, string(state), d.opt.Now().UTC()); err != nil {
			return fmt.Errorf("warehouse: store state: %w", err)
		}
		res.StateStored = true
	}
	if err := d.opt.fail("before-commit"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("warehouse: commit load into %s: %w", d.path, err)
	}
	return nil
}

// checkSchemas compares every new file's columns with its table's (and
// with the columns earlier files will add) and returns the first conflict.
func (d *duckDB) checkSchemas(ctx context.Context, ex execer, todo map[string][]*sourceFile) error {
	for _, st := range schemas.All() {
		fs := todo[st.Name]
		if len(fs) == 0 {
			continue
		}
		_, ttypes, err := tableColumns(ctx, ex, DuckDBRawSchema, st.Name)
		if err != nil {
			return err
		}
		for _, f := range fs {
			fcols, ftypes, err := fileColumns(f)
			if err != nil {
				return err
			}
			for _, c := range fcols {
				tt, ok := ttypes[c]
				if !ok {
					ttypes[c] = normType(ftypes[c])
					continue
				}
				if !compatible(tt, ftypes[c]) {
					return schemaConflict(DuckDBRawSchema+"."+st.Name, c, tt, ftypes[c], f.Rel)
				}
			}
		}
	}
	return nil
}

// schemaConflict describes a column whose file type the table cannot hold.
func schemaConflict(table, column, tableType, fileType, file string) *SchemaConflictError {
	return &SchemaConflictError{Table: table, Column: column, TableType: tableType, FileType: fileType, File: file,
		Fix: fmt.Sprintf("write %s as %s again in the extract, or migrate the table first (ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE %s;) and load again",
			column, tableType, table, sqlquote.Ident(sqlquote.DuckDB, column), normType(fileType))}
}

func (d *duckDB) ledger(ctx context.Context, ex execer) (map[string]bool, error) {
	rows, err := ex.QueryContext(ctx, fmt.Sprintf("SELECT stream, sha256 FROM %s.%s", DuckDBRawSchema, LedgerTable))
	if err != nil {
		return nil, fmt.Errorf("warehouse: read ledger: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var s, h string
		if err := rows.Scan(&s, &h); err != nil {
			return nil, err
		}
		seen[s+"/"+h] = true
	}
	return seen, rows.Err()
}

// tableColumns returns a raw table's columns and types, in table order.
func tableColumns(ctx context.Context, ex execer, schema, table string) ([]string, map[string]string, error) {
	rows, err := ex.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
WHERE schema_name = ? AND table_name = ? ORDER BY column_index`, schema, table)
	if err != nil {
		return nil, nil, fmt.Errorf("warehouse: columns of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	var names []string
	types := map[string]string{}
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, nil, err
		}
		names = append(names, n)
		types[n] = t
	}
	return names, types, rows.Err()
}

// fileColumns describes one Parquet file's columns as DuckDB types, and
// counts its rows, from its footer (see parquetColumns).
func fileColumns(f *sourceFile) ([]string, map[string]string, error) {
	fields, rows, err := parquetColumns(f.Path)
	if err != nil {
		return nil, nil, err
	}
	f.Rows = rows
	names := make([]string, len(fields))
	types := make(map[string]string, len(fields))
	for i, fld := range fields {
		names[i] = fld.Name
		types[fld.Name] = arrowToDuck(fld.Type)
	}
	return names, types, nil
}

// normType maps a Parquet-read DuckDB type to the type the table stores:
// timestamps of any unit or zone become TIMESTAMP (UTC).
func normType(t string) string {
	switch t {
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S":
		return "TIMESTAMP"
	}
	return t
}

// compatible reports whether values of file type ft can be stored in a
// column of table type tt without loss.
func compatible(tt, ft string) bool {
	ft = normType(ft)
	if tt == ft {
		return true
	}
	ints := map[string]bool{"TINYINT": true, "SMALLINT": true, "INTEGER": true, "UTINYINT": true, "USMALLINT": true, "UINTEGER": true}
	switch tt {
	case "JSON":
		return ft == "VARCHAR"
	case "VARCHAR":
		return ft == "JSON"
	case "BIGINT":
		return ints[ft]
	case "DOUBLE":
		return ft == "FLOAT" || ints[ft] || ft == "BIGINT"
	case "BIGINT[]":
		return strings.HasSuffix(ft, "[]") && ints[strings.TrimSuffix(ft, "[]")]
	case "VARCHAR[]":
		return ft == "JSON[]"
	}
	return false
}

// stageReplaced records, from the calls just staged and merged, the calls
// whose child rows are replaced (see replacedSQL). It reports whether there
// are any; a calls table without the lineage column (files of an older
// extract) replaces nothing.
func (d *duckDB) stageReplaced(ctx context.Context, tx *sql.Tx) (bool, error) {
	_, types, err := tableColumns(ctx, tx, DuckDBRawSchema, replacingStream)
	if err != nil {
		return false, err
	}
	if _, ok := types[childStreamsCol]; !ok {
		return false, nil
	}
	q := "CREATE OR REPLACE TEMP TABLE " + replacedTable + " AS " +
		replacedSQL("duckdb", "_chorus_stage", DuckDBRawSchema+"."+sqlquote.Ident(sqlquote.DuckDB, replacingStream))
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return false, fmt.Errorf("warehouse: calls whose child rows are replaced: %w", err)
	}
	return true, nil
}

// deleteReplaced deletes the child rows the replacing calls no longer have.
func (d *duckDB) deleteReplaced(ctx context.Context, tx *sql.Tx, res *LoadResult) error {
	for _, child := range childStreamNames() {
		r, err := tx.ExecContext(ctx, deleteReplacedSQL(child, DuckDBRawSchema+"."+sqlquote.Ident(sqlquote.DuckDB, child), replacedTable))
		if err != nil {
			return fmt.Errorf("warehouse: replace the child rows of re-read calls in %s.%s: %w", DuckDBRawSchema, child, err)
		}
		if n, _ := r.RowsAffected(); n > 0 {
			res.stream(child).Deleted += n
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE "+replacedTable); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	return nil
}

// loadStream stages a stream's new files (as _chorus_stage, which the
// caller drops) and merges them into its table.
func (d *duckDB) loadStream(ctx context.Context, tx *sql.Tx, st *schemas.Stream, files []*sourceFile, res *LoadResult) error {
	table := DuckDBRawSchema + "." + sqlquote.Ident(sqlquote.DuckDB, st.Name)
	qualified := DuckDBRawSchema + "." + st.Name
	sr := res.stream(st.Name)
	tcols, ttypes, err := tableColumns(ctx, tx, DuckDBRawSchema, st.Name)
	if err != nil {
		return err
	}
	// Schema evolution: columns the files have and the table lacks are
	// added (checkSchemas has ruled out conflicts before the first batch).
	// The union of the files' columns decides which table columns come from
	// the files; the others are NULL.
	present := map[string]bool{}
	for _, f := range files {
		fcols, ftypes, err := fileColumns(f)
		if err != nil {
			return err
		}
		for _, c := range fcols {
			present[c] = true
			if _, ok := ttypes[c]; !ok {
				nt := normType(ftypes[c])
				if _, err := tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", table, sqlquote.Ident(sqlquote.DuckDB, c), nt)); err != nil {
					return fmt.Errorf("warehouse: add column %s %s to %s: %w", c, nt, qualified, err)
				}
				tcols = append(tcols, c)
				ttypes[c] = nt
				sr.AddedColumns = append(sr.AddedColumns, c)
				d.opt.Logger.Info("added column", "table", qualified, "column", c, "type", nt, "file", f.Rel)
			}
		}
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = sqlquote.String(sqlquote.DuckDB, f.Path)
		sr.RowsRead += f.Rows // counted by fileColumns above
		sr.FilesLoaded++
		sr.Bytes += f.Size
		res.FilesLoaded++
		res.Bytes += f.Size
	}
	fileList := "[" + strings.Join(list, ", ") + "]"

	sel := make([]string, 0, len(tcols))
	for _, c := range tcols {
		if present[c] {
			sel = append(sel, fmt.Sprintf("CAST(%s AS %s) AS %s", sqlquote.Ident(sqlquote.DuckDB, c), ttypes[c], sqlquote.Ident(sqlquote.DuckDB, c)))
		} else {
			sel = append(sel, fmt.Sprintf("CAST(NULL AS %s) AS %s", ttypes[c], sqlquote.Ident(sqlquote.DuckDB, c)))
		}
	}
	keys := make([]string, len(st.Key))
	on := make([]string, len(st.Key))
	isKey := map[string]bool{}
	for i, k := range st.Key {
		keys[i] = sqlquote.Ident(sqlquote.DuckDB, k)
		on[i] = fmt.Sprintf("t.%s = s.%s", sqlquote.Ident(sqlquote.DuckDB, k), sqlquote.Ident(sqlquote.DuckDB, k))
		isKey[k] = true
	}
	ea := sqlquote.Ident(sqlquote.DuckDB, schemas.ExtractedAt)
	var cols []string
	for _, c := range tcols {
		cols = append(cols, sqlquote.Ident(sqlquote.DuckDB, c))
	}
	var ins, upd int64
	// Staging filter: "" stages every row of the files.
	staged := ""
	if st.Name != replacingStream && !fullRefresh(st) && !d.opt.stageAll {
		// Rows whose key is new and appears once in the files are simply
		// appended, streamed from the files; only the others — keys the
		// table holds already, keys the files repeat — go through staging
		// and MERGE. On a back-fill that is none of them, and on a poll the
		// few calls read again, so a commit of any size never holds more
		// than a sort's worth of memory (see mergeKeys).
		merge, err := d.mergeKeys(ctx, tx, st, table, fileList)
		if err != nil {
			return err
		}
		k1 := sqlquote.Ident(sqlquote.DuckDB, st.Key[0])
		src := fmt.Sprintf("read_parquet(%s, union_by_name = true)", fileList)
		if merge {
			src += fmt.Sprintf("\nWHERE %s IS NOT NULL AND %s NOT IN (SELECT %s FROM %s)", k1, k1, k1, mergeKeysTable)
			staged = fmt.Sprintf("WHERE %s IS NULL OR %s IN (SELECT %s FROM %s)\n", k1, k1, k1, mergeKeysTable)
		}
		// In the files' order (a call's rows together), not sorted: a sort
		// of a commit's rows spills to disk under the memory limit and
		// costs more than the order saves later.
		r, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s)\nSELECT %s\nFROM %s",
			table, strings.Join(cols, ", "), strings.Join(sel, ", "), src))
		if err != nil {
			return fmt.Errorf("warehouse: append new rows to %s: %w", qualified, err)
		}
		n, _ := r.RowsAffected()
		ins += n
		if !merge {
			if _, err := tx.ExecContext(ctx, "DROP TABLE "+mergeKeysTable); err != nil {
				return fmt.Errorf("warehouse: %w", err)
			}
			if err := d.opt.fail("staged:" + st.Name); err != nil {
				return err
			}
			sr.Inserted += ins
			sort.Strings(sr.AddedColumns)
			return nil
		}
	}
	stage := fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE _chorus_stage AS
SELECT %s
FROM read_parquet(%s, union_by_name = true, filename = true, file_row_number = true)
%sQUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s DESC NULLS LAST, filename DESC, file_row_number DESC) = 1
ORDER BY %s`,
		strings.Join(sel, ", "), fileList, staged, strings.Join(keys, ", "), ea, strings.Join(keys, ", "))
	if _, err := tx.ExecContext(ctx, stage); err != nil {
		return fmt.Errorf("warehouse: stage %s: %w", qualified, err)
	}
	if staged != "" {
		if _, err := tx.ExecContext(ctx, "DROP TABLE "+mergeKeysTable); err != nil {
			return fmt.Errorf("warehouse: %w", err)
		}
	}
	if err := d.opt.fail("staged:" + st.Name); err != nil {
		return err
	}
	newer := fmt.Sprintf("(t.%s IS NULL OR s.%s >= t.%s)", ea, ea, ea)
	var sins, supd int64
	if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) FILTER (WHERE t.%s IS NULL), count(*) FILTER (WHERE t.%s IS NOT NULL AND %s)
FROM _chorus_stage s LEFT JOIN %s t ON %s`, keys[0], keys[0], newer, table, strings.Join(on, " AND "))).Scan(&sins, &supd); err != nil {
		return fmt.Errorf("warehouse: count changes for %s: %w", qualified, err)
	}
	ins += sins
	upd += supd
	var set, vals []string
	for _, c := range tcols {
		vals = append(vals, "s."+sqlquote.Ident(sqlquote.DuckDB, c))
		if !isKey[c] {
			set = append(set, fmt.Sprintf("%s = s.%s", sqlquote.Ident(sqlquote.DuckDB, c), sqlquote.Ident(sqlquote.DuckDB, c)))
		}
	}
	merge := fmt.Sprintf(`MERGE INTO %s AS t USING _chorus_stage AS s ON (%s)
WHEN MATCHED AND %s THEN UPDATE SET %s
WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)`,
		table, strings.Join(on, " AND "), newer, strings.Join(set, ", "), strings.Join(cols, ", "), strings.Join(vals, ", "))
	if _, err := tx.ExecContext(ctx, merge); err != nil {
		return fmt.Errorf("warehouse: merge into %s: %w", qualified, err)
	}
	sr.Inserted += ins
	sr.Updated += upd
	sort.Strings(sr.AddedColumns)
	return nil
}

// mergeKeysTable holds, while a stream's files are applied, the values of
// the first key column whose rows go through staging and MERGE.
const mergeKeysTable = "_chorus_merge_keys"

// mergeKeys fills mergeKeysTable with the values of the stream's first key
// column (a call, a scorecard…) whose rows cannot simply be appended: those
// the table already holds, and those of a key that the files repeat. It
// reports whether any row needs the merge, a row with no first key
// included. Both checks are cheap: a distinct count of the keys' hashes
// (equal to the row count only when no key repeats), and a semi-join of the
// table against the files' distinct first keys (a few thousand).
func (d *duckDB) mergeKeys(ctx context.Context, tx *sql.Tx, st *schemas.Stream, table, fileList string) (bool, error) {
	keys := make([]string, len(st.Key))
	for i, k := range st.Key {
		keys[i] = sqlquote.Ident(sqlquote.DuckDB, k)
	}
	k1 := keys[0]
	src := fmt.Sprintf("read_parquet(%s, union_by_name = true)", fileList)
	var rows, distinct, nulls int64
	if err := tx.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*), count(DISTINCT hash(%s)), count(*) FILTER (WHERE %s IS NULL) FROM %s",
		strings.Join(keys, ", "), k1, src)).Scan(&rows, &distinct, &nulls); err != nil {
		return false, fmt.Errorf("warehouse: keys of %s.%s: %w", DuckDBRawSchema, st.Name, err)
	}
	q := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS\nSELECT DISTINCT t.%s FROM %s AS t WHERE t.%s IN (SELECT DISTINCT %s FROM %s WHERE %s IS NOT NULL)",
		mergeKeysTable, k1, table, k1, k1, src, k1)
	if distinct != rows {
		q += fmt.Sprintf("\nUNION\nSELECT %s FROM %s WHERE %s IS NOT NULL GROUP BY %s HAVING count(*) > 1", k1, src, k1, strings.Join(keys, ", "))
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return false, fmt.Errorf("warehouse: keys of %s.%s to merge: %w", DuckDBRawSchema, st.Name, err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+mergeKeysTable).Scan(&n); err != nil {
		return false, fmt.Errorf("warehouse: %w", err)
	}
	return n > 0 || nulls > 0, nil
}
