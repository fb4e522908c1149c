package main

import (
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/protocol"
)

var configFlag = &cli.StringFlag{Name: "config", Usage: "connector config `FILE` (JSON; see `chorus-elt spec`)"}

// loadConfig reads --config and arms the token redactor.
func (e *env) loadConfig(c *cli.Context) (*config.Config, error) {
	path := c.String("config")
	if path == "" {
		return nil, usageErr("--config FILE is required")
	}
	cfg, err := config.Load(path, os.Getenv(config.TokenEnv))
	if err != nil {
		return nil, err
	}
	e.redactToken(cfg.APIToken)
	return cfg, nil
}

func specCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "spec",
		Usage: "print the Airbyte SPEC message (the configuration schema)",
		Action: func(c *cli.Context) error {
			return protocol.AirbyteSpec(e.stdout)
		},
	}
}

func checkCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the config and the token against the tenant (Airbyte CONNECTION_STATUS); exit 2 for a bad config or token, 1 when the API fails",
		Flags: []cli.Flag{configFlag},
		Action: func(c *cli.Context) error {
			cfg, err := e.loadConfig(c)
			if err == nil {
				err = pipeline.Check(c.Context, cfg, e.log)
			}
			if werr := protocol.AirbyteConnectionStatus(e.stdout, err); werr != nil {
				return werr
			}
			if err != nil {
				e.log.Error("check failed", "error", err.Error())
				return clienv.Reported(err)
			}
			return nil
		},
	}
}

func discoverCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "discover",
		Usage: "print the Airbyte CATALOG of every stream",
		Flags: []cli.Flag{configFlag},
		Action: func(c *cli.Context) error {
			if c.String("config") != "" {
				if _, err := e.loadConfig(c); err != nil {
					return err
				}
			}
			return protocol.WriteAirbyteCatalog(e.stdout)
		},
	}
}

func readCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "read",
		Usage: "Airbyte read: RECORD, STATE, TRACE and LOG messages on stdout",
		Flags: []cli.Flag{configFlag,
			&cli.StringFlag{Name: "catalog", Usage: "configured catalog `FILE`"},
			&cli.StringFlag{Name: "state", Usage: "state `FILE` (as Airbyte passes it)"},
		},
		Action: func(c *cli.Context) error {
			err := e.airbyteRead(c)
			if err != nil {
				_ = protocol.AirbyteError(e.stdout, err)
				e.log.Error("read failed", "error", err.Error())
				return clienv.Reported(err)
			}
			return nil
		},
	}
}

func (e *env) airbyteRead(c *cli.Context) error {
	cfg, err := e.loadConfig(c)
	if err != nil {
		return err
	}
	if c.String("catalog") == "" {
		return usageErr("--catalog FILE is required")
	}
	return pipeline.AirbyteRead(c.Context, e.protocolOptions(c, cfg))
}

// protocolOptions are the flags of read and singer.
func (e *env) protocolOptions(c *cli.Context, cfg *config.Config) pipeline.ProtocolOptions {
	return pipeline.ProtocolOptions{Config: cfg, Catalog: c.String("catalog"), StatePath: c.String("state"), Out: e.stdout, Logger: e.log, Stop: e.stop}
}

func singerCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "singer",
		Usage: "run as a Singer tap: --discover prints the catalog; otherwise SCHEMA, RECORD and STATE on stdout",
		Flags: []cli.Flag{configFlag,
			&cli.BoolFlag{Name: "discover", Usage: "print the catalog and exit"},
			&cli.StringFlag{Name: "catalog", Aliases: []string{"properties"}, Usage: "Singer catalog `FILE` with selected streams"},
			&cli.StringFlag{Name: "state", Usage: "state `FILE` (the last STATE value)"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := e.loadConfig(c)
			if err != nil {
				return err
			}
			if c.Bool("discover") {
				return pipeline.SingerDiscover(e.stdout)
			}
			return pipeline.SingerTap(c.Context, e.protocolOptions(c, cfg))
		},
	}
}

var windowFlags = []cli.Flag{
	&cli.StringFlag{Name: "start", Usage: "sync only calls that started at or after `DATE` (with --end: one orchestrator partition; the watermark does not move)"},
	&cli.StringFlag{Name: "end", Usage: "sync only calls that started before `DATE`"},
	&cli.StringFlag{Name: "streams", Usage: "comma-separated `LIST` of streams (default: all)"},
	&cli.BoolFlag{Name: "full-refresh", Usage: "forget the state of the streams synced (all, or --streams) and read them again from start_date; the rows already loaded stay and are updated"},
}

func extractCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "extract",
		Usage: "sync into typed Parquet files under --out, one folder per stream, and save the state",
		Flags: append([]cli.Flag{configFlag,
			&cli.StringFlag{Name: "out", Usage: "output `DIR`"},
			&cli.StringFlag{Name: "state", Usage: "state `FILE` (default DIR/state.json)"},
		}, windowFlags...),
		Action: func(c *cli.Context) error {
			cfg, err := e.loadConfig(c)
			if err != nil {
				return err
			}
			if c.String("out") == "" {
				return usageErr("--out DIR is required")
			}
			win, err := e.orch.Window(c.String("start"), c.String("end"), c.String("streams"))
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := pipeline.Extract(c.Context, pipeline.ExtractOptions{Config: cfg, Out: c.String("out"), StatePath: c.String("state"),
				Window: win, FullRefresh: c.Bool("full-refresh"), Logger: e.log, Stop: e.stop})
			if res != nil {
				e.log.Info("extract finished", "calls", res.Calls, "requests", res.Requests, "files", res.Files, "seconds", time.Since(start).Seconds())
				if err == nil {
					if err := e.orch.Pipes().Calls(res.Pending, res.Abandoned); err != nil {
						return err
					}
					return e.orch.Summary(e.stdout, map[string]any{"command": "extract", "result": res, "seconds": time.Since(start).Seconds()})
				}
			}
			return err
		},
	}
}
