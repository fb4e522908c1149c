package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

var (
	warehouseFlag = &cli.StringFlag{Name: "warehouse", Usage: "destination `URL`: duckdb:PATH or bigquery:PROJECT.DATASET"}
	locationFlag  = &cli.StringFlag{Name: "bigquery-location", Usage: "BigQuery `LOCATION` for new datasets and jobs (e.g. EU, US)"}
)

// Environment variables the warehouse commands read.
const (
	// bigQueryEmulatorEnv (host:port), as Google's other clients read it,
	// points the BigQuery path at an emulator, without credentials.
	bigQueryEmulatorEnv = "BIGQUERY_EMULATOR_HOST"
	// duckDBMemoryEnv sets DuckDB's memory_limit (e.g. 1GB).
	duckDBMemoryEnv = "CHORUS_ELT_DUCKDB_MEMORY_LIMIT"
)

// openWarehouse opens --warehouse; a bad URL is a usage error (exit 2).
func (e *env) openWarehouse(ctx context.Context, url, location string) (warehouse.Warehouse, error) {
	if url == "" {
		return nil, usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
	}
	opt := warehouseOptions()
	opt.Location, opt.Logger = location, e.log
	w, err := warehouse.Open(ctx, url, opt)
	if err != nil {
		return nil, warehouseErr(err)
	}
	return w, nil
}

// warehouseOptions are what the environment says of the warehouse.
func warehouseOptions() warehouse.Options {
	return warehouse.Options{BigQueryEndpoint: os.Getenv(bigQueryEmulatorEnv), DuckDBMemoryLimit: os.Getenv(duckDBMemoryEnv)}
}

// warehouseErr makes a bad warehouse URL or option a usage error (exit 2).
func warehouseErr(err error) error {
	var ue *warehouse.URLError
	var oe *warehouse.OptionError
	switch {
	case errors.As(err, &ue):
		return usageErr("%v", err)
	case errors.As(err, &oe):
		return usageErr("%s=%q: %v", duckDBMemoryEnv, os.Getenv(duckDBMemoryEnv), err)
	}
	return err
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

// progress is the terminal's progress line (nil off a terminal).
func (e *env) progress() func(string) {
	if !isTerminal(os.Stderr) {
		return nil
	}
	return func(line string) { fmt.Fprint(e.stderr, "\r\033[K"+line) }
}

// runOptions are the pipeline options every run shares.
func (e *env) runOptions() pipeline.Options {
	return pipeline.Options{Logger: e.log, Stop: e.stop, Progress: e.progress(), WarehouseOptions: warehouseOptions()}
}

// printReadable writes the run summary for people (stderr on a terminal).
func (e *env) printReadable(s *pipeline.Summary) {
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
			p := e.runOptions()
			p.Config, p.Warehouse, p.Out, p.From, p.To, p.Selected, p.Transform, p.KeepFiles =
				cfg, url, c.String("out"), from, to, selected, topt, c.Bool("keep-files")
			p.WarehouseOptions.Location = c.String("bigquery-location")
			if p.Out == "" {
				p.Out = pipeline.DefaultOutDir(url)
			}
			switch s := c.String("state"); {
			case s == "warehouse" || (s == "" && cfg.StateStore == "warehouse"):
			case s == "":
				p.StatePath = filepath.Join(p.Out, "state.json")
			default:
				p.StatePath = s
			}
			sum, err := pipeline.Run(c.Context, p)
			if err != nil {
				return warehouseErr(err)
			}
			if p.Progress != nil {
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
			db := c.String("db")
			sum, err := pipeline.Demo(c.Context, pipeline.DemoOptions{DB: db, Calls: c.Int("calls"), Seed: c.Int64("seed"), Run: e.runOptions()})
			if err != nil {
				return warehouseErr(err)
			}
			w, err := e.openWarehouse(c.Context, "duckdb:"+db, "")
			if err != nil {
				return err
			}
			defer w.Close()
			return pipeline.DemoReport(c.Context, w, e.stdout, db, sum)
		},
	}
}
