package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"
	"github.com/chorus-elt/chorus-elt/cmd/internal/serve"
)

// serveTokenEnv holds the API's bearer tokens, comma-separated, unless
// --token-file names a file of them.
const serveTokenEnv = "CHORUS_SERVE_TOKEN"

func serveCommand(e *env) *cli.Command {
	return &cli.Command{
		Name: "serve",
		Usage: "serve the read API (/api/chorus/...), the web pages and the recording_done webhook over the warehouse; " +
			"with --config it syncs into it (the webhook's calls, --sync-every) and owns a DuckDB file while it runs",
		Flags: append([]cli.Flag{warehouseFlag, locationFlag, configFlag,
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "listen on `HOST:PORT`"},
			&cli.StringFlag{Name: "token-file", Usage: "`FILE` of bearer tokens, one a line (default: $" + serveTokenEnv + ", comma-separated)"},
			&cli.StringFlag{Name: "webhook-secret-env", Value: "CHORUS_WEBHOOK_SECRET",
				Usage: "environment `VARIABLE` holding the webhook's shared secret (header " + serve.WebhookSecretHeader + ")"},
			&cli.DurationFlag{Name: "sync-every", Usage: "run the incremental sync every `DURATION` (e.g. 15m; needs --config)"},
		}, transformFlags...),
		Action: func(c *cli.Context) error {
			if c.String("warehouse") == "" {
				return usageErr("--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)")
			}
			tokens := serve.SplitTokens(os.Getenv(serveTokenEnv))
			if f := c.String("token-file"); f != "" {
				var err error
				if tokens, err = serve.ReadTokens(f); err != nil {
					return usageErr("%v", err)
				}
			}
			if len(tokens) == 0 {
				return usageErr("no API token: set %s (comma-separated) or give --token-file FILE", serveTokenEnv)
			}
			o := serve.RunOptions{Warehouse: c.String("warehouse"), WarehouseOptions: e.warehouseOptions(c), Addr: c.String("addr"),
				Tokens: tokens, WebhookSecret: os.Getenv(c.String("webhook-secret-env")), SyncEvery: c.Duration("sync-every"), Logger: e.log}
			if c.String("config") != "" {
				cfg, err := e.loadConfig(c)
				if err != nil {
					return err
				}
				o.Config = cfg
			}
			topt, err := transformInputs(c, o.Config)
			if err != nil {
				return err
			}
			o.Transform = topt
			// The first SIGINT or SIGTERM stops serving (requests in flight
			// finish; a sync in flight is cancelled and resumed next time).
			ctx, cancel := clienv.CancelOnStop(c.Context, e.stop)
			defer cancel()
			return warehouseErr(serve.Run(ctx, o))
		},
	}
}
