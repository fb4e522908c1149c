package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
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

// transformInputs reads the transform flags into runner options. Bad
// files are usage errors (exit 2); nothing has been changed then.
func transformInputs(c *cli.Context, cfg *config.Config) (transforms.Options, error) {
	opt := transforms.Options{CustomersTable: c.String("customers-table"), SellerDomains: c.StringSlice("seller-domain"),
		DefaultDueDays: c.Int("default-due-days")}
	if f := c.String("customers"); f != "" {
		if opt.CustomersTable != "" {
			return opt, usageErr("give --customers FILE or --customers-table TABLE, not both")
		}
		cs, err := transforms.ReadCustomersFile(f)
		if err != nil {
			return opt, usageErr("%v", err)
		}
		opt.Customers = cs
	}
	if opt.Customers == nil && opt.CustomersTable == "" && cfg != nil {
		opt.CustomersTable = cfg.CustomersTable
	}
	if f := c.String("signals"); f != "" {
		s, err := transforms.ReadSignalsFile(f)
		if err != nil {
			return opt, usageErr("%v", err)
		}
		opt.Signals = s
	}
	if s := c.String("as-of"); s != "" {
		t, err := parseAsOf(s)
		if err != nil {
			return opt, usageErr("--as-of %q: want RFC 3339 (2026-03-01T12:00:00Z) or a date (2026-03-01)", s)
		}
		opt.AsOf = t
	}
	return opt, nil
}

func parseAsOf(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// planTarget is the dialect and schemas a --warehouse URL names, without
// connecting (for --dry-run).
func planTarget(url string) (transforms.PlanOnly, error) {
	kind, rest, _ := strings.Cut(url, ":")
	switch {
	case url == "":
		return transforms.PlanOnly{}, usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
	case kind == "duckdb" && rest != "":
		return transforms.PlanOnly{DialectName: transforms.DuckDB, Raw: warehouse.DuckDBRawSchema, Models: warehouse.DuckDBModelSchema}, nil
	case kind == "bigquery" && strings.Count(rest, ".") == 1 && !strings.HasPrefix(rest, ".") && !strings.HasSuffix(rest, "."):
		return transforms.PlanOnly{DialectName: transforms.BigQuery, Raw: rest + "_raw", Models: rest}, nil
	}
	return transforms.PlanOnly{}, usageErr("--warehouse %q: use duckdb:PATH or bigquery:PROJECT.DATASET", url)
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
				target, err := planTarget(c.String("warehouse"))
				if err != nil {
					return err
				}
				opt.DryRun = true
				_, err = transforms.Run(c.Context, target, opt)
				return err
			}
			w, err := e.openWarehouse(c.Context, c.String("warehouse"), c.String("bigquery-location"))
			if err != nil {
				return err
			}
			defer w.Close()
			res, err := transforms.Run(c.Context, w, opt)
			if err != nil {
				return err
			}
			return writeSummary(e, pipeline.NewTransformSummary("transform", res))
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
				t, err := parseAsOf(s)
				if err != nil {
					return usageErr("--since %q: want YYYY-MM-DD or RFC 3339", s)
				}
				o.Since = t
			}
			if o.Limit <= 0 {
				return usageErr("--limit must be at least 1")
			}
			w, err := e.openReader(c.Context, c.String("warehouse"), c.String("bigquery-location"))
			if err != nil {
				return err
			}
			defer w.Close()
			hits, err := transforms.Search(c.Context, w, o)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(e.stdout)
				for _, h := range hits {
					if err := enc.Encode(h); err != nil {
						return err
					}
				}
				return nil
			}
			if len(hits) == 0 {
				_, err := fmt.Fprintf(e.stdout, "no utterance holds %q\n", o.Phrase)
				return err
			}
			for _, h := range hits {
				cust := "(no customer)"
				if h.CustomerID != "" {
					cust = h.CustomerID + " " + h.CustomerName
				}
				fmt.Fprintf(e.stdout, "%s  %s  %s — %s\n  [%s] %s (%s): %s\n", h.StartedAt.Format("2006-01-02 15:04"), h.CallID, h.CallTitle, cust,
					transforms.FormatOffset(h.Offset), h.Speaker, h.SpeakerType, h.Snippet)
				if h.Link != "" {
					fmt.Fprintf(e.stdout, "  %s\n", h.Link)
				}
			}
			return nil
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
			w, err := e.openReader(c.Context, c.String("warehouse"), c.String("bigquery-location"))
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

// openReader opens --warehouse for a command that only reads (search,
// transcript): a DuckDB file read-only — it must exist, nothing is created
// in it, and several readers may hold it at once.
func (e *env) openReader(ctx context.Context, url, location string) (warehouse.Warehouse, error) {
	if url == "" {
		return nil, usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
	}
	opt := warehouseOptions()
	opt.Location, opt.Logger, opt.ReadOnly = location, e.log, true
	w, err := warehouse.Open(ctx, url, opt)
	if err != nil {
		return nil, warehouseErr(err)
	}
	return w, nil
}
