package warehouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// bigQuery loads into a BigQuery project: raw tables in DATASET_raw, models
// in DATASET.
//
// BigQuery has no transaction across load jobs, so a load is ordered to be
// safe to repeat instead: first every file's schema is checked against the
// tables (a conflict stops the load before anything is written), new
// columns are added, then per stream the files are loaded with load jobs
// (Parquet, never streaming inserts) into a staging table, one MERGE query
// job applies the staging table to the raw table (newest _extracted_at wins),
// the files are appended to the ledger (a load job) and the staging table is
// dropped. The state is written last (a WRITE_TRUNCATE load job), after
// every stream merged. A crash between a MERGE and its ledger rows re-merges
// the same files on the next run, which changes nothing because the MERGE
// only replaces rows with rows at least as new.
type bigQuery struct {
	c       *bigquery.Client
	project string
	dataset string // model dataset
	raw     string // raw dataset
	opt     Options
	// emulator is set when talking to a BigQuery emulator
	// (Options.BigQueryEndpoint), whose gaps Exec and the loader work
	// around: see emulatorExec and the upload options.
	emulator bool
}

func openBigQuery(ctx context.Context, project, dataset string, opt Options) (*bigQuery, error) {
	copts := opt.ClientOptions
	if ep := opt.BigQueryEndpoint; ep != "" {
		if !strings.Contains(ep, "://") {
			ep = "http://" + ep
		}
		copts = append([]option.ClientOption{option.WithEndpoint(ep), option.WithoutAuthentication()}, copts...)
	}
	c, err := bigquery.NewClient(ctx, project, copts...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: BigQuery client for project %s: %w (credentials come from Application Default Credentials or GOOGLE_APPLICATION_CREDENTIALS)", project, err)
	}
	c.Location = opt.Location
	b := &bigQuery{c: c, project: project, dataset: dataset, raw: dataset + "_raw", opt: opt, emulator: opt.BigQueryEndpoint != ""}
	if err := b.ensure(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

func (b *bigQuery) Dialect() string     { return "bigquery" }
func (b *bigQuery) RawSchema() string   { return b.project + "." + b.raw }
func (b *bigQuery) ModelSchema() string { return b.project + "." + b.dataset }
func (b *bigQuery) Close() error        { return b.c.Close() }

func (b *bigQuery) table(name string) string {
	return sqlquote.Ident(sqlquote.BigQuery, b.project+"."+b.raw+"."+name)
}

// bqField is the BigQuery column of a schema column. JSON text is kept as
// STRING (Parquet strings load into STRING; transforms use PARSE_JSON).
func bqField(c schemas.Column) *bigquery.FieldSchema {
	f := &bigquery.FieldSchema{Name: c.Name, Required: !c.Nullable, Description: c.Description}
	switch c.Type {
	case schemas.Integer:
		f.Type = bigquery.IntegerFieldType
	case schemas.Number:
		f.Type = bigquery.FloatFieldType
	case schemas.Boolean:
		f.Type = bigquery.BooleanFieldType
	case schemas.Timestamp:
		f.Type = bigquery.TimestampFieldType
	case schemas.Date:
		f.Type = bigquery.DateFieldType
	case schemas.IntList:
		f.Type, f.Repeated, f.Required = bigquery.IntegerFieldType, true, false
	case schemas.StrList:
		f.Type, f.Repeated, f.Required = bigquery.StringFieldType, true, false
	default:
		f.Type = bigquery.StringFieldType
	}
	return f
}

// BigQuerySchema is a stream's raw table schema.
func BigQuerySchema(st *schemas.Stream) bigquery.Schema {
	s := make(bigquery.Schema, len(st.Columns))
	for i, c := range st.Columns {
		s[i] = bqField(c)
	}
	return s
}

// bqLayout is the partitioning and clustering of a raw table: calls is
// partitioned by day of started_at and clustered by call_id.
func bqLayout(stream string) (*bigquery.TimePartitioning, *bigquery.Clustering) {
	if stream == "calls" {
		return &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "started_at"},
			&bigquery.Clustering{Fields: []string{"call_id"}}
	}
	return nil, nil
}

var ledgerSchema = bigquery.Schema{
	{Name: "stream", Type: bigquery.StringFieldType, Required: true},
	{Name: "sha256", Type: bigquery.StringFieldType, Required: true},
	{Name: "file", Type: bigquery.StringFieldType, Required: true},
	{Name: "bytes", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "rows", Type: bigquery.IntegerFieldType, Required: true},
	{Name: "sync_id", Type: bigquery.StringFieldType},
	{Name: "load_id", Type: bigquery.StringFieldType, Required: true},
	{Name: "loaded_at", Type: bigquery.TimestampFieldType, Required: true},
}

var stateSchema = bigquery.Schema{
	{Name: "id", Type: bigquery.StringFieldType, Required: true},
	{Name: "state", Type: bigquery.StringFieldType, Required: true},
	{Name: "updated_at", Type: bigquery.TimestampFieldType, Required: true},
}

func isNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
}

func isConflict(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusConflict
}

// ensure creates the two datasets and the raw tables when missing.
func (b *bigQuery) ensure(ctx context.Context) error {
	for _, ds := range []string{b.raw, b.dataset} {
		d := b.c.Dataset(ds)
		if _, err := d.Metadata(ctx); err == nil {
			continue
		} else if !isNotFound(err) {
			return fmt.Errorf("warehouse: dataset %s.%s: %w", b.project, ds, err)
		}
		err := d.Create(ctx, &bigquery.DatasetMetadata{Location: b.opt.Location, Description: "chorus-elt"})
		if err != nil && !isConflict(err) {
			return fmt.Errorf("warehouse: create dataset %s.%s: %w", b.project, ds, err)
		}
	}
	tables := map[string]*bigquery.TableMetadata{
		LedgerTable: {Schema: ledgerSchema, Description: "chorus-elt: Parquet files applied to the raw tables"},
		StateTable:  {Schema: stateSchema, Description: "chorus-elt: connector state, written after each load"},
	}
	for _, st := range schemas.All() {
		tp, cl := bqLayout(st.Name)
		tables[st.Name] = &bigquery.TableMetadata{Schema: BigQuerySchema(st), TimePartitioning: tp, Clustering: cl, Description: st.Description}
	}
	for _, name := range append([]string{LedgerTable, StateTable}, schemas.Names()...) {
		t := b.c.Dataset(b.raw).Table(name)
		if _, err := t.Metadata(ctx); err == nil {
			continue
		} else if !isNotFound(err) {
			return fmt.Errorf("warehouse: table %s.%s: %w", b.raw, name, err)
		}
		if err := t.Create(ctx, tables[name]); err != nil && !isConflict(err) {
			return fmt.Errorf("warehouse: create table %s.%s: %w", b.raw, name, err)
		}
	}
	return nil
}

func (b *bigQuery) Exec(ctx context.Context, q string) error {
	return b.query(ctx, q, "query", nil)
}

// The emulator (github.com/goccy/bigquery-emulator) answers 409 to a
// CREATE OR REPLACE of an existing table or view, and to CREATE TABLE IF NOT
// EXISTS of an existing one, after running the statement with stale
// metadata. Against it, the first is run as a drop and a create, the second
// not at all when the table exists. Real BigQuery never takes this path.
var (
	reCreateOrReplace = regexp.MustCompile("(?is)^\\s*CREATE\\s+OR\\s+REPLACE\\s+(TABLE|VIEW)\\s+(`[^`]+`|\\S+)")
	reCreateIfMissing = regexp.MustCompile("(?is)^\\s*CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s+(`[^`]+`|\\S+)")
)

// emulatorExec rewrites q for the emulator; done says nothing is left to run.
func (b *bigQuery) emulatorExec(ctx context.Context, q string) (string, bool, error) {
	if m := reCreateIfMissing.FindStringSubmatch(q); m != nil {
		if _, err := b.tableRef(m[1]).Metadata(ctx); err == nil {
			return q, true, nil
		}
		return q, false, nil
	}
	if m := reCreateOrReplace.FindStringSubmatchIndex(q); m != nil {
		name := q[m[4]:m[5]]
		if err := b.tableRef(name).Delete(ctx); err != nil && !isNotFound(err) {
			return q, false, fmt.Errorf("bigquery: drop %s before creating it again: %w", name, err)
		}
		return "CREATE " + q[m[2]:], false, nil
	}
	return q, false, nil
}

// tableRef resolves `project.dataset.table`, dataset.table or a table of
// the model dataset.
func (b *bigQuery) tableRef(name string) *bigquery.Table {
	parts := strings.Split(strings.Trim(name, "`"), ".")
	switch len(parts) {
	case 3:
		return b.c.DatasetInProject(parts[0], parts[1]).Table(parts[2])
	case 2:
		return b.c.Dataset(parts[0]).Table(parts[1])
	}
	return b.c.Dataset(b.dataset).Table(parts[0])
}

func (b *bigQuery) Query(ctx context.Context, q string) ([]map[string]any, error) {
	_, rows, err := b.QueryTable(ctx, q)
	return rows, err
}

func (b *bigQuery) QueryTable(ctx context.Context, q string) ([]string, []map[string]any, error) {
	it, err := b.c.Query(q).Read(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("bigquery: %w", err)
	}
	rows, err := readAll(it)
	if err != nil {
		return nil, nil, err
	}
	cols := make([]string, len(it.Schema))
	for i, f := range it.Schema {
		cols[i] = f.Name
	}
	return cols, rows, nil
}

func readAll(it *bigquery.RowIterator) ([]map[string]any, error) {
	var out []map[string]any
	for {
		var row map[string]bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("bigquery: %w", err)
		}
		m := make(map[string]any, len(row))
		for k, v := range row {
			m[k] = v
		}
		out = append(out, m)
	}
}

func (b *bigQuery) wait(ctx context.Context, job *bigquery.Job, what string) (*bigquery.JobStatus, error) {
	st, err := job.Wait(ctx)
	if err == nil {
		err = st.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("warehouse: BigQuery %s job %s: %w", what, job.ID(), err)
	}
	return st, nil
}

func (b *bigQuery) State(ctx context.Context) ([]byte, error) {
	rows, err := readAll(b.c.Dataset(b.raw).Table(StateTable).Read(ctx))
	if err != nil {
		return nil, fmt.Errorf("warehouse: read state from %s: %w", b.raw, err)
	}
	for _, r := range rows {
		if r["id"] == stateID {
			s, _ := r["state"].(string)
			return []byte(s), nil
		}
	}
	return nil, nil
}

// arrowToBQ maps a Parquet column (as Arrow) to a BigQuery type; repeated
// for lists.
func arrowToBQ(t arrow.DataType) (bigquery.FieldType, bool, bool) {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY:
		return bigquery.StringFieldType, false, true
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
		return bigquery.IntegerFieldType, false, true
	case arrow.FLOAT32, arrow.FLOAT64:
		return bigquery.FloatFieldType, false, true
	case arrow.BOOL:
		return bigquery.BooleanFieldType, false, true
	case arrow.TIMESTAMP:
		return bigquery.TimestampFieldType, false, true
	case arrow.DATE32, arrow.DATE64:
		return bigquery.DateFieldType, false, true
	case arrow.LIST, arrow.LARGE_LIST:
		et, rep, ok := arrowToBQ(t.(arrow.ListLikeType).Elem())
		return et, true, ok && !rep
	}
	return "", false, false
}

func bqTypeName(t bigquery.FieldType, repeated bool) string {
	if repeated {
		return "ARRAY<" + string(t) + ">"
	}
	return string(t)
}

// plan checks every new file against its table and returns the columns to
// add per stream. Nothing is written.
func (b *bigQuery) plan(ctx context.Context, todo map[string][]*sourceFile) (map[string]bigquery.Schema, map[string]*bigquery.TableMetadata, error) {
	add := map[string]bigquery.Schema{}
	metas := map[string]*bigquery.TableMetadata{}
	for _, st := range schemas.All() {
		fs := todo[st.Name]
		if len(fs) == 0 {
			continue
		}
		md, err := b.c.Dataset(b.raw).Table(st.Name).Metadata(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("warehouse: table %s.%s: %w", b.raw, st.Name, err)
		}
		metas[st.Name] = md
		have := map[string]*bigquery.FieldSchema{}
		for _, f := range md.Schema {
			have[f.Name] = f
		}
		for _, f := range fs {
			fields, rows, err := parquetColumns(f.Path)
			if err != nil {
				return nil, nil, err
			}
			f.Rows = rows
			for _, fld := range fields {
				ft, rep, ok := arrowToBQ(fld.Type)
				if !ok {
					return nil, nil, fmt.Errorf("warehouse: %s: column %s has type %s, which the loader does not map to BigQuery", f.Rel, fld.Name, fld.Type)
				}
				tf := have[fld.Name]
				if tf == nil {
					nf := &bigquery.FieldSchema{Name: fld.Name, Type: ft, Repeated: rep}
					have[fld.Name] = nf
					add[st.Name] = append(add[st.Name], nf)
					continue
				}
				same := tf.Repeated == rep && (tf.Type == ft || tf.Type == bigquery.JSONFieldType && ft == bigquery.StringFieldType)
				if !same {
					tt, fileT := bqTypeName(tf.Type, tf.Repeated), bqTypeName(ft, rep)
					return nil, nil, &SchemaConflictError{Table: b.project + "." + b.raw + "." + st.Name, Column: fld.Name, TableType: tt, FileType: fileT, File: f.Rel,
						Fix: fmt.Sprintf("write %s as %s again in the extract, or migrate the table first (e.g. CREATE OR REPLACE TABLE %s AS SELECT * REPLACE (CAST(%s AS %s) AS %s) FROM %s) and load again",
							fld.Name, tt, b.table(st.Name), fld.Name, fileT, fld.Name, b.table(st.Name))}
				}
			}
		}
	}
	return add, metas, nil
}

// Load implements Warehouse. See the type comment for the order of steps.
func (b *bigQuery) Load(ctx context.Context, dir string, state []byte) (*LoadResult, error) {
	start := time.Now()
	res := newResult()
	files, err := scanDir(dir)
	if err != nil {
		return nil, err
	}
	if err := b.ensure(ctx); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	rows, err := readAll(b.c.Dataset(b.raw).Table(LedgerTable).Read(ctx))
	if err != nil {
		return nil, fmt.Errorf("warehouse: read ledger %s.%s: %w", b.raw, LedgerTable, err)
	}
	for _, r := range rows {
		seen[fmt.Sprint(r["stream"])+"/"+fmt.Sprint(r["sha256"])] = true
	}
	todo := newFiles(files, seen, res)
	add, metas, err := b.plan(ctx, todo)
	if err != nil {
		return nil, err
	}
	loadID := fmt.Sprintf("%s-%d", b.opt.Now().UTC().Format("20060102T150405Z"), os.Getpid())
	for _, st := range schemas.All() {
		fs := todo[st.Name]
		if len(fs) == 0 {
			continue
		}
		md := metas[st.Name]
		if len(add[st.Name]) > 0 {
			schema := append(append(bigquery.Schema{}, md.Schema...), add[st.Name]...)
			md, err = b.c.Dataset(b.raw).Table(st.Name).Update(ctx, bigquery.TableMetadataToUpdate{Schema: schema}, md.ETag)
			if err != nil {
				return nil, fmt.Errorf("warehouse: add columns to %s.%s: %w", b.raw, st.Name, err)
			}
			for _, f := range add[st.Name] {
				res.stream(st.Name).AddedColumns = append(res.stream(st.Name).AddedColumns, f.Name)
				b.opt.Logger.Info("added column", "table", b.raw+"."+st.Name, "column", f.Name, "type", f.Type)
			}
		}
		if err := b.loadStream(ctx, st, md.Schema, fs, loadID, res); err != nil {
			return nil, err
		}
	}
	if len(todo[replacingStream]) > 0 {
		if err := b.deleteReplaced(ctx, res); err != nil {
			return nil, err
		}
	}
	if state != nil {
		line, _ := json.Marshal(map[string]any{"id": stateID, "state": string(state), "updated_at": b.opt.Now().UTC().Format(time.RFC3339Nano)})
		if err := b.loadJSON(ctx, StateTable, stateSchema, bigquery.WriteTruncate, line); err != nil {
			return nil, fmt.Errorf("warehouse: store state: %w", err)
		}
		res.StateStored = true
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// loadStream stages a stream's files, merges them and records them.
func (b *bigQuery) loadStream(ctx context.Context, st *schemas.Stream, schema bigquery.Schema, fs []*sourceFile, loadID string, res *LoadResult) error {
	sr := res.stream(st.Name)
	stage := "_chorus_stage_" + st.Name
	// Staging columns are all NULLABLE: older files may lack added columns.
	stageSchema := make(bigquery.Schema, len(schema))
	for i, f := range schema {
		c := *f
		c.Required = false
		stageSchema[i] = &c
	}
	tp, cl := bqLayout(st.Name)
	for i, f := range fs {
		r, err := os.Open(f.Path)
		if err != nil {
			return fmt.Errorf("warehouse: %w", err)
		}
		src := bigquery.NewReaderSource(r)
		src.SourceFormat = bigquery.Parquet
		src.ParquetOptions = &bigquery.ParquetOptions{EnableListInference: true}
		src.Schema = stageSchema
		ld := b.c.Dataset(b.raw).Table(stage).LoaderFrom(src)
		ld.CreateDisposition = bigquery.CreateIfNeeded
		ld.WriteDisposition = bigquery.WriteAppend
		if i == 0 {
			ld.WriteDisposition = bigquery.WriteTruncate
		}
		ld.TimePartitioning, ld.Clustering = tp, cl
		ld.Labels = map[string]string{"chorus_elt": "stage"}
		if b.emulator {
			// The emulator cannot take the client's resumable upload (it
			// routes the chunks' POSTs to job creation): one request.
			ld.MediaOptions = []googleapi.MediaOption{googleapi.ChunkSize(0)}
		}
		job, err := ld.Run(ctx)
		r.Close()
		if err != nil {
			return fmt.Errorf("warehouse: load %s into %s.%s: %w", f.Rel, b.raw, stage, err)
		}
		if _, err := b.wait(ctx, job, "load of "+f.Rel); err != nil {
			return err
		}
		sr.FilesLoaded++
		sr.Bytes += f.Size
		sr.RowsRead += f.Rows
		res.FilesLoaded++
		res.Bytes += f.Size
	}
	if err := b.opt.fail("staged:" + st.Name); err != nil {
		return err
	}
	// One row per key (the newest), in a table of its own: the MERGE's
	// source is then a plain table, which the emulator requires.
	dedup := "_chorus_dedup_" + st.Name
	if err := b.query(ctx, dedupSQL(b.table(dedup), b.table(stage), st.Key), "keep the newest staged row per key of "+st.Name, nil); err != nil {
		return err
	}
	prune, err := partitionFilter(st.Name, fs)
	if err != nil {
		return err
	}
	err = b.query(ctx, mergeSQL(b.table(st.Name), b.table(dedup), st.Key, schema, prune), "merge into "+st.Name,
		func(qs *bigquery.QueryStatistics) {
			if qs.DMLStats != nil {
				sr.Inserted += qs.DMLStats.InsertedRowCount
				sr.Updated += qs.DMLStats.UpdatedRowCount
			}
		})
	if err != nil {
		return err
	}
	if err := b.opt.fail("merged:" + st.Name); err != nil {
		return err
	}
	if st.Name == replacingStream {
		q := fmt.Sprintf("CREATE OR REPLACE TABLE %s AS %s", b.table(replacedTable), replacedSQL("bigquery", b.table(stage), b.table(st.Name)))
		if err := b.query(ctx, q, "calls whose child rows are replaced", nil); err != nil {
			return err
		}
	}
	if fullRefresh(st) {
		err := b.query(ctx, deleteStaleSQL(b.table(st.Name), b.table(stage)), "replace "+st.Name+" with the newest full refresh",
			func(qs *bigquery.QueryStatistics) {
				if qs.DMLStats != nil {
					sr.Deleted += qs.DMLStats.DeletedRowCount
				}
			})
		if err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	now := b.opt.Now().UTC().Format(time.RFC3339Nano)
	for _, f := range fs {
		line, _ := json.Marshal(map[string]any{"stream": f.Stream, "sha256": f.SHA256, "file": f.Rel, "bytes": f.Size,
			"rows": f.Rows, "sync_id": f.SyncID, "load_id": loadID, "loaded_at": now})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := b.loadJSON(ctx, LedgerTable, ledgerSchema, bigquery.WriteAppend, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))); err != nil {
		return fmt.Errorf("warehouse: ledger: %w", err)
	}
	for _, t := range []string{stage, dedup} {
		if err := b.c.Dataset(b.raw).Table(t).Delete(ctx); err != nil && !isNotFound(err) {
			return fmt.Errorf("warehouse: drop %s.%s: %w", b.raw, t, err)
		}
	}
	return nil
}

// query runs one query job and waits for it; stats, when set, receives its
// statistics.
func (b *bigQuery) query(ctx context.Context, q, what string, stats func(*bigquery.QueryStatistics)) error {
	if b.emulator {
		var done bool
		var err error
		if q, done, err = b.emulatorExec(ctx, q); done || err != nil {
			return err
		}
	}
	job, err := b.c.Query(q).Run(ctx)
	if err != nil {
		return fmt.Errorf("warehouse: %s: %w", what, err)
	}
	js, err := b.wait(ctx, job, what)
	if err != nil {
		return err
	}
	if qs, ok := js.Statistics.Details.(*bigquery.QueryStatistics); ok && stats != nil {
		stats(qs)
	}
	return nil
}

// deleteReplaced deletes the child rows the replacing calls no longer have
// (see replacedSQL), then the list of those calls. Each statement is safe
// to repeat: a crash before the list is dropped redoes the deletes.
func (b *bigQuery) deleteReplaced(ctx context.Context, res *LoadResult) error {
	for _, child := range childStreamNames() {
		err := b.query(ctx, deleteReplacedSQL(child, b.table(child), b.table(replacedTable)), "replace the child rows of re-read calls in "+child,
			func(qs *bigquery.QueryStatistics) {
				if qs.DMLStats != nil && qs.DMLStats.DeletedRowCount > 0 {
					res.stream(child).Deleted += qs.DMLStats.DeletedRowCount
				}
			})
		if err != nil {
			return err
		}
	}
	if err := b.c.Dataset(b.raw).Table(replacedTable).Delete(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("warehouse: drop %s.%s: %w", b.raw, replacedTable, err)
	}
	return nil
}

// loadJSON loads newline-delimited JSON rows into a bookkeeping table.
func (b *bigQuery) loadJSON(ctx context.Context, table string, schema bigquery.Schema, wd bigquery.TableWriteDisposition, ndjson []byte) error {
	src := bigquery.NewReaderSource(bytes.NewReader(ndjson))
	src.SourceFormat = bigquery.JSON
	src.Schema = schema
	ld := b.c.Dataset(b.raw).Table(table).LoaderFrom(src)
	ld.WriteDisposition = wd
	ld.CreateDisposition = bigquery.CreateIfNeeded
	job, err := ld.Run(ctx)
	if err != nil {
		return err
	}
	_, err = b.wait(ctx, job, "load into "+table)
	return err
}

// partitionFilter restricts a MERGE into a partitioned raw table to the
// days of the staged rows — a constant range on the partitioning column,
// which BigQuery prunes partitions on — so that a run's bytes scanned grow
// with what it loads, not with the table's history. The range comes from
// the Parquet files' column statistics (no query job). "" for tables that
// are not partitioned, or files without statistics for the column. It
// relies on a call's start never moving from one day to another once
// known, which holds for recordings.
func partitionFilter(stream string, files []*sourceFile) (string, error) {
	tp, _ := bqLayout(stream)
	if tp == nil {
		return "", nil
	}
	var lo, hi time.Time
	for _, f := range files {
		flo, fhi, ok, err := timestampRange(f.Path, tp.Field)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", nil
		}
		if lo.IsZero() || flo.Before(lo) {
			lo = flo
		}
		if fhi.After(hi) {
			hi = fhi
		}
	}
	if lo.IsZero() {
		return "", nil
	}
	day := 24 * time.Hour
	col := sqlquote.Ident(sqlquote.BigQuery, tp.Field)
	// A stored row whose start was not yet known sits in the NULL
	// partition; it stays a candidate so that it is updated, not doubled.
	return fmt.Sprintf("(t.%s IS NULL OR (t.%s >= TIMESTAMP '%s' AND t.%s < TIMESTAMP '%s'))", col, col,
		lo.Truncate(day).Format("2006-01-02 15:04:05+00"), col, hi.Truncate(day).Add(day).Format("2006-01-02 15:04:05+00")), nil
}

// timestampRange reads the smallest and largest value of a timestamp
// (microseconds) column from a Parquet file's statistics; ok is false when
// a row group has no statistics or a null.
func timestampRange(path, column string) (lo, hi time.Time, ok bool, err error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return lo, hi, false, fmt.Errorf("warehouse: read %s: %w", path, err)
	}
	defer r.Close()
	md := r.MetaData()
	idx := md.Schema.ColumnIndexByName(column)
	if idx < 0 {
		return lo, hi, false, nil
	}
	for g := 0; g < md.NumRowGroups(); g++ {
		cc, err := md.RowGroup(g).ColumnChunk(idx)
		if err != nil {
			return lo, hi, false, fmt.Errorf("warehouse: %s: %w", path, err)
		}
		set, err := cc.StatsSet()
		if err != nil || !set {
			return lo, hi, false, nil
		}
		st, err := cc.Statistics()
		if err != nil {
			return lo, hi, false, nil
		}
		is, isInt := st.(*metadata.Int64Statistics)
		if !isInt || !is.HasMinMax() || is.NullCount() > 0 {
			return lo, hi, false, nil
		}
		glo, ghi := time.UnixMicro(is.Min()).UTC(), time.UnixMicro(is.Max()).UTC()
		if lo.IsZero() || glo.Before(lo) {
			lo = glo
		}
		if ghi.After(hi) {
			hi = ghi
		}
	}
	return lo, hi, !lo.IsZero(), nil
}

// dedupSQL keeps one staged row per key: the newest _extracted_at, ties
// broken by _sync_id, then by the row's JSON text, so the choice is
// deterministic.
func dedupSQL(dedup, stage string, key []string) string {
	part := make([]string, len(key))
	for i, k := range key {
		part[i] = sqlquote.Ident(sqlquote.BigQuery, k)
	}
	return fmt.Sprintf(`CREATE OR REPLACE TABLE %s AS
SELECT * FROM %s AS x WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY %s ORDER BY x.%s DESC, x.%s DESC, TO_JSON_STRING(x) DESC) = 1`,
		dedup, stage, strings.Join(part, ", "), sqlquote.Ident(sqlquote.BigQuery, schemas.ExtractedAt), sqlquote.Ident(sqlquote.BigQuery, schemas.SyncID))
}

// mergeSQL merges the deduplicated staged rows into the target: insert new
// keys, replace rows whose stored _extracted_at is not newer. prune, when
// set, is a constant filter on the target's partitioning column.
func mergeSQL(target, source string, key []string, schema bigquery.Schema, prune string) string {
	isKey := map[string]bool{}
	on := make([]string, len(key))
	for i, k := range key {
		isKey[k] = true
		on[i] = fmt.Sprintf("t.%s = s.%s", sqlquote.Ident(sqlquote.BigQuery, k), sqlquote.Ident(sqlquote.BigQuery, k))
	}
	if prune != "" {
		on = append(on, prune)
	}
	var set, cols, vals []string
	for _, f := range schema {
		c := sqlquote.Ident(sqlquote.BigQuery, f.Name)
		cols = append(cols, c)
		vals = append(vals, "s."+c)
		if !isKey[f.Name] {
			set = append(set, fmt.Sprintf("%s = s.%s", c, c))
		}
	}
	ea := sqlquote.Ident(sqlquote.BigQuery, schemas.ExtractedAt)
	return fmt.Sprintf(`MERGE %s AS t
USING %s AS s
ON %s
WHEN MATCHED AND (t.%s IS NULL OR s.%s >= t.%s) THEN UPDATE SET %s
WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)`,
		target, source, strings.Join(on, " AND "), ea, ea, ea, strings.Join(set, ", "), strings.Join(cols, ", "), strings.Join(vals, ", "))
}
