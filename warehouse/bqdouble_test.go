package warehouse

// bqDouble is a local stand-in for the BigQuery REST API (v2), good enough
// for the official Go client to run this package's loads against it through
// option.WithEndpoint.
//
// What it does:
//   - datasets get/insert; tables get/insert/patch/delete, keeping schema,
//     timePartitioning and clustering; tabledata.list (the client's
//     Table.Read) over in-memory rows.
//   - load jobs through the upload endpoint (multipart and resumable): it
//     checks the configuration (sourceFormat PARQUET or NEWLINE_DELIMITED_JSON,
//     an explicit schema that covers every file column with the same type,
//     writeDisposition/createDisposition, DAY partitioning on started_at and
//     clustering by call_id for the calls staging table), reads the uploaded
//     Parquet back with arrow-go's pqarrow reader, enforces REQUIRED columns
//     and appends or replaces rows.
//   - query jobs: it accepts only the MERGE statement this package emits,
//     matched by a regular expression (so a change of its shape fails the
//     tests), and applies the MERGE's semantics itself in Go (dedupe the
//     staging rows per key by _extracted_at, _sync_id, row text; insert new
//     keys; update keys whose stored _extracted_at is not newer), answering
//     with DML statistics. jobs.get and getQueryResults answer DONE.
//
// What it does not do: run any other SQL (jobs.query, SELECTs, scripts),
// check SQL types or BigQuery's own validation rules, partition storage,
// authenticate, or model quotas, job latency and concurrency.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	bq "google.golang.org/api/bigquery/v2"
	"google.golang.org/api/option"
)

type bqTable struct {
	meta *bq.Table
	rows []map[string]any
}

type bqDouble struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	datasets map[string]*bq.Dataset // dataset id → metadata
	tables   map[string]*bqTable    // "dataset.table"
	jobs     map[string]*bq.Job
	uploads  map[string]*bq.Job // resumable upload id → job
	// LoadJobs and Queries record what the client sent, in order.
	LoadJobs []*bq.JobConfigurationLoad
	Queries  []string
	etag     int
}

func newBQDouble(t testing.TB) *bqDouble {
	d := &bqDouble{t: t, datasets: map[string]*bq.Dataset{}, tables: map[string]*bqTable{}, jobs: map[string]*bq.Job{}, uploads: map[string]*bq.Job{}}
	d.srv = httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(d.srv.Close)
	return d
}

func (d *bqDouble) options() []option.ClientOption {
	return []option.ClientOption{option.WithEndpoint(d.srv.URL + "/bigquery/v2/"), option.WithHTTPClient(d.srv.Client()), option.WithoutAuthentication()}
}

func (d *bqDouble) fail(w http.ResponseWriter, code int, format string, a ...any) {
	reason := map[int]string{404: "notFound", 409: "duplicate", 400: "invalid"}[code]
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": fmt.Sprintf(format, a...),
		"errors": []map[string]any{{"reason": reason, "message": fmt.Sprintf(format, a...)}}}})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

var (
	reDataset  = regexp.MustCompile(`^/bigquery/v2/projects/([^/]+)/datasets(?:/([^/]+))?$`)
	reTable    = regexp.MustCompile(`^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables(?:/([^/]+))?$`)
	reTabledat = regexp.MustCompile(`^/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)/data$`)
	reJobs     = regexp.MustCompile(`^/bigquery/v2/projects/([^/]+)/jobs(?:/([^/]+))?$`)
	reQueries  = regexp.MustCompile(`^/bigquery/v2/projects/([^/]+)/queries/([^/]+)$`)
	reUpload   = regexp.MustCompile(`^/upload/bigquery/v2/projects/([^/]+)/jobs$`)
)

func (d *bqDouble) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := r.URL.Path
	switch {
	case reUpload.MatchString(p):
		d.upload(w, r)
	case reTabledat.MatchString(p) && r.Method == http.MethodGet:
		m := reTabledat.FindStringSubmatch(p)
		d.tabledata(w, m[2]+"."+m[3])
	case reTable.MatchString(p):
		m := reTable.FindStringSubmatch(p)
		d.table(w, r, m[1], m[2], m[3])
	case reDataset.MatchString(p):
		m := reDataset.FindStringSubmatch(p)
		d.dataset(w, r, m[1], m[2])
	case reQueries.MatchString(p):
		m := reQueries.FindStringSubmatch(p)
		job := d.jobs[m[2]]
		if job == nil {
			d.fail(w, 404, "Not found: Job %s", m[2])
			return
		}
		reply(w, &bq.GetQueryResultsResponse{JobComplete: true, JobReference: job.JobReference, TotalRows: 0, Schema: &bq.TableSchema{}})
	case reJobs.MatchString(p):
		m := reJobs.FindStringSubmatch(p)
		switch {
		case r.Method == http.MethodGet && m[2] != "":
			job := d.jobs[m[2]]
			if job == nil {
				d.fail(w, 404, "Not found: Job %s", m[2])
				return
			}
			reply(w, job)
		case r.Method == http.MethodPost && m[2] == "":
			var job bq.Job
			if err := json.NewDecoder(r.Body).Decode(&job); err != nil {
				d.fail(w, 400, "bad job: %v", err)
				return
			}
			d.runJob(w, m[1], &job, nil)
		default:
			d.fail(w, 400, "double: unsupported %s %s", r.Method, p)
		}
	case strings.HasPrefix(p, "/upload/resumable/") && r.Method == http.MethodPut:
		d.resumable(w, r)
	default:
		d.fail(w, 400, "double: unsupported %s %s", r.Method, p)
	}
}

func (d *bqDouble) dataset(w http.ResponseWriter, r *http.Request, project, id string) {
	switch {
	case r.Method == http.MethodGet && id != "":
		ds := d.datasets[id]
		if ds == nil {
			d.fail(w, 404, "Not found: Dataset %s:%s", project, id)
			return
		}
		reply(w, ds)
	case r.Method == http.MethodPost && id == "":
		var ds bq.Dataset
		if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
			d.fail(w, 400, "bad dataset: %v", err)
			return
		}
		id := ds.DatasetReference.DatasetId
		if d.datasets[id] != nil {
			d.fail(w, 409, "Already Exists: Dataset %s:%s", project, id)
			return
		}
		d.datasets[id] = &ds
		reply(w, &ds)
	default:
		d.fail(w, 400, "double: unsupported dataset call %s", r.Method)
	}
}

func (d *bqDouble) table(w http.ResponseWriter, r *http.Request, project, ds, id string) {
	if d.datasets[ds] == nil {
		d.fail(w, 404, "Not found: Dataset %s:%s", project, ds)
		return
	}
	key := ds + "." + id
	switch r.Method {
	case http.MethodGet:
		t := d.tables[key]
		if t == nil {
			d.fail(w, 404, "Not found: Table %s:%s", project, key)
			return
		}
		t.meta.NumRows = uint64(len(t.rows))
		reply(w, t.meta)
	case http.MethodPost:
		var meta bq.Table
		if err := json.NewDecoder(r.Body).Decode(&meta); err != nil {
			d.fail(w, 400, "bad table: %v", err)
			return
		}
		key = ds + "." + meta.TableReference.TableId
		if d.tables[key] != nil {
			d.fail(w, 409, "Already Exists: Table %s:%s", project, key)
			return
		}
		d.etag++
		meta.Etag = strconv.Itoa(d.etag)
		d.tables[key] = &bqTable{meta: &meta}
		reply(w, &meta)
	case http.MethodPatch:
		t := d.tables[key]
		if t == nil {
			d.fail(w, 404, "Not found: Table %s:%s", project, key)
			return
		}
		var patch bq.Table
		if err := json.NewDecoder(r.Body).Decode(&patch); err != nil {
			d.fail(w, 400, "bad patch: %v", err)
			return
		}
		if patch.Schema != nil {
			// BigQuery only lets a patch add NULLABLE columns at the end.
			old := t.meta.Schema.Fields
			if len(patch.Schema.Fields) < len(old) {
				d.fail(w, 400, "Provided Schema does not match Table %s. Cannot drop fields", key)
				return
			}
			for i, f := range old {
				if nf := patch.Schema.Fields[i]; nf.Name != f.Name || nf.Type != f.Type || nf.Mode != f.Mode {
					d.fail(w, 400, "Provided Schema does not match Table %s. Field %s has changed", key, f.Name)
					return
				}
			}
			for _, nf := range patch.Schema.Fields[len(old):] {
				if nf.Mode == "REQUIRED" {
					d.fail(w, 400, "Provided Schema does not match Table %s. Cannot add required field %s", key, nf.Name)
					return
				}
			}
			t.meta.Schema = patch.Schema
		}
		d.etag++
		t.meta.Etag = strconv.Itoa(d.etag)
		reply(w, t.meta)
	case http.MethodDelete:
		if d.tables[key] == nil {
			d.fail(w, 404, "Not found: Table %s:%s", project, key)
			return
		}
		delete(d.tables, key)
		w.WriteHeader(http.StatusNoContent)
	default:
		d.fail(w, 400, "double: unsupported table call %s", r.Method)
	}
}

// tabledata answers tabledata.list with every row in one page.
func (d *bqDouble) tabledata(w http.ResponseWriter, key string) {
	t := d.tables[key]
	if t == nil {
		d.fail(w, 404, "Not found: Table %s", key)
		return
	}
	out := &bq.TableDataList{TotalRows: int64(len(t.rows))}
	for _, row := range t.rows {
		tr := &bq.TableRow{}
		for _, f := range t.meta.Schema.Fields {
			tr.F = append(tr.F, &bq.TableCell{V: cellValue(f, row[f.Name])})
		}
		out.Rows = append(out.Rows, tr)
	}
	reply(w, out)
}

func cellValue(f *bq.TableFieldSchema, v any) any {
	if v == nil {
		if f.Mode == "REPEATED" {
			return []any{}
		}
		return nil
	}
	if f.Mode == "REPEATED" {
		var out []any
		for _, e := range v.([]any) {
			out = append(out, map[string]any{"v": scalarCell(e)})
		}
		return out
	}
	return scalarCell(v)
}

func scalarCell(v any) any {
	switch x := v.(type) {
	case time.Time:
		return strconv.FormatInt(x.UnixMicro(), 10)
	case string:
		return x
	case nil:
		return nil
	default:
		return fmt.Sprint(x)
	}
}

// upload handles jobs.insert through the upload endpoint.
func (d *bqDouble) upload(w http.ResponseWriter, r *http.Request) {
	project := reUpload.FindStringSubmatch(r.URL.Path)[1]
	switch r.URL.Query().Get("uploadType") {
	case "multipart":
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			d.fail(w, 400, "double: content type: %v", err)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			d.fail(w, 400, "double: multipart: %v", err)
			return
		}
		var job bq.Job
		if err := json.NewDecoder(part).Decode(&job); err != nil {
			d.fail(w, 400, "double: job metadata: %v", err)
			return
		}
		part, err = mr.NextPart()
		if err != nil {
			d.fail(w, 400, "double: multipart media: %v", err)
			return
		}
		media, err := io.ReadAll(part)
		if err != nil {
			d.fail(w, 400, "double: media: %v", err)
			return
		}
		d.runJob(w, project, &job, media)
	case "resumable":
		var job bq.Job
		if err := json.NewDecoder(r.Body).Decode(&job); err != nil {
			d.fail(w, 400, "double: job metadata: %v", err)
			return
		}
		id := fmt.Sprintf("u%d", len(d.uploads)+1)
		d.uploads[id] = &job
		w.Header().Set("Location", d.srv.URL+"/upload/resumable/"+project+"/"+id)
		w.WriteHeader(http.StatusOK)
	default:
		d.fail(w, 400, "double: uploadType %q", r.URL.Query().Get("uploadType"))
	}
}

// resumable accepts the whole media in one PUT (the client's chunk size is
// larger than any test file).
func (d *bqDouble) resumable(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/upload/resumable/"), "/")
	job := d.uploads[parts[1]]
	if job == nil {
		d.fail(w, 404, "double: no upload %s", parts[1])
		return
	}
	media, _ := io.ReadAll(r.Body)
	d.runJob(w, parts[0], job, media)
}

// runJob executes a job synchronously and stores it as DONE (with an
// errorResult when it failed, as BigQuery reports job failures).
func (d *bqDouble) runJob(w http.ResponseWriter, project string, job *bq.Job, media []byte) {
	if job.JobReference == nil {
		job.JobReference = &bq.JobReference{ProjectId: project}
	}
	if job.JobReference.JobId == "" {
		job.JobReference.JobId = fmt.Sprintf("job%d", len(d.jobs)+1)
	}
	job.Status = &bq.JobStatus{State: "DONE"}
	job.Statistics = &bq.JobStatistics{}
	var err error
	switch {
	case job.Configuration.Load != nil:
		err = d.runLoad(job.Configuration.Load, media)
	case job.Configuration.Query != nil:
		var stats *bq.DmlStatistics
		stats, err = d.runQuery(job.Configuration.Query.Query)
		job.Statistics.Query = &bq.JobStatistics2{StatementType: "MERGE", DmlStats: stats}
	default:
		err = fmt.Errorf("double: unsupported job type")
	}
	if err != nil {
		job.Status.ErrorResult = &bq.ErrorProto{Reason: "invalid", Message: err.Error()}
		job.Status.Errors = []*bq.ErrorProto{job.Status.ErrorResult}
	}
	d.jobs[job.JobReference.JobId] = job
	reply(w, job)
}

func (d *bqDouble) runLoad(cfg *bq.JobConfigurationLoad, media []byte) error {
	d.LoadJobs = append(d.LoadJobs, cfg)
	dst := cfg.DestinationTable
	key := dst.DatasetId + "." + dst.TableId
	if d.datasets[dst.DatasetId] == nil {
		return fmt.Errorf("Not found: Dataset %s", dst.DatasetId)
	}
	if cfg.Schema == nil || len(cfg.Schema.Fields) == 0 {
		return fmt.Errorf("double: load into %s without an explicit schema", key)
	}
	fields := map[string]*bq.TableFieldSchema{}
	for _, f := range cfg.Schema.Fields {
		fields[f.Name] = f
	}
	if strings.HasSuffix(dst.TableId, "_calls") || dst.TableId == "calls" {
		if tp := cfg.TimePartitioning; tp == nil || tp.Type != "DAY" || tp.Field != "started_at" {
			return fmt.Errorf("double: calls must be partitioned by DAY of started_at, got %+v", tp)
		}
		if cl := cfg.Clustering; cl == nil || fmt.Sprint(cl.Fields) != "[call_id]" {
			return fmt.Errorf("double: calls must be clustered by call_id, got %+v", cl)
		}
	}
	var rows []map[string]any
	var err error
	switch cfg.SourceFormat {
	case "PARQUET":
		if cfg.ParquetOptions == nil || !cfg.ParquetOptions.EnableListInference {
			return fmt.Errorf("double: Parquet lists need parquetOptions.enableListInference")
		}
		rows, err = readParquetRows(media, fields)
	case "NEWLINE_DELIMITED_JSON":
		rows, err = readNDJSON(media, fields)
	default:
		return fmt.Errorf("double: sourceFormat %q is not PARQUET or NEWLINE_DELIMITED_JSON", cfg.SourceFormat)
	}
	if err != nil {
		return err
	}
	for i, row := range rows {
		for _, f := range cfg.Schema.Fields {
			if f.Mode == "REQUIRED" && row[f.Name] == nil {
				return fmt.Errorf("Required field %s cannot be null (row %d)", f.Name, i)
			}
		}
	}
	t := d.tables[key]
	if t == nil {
		if cfg.CreateDisposition != "CREATE_IF_NEEDED" && cfg.CreateDisposition != "" {
			return fmt.Errorf("Not found: Table %s", key)
		}
		d.etag++
		t = &bqTable{meta: &bq.Table{TableReference: dst, Schema: cfg.Schema, TimePartitioning: cfg.TimePartitioning, Clustering: cfg.Clustering, Etag: strconv.Itoa(d.etag)}}
		d.tables[key] = t
	}
	switch cfg.WriteDisposition {
	case "WRITE_TRUNCATE":
		t.meta.Schema = cfg.Schema
		t.rows = rows
	case "WRITE_APPEND", "":
		t.rows = append(t.rows, rows...)
	default:
		return fmt.Errorf("double: writeDisposition %q", cfg.WriteDisposition)
	}
	return nil
}

// readParquetRows reads an uploaded Parquet file with arrow-go and checks
// each column against the load schema.
func readParquetRows(media []byte, fields map[string]*bq.TableFieldSchema) ([]map[string]any, error) {
	pf, err := file.NewParquetReader(bytes.NewReader(media))
	if err != nil {
		return nil, fmt.Errorf("double: the upload is not Parquet: %w", err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, err
	}
	defer tbl.Release()
	sc := tbl.Schema()
	for _, f := range sc.Fields() {
		bf := fields[f.Name]
		if bf == nil {
			return nil, fmt.Errorf("double: file column %s is not in the load schema", f.Name)
		}
		ft, rep, _ := arrowToBQ(f.Type)
		if string(ft) != bf.Type || rep != (bf.Mode == "REPEATED") {
			return nil, fmt.Errorf("double: file column %s is %s, load schema says %s %s", f.Name, f.Type, bf.Mode, bf.Type)
		}
	}
	rows := make([]map[string]any, tbl.NumRows())
	for i := range rows {
		rows[i] = map[string]any{}
	}
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	base := 0
	for tr.Next() {
		rec := tr.RecordBatch()
		for c := 0; c < int(rec.NumCols()); c++ {
			name := sc.Field(c).Name
			col := rec.Column(c)
			for i := 0; i < col.Len(); i++ {
				rows[base+i][name] = arrowValue(col, i)
			}
		}
		base += int(rec.NumRows())
	}
	return rows, nil
}

func arrowValue(col arrow.Array, i int) any {
	if col.IsNull(i) {
		return nil
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i)
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.Timestamp:
		return time.UnixMicro(int64(a.Value(i))).UTC()
	case *array.Date32:
		return a.Value(i).ToTime().Format("2006-01-02")
	case *array.List:
		start, end := a.ValueOffsets(i)
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, arrowValue(a.ListValues(), int(j)))
		}
		return out
	}
	return fmt.Sprintf("unsupported %s", col.DataType())
}

func readNDJSON(media []byte, fields map[string]*bq.TableFieldSchema) ([]map[string]any, error) {
	var rows []map[string]any
	dec := json.NewDecoder(bytes.NewReader(media))
	dec.UseNumber()
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("double: NDJSON: %w", err)
		}
		for k, v := range m {
			f := fields[k]
			if f == nil {
				return nil, fmt.Errorf("double: JSON field %s is not in the schema", k)
			}
			switch f.Type {
			case "INTEGER":
				n, err := v.(json.Number).Int64()
				if err != nil {
					return nil, fmt.Errorf("double: %s: %w", k, err)
				}
				m[k] = n
			case "TIMESTAMP":
				ts, err := time.Parse(time.RFC3339Nano, v.(string))
				if err != nil {
					return nil, fmt.Errorf("double: %s: %w", k, err)
				}
				m[k] = ts.UTC()
			}
		}
		rows = append(rows, m)
	}
	return rows, nil
}

// reDedup and reMerge match the loader's two statements that apply a
// staging table (see dedupSQL and mergeSQL); rePrune its partition filter.
var (
	reDedup = regexp.MustCompile("(?s)^CREATE OR REPLACE TABLE `([^`]+)` AS\nSELECT \\* FROM `([^`]+)` AS x WHERE TRUE\n" +
		"QUALIFY ROW_NUMBER\\(\\) OVER \\(PARTITION BY (.+?) ORDER BY x.`_extracted_at` DESC, x.`_sync_id` DESC, TO_JSON_STRING\\(x\\) DESC\\) = 1$")
	reMerge = regexp.MustCompile("(?s)^MERGE `([^`]+)` AS t\nUSING `([^`]+)` AS s\nON (.+?)\n" +
		"WHEN MATCHED AND \\(t.`_extracted_at` IS NULL OR s.`_extracted_at` >= t.`_extracted_at`\\) THEN UPDATE SET (.+?)\n" +
		"WHEN NOT MATCHED THEN INSERT \\((.+?)\\) VALUES \\((.+?)\\)$")
	rePrune = regexp.MustCompile("^\\(t.`([a-z_]+)` IS NULL OR \\(t.`([a-z_]+)` >= TIMESTAMP '([^']+)' AND t.`([a-z_]+)` < TIMESTAMP '([^']+)'\\)\\)$")
)

func unquoteList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ", ") {
		out = append(out, strings.Trim(p, "`"))
	}
	return out
}

// reReplaced and reDeleteReplaced match the loader's statements that
// replace the child rows of re-read calls (see replacedSQL).
var (
	reReplaced       = regexp.MustCompile("(?s)^CREATE OR REPLACE TABLE `([^`]+)` AS SELECT DISTINCT s.call_id, s._sync_id, child AS stream\nFROM `([^`]+)` AS s JOIN `([^`]+)` AS t ON t.call_id = s.call_id AND t._sync_id = s._sync_id\nCROSS JOIN UNNEST\\(s._child_streams\\) AS child$")
	reDeleteStale    = regexp.MustCompile("^DELETE FROM `([^`]+)` AS t WHERE t._sync_id IS DISTINCT FROM \\(SELECT MAX\\(s._sync_id\\) FROM `([^`]+)` AS s\\)$")
	reDeleteReplaced = regexp.MustCompile("(?s)^DELETE FROM `([^`]+)` AS t WHERE EXISTS \\(SELECT 1 FROM `([^`]+)` AS r\nWHERE r.call_id = t.call_id AND r.stream = '([a-z_]+)' AND r._sync_id IS DISTINCT FROM t._sync_id\\)$")
)

// runReplace executes the two statements of reReplaced and
// reDeleteReplaced.
func (d *bqDouble) runReplace(sql string) (*bq.DmlStatistics, bool, error) {
	if m := reReplaced.FindStringSubmatch(sql); m != nil {
		stage, calls := d.tables[dropProject(m[2])], d.tables[dropProject(m[3])]
		if stage == nil || calls == nil {
			return nil, true, fmt.Errorf("Not found: Table %s or %s", m[2], m[3])
		}
		won := map[string]bool{}
		for _, r := range calls.rows {
			won[fmt.Sprint(r["call_id"], "\x00", r["_sync_id"])] = true
		}
		out := &bqTable{meta: &bq.Table{Schema: &bq.TableSchema{Fields: []*bq.TableFieldSchema{{Name: "call_id"}, {Name: "_sync_id"}, {Name: "stream"}}}}}
		seen := map[string]bool{}
		for _, r := range stage.rows {
			if !won[fmt.Sprint(r["call_id"], "\x00", r["_sync_id"])] {
				continue
			}
			children, _ := r["_child_streams"].([]any)
			for _, c := range children {
				k := fmt.Sprint(r["call_id"], "\x00", r["_sync_id"], "\x00", c)
				if !seen[k] {
					seen[k] = true
					out.rows = append(out.rows, map[string]any{"call_id": r["call_id"], "_sync_id": r["_sync_id"], "stream": c})
				}
			}
		}
		d.tables[dropProject(m[1])] = out
		return &bq.DmlStatistics{}, true, nil
	}
	if m := reDeleteStale.FindStringSubmatch(sql); m != nil {
		table, stage := d.tables[dropProject(m[1])], d.tables[dropProject(m[2])]
		if table == nil || stage == nil {
			return nil, true, fmt.Errorf("Not found: Table %s or %s", m[1], m[2])
		}
		newest := ""
		for _, r := range stage.rows {
			if s := fmt.Sprint(r["_sync_id"]); s > newest {
				newest = s
			}
		}
		stats := &bq.DmlStatistics{}
		kept := table.rows[:0]
		for _, r := range table.rows {
			if fmt.Sprint(r["_sync_id"]) != newest {
				stats.DeletedRowCount++
				continue
			}
			kept = append(kept, r)
		}
		table.rows = kept
		return stats, true, nil
	}
	if m := reDeleteReplaced.FindStringSubmatch(sql); m != nil {
		child, replaced := d.tables[dropProject(m[1])], d.tables[dropProject(m[2])]
		if child == nil || replaced == nil {
			return nil, true, fmt.Errorf("Not found: Table %s or %s", m[1], m[2])
		}
		by := map[string]any{}
		for _, r := range replaced.rows {
			if r["stream"] == m[3] {
				by[fmt.Sprint(r["call_id"])] = r["_sync_id"]
			}
		}
		stats := &bq.DmlStatistics{}
		kept := child.rows[:0]
		for _, r := range child.rows {
			if sync, ok := by[fmt.Sprint(r["call_id"])]; ok && fmt.Sprint(sync) != fmt.Sprint(r["_sync_id"]) {
				stats.DeletedRowCount++
				continue
			}
			kept = append(kept, r)
		}
		child.rows = kept
		return stats, true, nil
	}
	return nil, false, nil
}

func (d *bqDouble) runQuery(sql string) (*bq.DmlStatistics, error) {
	d.Queries = append(d.Queries, sql)
	if stats, ok, err := d.runReplace(sql); ok {
		return stats, err
	}
	if m := reDedup.FindStringSubmatch(sql); m != nil {
		stage := d.tables[dropProject(m[2])]
		if stage == nil {
			return nil, fmt.Errorf("Not found: Table %s", m[2])
		}
		keys := unquoteList(m[3])
		// ORDER BY _extracted_at DESC, _sync_id DESC, row text DESC; the
		// first per key wins.
		staged := append([]map[string]any(nil), stage.rows...)
		sort.SliceStable(staged, func(i, j int) bool { return rowAfter(staged[i], staged[j]) })
		out := &bqTable{meta: stage.meta}
		seen := map[string]bool{}
		for _, r := range staged {
			if k := keyOf(r, keys); !seen[k] {
				seen[k] = true
				out.rows = append(out.rows, r)
			}
		}
		d.tables[dropProject(m[1])] = out
		return &bq.DmlStatistics{}, nil
	}
	m := reMerge.FindStringSubmatch(sql)
	if m == nil {
		return nil, fmt.Errorf("double: only the loader's statements are supported, got: %.200s", sql)
	}
	tkey, skey := dropProject(m[1]), dropProject(m[2])
	target, source := d.tables[tkey], d.tables[skey]
	if target == nil || source == nil {
		return nil, fmt.Errorf("Not found: Table %s or %s", tkey, skey)
	}
	var keys, on []string
	for _, k := range strings.Split(m[3], " AND ") {
		var a, b string
		if _, err := fmt.Sscanf(strings.ReplaceAll(k, "`", " "), "t. %s = s. %s", &a, &b); err != nil || a != b {
			break
		}
		keys = append(keys, a)
		on = append(on, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("double: ON %q has no key", m[3])
	}
	// What follows the key conditions is the partition filter.
	inPartitions := func(map[string]any) bool { return true }
	if rest := strings.TrimPrefix(m[3], strings.Join(on, " AND ")); rest != "" {
		p := rePrune.FindStringSubmatch(strings.TrimPrefix(rest, " AND "))
		if p == nil || p[1] != p[2] || p[2] != p[4] {
			return nil, fmt.Errorf("double: unsupported MERGE condition %q", rest)
		}
		lo, err1 := time.Parse("2006-01-02 15:04:05-07", p[3])
		hi, err2 := time.Parse("2006-01-02 15:04:05-07", p[5])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("double: partition filter %q: %w", rest, errors.Join(err1, err2))
		}
		col := p[1]
		inPartitions = func(r map[string]any) bool {
			ts, ok := r[col].(time.Time)
			return !ok || !ts.Before(lo) && ts.Before(hi)
		}
	}
	isKey := map[string]bool{}
	for _, k := range keys {
		isKey[k] = true
	}
	var wantSet, wantCols []string
	for _, f := range target.meta.Schema.Fields {
		wantCols = append(wantCols, f.Name)
		if !isKey[f.Name] {
			wantSet = append(wantSet, fmt.Sprintf("`%s` = s.`%s`", f.Name, f.Name))
		}
	}
	if m[4] != strings.Join(wantSet, ", ") {
		return nil, fmt.Errorf("double: UPDATE SET does not cover every non-key column of %s", tkey)
	}
	cols := unquoteList(m[5])
	if fmt.Sprint(cols) != fmt.Sprint(wantCols) {
		return nil, fmt.Errorf("double: INSERT columns %v differ from %s columns %v", cols, tkey, wantCols)
	}
	index := map[string]int{}
	for i, r := range target.rows {
		if inPartitions(r) {
			index[keyOf(r, keys)] = i
		}
	}
	stats := &bq.DmlStatistics{}
	for _, s := range source.rows {
		k := keyOf(s, keys)
		row := map[string]any{}
		for _, c := range cols {
			row[c] = s[c]
		}
		if i, ok := index[k]; ok {
			te, _ := target.rows[i]["_extracted_at"].(time.Time)
			se, sok := s["_extracted_at"].(time.Time)
			if target.rows[i]["_extracted_at"] == nil || sok && !se.Before(te) {
				target.rows[i] = row
				stats.UpdatedRowCount++
			}
			continue
		}
		target.rows = append(target.rows, row)
		index[k] = len(target.rows) - 1
		stats.InsertedRowCount++
	}
	return stats, nil
}

func keyOf(r map[string]any, keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprint(r[k])
	}
	return strings.Join(parts, "\x00")
}

// rowAfter orders staged rows newest first, as the MERGE's QUALIFY does.
func rowAfter(a, b map[string]any) bool {
	ta, _ := a["_extracted_at"].(time.Time)
	tb, _ := b["_extracted_at"].(time.Time)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	sa, sb := fmt.Sprint(a["_sync_id"]), fmt.Sprint(b["_sync_id"])
	if sa != sb {
		return sa > sb
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) > string(jb)
}

func dropProject(s string) string {
	if parts := strings.Split(s, "."); len(parts) == 3 {
		return parts[1] + "." + parts[2]
	}
	return s
}

// rawDump renders the double's raw tables sorted by key, like dump.
func (d *bqDouble) rawDump(dataset string, streams ...string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var b strings.Builder
	for _, name := range streams {
		t := d.tables[dataset+"."+name]
		if t == nil {
			fmt.Fprintf(&b, "## %s missing\n", name)
			continue
		}
		lines := make([]string, len(t.rows))
		for i, r := range t.rows {
			lines[i] = renderRow(r)
		}
		sort.Strings(lines)
		fmt.Fprintf(&b, "## %s (%d)\n%s\n", name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}
