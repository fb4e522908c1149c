package main

import (
	"encoding/json"
	"fmt"
	"io"
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
			cols, rows, err := w.QueryTable(c.Context, c.Args().First())
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
			return printTable(e.stdout, cols, rows)
		},
	}
}

// printTable prints rows as aligned columns, in the query's column order.
func printTable(w io.Writer, cols []string, rows []map[string]any) error {
	if len(rows) == 0 {
		_, err := fmt.Fprintln(w, "(no rows)")
		return err
	}
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
		if x = x.UTC(); x.Equal(x.Truncate(24 * time.Hour)) {
			return x.Format(time.DateOnly) // DATE columns come back as midnight
		}
		return x.Format(time.RFC3339)
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
