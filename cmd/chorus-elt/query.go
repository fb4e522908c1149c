package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func queryCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "query",
		Usage:     "run one SQL query against the warehouse and print the rows (a table, or JSON lines with --json)",
		ArgsUsage: `"SELECT …"`,
		Flags: []cli.Flag{warehouseFlag, locationFlag,
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per row"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr(`query takes one argument, the SQL text: chorus-elt query --warehouse duckdb:chorus.duckdb "SELECT …"`)
			}
			w, err := e.openWarehouse(c.Context, c.String("warehouse"), c.String("bigquery-location"))
			if err != nil {
				return err
			}
			defer w.Close()
			rows, err := w.Query(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(e.stdout)
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				return nil
			}
			return printTable(e.stdout, rows)
		},
	}
}

// printTable prints rows as aligned columns, in the order of the first
// row's keys sorted by name (the warehouse returns maps).
func printTable(w io.Writer, rows []map[string]any) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "(no rows)")
		return err
	}
	cols := make([]string, 0, len(rows[0]))
	for k := range rows[0] {
		cols = append(cols, k)
	}
	sort.Strings(cols)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(cols, "\t"))
	for _, r := range rows {
		vals := make([]string, len(cols))
		for i, c := range cols {
			vals[i] = cell(r[c])
		}
		fmt.Fprintln(tw, strings.Join(vals, "\t"))
	}
	return tw.Flush()
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case float64:
		return fmt.Sprintf("%.4g", x)
	case string:
		if len(x) > 80 {
			return x[:77] + "…"
		}
		return x
	default:
		return fmt.Sprint(x)
	}
}
