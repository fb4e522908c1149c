package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/report"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
)

// Flags of transform (run and demo may reuse transformFlags).
var transformFlags = []cli.Flag{
	&cli.StringFlag{Name: "customers", Usage: "customer list `FILE` (CSV: customer_id,name,domains,crm_account_id,csm_email,csm_name; domains separated by ;)"},
	&cli.StringFlag{Name: "customers-table", Usage: "existing warehouse `TABLE` with the customer columns, instead of --customers"},
	&cli.StringFlag{Name: "signals", Usage: "signal mapping and health weights `FILE` (JSON, over the shipped defaults; see testdata/signals.json)"},
	&cli.StringSliceFlag{Name: "seller-domain", Usage: "the seller's own email `DOMAIN` (repeatable), never matched to a customer"},
	&cli.StringFlag{Name: "as-of", Usage: "compute health and overdue tasks as of `TIME` (RFC 3339 or YYYY-MM-DD; default now)"},
	&cli.IntFlag{Name: "default-due-days", Value: 7, Usage: "due date of a task without a due phrase: `DAYS` after the call"},
}

// transformInputs reads the transform flags into runner options.
func transformInputs(c *cli.Context, cfg *config.Config) (transforms.Options, error) {
	return pipeline.ReadTransformInputs(pipeline.TransformInputs{CustomersFile: c.String("customers"), CustomersTable: c.String("customers-table"),
		SignalsFile: c.String("signals"), AsOf: c.String("as-of"), SellerDomains: c.StringSlice("seller-domain"), DefaultDueDays: c.Int("default-due-days")}, cfg)
}

func transformCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "transform",
		Usage: "build the customer models (calls, tasks, health, trends, search) from the raw tables with the versioned SQL",
		Flags: append([]cli.Flag{warehouseFlag, locationFlag,
			&cli.StringFlag{Name: "config", Usage: "connector config `FILE` (only its customers_table is used)"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and the rendered SQL; change nothing"},
		}, transformFlags...),
		Action: func(c *cli.Context) error {
			var cfg *config.Config
			if c.String("config") != "" {
				var err error
				if cfg, err = e.loadConfig(c); err != nil {
					return err
				}
			}
			opt, err := transformInputs(c, cfg)
			if err != nil {
				return err
			}
			opt.Logger, opt.Out = e.log, e.stdout
			if c.Bool("dry-run") {
				target, err := pipeline.PlanTarget(c.String("warehouse"))
				if err != nil {
					return warehouseErr(err)
				}
				opt.DryRun = true
				_, err = transforms.Run(c.Context, target, opt)
				return err
			}
			w, err := e.openWarehouse(c, false)
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := transforms.Run(c.Context, w, opt)
			if err != nil {
				return err
			}
			if err := e.orch.Pipes().Models(c.Context, w, res); err != nil {
				return err
			}
			return e.orch.Summary(e.stdout, pipeline.NewTransformSummary("transform", res))
		},
	}
}

func searchCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "search",
		Usage:     "search call transcripts for a phrase (case-insensitive): call, customer, speaker, time offset, snippet and link",
		ArgsUsage: `"PHRASE"`,
		Flags: []cli.Flag{warehouseFlag, locationFlag,
			&cli.StringFlag{Name: "customer", Usage: "only calls of customer `ID`"},
			&cli.StringFlag{Name: "since", Usage: "only calls started on or after `DATE` (YYYY-MM-DD or RFC 3339)"},
			&cli.IntFlag{Name: "limit", Value: 20, Usage: "at most `N` hits"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per hit"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 || strings.TrimSpace(c.Args().First()) == "" {
				return usageErr(`search wants one phrase: chorus-elt search --warehouse URL "phrase"`)
			}
			o := transforms.SearchOptions{Phrase: c.Args().First(), CustomerID: c.String("customer"), Limit: c.Int("limit")}
			if s := c.String("since"); s != "" {
				t, err := config.ParseDate(s)
				if err != nil {
					return usageErr("--since: %v", err)
				}
				o.Since = t
			}
			if o.Limit <= 0 {
				return usageErr("--limit must be at least 1")
			}
			w, err := e.openWarehouse(c, true)
			if err != nil {
				return err
			}
			defer w.Close()
			hits, err := transforms.Search(c.Context, w, o)
			if err != nil {
				return err
			}
			return report.Hits(e.stdout, o.Phrase, hits, c.Bool("json"))
		},
	}
}

func transcriptCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "transcript",
		Usage:     "print a call's speaker-attributed transcript: [mm:ss] Speaker (rep): text",
		ArgsUsage: "CALL_ID",
		Flags:     []cli.Flag{warehouseFlag, locationFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("transcript wants one CALL_ID")
			}
			w, err := e.openWarehouse(c, true)
			if err != nil {
				return err
			}
			defer w.Close()
			t, err := transforms.Transcript(c.Context, w, c.Args().First())
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, t.String())
			return err
		},
	}
}

func queryCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "run one SQL query against the warehouse and print the rows (a table, or JSON lines with --json)",
		ArgsUsage: `"SELECT …"`,
		Flags: []cli.Flag{warehouseFlag, locationFlag,
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per row, keys in SELECT order"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr(`query takes one argument, the SQL text: chorus-elt query --warehouse duckdb:chorus.duckdb "SELECT …"`)
			}
			w, err := e.openWarehouse(c, true)
			if err != nil {
				return err
			}
			defer w.Close()
			cols, rows, err := w.QueryTable(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return report.JSONLines(e.stdout, cols, rows)
			}
			return report.Table(e.stdout, cols, rows)
		},
	}
}
