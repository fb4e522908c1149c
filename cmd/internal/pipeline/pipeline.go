// Package pipeline composes the connector, the warehouse and the
// transforms into the run a scheduler makes: resume what an interrupted run
// left, extract from Chorus, load into the warehouse, rebuild the models.
// It also holds the protocol runs (Airbyte read, Singer tap), the demo (a
// simulated tenant run end to end), the fake-api server and, in its
// subpackages, what speaks to orchestrators and readers.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/parquet"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// PendingStateFile holds the extract's checkpoints inside the out dir when
// the state lives in the warehouse: it covers Parquet files that may not be
// loaded yet, and is committed to the warehouse with them.
const PendingStateFile = ".pending-state.json"

// ExtractHeapLimit is the Go runtime's soft memory limit during the
// extract (see extract), unless GOMEMLIMIT sets one.
const ExtractHeapLimit = 150 << 20

// Options is one run.
type Options struct {
	Config *config.Config
	// Warehouse is the destination URL (duckdb:PATH, bigquery:PROJECT.DATASET)
	// and WarehouseOptions how to open it.
	Warehouse        string
	WarehouseOptions warehouse.Options
	// Out holds the Parquet files between extract and load.
	Out string
	// StatePath is the state file; "" keeps the state in the warehouse.
	StatePath string
	// From and To, when set, sync exactly that window (the watermark stays).
	From, To time.Time
	// EngagementIDs, when set, syncs only these calls (the watermark stays).
	EngagementIDs []string
	// Opened, when set, is the warehouse to use (Warehouse names it); Run
	// does not close it. serve syncs into the DuckDB file it reads.
	Opened    warehouse.Warehouse
	Selected  map[string]bool // nil: every stream
	Transform transforms.Options
	// KeepFiles keeps the Parquet files once loaded.
	KeepFiles bool
	// FullRefresh forgets the state of the selected streams (every stream
	// when none is selected) before the extract: they are read again from
	// start_date and merged into the raw tables, which keep their rows.
	FullRefresh bool
	HTTP        *http.Client // nil: the default transport
	Stop        <-chan struct{}
	Logger      *slog.Logger
	// Progress receives a line per phase for a person watching (nil: none);
	// "" clears it.
	Progress func(line string)
	// Reporter hears what the run loaded and built, while the warehouse is
	// open (Dagster Pipes); nil: nobody.
	Reporter Reporter
}

// Summary says what a run did; it is the final JSON line of run and demo.
type Summary struct {
	Command   string                    `json:"command"`
	SyncID    string                    `json:"sync_id"`
	Warehouse string                    `json:"warehouse"`
	State     string                    `json:"state"`
	Streams   map[string]*StreamSummary `json:"streams"`
	Cursor    *time.Time                `json:"cursor,omitempty"`
	Requests  int64                     `json:"requests"`
	Retries   int64                     `json:"retries"`
	Throttled int64                     `json:"throttled"`      // 429 answers
	Rate      float64                   `json:"effective_rate"` // requests accepted per second of API activity
	Calls     int64                     `json:"calls"`
	Pending   int                       `json:"pending"`
	// Settling calls are re-read while Chorus may still change them;
	// RefetchedChanged of them had changed and were loaded again.
	Settling         int                   `json:"settling"`
	Refetched        int64                 `json:"refetched"`
	RefetchedChanged int64                 `json:"refetched_changed"`
	Resumed          *warehouse.LoadResult `json:"resumed,omitempty"`
	Load             *warehouse.LoadResult `json:"load"`
	Transform        *TransformSummary     `json:"transform"`
	Seconds          float64               `json:"seconds"`

	// Start and End are the --start/--end window of a run that synced one.
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
	// Abandoned are the calls given up on in this run (transcript never ready).
	Abandoned []string `json:"abandoned,omitempty"`
}

// StreamSummary is one stream's part of a run.
type StreamSummary struct {
	Rows     int64 `json:"rows"`
	Bytes    int64 `json:"bytes"`
	Inserted int64 `json:"inserted"`
	Updated  int64 `json:"updated"`
	Deleted  int64 `json:"deleted,omitempty"`
}

// TransformSummary is what a transform built.
type TransformSummary struct {
	Command   string         `json:"command"`
	Warehouse string         `json:"warehouse"`
	AsOf      time.Time      `json:"as_of"`
	Models    int            `json:"models"`
	Rows      map[string]int `json:"rows"`
	Seconds   float64        `json:"seconds"`
}

// NewTransformSummary summarises a transform run.
func NewTransformSummary(command string, res *transforms.Result) *TransformSummary {
	return &TransformSummary{Command: command, Warehouse: res.Dialect, AsOf: res.AsOf, Models: len(res.Steps),
		Rows: res.Rows, Seconds: res.Seconds}
}

// Stream returns a stream's part of the summary, creating it.
func (s *Summary) Stream(name string) *StreamSummary {
	if s.Streams[name] == nil {
		s.Streams[name] = &StreamSummary{}
	}
	return s.Streams[name]
}

// DefaultOutDir is a folder next to the DuckDB file, or ./chorus-data.
func DefaultOutDir(url string) string {
	if t, err := warehouse.ParseURL(url); err == nil && t.Dialect == "duckdb" {
		return filepath.Join(filepath.Dir(t.Path), "chorus-data")
	}
	return "chorus-data"
}

// PlanTarget is the dialect and schemas a warehouse URL names, without
// connecting (for transform --dry-run).
func PlanTarget(url string) (transforms.PlanOnly, error) {
	t, err := warehouse.ParseURL(url)
	if err != nil {
		return transforms.PlanOnly{}, err
	}
	return transforms.PlanOnly{DialectName: t.Dialect, Raw: t.RawSchema(), Models: t.ModelSchema()}, nil
}

// stopped reports whether a stop was asked for.
func (o *Options) stopped() bool {
	select {
	case <-o.Stop:
		return true
	default:
		return false
	}
}

func (o *Options) progress(format string, a ...any) {
	if o.Progress != nil {
		o.Progress(fmt.Sprintf(format, a...))
	}
}

// Run resumes an interrupted load, extracts, loads and transforms.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	start := time.Now()
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Out == "" {
		opt.Out = DefaultOutDir(opt.Warehouse)
	}
	sum := &Summary{Command: "run", Streams: map[string]*StreamSummary{}}
	if !opt.From.IsZero() {
		sum.Start, sum.End = &opt.From, &opt.To
	}
	unlock, err := LockDir(opt.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer opt.progress("")

	// The warehouse is open for the resume, then closed while the extract
	// runs (minutes: analysts may use the file meanwhile), then opened
	// again for the load and the transform.
	w, err := openWarehouse(ctx, opt, false)
	if err != nil {
		return nil, err
	}
	sum.Warehouse = w.Dialect()
	st, err := resume(ctx, &opt, w, sum)
	if err == nil {
		err = checkLoaded(ctx, &opt, w, st)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if opt.FullRefresh {
		if _, err := st.ResetStreams(Window{Selected: opt.Selected}.selectedNames()); err != nil {
			return nil, err
		}
	}
	logPhase(opt.Logger, "extract")
	xr, err := extract(ctx, &opt, st, sum, start)
	if err != nil {
		return nil, err
	}
	logPhase(opt.Logger, "load")
	if w, err = openWarehouse(ctx, opt, false); err != nil {
		return nil, err
	}
	defer w.Close()
	res, err := load(ctx, &opt, w, st)
	if err != nil {
		return nil, err
	}
	sum.Load = res
	fill(sum, xr, res)
	if opt.Reporter != nil {
		if err := opt.Reporter.Loaded(ctx, w, opt.streams(), sum); err != nil {
			return nil, fmt.Errorf("report the load (committed): %w", err)
		}
	}

	// Transform: rebuild the models from the raw tables.
	if opt.stopped() {
		return nil, fmt.Errorf("%w after the load (committed); the models are rebuilt by the next run or `chorus-elt transform`", engine.ErrInterrupted)
	}
	opt.progress("transforming…")
	logPhase(opt.Logger, "transform")
	topt := opt.Transform
	topt.Logger = opt.Logger
	tr, err := transforms.Run(ctx, w, topt)
	if err != nil {
		return nil, fmt.Errorf("transform (the load is committed; rerun `chorus-elt transform` or `run`): %w", err)
	}
	sum.Transform = NewTransformSummary("run", tr)
	if opt.Reporter != nil {
		if err := opt.Reporter.Built(ctx, w, tr); err != nil {
			return nil, fmt.Errorf("report the models (built): %w", err)
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	return sum, nil
}

// resume applies the files an earlier run wrote but did not load (the
// ledger skips the loaded ones), with the checkpoint that covers them, and
// returns the state to start from.
func resume(ctx context.Context, opt *Options, w warehouse.Warehouse, sum *Summary) (*state.State, error) {
	base := opt.Config.BaseURL
	if opt.StatePath != "" {
		sum.State = opt.StatePath
		opt.progress("resuming: loading files not loaded yet…")
		res, err := w.Load(ctx, opt.Out, nil)
		if err != nil {
			return nil, err
		}
		if res.FilesLoaded > 0 {
			sum.Resumed = res
		}
		return state.Load(opt.StatePath, base)
	}
	sum.State = "warehouse"
	pending := filepath.Join(opt.Out, PendingStateFile)
	b, err := os.ReadFile(pending)
	switch {
	case err == nil:
		ps, err := state.Parse(b, base)
		if err != nil {
			return nil, fmt.Errorf("%w (file %s)", err, pending)
		}
		// The files this state covers must all be in place before it is
		// stored with them.
		if err := parquet.CompleteCommit(opt.Out, ps); err != nil {
			return nil, err
		}
		opt.progress("resuming: loading files of an interrupted run…")
		if sum.Resumed, err = w.Load(ctx, opt.Out, b); err != nil {
			return nil, err
		}
		if err := os.Remove(pending); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("resume: %w", err)
	}
	doc, err := w.State(ctx)
	if err != nil {
		return nil, err
	}
	st, err := state.Parse(doc, base)
	if err != nil {
		return nil, fmt.Errorf("%w (state stored in the warehouse %s; remove its row from %s.%s to start over)", err, opt.Warehouse, w.RawSchema(), warehouse.StateTable)
	}
	return st, nil
}

// extract syncs into Parquet under opt.Out, checkpointing the state to its
// file (or to the pending state file when the warehouse keeps it).
func extract(ctx context.Context, opt *Options, st *state.State, sum *Summary, start time.Time) (*connector.ExtractResult, error) {
	sum.SyncID = connector.NewSyncID(time.Now())
	save := func(s *state.State) error { return state.Save(opt.StatePath, s) }
	if opt.StatePath == "" {
		pending := filepath.Join(opt.Out, PendingStateFile)
		save = func(s *state.State) error { return state.WriteFileAtomic(pending, s.Marshal()) }
	}
	opt.progress("extracting from %s…", opt.Config.BaseURL)
	// The run's budget is 256 MB of resident memory. Left to its default
	// (a heap twice what is live), the extract's Go heap alone reached
	// 200 MB at 20,000 calls; held to ExtractHeapLimit the collector runs
	// sooner instead (measured: a peak of 231 MB rather than 312, for about
	// a fifth more of the extract's CPU). A limit set by GOMEMLIMIT is left.
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(ExtractHeapLimit))
	}
	done := make(chan struct{})
	if opt.Progress != nil {
		go func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-done:
					return
				case <-t.C:
					opt.progress("extracting from %s… %.0fs", opt.Config.BaseURL, time.Since(start).Seconds())
				}
			}
		}()
	}
	xr, err := connector.Extract(ctx, connector.ExtractOptions{Config: opt.Config, OutDir: opt.Out, State: st, SaveState: save,
		Selected: opt.Selected, From: opt.From, To: opt.To, EngagementIDs: opt.EngagementIDs, Logger: opt.Logger, HTTP: watchReach(opt.HTTP, opt.Logger, opt.Config.BaseURL, nil), SyncID: sum.SyncID, Stop: opt.Stop})
	close(done)
	if err != nil {
		if xr != nil && xr.Files > 0 {
			return nil, fmt.Errorf("%w (the files extracted so far are loaded by the next run)", err)
		}
		return nil, err
	}
	// The extract's buffers are garbage now; hand the memory back before
	// DuckDB takes its share, so the process's peak is the larger of the
	// two phases rather than their sum.
	debug.FreeOSMemory()
	return xr, nil
}

// load loads every file of opt.Out (with the state when the warehouse keeps
// it), then removes the loaded files unless asked to keep them.
func load(ctx context.Context, opt *Options, w warehouse.Warehouse, st *state.State) (*warehouse.LoadResult, error) {
	opt.progress("loading into %s…", opt.Warehouse)
	var stateDoc []byte
	if opt.StatePath == "" {
		stateDoc = st.Marshal()
	}
	files, err := filepath.Glob(filepath.Join(opt.Out, "*", "*.parquet"))
	if err != nil {
		return nil, err
	}
	res, err := w.Load(ctx, opt.Out, stateDoc)
	if err != nil {
		return nil, err
	}
	// Every file present before the load is in the warehouse now (applied,
	// or skipped because the ledger has it): the staging copies can go,
	// so that the out directory does not grow run after run.
	if !opt.KeepFiles {
		for _, f := range files {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove loaded file: %w", err)
			}
		}
	}
	if opt.StatePath == "" {
		pending := filepath.Join(opt.Out, PendingStateFile)
		if err := os.Remove(pending); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("remove %s: %w", pending, err)
		}
	}
	return res, nil
}

// logPhase logs the start of a phase (one line per phase) and, at debug
// level, what the Go heap holds then (DuckDB's memory is outside it): with the process's peak RSS,
// what a memory budget is spent on.
func logPhase(l *slog.Logger, phase string) {
	var mem []any
	if l.Enabled(context.Background(), slog.LevelDebug) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		mem = []any{"go_heap_inuse_mb", m.HeapInuse >> 20, "go_heap_idle_mb", (m.HeapIdle - m.HeapReleased) >> 20,
			"go_sys_mb", (m.Sys - m.HeapReleased) >> 20}
	}
	l.Info("starting "+phase, mem...)
}
