package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// fakeAPICommand serves a simulated Chorus tenant, for demos and for trying
// the connector without an account.
func fakeAPICommand() *cli.Command {
	return &cli.Command{
		Name:  "fake-api",
		Usage: "serve a simulated Chorus tenant (deterministic from --seed) until interrupted",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8089", Usage: "listen address"},
			&cli.IntFlag{Name: "calls", Value: 50, Usage: "number of recorded calls"},
			&cli.IntFlag{Name: "customers", Value: 12, Usage: "number of customer companies"},
			&cli.Int64Flag{Name: "seed", Value: 1, Usage: "generator seed"},
			&cli.IntFlag{Name: "utterances", Value: 40, Usage: "mean utterances per call"},
			&cli.DurationFlag{Name: "latency", Usage: "delay added to every response"},
			&cli.DurationFlag{Name: "processing-delay", Value: 2 * time.Hour, Usage: "how long after a call ends its transcript is ready"},
			&cli.DurationFlag{Name: "ai-delay", Value: 30 * time.Minute, Usage: "how long after the transcript Chorus writes the AI summary and action items"},
			&cli.Float64Flag{Name: "rate-limit", Usage: "server-side limit in requests/second (0: none)"},
			&cli.StringFlag{Name: "faults", Usage: `fault spec, e.g. "429=0.05,500=0.1,slow=0.01,slowdelay=2s,truncate=0.01,dup=0.05,seed=7"`},
			&cli.StringFlag{Name: "token", Value: "test-token", Usage: "the API token the tenant accepts"},
			&cli.StringFlag{Name: "customers-csv", Usage: "write the tenant's customer list to this CSV `FILE` (for --customers; with --seed 0 it is testdata/customers.csv)"},
		},
		Action: func(c *cli.Context) error {
			faults, err := chorustest.ParseFaults(c.String("faults"))
			if err != nil {
				return usageErr("--faults: %v", err)
			}
			if c.Int("calls") < 1 || c.Int("customers") < 1 || c.Float64("rate-limit") < 0 {
				return usageErr("--calls and --customers must be at least 1 and --rate-limit not negative")
			}
			processing := c.Duration("processing-delay")
			if processing == 0 {
				processing = -1 // the tenant's zero means its default
			}
			tenant := chorustest.New(chorustest.Options{
				Seed: c.Int64("seed"), Calls: c.Int("calls"), Customers: c.Int("customers"),
				UtterancesPerCall: c.Int("utterances"), Latency: c.Duration("latency"),
				ProcessingDelay: processing, AIDelay: c.Duration("ai-delay"),
				RateLimit: c.Float64("rate-limit"), Faults: faults, Token: c.String("token"),
			})
			if path := c.String("customers-csv"); path != "" {
				if err := pipeline.WriteCustomersCSV(tenant, path); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return chorustest.ServeTenant(ctx, c.String("addr"), tenant, c.App.ErrWriter)
		},
	}
}
