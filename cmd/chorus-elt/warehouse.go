package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

var (
	warehouseFlag = &cli.StringFlag{Name: "warehouse", Usage: "destination `URL`: duckdb:PATH or bigquery:PROJECT.DATASET"}
	locationFlag  = &cli.StringFlag{Name: "bigquery-location", Usage: "BigQuery `LOCATION` for new datasets and jobs (e.g. EU, US)"}
)

// pendingStateFile holds the extract's checkpoints inside the out dir when
// the state lives in the warehouse: it covers Parquet files that may not be
// loaded yet, and is committed to the warehouse with them.
const pendingStateFile = ".pending-state.json"

// openWarehouse opens --warehouse; a bad URL is a usage error (exit 2).
func (e *env) openWarehouse(ctx context.Context, url, location string) (warehouse.Warehouse, error) {
	if url == "" {
		return nil, usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
	}
	w, err := warehouse.Open(ctx, url, warehouse.Options{Location: location, Logger: e.log, BigQueryEndpoint: os.Getenv("BIGQUERY_EMULATOR_HOST")})
	var ue *warehouse.URLError
	if errors.As(err, &ue) {
		return nil, usageErr("%v", err)
	}
	return w, err
}

func loadCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "load",
		Usage: "load the Parquet files of an extract (--from DIR) into the warehouse; files already loaded are skipped",
		Flags: []cli.Flag{warehouseFlag, locationFlag,
			&cli.StringFlag{Name: "from", Usage: "extract `DIR` (as written by chorus-elt extract --out)"},
		},
		Action: func(c *cli.Context) error {
			if c.String("from") == "" {
				return usageErr("--from DIR is required")
			}
			start := time.Now()
			w, err := e.openWarehouse(c.Context, c.String("warehouse"), c.String("bigquery-location"))
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := w.Load(c.Context, c.String("from"), nil)
			if err != nil {
				return err
			}
			e.log.Info("load finished", "files", res.FilesLoaded, "skipped", res.FilesSkipped, "bytes", res.Bytes)
			return writeSummary(e, map[string]any{"command": "load", "warehouse": w.Dialect(), "result": res, "seconds": time.Since(start).Seconds()})
		},
	}
}

// pipeline is one extract + load (+ transform) run.
type pipeline struct {
	cfg         *connector.Config
	url         string
	location    string
	out         string
	statePath   string // "" when the state lives in the warehouse
	from, to    time.Time
	selected    map[string]bool
	transform   transforms.Options
	keepFiles   bool
	http        *http.Client
	interactive bool
}

// runSummary is the final one-line JSON of run and demo.
type runSummary struct {
	Command   string                    `json:"command"`
	SyncID    string                    `json:"sync_id"`
	Warehouse string                    `json:"warehouse"`
	State     string                    `json:"state"`
	Streams   map[string]*streamSummary `json:"streams"`
	Cursor    *time.Time                `json:"cursor,omitempty"`
	Requests  int64                     `json:"requests"`
	Retries   int64                     `json:"retries"`
	Throttled int64                     `json:"throttled"`      // 429 answers
	Rate      float64                   `json:"effective_rate"` // requests accepted per second of API activity
	Calls     int64                     `json:"calls"`
	Pending   int                       `json:"pending"`
	// Settling calls are re-read while Chorus may still change them;
	// RefetchedChanged of them had changed and were loaded again.
	Settling         int                      `json:"settling"`
	Refetched        int64                    `json:"refetched"`
	RefetchedChanged int64                    `json:"refetched_changed"`
	Resumed          *warehouse.LoadResult    `json:"resumed,omitempty"`
	Load             *warehouse.LoadResult    `json:"load"`
	Transform        map[string]any           `json:"transform"`
	Seconds          float64                  `json:"seconds"`
	extract          *connector.ExtractResult `json:"-"`
}

type streamSummary struct {
	Rows     int64 `json:"rows"`
	Bytes    int64 `json:"bytes"`
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
}

func (e *env) progress(p *pipeline, format string, a ...any) {
	if p.interactive {
		fmt.Fprintf(e.stderr, "\r\033[K"+format, a...)
	}
}

// runPipeline resumes an interrupted load, extracts, loads and reports.
func (e *env) runPipeline(ctx context.Context, p *pipeline) (*runSummary, error) {
	start := time.Now()
	sum := &runSummary{Command: "run", Streams: map[string]*streamSummary{}}
	w, err := e.openWarehouse(ctx, p.url, p.location)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	sum.Warehouse = w.Dialect()
	if err := os.MkdirAll(p.out, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}

	// 1. Resume: files written by an earlier run that did not reach the
	// load are applied first (the ledger skips the loaded ones), together
	// with the checkpoint that covers them.
	pending := filepath.Join(p.out, pendingStateFile)
	var st *connector.State
	if p.statePath == "" {
		sum.State = "warehouse"
		if b, err := os.ReadFile(pending); err == nil {
			ps, err := connector.ParseState(b, p.cfg.BaseURL)
			if err != nil {
				return nil, fmt.Errorf("%v (file %s)", err, pending)
			}
			// The files this state covers must all be in place before it is
			// stored with them.
			if err := connector.CompleteCommit(p.out, ps); err != nil {
				return nil, err
			}
			e.progress(p, "resuming: loading files of an interrupted run…")
			if sum.Resumed, err = w.Load(ctx, p.out, b); err != nil {
				return nil, err
			}
			if err := os.Remove(pending); err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("resume: %w", err)
		}
		b, err := w.State(ctx)
		if err != nil {
			return nil, err
		}
		if st, err = connector.ParseState(b, p.cfg.BaseURL); err != nil {
			return nil, fmt.Errorf("%v (state stored in the warehouse %s; remove its row from %s.%s to start over)", err, p.url, w.RawSchema(), warehouse.StateTable)
		}
	} else {
		sum.State = p.statePath
		e.progress(p, "resuming: loading files not loaded yet…")
		res, err := w.Load(ctx, p.out, nil)
		if err != nil {
			return nil, err
		}
		if res.FilesLoaded > 0 {
			sum.Resumed = res
		}
		if st, err = connector.LoadState(p.statePath, p.cfg.BaseURL); err != nil {
			return nil, err
		}
	}

	// 2. Extract.
	sum.SyncID = connector.NewSyncID(time.Now())
	save := func(s *connector.State) error { return connector.SaveState(p.statePath, s) }
	if p.statePath == "" {
		save = func(s *connector.State) error { return connector.WriteFileAtomic(pending, s.Marshal()) }
	}
	e.progress(p, "extracting from %s…", p.cfg.BaseURL)
	done := make(chan struct{})
	if p.interactive {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					e.progress(p, "extracting from %s… %.0fs", p.cfg.BaseURL, time.Since(start).Seconds())
				}
			}
		}()
	}
	xr, err := connector.Extract(ctx, connector.ExtractOptions{Config: p.cfg, OutDir: p.out, State: st, SaveState: save,
		Selected: p.selected, From: p.from, To: p.to, Logger: e.log, HTTP: p.http, SyncID: sum.SyncID, Stop: e.stop})
	close(done)
	if err != nil {
		e.progress(p, "")
		if xr != nil && len(xr.Rows) > 0 {
			return nil, fmt.Errorf("%w (the files extracted so far are loaded by the next run)", err)
		}
		return nil, err
	}
	sum.extract = xr
	// The extract's buffers are garbage now; hand the memory back before
	// DuckDB takes its share, so the process's peak is the larger of the
	// two phases rather than their sum.
	debug.FreeOSMemory()

	// 3. Load, with the final state when the warehouse keeps it.
	e.progress(p, "loading into %s…", p.url)
	var stateDoc []byte
	if p.statePath == "" {
		stateDoc = st.Marshal()
	}
	files, err := filepath.Glob(filepath.Join(p.out, "*", "*.parquet"))
	if err != nil {
		return nil, err
	}
	res, err := w.Load(ctx, p.out, stateDoc)
	if err != nil {
		e.progress(p, "")
		return nil, err
	}
	// Every file present before the load is in the warehouse now (applied,
	// or skipped because the ledger has it): the staging copies can go,
	// so that the out directory does not grow run after run.
	if !p.keepFiles {
		for _, f := range files {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove loaded file: %w", err)
			}
		}
	}
	if p.statePath == "" {
		if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove %s: %w", pending, err)
		}
	}
	sum.Load = res

	// 4. Transform: rebuild the models from the raw tables.
	if e.stopped() {
		return nil, fmt.Errorf("%w after the load (committed); the models are rebuilt by the next run or `chorus-elt transform`", connector.ErrInterrupted)
	}
	e.progress(p, "transforming…")
	topt := p.transform
	topt.Logger = e.log
	tr, err := transforms.Run(ctx, w, topt)
	if err != nil {
		e.progress(p, "")
		return nil, fmt.Errorf("transform (the load is committed; rerun `chorus-elt transform` or `run`): %w", err)
	}
	sum.Transform = transformSummary("run", tr)

	for name, n := range xr.Rows {
		sum.stream(name).Rows = n
	}
	for name, n := range xr.Bytes {
		sum.stream(name).Bytes = n
	}
	for name, r := range res.Streams {
		s := sum.stream(name)
		s.Inserted, s.Updated = r.Inserted, r.Updated
	}
	sum.Cursor, sum.Requests, sum.Retries, sum.Calls, sum.Pending = xr.Watermark, xr.Requests, xr.Retries, xr.Calls, xr.Pending
	sum.Settling, sum.Refetched, sum.RefetchedChanged = xr.Settling, xr.Refetched, xr.RefetchedChanged
	sum.Throttled, sum.Rate = xr.Throttled, xr.EffectiveRate
	sum.Seconds = time.Since(start).Seconds()
	e.progress(p, "")
	return sum, nil
}

func (s *runSummary) stream(name string) *streamSummary {
	if s.Streams[name] == nil {
		s.Streams[name] = &streamSummary{}
	}
	return s.Streams[name]
}

// printReadable writes the run summary for people (stderr on a terminal).
func (e *env) printReadable(s *runSummary) {
	fmt.Fprintf(e.stderr, "sync %s → %s in %.1fs: %d calls, %d requests (%d retried), %d pending\n",
		s.SyncID, s.Warehouse, s.Seconds, s.Calls, s.Requests, s.Retries, s.Pending)
	names := make([]string, 0, len(s.Streams))
	for n := range s.Streams {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return streamOrder(names[i]) < streamOrder(names[j]) })
	for _, n := range names {
		st := s.Streams[n]
		fmt.Fprintf(e.stderr, "  %-17s %8d rows %10d bytes %8d new %8d updated\n", n, st.Rows, st.Bytes, st.Inserted, st.Updated)
	}
	if s.Cursor != nil {
		fmt.Fprintf(e.stderr, "  cursor (calls.started_at watermark): %s\n", s.Cursor.Format(time.RFC3339))
	}
}

func streamOrder(name string) int {
	for i, n := range schemas.Names() {
		if n == name {
			return i
		}
	}
	return len(schemas.Names())
}

// defaultOutDir is a folder next to the DuckDB file, or ./chorus-data.
func defaultOutDir(url string) string {
	if path, ok := strings.CutPrefix(url, "duckdb:"); ok && path != "" {
		return filepath.Join(filepath.Dir(path), "chorus-data")
	}
	return "chorus-data"
}

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "extract from Chorus and load into the warehouse (an interrupted run is resumed first)",
		Flags: append([]cli.Flag{configFlag, warehouseFlag, locationFlag,
			&cli.StringFlag{Name: "state", Usage: "state `FILE`, or \"warehouse\" to keep it in the warehouse (default: the config's state_store, else OUT/state.json)"},
			&cli.StringFlag{Name: "out", Usage: "`DIR` for the Parquet files (default: chorus-data next to the DuckDB file)"},
			&cli.BoolFlag{Name: "keep-files", Usage: "keep the Parquet files in --out after they are loaded (by default they are removed once the load has committed)"},
		}, append(windowFlags, transformFlags...)...),
		Action: func(c *cli.Context) error {
			cfg, err := e.loadConfig(c)
			if err != nil {
				return err
			}
			url := c.String("warehouse")
			if url == "" {
				return usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
			}
			from, to, selected, err := windowAndStreams(c)
			if err != nil {
				return err
			}
			topt, err := transformInputs(c, cfg)
			if err != nil {
				return err
			}
			p := &pipeline{cfg: cfg, url: url, location: c.String("bigquery-location"), out: c.String("out"),
				from: from, to: to, selected: selected, transform: topt, keepFiles: c.Bool("keep-files"),
				interactive: isTerminal(os.Stderr)}
			if p.out == "" {
				p.out = defaultOutDir(url)
			}
			switch s := c.String("state"); {
			case s == "warehouse" || (s == "" && cfg.StateStore == "warehouse"):
			case s == "":
				p.statePath = filepath.Join(p.out, "state.json")
			default:
				p.statePath = s
			}
			sum, err := e.runPipeline(c.Context, p)
			if err != nil {
				return err
			}
			if p.interactive {
				e.printReadable(sum)
			}
			return writeSummary(e, sum)
		},
	}
}

func demoCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "sync a simulated Chorus tenant (in-process, no key, no network) into a DuckDB file and show what was built",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "db", Value: "./chorus.duckdb", Usage: "DuckDB `FILE`"},
			&cli.IntFlag{Name: "calls", Value: 200, Usage: "number of simulated calls"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "seed of the simulated tenant"},
		},
		Action: func(c *cli.Context) error {
			if c.Int("calls") <= 0 {
				return usageErr("--calls must be positive")
			}
			ctx := c.Context
			now := time.Now().UTC().Truncate(time.Second)
			tenant := chorustest.New(chorustest.Options{Seed: c.Int64("seed"), Calls: c.Int("calls"), Now: now, ProcessingDelay: -1})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return fmt.Errorf("demo: simulated tenant: %w", err)
			}
			srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
			go srv.Serve(ln) //nolint:errcheck // ends with Close
			defer srv.Close()

			// The tenant answers on a new port each time, but it is the same
			// tenant: it gets a fixed name (dialled to the listener), so the
			// state kept in the demo database stays valid and a second demo
			// resumes instead of being refused as another tenant's.
			addr := ln.Addr().String()
			client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}}
			doc, _ := json.Marshal(map[string]any{"base_url": "http://simulated-tenant.chorus-elt.invalid", "api_token": "test-token",
				"lookback_days": 31, "requests_per_second": 500, "max_concurrency": 8})
			cfg, err := connector.ParseConfig(doc, now)
			if err != nil {
				return err
			}
			db := c.String("db")
			url := "duckdb:" + db
			p := &pipeline{cfg: cfg, url: url, out: defaultOutDir(url), interactive: isTerminal(os.Stderr), http: client,
				transform: transforms.Options{Customers: demoCustomers(tenant)}}
			sum, err := e.runPipeline(ctx, p)
			if err != nil {
				return err
			}
			sum.Command = "demo"
			return e.printDemo(ctx, url, sum)
		},
	}
}

// demoCustomers is the simulated tenant's customer list, as a CSM team
// would provide it with --customers.
func demoCustomers(t *chorustest.Tenant) []transforms.Customer {
	var out []transforms.Customer
	for _, c := range t.Customers() {
		out = append(out, transforms.Customer{ID: c.ID, Name: c.Name, Domains: c.Domains, CRMAccountID: c.CRMAccountID,
			CSMEmail: c.CSMEmail, CSMName: c.CSMName})
	}
	return out
}

// printDemo shows rows per table and a few facts from the raw tables.
func (e *env) printDemo(ctx context.Context, url string, sum *runSummary) error {
	w, err := e.openWarehouse(ctx, url, "")
	if err != nil {
		return err
	}
	defer w.Close()
	out := e.stdout
	fmt.Fprintf(out, "chorus-elt demo: synced a simulated Chorus tenant into %s in %.1fs (%d API requests)\n\n", strings.TrimPrefix(url, "duckdb:"), sum.Seconds, sum.Requests)
	fmt.Fprintf(out, "%-28s %10s\n", "table", "rows")
	for _, st := range schemas.All() {
		rows, err := w.Query(ctx, fmt.Sprintf("SELECT count(*) AS n FROM %s.%s", w.RawSchema(), st.Name))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s %10v\n", w.RawSchema()+"."+st.Name, rows[0]["n"])
	}
	for _, m := range []string{"customer_calls", "unattached_calls", "customer_tasks", "customer_health", "customer_health_weekly", "tracker_trends", "transcript_search"} {
		rows, err := w.Query(ctx, fmt.Sprintf("SELECT count(*) AS n FROM %s.%s", w.ModelSchema(), m))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s %10v\n", w.ModelSchema()+"."+m, rows[0]["n"])
	}
	facts := []struct{ title, sql string }{
		{"customers with the worst health", `SELECT customer_name || ' (' || health_band || ', last call ' || days_since_last_call || ' days ago, ' ||
			overdue_tasks || ' overdue tasks)' AS v, health_score AS n FROM chorus.customer_health ORDER BY health_score, customer_name LIMIT 5`},
		{"how calls were matched to customers", `SELECT coalesce(match_method, 'unattached') AS v, count(*) AS n FROM chorus.customer_calls GROUP BY 1 ORDER BY n DESC, v`},
		{"open tasks per CSM", `SELECT coalesce(assignee_name, assignee_email) AS v, count(*) AS n FROM chorus.customer_tasks WHERE status <> 'done' GROUP BY 1 ORDER BY n DESC, v LIMIT 5`},
		{"signals mentioned in the last 4 weeks", `SELECT category AS v, sum(mentions) AS n FROM chorus.tracker_trends WHERE week_start >= current_date - INTERVAL 28 DAY GROUP BY 1 ORDER BY n DESC, v`},
	}
	for _, f := range facts {
		rows, err := w.Query(ctx, f.sql)
		if err != nil {
			return fmt.Errorf("demo: %s: %w", f.title, err)
		}
		fmt.Fprintf(out, "\n%s:\n", f.title)
		for _, r := range rows {
			fmt.Fprintf(out, "  %-64v %v\n", r["v"], r["n"])
		}
	}
	fmt.Fprintf(out, "\nquery it: %s query --warehouse %s \"SELECT * FROM chorus_raw.calls LIMIT 5\"\n", os.Args[0], url)
	return nil
}
