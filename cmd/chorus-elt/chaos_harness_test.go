package main

// The crash-test harness: a simulated tenant served from the test process
// that watches what the CLI asks of it, a CLI process that can be SIGKILLed,
// and a row-for-row comparison of two DuckDB warehouses.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// cliEnv makes the test binary behave as the chorus-elt CLI (see TestMain).
const cliEnv = "CHORUS_ELT_AS_CLI"

// Phases of a run, as the crash test names them.
const (
	phaseExtract   = "extract"
	phaseLoad      = "load"
	phaseTransform = "transform"
	phaseStartup   = "startup" // before the first request, with nothing to resume
)

// watchedTenant serves a simulated tenant and tells the current attempt
// about every request it answers.
type watchedTenant struct {
	t   *chorustest.Tenant
	mu  sync.Mutex
	cur *attempt
}

func (w *watchedTenant) observe(a *attempt) {
	w.mu.Lock()
	w.cur = a
	w.mu.Unlock()
}

func (w *watchedTenant) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	a := w.cur
	w.mu.Unlock()
	if a != nil && a.requests.Add(1) == 1 {
		a.firstReqAt.Store(time.Now().UnixNano())
	}
	sw := &statusWriter{ResponseWriter: rw, status: http.StatusOK}
	w.t.ServeHTTP(sw, r)
	// The teams listing is the last request of an extract (the directory
	// streams follow the calls); its success ends the extract's traffic.
	if a != nil && r.URL.Path == "/api/v1/teams" && sw.status == http.StatusOK {
		a.teamsAt.CompareAndSwap(0, time.Now().UnixNano())
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// attempt is one chorus-elt process.
type attempt struct {
	cmd        *exec.Cmd
	start      time.Time
	requests   atomic.Int64
	firstReqAt atomic.Int64
	teamsAt    atomic.Int64 // unix nanos of the teams listing's 200, 0 before
	transAt    atomic.Int64 // unix nanos of the first transform log line, 0 before
	exitedAt   atomic.Int64
	done       chan struct{}
	stdout     bytes.Buffer
	stderrMu   sync.Mutex
	stderr     []string // the last log lines
	stateFile  string   // state.json (file state) or the pending state (warehouse state)
	fileState  bool
	// resumeFiles counts the Parquet files in the out dir when the attempt
	// started: files of a killed run, that this one loads first.
	resumeFiles int
	killed      bool
	err         error
}

// startAttempt runs the CLI (this test binary, see TestMain) with args.
func startAttempt(args []string, stateFile string, fileState bool) (*attempt, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	a := &attempt{done: make(chan struct{}), stateFile: stateFile, fileState: fileState}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(stateFile), "*", "*.parquet"))
	a.resumeFiles = len(files)
	a.cmd = exec.Command(exe, args...)
	a.cmd.Env = append(os.Environ(), cliEnv+"=1")
	a.cmd.Stdout = &a.stdout
	errPipe, err := a.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	a.start = time.Now()
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Text()
			if isTransformLog(line) {
				a.transAt.CompareAndSwap(0, time.Now().UnixNano())
			}
			a.stderrMu.Lock()
			a.stderr = append(a.stderr, line)
			if len(a.stderr) > 200 {
				a.stderr = a.stderr[len(a.stderr)-100:]
			}
			a.stderrMu.Unlock()
		}
	}()
	go func() {
		<-logsDone
		a.err = a.cmd.Wait()
		a.exitedAt.Store(time.Now().UnixNano())
		close(a.done)
	}()
	return a, nil
}

// isTransformLog recognises a log record written by the transform step.
func isTransformLog(line string) bool {
	var rec map[string]any
	if json.Unmarshal([]byte(line), &rec) != nil {
		return false
	}
	msg, _ := rec["msg"].(string)
	_, model := rec["model"]
	return msg == "built" || model || strings.Contains(strings.ToLower(msg), "transform")
}

func (a *attempt) logTail() string {
	a.stderrMu.Lock()
	defer a.stderrMu.Unlock()
	return strings.Join(a.stderr, "\n")
}

// phase says what the process is doing now, from what it asked the tenant,
// what it logged and what it wrote, and names the part of it: before its
// first request it opens the warehouse and loads the files an interrupted
// run left (load-resume; startup when there were none); then it extracts until the teams listing
// (extract) and the commit of its Parquet files and state (extract-commit);
// then it loads until the first transform log line.
func (a *attempt) phase() (phase, where string) {
	switch {
	case a.transAt.Load() != 0:
		return phaseTransform, phaseTransform
	case a.requests.Load() == 0 && a.resumeFiles > 0:
		return phaseLoad, "load-resume"
	case a.requests.Load() == 0:
		return phaseStartup, phaseStartup
	case a.teamsAt.Load() == 0:
		// Parquet files committed by this attempt (a checkpoint after the
		// commit interval) are resumed from, not redone.
		if files, _ := filepath.Glob(filepath.Join(filepath.Dir(a.stateFile), "*", "*.parquet")); len(files) > a.resumeFiles {
			return phaseExtract, "extract-after-commit"
		}
		return phaseExtract, phaseExtract
	}
	fi, err := os.Stat(a.stateFile)
	if a.fileState {
		if err == nil && fi.ModTime().UnixNano() >= a.teamsAt.Load() {
			return phaseLoad, phaseLoad
		}
		return phaseExtract, "extract-commit"
	}
	// The warehouse keeps the state: the extract writes a pending state
	// after its files, the load removes it.
	if err != nil || fi.ModTime().UnixNano() >= a.teamsAt.Load() {
		return phaseLoad, phaseLoad
	}
	return phaseExtract, "extract-commit"
}

// durations returns how long the attempt spent in each phase it finished.
func (a *attempt) durations() (extract, load, transform time.Duration, extractRequests int64) {
	end := a.exitedAt.Load()
	teams, trans := a.teamsAt.Load(), a.transAt.Load()
	if teams != 0 {
		extract = time.Duration(teams - a.start.UnixNano())
		extractRequests = a.requests.Load()
		if trans != 0 {
			load = time.Duration(trans - teams)
			transform = time.Duration(end - trans)
		} else {
			load = time.Duration(end - teams)
		}
	}
	return
}

// tableDiff is one table's difference between two warehouses.
type tableDiff struct {
	Table          string
	Rows           int // rows in the reference
	Missing, Extra []string
	Problem        string // a table or column set that differs
}

// compareWarehouses compares every table and view in the raw and model
// schemas of two DuckDB files as multisets of rows, leaving out the
// bookkeeping tables (names starting with _) and the columns in skipCols.
// Floats are compared to 12 significant digits.
func compareWarehouses(ctx context.Context, refPath, gotPath string, skipCols map[string]bool) ([]string, []tableDiff, error) {
	ref, err := readWarehouse(ctx, refPath, skipCols)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", refPath, err)
	}
	got, err := readWarehouse(ctx, gotPath, skipCols)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", gotPath, err)
	}
	var names []string
	for n := range ref {
		names = append(names, n)
	}
	for n := range got {
		if ref[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var diffs []tableDiff
	for _, n := range names {
		r, g := ref[n], got[n]
		switch {
		case r == nil:
			diffs = append(diffs, tableDiff{Table: n, Problem: "only in the crashed run's warehouse"})
			continue
		case g == nil:
			diffs = append(diffs, tableDiff{Table: n, Rows: r.rows, Problem: "missing from the crashed run's warehouse"})
			continue
		case r.cols != g.cols:
			diffs = append(diffs, tableDiff{Table: n, Rows: r.rows, Problem: fmt.Sprintf("columns differ: %s vs %s", r.cols, g.cols)})
			continue
		}
		d := tableDiff{Table: n, Rows: r.rows}
		for row, c := range r.count {
			for i := g.count[row]; i < c; i++ {
				d.Missing = append(d.Missing, row)
			}
		}
		for row, c := range g.count {
			for i := r.count[row]; i < c; i++ {
				d.Extra = append(d.Extra, row)
			}
		}
		sort.Strings(d.Missing)
		sort.Strings(d.Extra)
		diffs = append(diffs, d)
	}
	return names, diffs, nil
}

type tableRows struct {
	cols  string
	rows  int
	count map[string]int
}

func readWarehouse(ctx context.Context, path string, skipCols map[string]bool) (map[string]*tableRows, error) {
	// Attached under the catalog name the warehouse uses, as it does (so
	// that views resolve as they do there), read-only, on one connection.
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		fmt.Sprintf("ATTACH '%s' AS %s (READ_ONLY)", strings.ReplaceAll(path, "'", "''"), warehouse.DuckDBCatalog),
		"USE " + warehouse.DuckDBCatalog,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT c.table_schema, c.table_name, c.column_name
		FROM information_schema.columns c
		WHERE c.table_catalog = current_database() AND c.table_schema IN ('chorus_raw', 'chorus')
		  AND c.table_name NOT LIKE '\_%' ESCAPE '\'
		ORDER BY 1, 2, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	cols := map[string][]string{}
	var order []string
	for rows.Next() {
		var s, t, c string
		if err := rows.Scan(&s, &t, &c); err != nil {
			rows.Close()
			return nil, err
		}
		name := s + "." + t
		if _, ok := cols[name]; !ok {
			order = append(order, name)
			cols[name] = nil
		}
		if !skipCols[c] {
			cols[name] = append(cols[name], c)
		}
	}
	rows.Close()
	out := map[string]*tableRows{}
	for _, name := range order {
		cs := cols[name]
		tr := &tableRows{cols: strings.Join(cs, ","), count: map[string]int{}}
		out[name] = tr
		if len(cs) == 0 {
			continue
		}
		quoted := make([]string, len(cs))
		for i, c := range cs {
			quoted[i] = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		s, t, _ := strings.Cut(name, ".")
		q := fmt.Sprintf(`SELECT %s FROM "%s"."%s"`, strings.Join(quoted, ", "), s, t)
		rs, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		vals := make([]any, len(cs))
		ptrs := make([]any, len(cs))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				rs.Close()
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" | ")
				}
				b.WriteString(cs[i])
				b.WriteByte('=')
				b.WriteString(formatValue(v))
			}
			tr.count[b.String()]++
			tr.rows++
		}
		err = rs.Err()
		rs.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return out, nil
}

// The load ledger (chorus_raw._chorus_loads: stream, sha256, file, bytes,
// rows, sync_id, load_id, loaded_at) cannot be compared row for row: file
// names, checksums, sync and load ids and times differ between any two
// runs. What a resumed run legitimately changes:
//   - how rows are cut into files: a killed extract leaves the files it
//     committed, loaded first by the next attempt, which extracts the rest
//     into files of its own — more files, of other sizes;
//   - how often a row is recorded: a kill between a file becoming durable
//     and the checkpoint that covers it makes the next attempt extract the
//     same calls again (a new sync, new checksums: recorded again; the MERGE
//     keeps one row); every attempt re-lists engagements and scorecards
//     over its look-back; and every attempt whose extract reaches the
//     directory streams (users, teams, user_teams: full refresh) writes the
//     whole directory again.
// So a row can be recorded more often after crashes, never less, and a
// directory stream is recorded a whole number of times. What must hold:
//   - in each warehouse the ledger accounts for the table: a (stream, file)
//     is recorded once (each file applied exactly once), and the rows a
//     table holds from a sync are no more than the ledger recorded for that
//     stream and sync (every row came through a recorded file);
//   - the reference run, uninterrupted, recorded each row once: per stream
//     the ledger's rows equal the table's;
//   - the crashed run's ledger has the same streams, and per stream at
//     least the rows of the reference (none lost) and at most one
//     reference's worth per attempt (a bound on re-extraction); for a
//     directory stream a whole multiple of the reference.

// ledgerSummary is what compareLedgers reads of one warehouse.
type ledgerSummary struct {
	rows      map[string]int64            // stream → rows recorded
	bySync    map[string]map[string]int64 // stream → sync_id → rows recorded
	table     map[string]map[string]int64 // stream → _sync_id → rows in the raw table
	tableRows map[string]int64            // stream → rows in the raw table
	repeated  []string                    // (stream, file) recorded more than once
}

// compareLedgers checks the load ledgers of the reference and the crashed
// run's warehouse (see above); attempts is how many runs the crashed
// warehouse went through. It returns the problems found, and the rows
// recorded per stream (reference→crashed run) for the report.
func compareLedgers(ctx context.Context, refPath, gotPath string, attempts int) (problems []string, totals string, err error) {
	ref, err := readLedger(ctx, refPath)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", refPath, err)
	}
	got, err := readLedger(ctx, gotPath)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", gotPath, err)
	}
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	for _, w := range []struct {
		name string
		l    *ledgerSummary
	}{{"reference", ref}, {"crashed run", got}} {
		for _, f := range w.l.repeated {
			add("%s: file %s recorded more than once", w.name, f)
		}
		for _, st := range slices.Sorted(maps.Keys(w.l.table)) {
			for _, sync := range slices.Sorted(maps.Keys(w.l.table[st])) {
				if n, rec := w.l.table[st][sync], w.l.bySync[st][sync]; n > rec {
					add("%s: %s holds %d rows of sync %s, the ledger recorded %d", w.name, st, n, sync, rec)
				}
			}
		}
	}
	for _, st := range slices.Sorted(maps.Keys(ref.rows)) {
		if ref.rows[st] != ref.tableRows[st] {
			add("reference: the ledger recorded %d rows of %s, the table holds %d", ref.rows[st], st, ref.tableRows[st])
		}
	}
	streams := map[string]bool{}
	for st := range ref.rows {
		streams[st] = true
	}
	for st := range got.rows {
		streams[st] = true
	}
	var tot []string
	for _, st := range slices.Sorted(maps.Keys(streams)) {
		r, g := ref.rows[st], got.rows[st]
		tot = append(tot, fmt.Sprintf("%s %d→%d", st, r, g))
		_, inRef := ref.rows[st]
		_, inGot := got.rows[st]
		switch {
		case !inGot:
			add("%s: in the reference ledger (%d rows), not in the crashed run's", st, r)
		case !inRef:
			add("%s: in the crashed run's ledger (%d rows), not in the reference's", st, g)
		case g < r:
			add("%s: the crashed run's ledger recorded %d rows, the reference %d: rows were lost", st, g, r)
		case g > r*int64(max(attempts, 1)):
			add("%s: the crashed run's ledger recorded %d rows, more than the reference's %d once per attempt (%d)", st, g, r, attempts)
		case schemas.Get(st) != nil && schemas.Get(st).Family() == schemas.FamilyDirectory && r > 0 && g%r != 0:
			add("%s: a full-refresh stream recorded %d rows, not a multiple of the reference's %d", st, g, r)
		}
	}
	return problems, strings.Join(tot, ", "), nil
}

// readLedger reads the ledger of a DuckDB warehouse and, for each stream
// it names, the raw table's rows per _sync_id.
func readLedger(ctx context.Context, path string) (*ledgerSummary, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		fmt.Sprintf("ATTACH '%s' AS %s (READ_ONLY)", strings.ReplaceAll(path, "'", "''"), warehouse.DuckDBCatalog),
		"USE " + warehouse.DuckDBCatalog,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	l := &ledgerSummary{rows: map[string]int64{}, bySync: map[string]map[string]int64{}, table: map[string]map[string]int64{}, tableRows: map[string]int64{}}
	rows, err := db.QueryContext(ctx, `SELECT stream, file, rows, COALESCE(sync_id, '') FROM chorus_raw._chorus_loads`)
	if err != nil {
		return nil, err
	}
	files := map[string]int{}
	for rows.Next() {
		var st, file, sync string
		var n int64
		if err := rows.Scan(&st, &file, &n, &sync); err != nil {
			rows.Close()
			return nil, err
		}
		l.rows[st] += n
		if l.bySync[st] == nil {
			l.bySync[st] = map[string]int64{}
		}
		l.bySync[st][sync] += n
		if files[st+"\x00"+file]++; files[st+"\x00"+file] == 2 {
			l.repeated = append(l.repeated, fmt.Sprintf("%s (stream %s)", file, st))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, st := range slices.Sorted(maps.Keys(l.rows)) {
		if schemas.Get(st) == nil {
			continue // not a raw table (nothing to account for)
		}
		l.table[st] = map[string]int64{}
		rs, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT COALESCE("_sync_id", ''), count(*) FROM chorus_raw."%s" GROUP BY 1`, st))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", st, err)
		}
		for rs.Next() {
			var sync string
			var n int64
			if err := rs.Scan(&sync, &n); err != nil {
				rs.Close()
				return nil, err
			}
			l.table[st][sync] = n
			l.tableRows[st] += n
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// formatValue renders a scanned value canonically; floats to 12 significant
// digits, so that a different summation order does not count as a change.
func formatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Sprint(x)
		}
		return fmt.Sprintf("%.12g", x)
	case float32:
		return formatValue(float64(x))
	case []byte:
		return fmt.Sprintf("%q", x)
	case string:
		return fmt.Sprintf("%q", x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + formatValue(x[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	default:
		return fmt.Sprintf("%v", x)
	}
}

// writeChaosConfig writes the connector config for the crash test.
func writeChaosConfig(dir, baseURL string, start time.Time, rps float64) (string, error) {
	doc, _ := json.Marshal(map[string]any{
		"base_url": baseURL, "api_token": "test-token", "start_date": start.Format(time.RFC3339),
		"requests_per_second": rps, "max_concurrency": 4, "timeout": "10s",
	})
	path := filepath.Join(dir, "config.json")
	return path, os.WriteFile(path, doc, 0o600)
}
