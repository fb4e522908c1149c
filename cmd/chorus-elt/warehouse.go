package main

import (
	"errors"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"
	"github.com/chorus-elt/chorus-elt/cmd/internal/orchestrator"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/report"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

var (
	warehouseFlag = &cli.StringFlag{Name: "warehouse", Usage: "destination `URL`: duckdb:PATH or bigquery:PROJECT.DATASET"}
	locationFlag  = &cli.StringFlag{Name: "bigquery-location", Usage: "BigQuery `LOCATION` for new datasets and jobs (e.g. EU, US)"}
	stateFlag     = &cli.StringFlag{Name: "state", Usage: "state `FILE`, or \"warehouse\" to keep it in the warehouse (default: the config's state_store, else OUT/state.json)"}
	outFlag       = &cli.StringFlag{Name: "out", Usage: "`DIR` for the Parquet files (default: chorus-data next to the DuckDB file)"}
)

// openWarehouse opens --warehouse; a bad URL is a usage error (exit 2).
// readOnly is for the commands that only read (query, search, transcript):
// a DuckDB file must exist, nothing is created in it, and several readers
// may hold it at once.
func (e *env) openWarehouse(c *cli.Context, readOnly bool) (warehouse.Warehouse, error) {
	url := c.String("warehouse")
	if url == "" {
		return nil, usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
	}
	opt := e.warehouseOptions(c)
	opt.ReadOnly = readOnly
	w, err := warehouse.Open(c.Context, url, opt)
	if err != nil {
		return nil, warehouseErr(err)
	}
	return w, nil
}

// warehouseOptions are what the environment and the flags say of the
// warehouse.
func (e *env) warehouseOptions(c *cli.Context) warehouse.Options {
	return clienv.WarehouseOptions(os.Getenv, c.String("bigquery-location"), e.log)
}

// warehouseErr makes a bad warehouse URL or option a usage error (exit 2).
func warehouseErr(err error) error { return clienv.WarehouseErr(err, os.Getenv) }

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
			w, err := e.openWarehouse(c, false)
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := w.Load(c.Context, c.String("from"), nil)
			if err != nil {
				return err
			}
			e.log.Info("load finished", "files", res.FilesLoaded, "skipped", res.FilesSkipped, "bytes", res.Bytes)
			if err := e.orch.Pipes().RawTables(c.Context, w, orchestrator.LoadTables(res), nil, nil, nil); err != nil {
				return err
			}
			return e.orch.Summary(e.stdout, map[string]any{"command": "load", "warehouse": w.Dialect(), "result": res, "seconds": time.Since(start).Seconds()})
		},
	}
}

// runOptions reads the flags run and the state commands share: where the
// warehouse, the files and the state are.
func (e *env) runOptions(c *cli.Context, cfg *config.Config) (pipeline.Options, error) {
	p := pipeline.Options{Config: cfg, Warehouse: c.String("warehouse"), Out: c.String("out"), Logger: e.log, Stop: e.stop,
		Progress: clienv.Progress(e.stderr), WarehouseOptions: e.warehouseOptions(c)}
	return p, p.Locate(c.String("state"))
}

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "extract from Chorus and load into the warehouse (an interrupted run is resumed first)",
		Flags: append([]cli.Flag{configFlag, warehouseFlag, locationFlag, stateFlag, outFlag,
			&cli.BoolFlag{Name: "keep-files", Usage: "keep the Parquet files in --out after they are loaded (by default they are removed once the load has committed)"},
		}, append(windowFlags, transformFlags...)...),
		Action: func(c *cli.Context) error {
			cfg, err := e.loadConfig(c)
			if err != nil {
				return err
			}
			p, err := e.runOptions(c, cfg)
			if err != nil {
				return err
			}
			win, err := e.orch.Window(c.String("start"), c.String("end"), c.String("streams"))
			if err != nil {
				return err
			}
			if p.Transform, err = transformInputs(c, cfg); err != nil {
				return err
			}
			p.From, p.To, p.Selected, p.KeepFiles, p.FullRefresh = win.From, win.To, win.Selected, c.Bool("keep-files"), c.Bool("full-refresh")
			p.Reporter = e.orch.Pipes()
			sum, err := pipeline.Run(c.Context, p)
			if err != nil {
				return warehouseErr(err)
			}
			if p.Progress != nil {
				report.Run(e.stderr, sum)
			}
			return e.orch.Summary(e.stdout, sum)
		},
	}
}

func demoCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "sync a simulated Chorus tenant (in-process, no key, no network) into a DuckDB file and show what was built; an existing file of another --calls/--seed is refused",
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
			run := pipeline.Options{Logger: e.log, Stop: e.stop, Progress: clienv.Progress(e.stderr), WarehouseOptions: e.warehouseOptions(c)}
			sum, err := pipeline.Demo(c.Context, pipeline.DemoOptions{DB: db, Calls: c.Int("calls"), Seed: c.Int64("seed"), Run: run})
			var mismatch *pipeline.DemoMismatchError
			if errors.As(err, &mismatch) {
				return usageErr("%v", err)
			}
			if err != nil {
				return warehouseErr(err)
			}
			return pipeline.DemoReport(c.Context, db, run.WarehouseOptions, e.stdout, sum)
		},
	}
}
