// Package warehouse loads the connector's typed Parquet files into a
// warehouse — DuckDB (an embedded file) or BigQuery (a project and dataset) —
// and keeps the connector state there.
//
// A load is: Parquet → staging → MERGE into the raw table on the stream key,
// where the row with the newest _extracted_at wins. A ledger table
// (_chorus_loads) records every file applied, by content hash, so loading the
// same directory again changes nothing and a load interrupted at any point is
// resumed by simply running it again: every file is applied exactly once.
//
// Raw tables carry the stream names and live in the schema chorus_raw
// (DuckDB) or the dataset DATASET_raw (BigQuery); models built by transforms
// live in chorus (DuckDB) or DATASET (BigQuery). Table layouts are derived
// from package schemas.
package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/api/option"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// Warehouse is a loaded-into destination. Implementations are not safe for
// concurrent use by several goroutines.
type Warehouse interface {
	// Dialect is "duckdb" or "bigquery".
	Dialect() string
	// RawSchema is where raw tables live: "chorus_raw" or "DATASET_raw"
	// (BigQuery names are qualified with the project: "project.dataset_raw").
	RawSchema() string
	// ModelSchema is where transforms build models: "chorus" or
	// "project.dataset".
	ModelSchema() string

	// Load applies every Parquet file under dir (dir/<stream>/*.parquet)
	// that the ledger has not seen yet. When state is not nil it is stored
	// with the load (DuckDB: in the transaction of the last batch of files;
	// BigQuery: last, after every merge succeeded).
	Load(ctx context.Context, dir string, state []byte) (*LoadResult, error)
	// State returns the connector state stored by the last Load, or nil.
	State(ctx context.Context) ([]byte, error)

	// Exec runs one SQL statement (or a BigQuery script).
	Exec(ctx context.Context, sql string) error
	// Query runs a query and returns its rows, column name → value.
	Query(ctx context.Context, sql string) ([]map[string]any, error)
	// QueryTable is Query that also returns the column names in order.
	QueryTable(ctx context.Context, sql string) ([]string, []map[string]any, error)

	Close() error
}

// Options tune Open.
type Options struct {
	// Location is the BigQuery location for datasets and jobs (e.g. "EU").
	Location string
	// ClientOptions are passed to the BigQuery client (tests use
	// option.WithEndpoint, option.WithHTTPClient, option.WithoutAuthentication).
	// Credentials otherwise come from Application Default Credentials.
	ClientOptions []option.ClientOption
	// BigQueryEndpoint, when set, is a BigQuery emulator: host:port (as in
	// BIGQUERY_EMULATOR_HOST, meaning http://host:port) or a base URL. The
	// client talks REST to it without credentials. Empty means BigQuery.
	BigQueryEndpoint string
	// DuckDBMemoryLimit is DuckDB's memory_limit ("1GB"); empty is
	// DefaultDuckDBMemory.
	DuckDBMemoryLimit string
	// DuckDBThreads is DuckDB's worker threads; 0 is DuckDB's default (one
	// per core). Each thread of a sort or join holds its own buffers, so
	// fewer threads need less memory under the same memory_limit.
	DuckDBThreads int
	// ReadOnly opens a DuckDB file for reading only (transcript, search):
	// nothing is created or written, the file must exist, and other readers
	// may open it at the same time. Load and Exec fail.
	ReadOnly bool
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Now is the clock for loaded_at/updated_at; nil is time.Now.
	Now func() time.Time

	// failpoint, when set, is called at named points of a load (tests
	// inject failures and crashes with it).
	failpoint func(point string) error
	// stageAll sends every row of a DuckDB load through staging and MERGE,
	// new keys included (tests compare it with the append of new keys).
	stageAll bool
}

// Schema names for DuckDB. The database file is attached as the catalog
// DuckDBCatalog, whatever its file name.
const (
	DuckDBCatalog     = "chorus_db"
	DuckDBRawSchema   = "chorus_raw"
	DuckDBModelSchema = "chorus"
)

// Names of the bookkeeping tables in the raw schema.
const (
	LedgerTable = "_chorus_loads"
	StateTable  = "_chorus_state"
	stateID     = "chorus-elt"
)

// URLError is a --warehouse URL that cannot be used; the CLI exits 2 for it.
type URLError struct {
	URL string
	Msg string
}

func (e *URLError) Error() string {
	return fmt.Sprintf("warehouse %q: %s (use duckdb:PATH or bigquery:PROJECT.DATASET)", e.URL, e.Msg)
}

// OptionError is an Options value that cannot be used; the CLI exits 2.
type OptionError struct {
	Option string
	Msg    string
}

func (e *OptionError) Error() string { return fmt.Sprintf("warehouse: %s %s", e.Option, e.Msg) }

// SchemaConflictError is a column whose type in a Parquet file differs from
// its type in the warehouse table. Nothing of the load is applied.
type SchemaConflictError struct {
	Table     string // qualified table name
	Column    string
	TableType string
	FileType  string
	File      string // relative to the load directory
	Fix       string
}

func (e *SchemaConflictError) Error() string {
	return fmt.Sprintf("type conflict in table %s, column %s: the table has %s but %s has %s; nothing was loaded. Fix: %s",
		e.Table, e.Column, e.TableType, e.File, e.FileType, e.Fix)
}

// LoadResult says what a Load did.
type LoadResult struct {
	Streams      map[string]*StreamResult `json:"streams"`
	FilesLoaded  int                      `json:"files_loaded"`
	FilesSkipped int                      `json:"files_skipped"`
	Bytes        int64                    `json:"bytes"`
	StateStored  bool                     `json:"state_stored"`
	Seconds      float64                  `json:"seconds"`
}

// StreamResult is one stream's part of a load.
type StreamResult struct {
	FilesLoaded  int   `json:"files_loaded"`
	FilesSkipped int   `json:"files_skipped"`
	Bytes        int64 `json:"bytes"`
	// RowsRead counts rows in the loaded files; Inserted and Updated count
	// table rows (several versions of a key in one load count once).
	RowsRead int64 `json:"rows_read"`
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
	// Deleted counts rows of calls written again as a whole whose new
	// version no longer has them (an action item Chorus removed, …).
	Deleted      int64    `json:"deleted,omitempty"`
	AddedColumns []string `json:"added_columns,omitempty"`
}

// Replacing a call's child rows. A calls row whose _child_streams lists
// streams (see schemas/calls.json) comes with the complete set of that
// call's rows in those streams: after the merge, the call's rows in them
// that an older sync wrote and this one did not are deleted. Only calls rows
// that won the merge count (the table holds their _sync_id).
const (
	replacingStream = "calls"
	childStreamsCol = "_child_streams"
	replacedTable   = "_chorus_replaced"
)

// replacedSQL selects, from the staged calls, the (call, sync, stream)
// triples whose rows replace the earlier ones; stage and table are the
// staged rows and the calls table. The two dialects name an unnested list
// element differently: AS u(child) in DuckDB, AS child in BigQuery.
func replacedSQL(dialect, stage, table string) string {
	alias := "u(child)"
	if dialect == "bigquery" {
		alias = "child"
	}
	return fmt.Sprintf(`SELECT DISTINCT s.call_id, s._sync_id, child AS stream
FROM %s AS s JOIN %s AS t ON t.call_id = s.call_id AND t._sync_id = s._sync_id
CROSS JOIN UNNEST(s.%s) AS %s`, stage, table, childStreamsCol, alias)
}

// deleteReplacedSQL deletes a child stream's rows of replaced calls that
// the replacing sync did not write.
func deleteReplacedSQL(child, table, replaced string) string {
	return fmt.Sprintf(`DELETE FROM %s AS t WHERE EXISTS (SELECT 1 FROM %s AS r
WHERE r.call_id = t.call_id AND r.stream = '%s' AND r._sync_id IS DISTINCT FROM t._sync_id)`, table, replaced, child)
}

// Full-refresh streams (users, teams, user_teams) are written whole by every
// sync that reads them: after the merge, rows the newest sync of the load
// did not write are deleted — a user who left a team leaves user_teams.
func fullRefresh(st *schemas.Stream) bool { return st.Family() == schemas.FamilyDirectory }

// deleteStaleSQL deletes a full-refresh table's rows that the newest staged
// sync did not write.
func deleteStaleSQL(table, stage string) string {
	return fmt.Sprintf(`DELETE FROM %s AS t WHERE t._sync_id IS DISTINCT FROM (SELECT MAX(s._sync_id) FROM %s AS s)`, table, stage)
}

// childStreamNames are the streams whose rows belong to one call: keyed
// by call_id first.
func childStreamNames() []string {
	var out []string
	for _, st := range schemas.All() {
		if st.Family() == schemas.FamilyCalls && st.Name != replacingStream && len(st.Key) > 1 && st.Key[0] == "call_id" {
			out = append(out, st.Name)
		}
	}
	return out
}

func newResult() *LoadResult { return &LoadResult{Streams: map[string]*StreamResult{}} }

func (r *LoadResult) stream(name string) *StreamResult {
	s := r.Streams[name]
	if s == nil {
		s = &StreamResult{}
		r.Streams[name] = s
	}
	return s
}

// Open connects to the warehouse named by url: duckdb:PATH or
// bigquery:PROJECT.DATASET. It creates the raw and model schemas (datasets)
// and the raw tables when they do not exist.
func Open(ctx context.Context, url string, opt Options) (Warehouse, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	t, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if t.Dialect == "duckdb" {
		d, err := openDuckDB(ctx, t.Path, opt)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	b, err := openBigQuery(ctx, t.Project, t.Dataset, opt)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Target is what a warehouse URL names, before anything is opened.
type Target struct {
	Dialect          string // "duckdb" or "bigquery"
	Path             string // the DuckDB file
	Project, Dataset string // BigQuery
}

// ParseURL reads a warehouse URL: duckdb:PATH or bigquery:PROJECT.DATASET.
// It is the one parser of these URLs; a bad one is a *URLError.
func ParseURL(url string) (Target, error) {
	kind, rest, ok := strings.Cut(url, ":")
	switch {
	case !ok:
		return Target{}, &URLError{URL: url, Msg: "no scheme"}
	case kind == "duckdb" && rest == "":
		return Target{}, &URLError{URL: url, Msg: "the DuckDB file path is empty"}
	case kind == "duckdb":
		return Target{Dialect: kind, Path: rest}, nil
	case kind == "bigquery":
		project, dataset, ok := strings.Cut(rest, ".")
		if !ok || project == "" || dataset == "" || strings.Contains(dataset, ".") || !validDataset(dataset) {
			return Target{}, &URLError{URL: url, Msg: "want bigquery:PROJECT.DATASET, dataset of letters, digits and underscores"}
		}
		return Target{Dialect: kind, Project: project, Dataset: dataset}, nil
	}
	return Target{}, &URLError{URL: url, Msg: fmt.Sprintf("unknown scheme %q", kind)}
}

// RawSchema is where the target's raw tables live (as Warehouse.RawSchema).
func (t Target) RawSchema() string {
	if t.Dialect == "duckdb" {
		return DuckDBRawSchema
	}
	return t.Project + "." + t.Dataset + "_raw"
}

// ModelSchema is where the target's models live (as Warehouse.ModelSchema).
func (t Target) ModelSchema() string {
	if t.Dialect == "duckdb" {
		return DuckDBModelSchema
	}
	return t.Project + "." + t.Dataset
}

func validDataset(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return len(s) <= 1000
}

// sourceFile is one Parquet file found under a load directory.
type sourceFile struct {
	Stream string
	Rel    string // relative to the load directory, slash-separated
	Path   string
	Size   int64
	SHA256 string
	SyncID string
	Rows   int64 // filled in by the loader
}

// scanDir lists dir/<stream>/*.parquet for every known stream, skipping
// hidden (temporary) files, in stream order then file-name order (sync ids
// sort by time, so this is the order they were written). Each file's content
// hash is its identity in the ledger.
func scanDir(dir string) ([]*sourceFile, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("load directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("load directory: %s is not a directory", dir)
	}
	var out []*sourceFile
	for _, st := range schemas.All() {
		entries, err := os.ReadDir(filepath.Join(dir, st.Name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("load directory: %w", err)
		}
		var names []string
		for _, e := range entries {
			n := e.Name()
			if e.Type().IsRegular() && strings.HasSuffix(n, ".parquet") && !strings.HasPrefix(n, ".") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(dir, st.Name, n)
			sum, size, err := hashFile(p)
			if err != nil {
				return nil, err
			}
			if size == 0 {
				return nil, fmt.Errorf("load: %s is empty (an interrupted copy?); remove it and load again", p)
			}
			out = append(out, &sourceFile{Stream: st.Name, Rel: st.Name + "/" + n, Path: p, Size: size, SHA256: sum, SyncID: syncIDOf(n)})
		}
	}
	return out, nil
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("load: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("load: read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// syncIDOf takes the sync id out of "<sync_id>-<nnnn>.parquet".
func syncIDOf(name string) string {
	base := strings.TrimSuffix(name, ".parquet")
	if i := strings.LastIndexByte(base, '-'); i > 0 {
		return base[:i]
	}
	return base
}

// newFiles splits files into those the ledger has not seen and counts the
// others as skipped.
func newFiles(files []*sourceFile, seen map[string]bool, res *LoadResult) map[string][]*sourceFile {
	out := map[string][]*sourceFile{}
	for _, f := range files {
		if seen[f.Stream+"/"+f.SHA256] {
			res.FilesSkipped++
			res.stream(f.Stream).FilesSkipped++
			continue
		}
		out[f.Stream] = append(out[f.Stream], f)
	}
	return out
}

func (o *Options) fail(point string) error {
	if o.failpoint == nil {
		return nil
	}
	return o.failpoint(point)
}
