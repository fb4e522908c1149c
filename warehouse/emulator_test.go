package warehouse

// Tests against a real BigQuery emulator process
// (github.com/goccy/bigquery-emulator v0.8.1, run by package bqtest): the
// BigQuery path's loads, MERGE, ledger, state, models and commands are
// executed, and their rows compared with DuckDB's from the same files.
//
// The emulator lacks some of BigQuery; where the project depends on one of
// these, the test says so and checks the part it can:
//   - it accepts partitioning and clustering but does not emulate them: the
//     pruning filter of the MERGE is executed (its rows are checked), its
//     effect on bytes scanned is not;
//   - jobs carry no DML statistics: LoadResult's inserted/updated counts are
//     checked against the double (bigquery_test.go);
//   - tables.patch and ALTER TABLE ADD COLUMN do not reach its query engine:
//     an added column is checked against the double;
//   - its MERGE takes only a table as its source, CREATE OR REPLACE and
//     CREATE TABLE IF NOT EXISTS of an existing object answer 409, the Go
//     client's resumable upload (files over 16 MiB) fails: the warehouse
//     works around these itself when Options.BigQueryEndpoint is set (see
//     emulatorExec).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/civil"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"google.golang.org/api/iterator"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/schemas"
	sqlmodels "github.com/chorus-elt/chorus-elt/sql"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse/bqtest"
)

// The path the tests look in is the one build.sh prints.
func TestBigQueryEmulatorCachePath(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH for build.sh")
	}
	want, err := bqtest.CachePath()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bash, bqtest.BuildScript(), "--print-path").Output()
	if err != nil {
		t.Fatalf("build.sh --print-path: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("build.sh --print-path = %s, the tests look in %s", got, want)
	}
}

const emuProject = "chorus-test"

// Fixed clock of the simulated tenant.
var (
	emuEnd  = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	emuAsOf = emuEnd.Add(24 * time.Hour)
)

// openEmulator opens bigquery:chorus-test.<dataset> on em the way
// BIGQUERY_EMULATOR_HOST does (host:port, no credentials).
func openEmulator(t *testing.T, em *bqtest.Emulator, dataset string, opt Options) *bigQuery {
	t.Helper()
	opt.BigQueryEndpoint = em.HTTPAddr
	w, err := Open(context.Background(), "bigquery:"+emuProject+"."+dataset, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w.(*bigQuery)
}

// emulatorTenant is 30 calls over 30 days whose AI output arrives 30 hours
// after the transcript, so that an extract a day later reads changed calls.
func emulatorTenant(t *testing.T) (string, *chorustest.Tenant) {
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 7, Calls: 30, Customers: 8,
		Start: emuEnd.Add(-30 * 24 * time.Hour), End: emuEnd, Now: emuEnd.Add(12 * time.Hour), ProcessingDelay: -1, AIDelay: 30 * time.Hour})
	return srv.URL, ten
}

// extractTenant syncs the simulated tenant into Parquet under dir, from a
// fresh state.
func extractTenant(t *testing.T, srvURL string, now time.Time, dir string) {
	t.Helper()
	start := emuEnd.Add(-31 * 24 * time.Hour)
	cfg, err := config.Parse([]byte(`{"api_token":"test-token","base_url":"`+srvURL+`","start_date":"`+start.Format("2006-01-02")+`","requests_per_second":1000,"max_concurrency":8}`), now, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: dir, Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
}

// rawSnapshot renders every raw stream table, rows in canonical form.
func rawSnapshot(t *testing.T, w Warehouse) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, st := range schemas.All() {
		rows, err := w.Query(context.Background(), "SELECT * FROM "+rawRef(w, st.Name))
		if err != nil {
			t.Fatalf("%s: %v", st.Name, err)
		}
		out[st.Name] = canonRows(jsonAsText(t, st, rows))
	}
	return out
}

// jsonAsText renders the JSON columns of rows as compact JSON text with
// sorted keys: BigQuery returns a JSON value as its text, DuckDB as the
// parsed value.
func jsonAsText(t *testing.T, st *schemas.Stream, rows []map[string]any) []map[string]any {
	t.Helper()
	for _, c := range st.Columns {
		if c.Type != schemas.JSON {
			continue
		}
		for _, r := range rows {
			v := r[c.Name]
			if v == nil {
				continue
			}
			if s, ok := v.(string); ok {
				if err := json.Unmarshal([]byte(s), &v); err != nil {
					t.Fatalf("%s.%s: %v", st.Name, c.Name, err)
				}
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			r[c.Name] = "json:" + string(b)
		}
	}
	return rows
}

func rawRef(w Warehouse, name string) string {
	if w.Dialect() == "bigquery" {
		return "`" + w.RawSchema() + "." + name + "`"
	}
	return w.RawSchema() + "." + name
}

// sameSnapshot reports the streams whose rows differ.
func sameSnapshot(t *testing.T, what string, got, want map[string][]string) {
	t.Helper()
	for name, w := range want {
		g := got[name]
		if strings.Join(g, "\n") == strings.Join(w, "\n") {
			continue
		}
		detail := fmt.Sprintf("%d rows, want %d", len(g), len(w))
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				detail += "; first difference: " + rowDiff(g[i], w[i])
				break
			}
		}
		t.Errorf("%s: %s: %s", what, name, detail)
	}
}

// TestBigQueryEmulatorOpen: Open creates the datasets and raw tables, with
// the partitioning and clustering of calls in their metadata (the emulator
// keeps it but does not apply it), and opens an existing warehouse again.
func TestBigQueryEmulatorOpen(t *testing.T) {
	em := bqtest.Start(t, emuProject)
	t.Logf("emulator up in %v at %s", em.Startup.Round(time.Millisecond), em.HTTPAddr)
	b := openEmulator(t, em, "chorus", Options{})
	ctx := context.Background()
	md, err := b.c.Dataset(b.raw).Table("calls").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tp, cl := md.TimePartitioning, md.Clustering; tp == nil || tp.Field != "started_at" || tp.Type != bigquery.DayPartitioningType ||
		cl == nil || fmt.Sprint(cl.Fields) != "[call_id]" {
		t.Errorf("calls: TimePartitioning %+v, Clustering %+v", tp, cl)
	}
	md, err = b.c.Dataset(b.raw).Table("teams").Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range md.Schema {
		if f.Name == "user_ids" && (!f.Repeated || f.Type != bigquery.IntegerFieldType) {
			t.Errorf("teams.user_ids: %+v", f)
		}
	}
	openEmulator(t, em, "chorus", Options{})
	if st, err := b.State(ctx); err != nil || st != nil {
		t.Fatalf("state of a new warehouse: %q %v", st, err)
	}
}

// TestBigQueryEmulatorLoad loads an extract, the same files again, the
// same files after the ledger forgot them, and a later extract in which
// calls gained their AI output, into the emulator and into DuckDB: after
// each step every raw table holds the same rows in both; the state is
// stored in the warehouse; a file whose column changed type is refused
// before anything is written.
func TestBigQueryEmulatorLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, ten := emulatorTenant(t)
	first := filepath.Join(t.TempDir(), "first")
	extractTenant(t, url, ten.Now(), first)
	em := bqtest.Start(t, emuProject)
	b := openEmulator(t, em, "chorus", Options{})
	dk := openDuck(t, filepath.Join(t.TempDir(), "ref.duckdb"), Options{})
	defer dk.Close()
	files, err := scanDir(first)
	if err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	res, err := b.Load(ctx, first, []byte(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first load: %d files in %.1fs", res.FilesLoaded, time.Since(began).Seconds())
	if res.FilesLoaded != len(files) || !res.StateStored {
		t.Fatalf("first load: %d of %d files, state stored %v", res.FilesLoaded, len(files), res.StateStored)
	}
	if _, err := dk.Load(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	loaded := rawSnapshot(t, b)
	sameSnapshot(t, "first load", loaded, rawSnapshot(t, dk))
	for _, st := range schemas.All() {
		if !hasFiles(files, st.Name) {
			continue // sales_qualifications is opt-in
		}
		if d, err := parquetVsTable(ctx, t, b, []string{first}, st.Name); err != nil {
			t.Errorf("%s: the table's values differ from the files': %v", st.Name, err)
		} else {
			t.Logf("%s: %s", st.Name, d)
		}
	}
	ledger, err := readAll(b.c.Dataset(b.raw).Table(LedgerTable).Read(ctx))
	if err != nil || len(ledger) != len(files) {
		t.Fatalf("ledger: %d rows for %d files (%v)", len(ledger), len(files), err)
	}
	if left := leftoverTables(t, b); len(left) > 0 {
		t.Errorf("staging tables left: %v", left)
	}
	if st, err := b.State(ctx); err != nil || string(st) != `{"n":1}` {
		t.Fatalf("state %s, %v", st, err)
	}

	// The same directory again: the ledger skips every file.
	res, err = b.Load(ctx, first, []byte(`{"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != 0 || res.FilesSkipped != len(files) {
		t.Errorf("second load: %d loaded, %d skipped", res.FilesLoaded, res.FilesSkipped)
	}
	sameSnapshot(t, "second load", rawSnapshot(t, b), loaded)
	t.Logf("second load done at %.1fs", time.Since(began).Seconds())
	if st, _ := b.State(ctx); string(st) != `{"n":2}` {
		t.Errorf("state after the second load: %s", st)
	}

	// A reload: the ledger forgets the files, every one is staged and
	// merged again, and no row changes.
	if err := b.Exec(ctx, "DELETE FROM "+b.table(LedgerTable)+" WHERE TRUE"); err != nil {
		t.Fatal(err)
	}
	if res, err = b.Load(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	if res.FilesLoaded != len(files) {
		t.Errorf("reload: %d of %d files", res.FilesLoaded, len(files))
	}
	sameSnapshot(t, "reload", rawSnapshot(t, b), loaded)
	t.Logf("reload done at %.1fs", time.Since(began).Seconds())

	// A day later the AI output of the last calls has arrived: a new
	// extract re-reads every call; their child rows are replaced.
	ten.Advance(24 * time.Hour)
	later := filepath.Join(t.TempDir(), "later")
	extractTenant(t, url, ten.Now(), later)
	if _, err := b.Load(ctx, later, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("later extract loaded at %.1fs", time.Since(began).Seconds())
	if _, err := dk.Load(ctx, later, nil); err != nil {
		t.Fatal(err)
	}
	after := rawSnapshot(t, b)
	sameSnapshot(t, "later extract", after, rawSnapshot(t, dk))
	if strings.Join(after["action_items"], "\n") == strings.Join(loaded["action_items"], "\n") {
		t.Error("the later extract changed no action item: the test does not test replacement")
	}
	for _, st := range schemas.All() {
		if !hasFiles(files, st.Name) {
			continue
		}
		if _, err := parquetVsTable(ctx, t, b, []string{first, later}, st.Name); err != nil {
			t.Errorf("%s after the later extract: %v", st.Name, err)
		}
	}

	// A column whose type changed is refused before any job runs.
	bad := filepath.Join(t.TempDir(), "bad")
	writeArrowFile(t, filepath.Join(bad, "calls", "20260306T100000Z-ffffff-0000.parquet"),
		modifiedCallsSchema("duration_seconds", arrow.BinaryTypes.String), func(rb *array.RecordBuilder) {
			fillCall(rb, "c1", "changed", emuAsOf.Add(48*time.Hour), "duration_seconds", "long")
		})
	_, err = b.Load(ctx, bad, []byte(`{"n":3}`))
	var ce *SchemaConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "duration_seconds") {
		t.Fatalf("type conflict: err = %v", err)
	}
	sameSnapshot(t, "refused load", rawSnapshot(t, b), after)
	if st, _ := b.State(ctx); string(st) != `{"n":2}` {
		t.Errorf("state after a refused load: %s", st)
	}
	cur, peak := em.RSS()
	t.Logf("emulator RSS %.0f MiB (peak %.0f MiB); test %.1fs", cur, peak, time.Since(began).Seconds())
}

// TestBigQueryEmulatorPartitionFilter: the MERGE into calls is restricted
// to the days of the staged rows, and a stored call whose start was not
// known yet (NULL partition) is still updated, not doubled.
func TestBigQueryEmulatorPartitionFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	em := bqtest.Start(t, emuProject)
	b := openEmulator(t, em, "chorus", Options{})
	dir := t.TempDir()
	started := time.Date(2026, 3, 3, 9, 30, 0, 0, time.UTC)
	writeArrowFile(t, filepath.Join(dir, "a", "calls", "20260303T000000Z-aaaaaa-0000.parquet"), schemas.Get("calls").Arrow(),
		func(rb *array.RecordBuilder) {
			fillCall(rb, "N1", "no start yet", emuEnd, "", nil)
			fillCall(rb, "OLD", "an old call", emuEnd, "", nil)
		})
	if _, err := b.Load(ctx, filepath.Join(dir, "a"), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx, fmt.Sprintf("UPDATE %s SET started_at = TIMESTAMP '2025-01-01 00:00:00+00' WHERE call_id = 'OLD'", b.table("calls"))); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "b", "calls", "20260304T000000Z-bbbbbb-0000.parquet")
	writeArrowFile(t, f, schemas.Get("calls").Arrow(), func(rb *array.RecordBuilder) {
		fillCall(rb, "N1", "started", emuEnd.Add(time.Hour), "started_at", started)
		fillCall(rb, "N2", "new", emuEnd.Add(time.Hour), "started_at", started.Add(26*time.Hour))
	})
	files, err := scanDir(filepath.Join(dir, "b"))
	if err != nil {
		t.Fatal(err)
	}
	prune, err := partitionFilter("calls", files)
	if err != nil {
		t.Fatal(err)
	}
	want := "(t.`started_at` IS NULL OR (t.`started_at` >= TIMESTAMP '2026-03-03 00:00:00+00' AND t.`started_at` < TIMESTAMP '2026-03-05 00:00:00+00'))"
	if prune != want {
		t.Errorf("filter:\n%s\nwant\n%s", prune, want)
	}
	if _, err := b.Load(ctx, filepath.Join(dir, "b"), nil); err != nil {
		t.Fatal(err)
	}
	rows, err := b.Query(ctx, fmt.Sprintf("SELECT call_id, title, started_at FROM %s ORDER BY call_id", b.table("calls")))
	if err != nil {
		t.Fatal(err)
	}
	got := canonRows(rows)
	exp := []string{
		`call_id="N1" started_at=2026-03-03T09:30:00Z title="started"`,
		`call_id="N2" started_at=2026-03-04T11:30:00Z title="new"`,
		`call_id="OLD" started_at=2025-01-01 title="an old call"`,
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("calls:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
}

// TestBigQueryEmulatorModels builds every model with the runner in the
// emulator and in DuckDB from the same extract and compares every model's
// rows; builds them again (every object exists); and answers search,
// transcript and query as DuckDB does.
func TestBigQueryEmulatorModels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, ten := emulatorTenant(t)
	data := filepath.Join(t.TempDir(), "data")
	ten.Advance(24 * time.Hour)
	extractTenant(t, url, ten.Now(), data)
	em := bqtest.Start(t, emuProject)
	b := openEmulator(t, em, "chorus", Options{})
	dk := openDuck(t, filepath.Join(t.TempDir(), "ref.duckdb"), Options{})
	defer dk.Close()
	for _, w := range []Warehouse{b, dk} {
		if _, err := w.Load(ctx, data, nil); err != nil {
			t.Fatalf("%s: %v", w.Dialect(), err)
		}
	}
	topt := transforms.Options{Customers: tenantCustomers(t, ten), AsOf: emuAsOf}
	began := time.Now()
	res, err := transforms.Run(ctx, b, topt)
	if err != nil {
		t.Fatalf("transforms in the emulator: %v", err)
	}
	t.Logf("emulator: %d steps in %.1fs", len(res.Steps), time.Since(began).Seconds())
	if _, err := transforms.Run(ctx, dk, topt); err != nil {
		t.Fatal(err)
	}
	models := modelNames(t)
	var equal []string
	for _, name := range models {
		same, detail, err := compareModel(ctx, b, dk, name)
		switch {
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case !same:
			t.Errorf("%s: %s", name, detail)
		default:
			equal = append(equal, fmt.Sprintf("%s (%s)", name, detail))
		}
	}
	t.Logf("models equal to DuckDB's (%d of %d):\n  %s", len(equal), len(models), strings.Join(equal, "\n  "))

	// Again: every table, view and ledger exists.
	again := time.Now()
	if _, err := transforms.Run(ctx, b, topt); err != nil {
		t.Fatalf("second transform in the emulator: %v", err)
	}
	t.Logf("second transform %.1fs", time.Since(again).Seconds())
	if same, detail, err := compareModel(ctx, b, dk, "customer_health"); err != nil || !same {
		t.Errorf("customer_health after the second transform: %s %v", detail, err)
	}

	// search, transcript and query answer as in DuckDB.
	for _, phrase := range []string{"pricing", "the"} {
		hb, err := transforms.Search(ctx, b, transforms.SearchOptions{Phrase: phrase, Limit: 20})
		if err != nil {
			t.Fatalf("search %q: %v", phrase, err)
		}
		hd, err := transforms.Search(ctx, dk, transforms.SearchOptions{Phrase: phrase, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(hb) == 0 || fmt.Sprintf("%+v", hb) != fmt.Sprintf("%+v", hd) {
			t.Errorf("search %q: emulator %d hits, DuckDB %d:\n%+v\n%+v", phrase, len(hb), len(hd), hb, hd)
		}
	}
	rows, err := dk.Query(ctx, "SELECT call_id FROM "+modelRef(dk, "transcript_search")+" ORDER BY call_id LIMIT 1")
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	id := rows[0]["call_id"].(string)
	tb, err := transforms.Transcript(ctx, b, id)
	if err != nil {
		t.Fatal(err)
	}
	td, err := transforms.Transcript(ctx, dk, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Lines) == 0 || fmt.Sprintf("%+v", tb) != fmt.Sprintf("%+v", td) {
		t.Errorf("transcript %s: emulator %d lines, DuckDB %d", id, len(tb.Lines), len(td.Lines))
	}
	cols, qb, err := b.QueryTable(ctx, "SELECT call_id, title, started_at FROM "+rawRef(b, "calls")+" ORDER BY started_at DESC, call_id LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	_, qd, err := dk.QueryTable(ctx, "SELECT call_id, title, started_at FROM "+rawRef(dk, "calls")+" ORDER BY started_at DESC, call_id LIMIT 5")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cols) != "[call_id title started_at]" || strings.Join(canonRows(qb), "\n") != strings.Join(canonRows(qd), "\n") {
		t.Errorf("query: columns %v\n%v\n%v", cols, canonRows(qb), canonRows(qd))
	}
	cur, peak := em.RSS()
	t.Logf("emulator RSS %.0f MiB (peak %.0f MiB); test %.1fs", cur, peak, time.Since(began).Seconds())
}

func hasFiles(files []*sourceFile, stream string) bool {
	for _, f := range files {
		if f.Stream == stream {
			return true
		}
	}
	return false
}

// leftoverTables lists the raw dataset's staging and bookkeeping tables,
// which a load drops when it ends.
func leftoverTables(t *testing.T, b *bigQuery) []string {
	t.Helper()
	var out []string
	it := b.c.Dataset(b.raw).Tables(context.Background())
	for {
		tb, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(tb.TableID, "_chorus_stage_") || strings.HasPrefix(tb.TableID, "_chorus_dedup_") || tb.TableID == replacedTable {
			out = append(out, tb.TableID)
		}
	}
}

// tenantCustomers is the tenant's customer list, as customers.csv holds it.
func tenantCustomers(t *testing.T, ten *chorustest.Tenant) []transforms.Customer {
	var buf bytes.Buffer
	if err := ten.WriteCustomersCSV(&buf, nil); err != nil {
		t.Fatal(err)
	}
	cs, err := transforms.ReadCustomersCSV(&buf, "tenant")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// modelNames lists every model in sql/ (seeds excluded).
func modelNames(t *testing.T) []string {
	names, err := fs.Glob(sqlmodels.FS(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".sql")
	}
	return names
}

func modelRef(w Warehouse, name string) string {
	if w.Dialect() == "bigquery" {
		return "`" + w.ModelSchema() + "." + name + "`"
	}
	return w.ModelSchema() + "." + name
}

// canon renders a value the same way whichever warehouse returned it:
// timestamps in UTC, dates as YYYY-MM-DD, numbers to 9 significant digits,
// lists element by element.
func canon(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		x = x.UTC()
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02T15:04:05.999999Z")
	case civil.Date:
		return x.String()
	case civil.DateTime:
		return canon(time.Date(x.Date.Year, x.Date.Month, x.Date.Day, x.Time.Hour, x.Time.Minute, x.Time.Second, x.Time.Nanosecond, time.UTC))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', 9, 64)
	case float32:
		return canon(float64(x))
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case *big.Rat:
		f, _ := x.Float64()
		return canon(f)
	case *big.Int: // DuckDB's HUGEINT (SUM of BIGINT)
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case string:
		return strconv.Quote(x)
	case []byte:
		return strconv.Quote(string(x))
	case []bigquery.Value:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = canon(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = canon(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprintf("%T:%v", v, v)
}

func canonRows(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for j, k := range keys {
			v := canon(r[k])
			if v == "[]" { // BigQuery has no NULL array: an empty one
				v = "NULL"
			}
			parts[j] = k + "=" + v
		}
		out[i] = strings.Join(parts, " ")
	}
	sort.Strings(out)
	return out
}

// compareModel compares a model's rows in both warehouses, as sorted
// canonical rows.
func compareModel(ctx context.Context, bq, dk Warehouse, name string) (bool, string, error) {
	a, err := bq.Query(ctx, "SELECT * FROM "+modelRef(bq, name))
	if err != nil {
		return false, "", fmt.Errorf("BigQuery: %w", err)
	}
	d, err := dk.Query(ctx, "SELECT * FROM "+modelRef(dk, name))
	if err != nil {
		return false, "", fmt.Errorf("DuckDB: %w", err)
	}
	ca, cd := canonRows(a), canonRows(d)
	inA := map[string]int{}
	for _, r := range ca {
		inA[r]++
	}
	var onlyD []string
	for _, r := range cd {
		if inA[r] > 0 {
			inA[r]--
			continue
		}
		onlyD = append(onlyD, r)
	}
	var onlyA []string
	for _, r := range ca {
		if inA[r] > 0 {
			inA[r]--
			onlyA = append(onlyA, r)
		}
	}
	if len(onlyA) == 0 && len(onlyD) == 0 {
		return true, fmt.Sprintf("%d rows identical", len(ca)), nil
	}
	detail := fmt.Sprintf("emulator %d rows, DuckDB %d; %d rows only in the emulator, %d only in DuckDB", len(ca), len(cd), len(onlyA), len(onlyD))
	if len(onlyA) > 0 && len(onlyD) > 0 {
		detail += "; first difference: " + rowDiff(onlyA[0], onlyD[0])
	} else if len(onlyA) > 0 {
		detail += "; e.g. emulator: " + clipText(onlyA[0], 300)
	} else {
		detail += "; e.g. DuckDB: " + clipText(onlyD[0], 300)
	}
	return false, detail, nil
}

// rowDiff names the columns whose canonical values differ between two
// canonical rows.
func rowDiff(a, d string) string {
	fa, fd := splitCanon(a), splitCanon(d)
	var out []string
	for k, va := range fa {
		if vd, ok := fd[k]; !ok {
			out = append(out, k+" only in the emulator")
		} else if va != vd {
			out = append(out, fmt.Sprintf("%s: emulator %s, DuckDB %s", k, clipText(va, 60), clipText(vd, 60)))
		}
	}
	for k := range fd {
		if _, ok := fa[k]; !ok {
			out = append(out, k+" only in DuckDB")
		}
	}
	sort.Strings(out)
	if len(out) > 6 {
		out = append(out[:6], "…")
	}
	return strings.Join(out, "; ")
}

func splitCanon(r string) map[string]string {
	out := map[string]string{}
	// Values never hold " k=" sequences unquoted; split on spaces outside quotes.
	var cur strings.Builder
	inQ := false
	flush := func() {
		if k, v, ok := strings.Cut(cur.String(), "="); ok {
			out[k] = v
		}
		cur.Reset()
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '"' && (i == 0 || r[i-1] != '\\'):
			inQ = !inQ
			cur.WriteByte(c)
		case c == ' ' && !inQ:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// parquetVsTable compares the rows of a stream's Parquet files in dirs
// (the newest version of each key) with the raw table's rows of the same
// keys, column by column, as read by a second Parquet reader.
func parquetVsTable(ctx context.Context, t *testing.T, b *bigQuery, dirs []string, stream string) (string, error) {
	var all []map[string]any
	for _, dir := range dirs {
		all = append(all, testkit.ReadStream(t, dir, stream)...)
	}
	if len(all) == 0 {
		return "", fmt.Errorf("no %s rows", stream)
	}
	st := schemas.Get(stream)
	got, err := readAll(b.c.Dataset(b.raw).Table(stream).Read(ctx))
	if err != nil {
		return "", err
	}
	key := func(r map[string]any) string {
		var k []string
		for _, c := range st.Key {
			k = append(k, canon(r[c]))
		}
		return strings.Join(k, "|")
	}
	byKey := map[string]map[string]any{}
	for _, r := range got {
		byKey[key(r)] = r
	}
	// ReadParquet returns timestamps as microseconds and dates as days.
	for _, w := range all {
		for _, c := range st.Columns {
			f, ok := w[c.Name].(float64)
			switch {
			case ok && c.Type == schemas.Timestamp:
				w[c.Name] = time.UnixMicro(int64(f)).UTC()
			case ok && c.Type == schemas.Date:
				w[c.Name] = time.Unix(int64(f)*86400, 0).UTC()
			}
		}
	}
	extracted := func(r map[string]any) time.Time { ts, _ := r[schemas.ExtractedAt].(time.Time); return ts }
	newest := map[string]map[string]any{}
	for _, w := range all {
		k := key(w)
		if p := newest[k]; p == nil || !extracted(p).After(extracted(w)) {
			newest[k] = w
		}
	}
	diffs := map[string]int{}
	example := map[string]string{}
	for _, w := range newest {
		g := byKey[key(w)]
		if g == nil {
			diffs["(row missing)"]++
			continue
		}
		for c, v := range w {
			if canon(v) != canon(g[c]) && !(canon(g[c]) == "[]" && canon(v) == "NULL") {
				diffs[c]++
				if example[c] == "" {
					example[c] = fmt.Sprintf("file %s, table %s", clipText(canon(v), 60), clipText(canon(g[c]), 60))
				}
			}
		}
	}
	if len(diffs) == 0 {
		return fmt.Sprintf("%d rows × %d columns identical", len(newest), len(st.Columns)), nil
	}
	var parts []string
	for c, n := range diffs {
		parts = append(parts, fmt.Sprintf("%s: %d rows differ (%s)", c, n, example[c]))
	}
	sort.Strings(parts)
	return "", errors.New(strings.Join(parts, "; "))
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
