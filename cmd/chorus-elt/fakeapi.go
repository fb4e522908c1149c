package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
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
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return pipeline.ServeFakeAPI(ctx, pipeline.FakeAPIOptions{Addr: c.String("addr"), Calls: c.Int("calls"), Customers: c.Int("customers"),
				Seed: c.Int64("seed"), UtterancesPerCall: c.Int("utterances"), Latency: c.Duration("latency"), Processing: c.Duration("processing-delay"),
				AI: c.Duration("ai-delay"), RateLimit: c.Float64("rate-limit"), Faults: c.String("faults"), Token: c.String("token"),
				CustomersCSV: c.String("customers-csv"), Log: c.App.ErrWriter})
		},
	}
}
