package orchestrator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// The asset key prefixes of raw tables and models, and the checks.
const (
	RawPrefix   = "chorus_raw"
	ModelPrefix = "chorus"

	CheckNoDuplicateKeys = "no_duplicate_keys"  // on every raw table with a key
	CheckNoPendingCalls  = "no_pending_calls"   // on chorus_raw/calls
	CheckNoAbandoned     = "no_abandoned_calls" // on chorus_raw/calls
)

// maxListed bounds the call ids a check's metadata lists.
const maxListed = 50

// Reporter tells Dagster, over one Pipes session, what a command built:
// one asset materialization per raw table (["chorus_raw", stream]) and per
// model (["chorus", model]) with row counts, and the data checks. Its
// methods do nothing on a nil *Reporter (not under Dagster).
type Reporter struct {
	s *dagster.Session
}

// New returns a reporter for s; nil when s is nil.
func New(s *dagster.Session) *Reporter {
	if s == nil {
		return nil
	}
	return &Reporter{s: s}
}

// Close closes the session: "closed", with err as the exception.
func (r *Reporter) Close(err error) error {
	if r == nil {
		return nil
	}
	return r.s.Close(err)
}

// Querier is what the reports read from the warehouse.
type Querier interface {
	Dialect() string
	RawSchema() string
	ModelSchema() string
	Query(ctx context.Context, sql string) ([]map[string]any, error)
}

// Apply fills what the command line left of the window from Dagster's
// context: its partition time window becomes From and To, the streams of
// the raw tables the step targets the selection (none: every stream).
func (r *Reporter) Apply(w pipeline.Window) (pipeline.Window, error) {
	if r == nil {
		return w, nil
	}
	c := r.s.Context()
	if tw := c.PartitionTimeWindow; tw != nil && w.From.IsZero() && w.To.IsZero() {
		start, end, err := tw.Times()
		if err != nil {
			return w, fmt.Errorf("dagster pipes context: %w", err)
		}
		w.From, w.To = start.UTC(), end.UTC()
	}
	if w.Selected != nil {
		return w, nil
	}
	for _, k := range c.Keys() {
		if len(k) != 2 || k[0] != RawPrefix {
			continue
		}
		if schemas.Get(k[1]) == nil {
			return w, fmt.Errorf("dagster pipes context: asset %s names no stream (streams: %s)", k, strings.Join(schemas.Names(), ", "))
		}
		if w.Selected == nil {
			w.Selected = map[string]bool{}
		}
		w.Selected[k[1]] = true
	}
	return w, nil
}

// targets reports whether the step targets key (every key when the step
// names no asset).
func (r *Reporter) targets(key dagster.AssetKey) bool {
	c := r.s.Context()
	return len(c.AssetKeys) == 0 || c.Targets(key)
}

// RawTable is what a command did to one raw table.
type RawTable struct {
	Stream                     string
	Extracted                  *int64 // rows extracted by this run (nil: not extracted here)
	Inserted, Updated, Deleted int64
}

// Loaded implements pipeline.Reporter: the raw tables of a run, and the
// calls checks.
func (r *Reporter) Loaded(ctx context.Context, w warehouse.Warehouse, streams []string, sum *pipeline.Summary) error {
	if r == nil {
		return nil
	}
	tables := make([]RawTable, 0, len(streams))
	for _, name := range streams {
		t := RawTable{Stream: name}
		if s := sum.Streams[name]; s != nil {
			rows := s.Rows
			t.Extracted, t.Inserted, t.Updated, t.Deleted = &rows, s.Inserted, s.Updated, s.Deleted
		} else {
			var zero int64
			t.Extracted = &zero
		}
		tables = append(tables, t)
	}
	if err := r.RawTables(ctx, w, tables, sum.Cursor, sum.Start, sum.End); err != nil {
		return err
	}
	return r.Calls(sum.Pending, sum.Abandoned)
}

// LoadTables are the raw tables of a load: every stream, with what the
// load did to it.
func LoadTables(res *warehouse.LoadResult) []RawTable {
	var tables []RawTable
	for _, name := range schemas.Names() {
		t := RawTable{Stream: name}
		if s := res.Streams[name]; s != nil {
			t.Inserted, t.Updated, t.Deleted = s.Inserted, s.Updated, s.Deleted
		}
		tables = append(tables, t)
	}
	return tables
}

// RawTables reports one materialization per raw table the step targets,
// with its row count (COUNT(*) now), and the no_duplicate_keys check of
// each. cursor, when known, is the calls.started_at watermark; start and
// end, when set, the window the run synced (the watermark stays then).
func (r *Reporter) RawTables(ctx context.Context, q Querier, tables []RawTable, cursor, start, end *time.Time) error {
	if r == nil {
		return nil
	}
	for _, t := range tables {
		key := dagster.AssetKey{RawPrefix, t.Stream}
		if !r.targets(key) {
			continue
		}
		table := qualified(q, q.RawSchema(), t.Stream)
		n, err := count(ctx, q, "SELECT COUNT(*) AS n FROM "+table)
		if err != nil {
			return fmt.Errorf("report %s: %w", key, err)
		}
		md := dagster.Metadata{
			"dagster/row_count":  dagster.Int(n),
			"dagster/table_name": dagster.Text(q.RawSchema() + "." + t.Stream),
			"rows_inserted":      dagster.Int(t.Inserted),
			"rows_updated":       dagster.Int(t.Updated),
			"rows_deleted":       dagster.Int(t.Deleted),
		}
		if t.Extracted != nil {
			md["rows_extracted"] = dagster.Int(*t.Extracted)
		}
		if cursor != nil {
			md["cursor"] = dagster.Text(cursor.UTC().Format(time.RFC3339))
		}
		for k, t := range map[string]*time.Time{"window_start": start, "window_end": end} {
			if t != nil && !t.IsZero() {
				md[k] = dagster.Text(t.UTC().Format(time.RFC3339))
			}
		}
		if err := r.s.ReportMaterialization(dagster.Materialization{AssetKey: key, Metadata: md}); err != nil {
			return err
		}
		if err := r.duplicates(ctx, q, key, table); err != nil {
			return err
		}
	}
	return nil
}

// duplicates runs the no_duplicate_keys check of a raw table: each value
// of the stream's key is in one row.
func (r *Reporter) duplicates(ctx context.Context, q Querier, key dagster.AssetKey, table string) error {
	st := schemas.Get(key[1])
	if st == nil || len(st.Key) == 0 {
		return nil
	}
	cols := make([]string, len(st.Key))
	for i, c := range st.Key {
		cols[i] = quote(q.Dialect(), c)
	}
	n, err := count(ctx, q, fmt.Sprintf("SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM %s GROUP BY %s HAVING COUNT(*) > 1) AS d",
		table, strings.Join(cols, ", ")))
	if err != nil {
		return fmt.Errorf("check %s %s: %w", key, CheckNoDuplicateKeys, err)
	}
	return r.s.ReportCheck(dagster.CheckResult{AssetKey: key, CheckName: CheckNoDuplicateKeys, Passed: n == 0,
		Severity: dagster.SeverityError, Metadata: dagster.Metadata{
			"duplicated_keys": dagster.Int(n),
			"key":             dagster.Text(strings.Join(st.Key, ", ")),
		}})
}

// Calls reports the two checks on chorus_raw/calls (when the step targets
// it): no call still pending (its transcript not ready yet; retried by the
// next runs) and none abandoned in this run. Both warn.
func (r *Reporter) Calls(pending int, abandoned []string) error {
	key := dagster.AssetKey{RawPrefix, "calls"}
	if r == nil || !r.targets(key) {
		return nil
	}
	if err := r.s.ReportCheck(dagster.CheckResult{AssetKey: key, CheckName: CheckNoPendingCalls, Passed: pending == 0,
		Severity: dagster.SeverityWarn, Metadata: dagster.Metadata{"pending_calls": dagster.Int(int64(pending))}}); err != nil {
		return err
	}
	ids := append([]string{}, abandoned...)
	sort.Strings(ids)
	if len(ids) > maxListed {
		ids = ids[:maxListed]
	}
	return r.s.ReportCheck(dagster.CheckResult{AssetKey: key, CheckName: CheckNoAbandoned, Passed: len(abandoned) == 0,
		Severity: dagster.SeverityWarn, Metadata: dagster.Metadata{
			"abandoned_calls": dagster.Int(int64(len(abandoned))),
			"call_ids":        dagster.JSON(ids),
		}})
}

// Built implements pipeline.Reporter: one materialization per model the
// transform built (seeds are not assets), with its row count.
func (r *Reporter) Built(ctx context.Context, w warehouse.Warehouse, tr *transforms.Result) error {
	return r.Models(ctx, w, tr)
}

// Models is Built for any Querier.
func (r *Reporter) Models(ctx context.Context, q Querier, tr *transforms.Result) error {
	if r == nil {
		return nil
	}
	for _, st := range tr.Steps {
		key := dagster.AssetKey{ModelPrefix, st.Name}
		if st.Kind == "seed" || !r.targets(key) {
			continue
		}
		table := qualified(q, q.ModelSchema(), st.Name)
		n := st.Rows
		if n < 0 { // a view: the transform does not count it
			var err error
			if n, err = count(ctx, q, "SELECT COUNT(*) AS n FROM "+table); err != nil {
				return fmt.Errorf("report %s: %w", key, err)
			}
		}
		md := dagster.Metadata{
			"dagster/row_count":  dagster.Int(n),
			"dagster/table_name": dagster.Text(q.ModelSchema() + "." + st.Name),
			"kind":               dagster.Text(st.Kind),
			"model_version":      dagster.Int(int64(st.Version)),
			"seconds":            dagster.Float(st.Seconds),
		}
		if err := r.s.ReportMaterialization(dagster.Materialization{AssetKey: key, Metadata: md}); err != nil {
			return err
		}
	}
	return nil
}

// qualified is a table's name in the warehouse's SQL.
func qualified(q Querier, schema, name string) string {
	if q.Dialect() == "bigquery" {
		return "`" + schema + "." + name + "`"
	}
	return schema + "." + quote(q.Dialect(), name)
}

func quote(dialect, ident string) string {
	if dialect == "bigquery" {
		return "`" + strings.ReplaceAll(ident, "`", "") + "`"
	}
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

// count runs a query whose one row has the number n.
func count(ctx context.Context, q Querier, sql string) (int64, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("%d rows from %s", len(rows), sql)
	}
	switch v := rows[0]["n"].(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	case float64:
		return int64(v), nil
	}
	return 0, fmt.Errorf("count %v (%T) from %s", rows[0]["n"], rows[0]["n"], sql)
}
