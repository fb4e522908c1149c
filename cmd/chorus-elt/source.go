package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/protocol"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/schemas"
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
				api := chorusapi.NewV3(client.New(cfg, client.Options{Logger: e.log}))
				now := time.Now().UTC()
				_, err = api.ListEngagements(c.Context, chorusapi.ListQuery{From: now.Add(-24 * time.Hour), To: now})
			}
			if werr := protocol.AirbyteConnectionStatus(e.stdout, err); werr != nil {
				return werr
			}
			if err != nil {
				e.log.Error("check failed", "error", err.Error())
				if !connector.IsUsage(err) && !isUsage(err) {
					return &reportedErr{err}
				}
				return &reportedErr{&config.Error{Msg: err.Error()}}
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

// loadState reads --state (Airbyte and Singer envelopes are accepted): a
// path given that does not exist is an error, not a fresh start.
func loadState(path string, cfg *config.Config) (*state.State, error) {
	if path == "" {
		return state.New(cfg.BaseURL), nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &state.Error{Msg: fmt.Sprintf("state: cannot read %s: %v", path, err)}
	}
	return state.Load(path, cfg.BaseURL)
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
				return &reportedErr{err}
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
	doc, err := os.ReadFile(c.String("catalog"))
	if err != nil {
		return usageErr("catalog: %v", err)
	}
	selected, refresh, err := protocol.ParseConfiguredCatalog(doc)
	if err != nil {
		return err
	}
	st, err := loadState(c.String("state"), cfg)
	if err != nil {
		return err
	}
	for f := range refresh {
		st.Reset(f)
	}
	return e.syncTo(c.Context, cfg, selected, st, protocol.NewAirbyteSink(e.stdout, protocol.SelectedList(selected)))
}

// flushSink is a protocol sink that buffers its output.
type flushSink interface {
	engine.Sink
	Flush() error
}

// syncTo runs one sync of the selected streams into a protocol sink.
func (e *env) syncTo(ctx context.Context, cfg *config.Config, selected map[string]bool, st *state.State, sink flushSink) error {
	_, err := engine.Sync(ctx, engine.Options{
		Config: cfg, API: chorusapi.NewV3(client.New(cfg, client.Options{Logger: e.log})),
		Selected: selected, Logger: e.log, SyncID: connector.NewSyncID(time.Now()), Stop: e.stop,
	}, st, sink)
	if ferr := sink.Flush(); err == nil {
		err = ferr
	}
	return err
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
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(protocol.SingerCatalog())
			}
			var selected map[string]bool
			if p := c.String("catalog"); p != "" {
				doc, err := os.ReadFile(p)
				if err != nil {
					return usageErr("catalog: %v", err)
				}
				if selected, err = protocol.ParseSingerCatalog(doc); err != nil {
					return err
				}
			}
			st, err := loadState(c.String("state"), cfg)
			if err != nil {
				return err
			}
			sink := protocol.NewSingerSink(e.stdout, protocol.SelectedList(selected))
			if err := sink.WriteSchemas(); err != nil {
				return err
			}
			return e.syncTo(c.Context, cfg, selected, st, sink)
		},
	}
}

var windowFlags = []cli.Flag{
	&cli.StringFlag{Name: "start", Usage: "sync only calls that started at or after `DATE` (with --end: one orchestrator partition; the watermark does not move)"},
	&cli.StringFlag{Name: "end", Usage: "sync only calls that started before `DATE`"},
	&cli.StringFlag{Name: "streams", Usage: "comma-separated `LIST` of streams (default: all)"},
}

// windowAndStreams reads --start, --end and --streams.
func windowAndStreams(c *cli.Context) (from, to time.Time, selected map[string]bool, err error) {
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"start", &from}, {"end", &to}} {
		if v := c.String(f.name); v != "" {
			t, perr := config.ParseDate(v)
			if perr != nil {
				return from, to, nil, usageErr("--%s: %v", f.name, perr)
			}
			*f.dst = t
		}
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, nil, usageErr("--start must be before --end")
	}
	if !to.IsZero() && from.IsZero() {
		return from, to, nil, usageErr("--end needs --start")
	}
	if v := c.String("streams"); v != "" {
		selected = map[string]bool{}
		for _, n := range strings.Split(v, ",") {
			n = strings.TrimSpace(n)
			if schemas.Get(n) == nil {
				return from, to, nil, usageErr("--streams: unknown stream %q (streams: %s)", n, strings.Join(schemas.Names(), ", "))
			}
			selected[n] = true
		}
	}
	return from, to, selected, nil
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
			out := c.String("out")
			if out == "" {
				return usageErr("--out DIR is required")
			}
			from, to, selected, err := windowAndStreams(c)
			if err != nil {
				return err
			}
			statePath := c.String("state")
			if statePath == "" {
				statePath = out + "/state.json"
			}
			st, err := state.Load(statePath, cfg.BaseURL)
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := connector.Extract(c.Context, connector.ExtractOptions{
				Config: cfg, OutDir: out, State: st, Selected: selected, From: from, To: to, Logger: e.log, Stop: e.stop,
				SaveState: func(s *state.State) error { return state.Save(statePath, s) },
			})
			if res != nil {
				e.log.Info("extract finished", "calls", res.Calls, "requests", res.Requests, "files", res.Files, "seconds", time.Since(start).Seconds())
				if err == nil {
					return writeSummary(e, map[string]any{"command": "extract", "result": res, "seconds": time.Since(start).Seconds()})
				}
			}
			return err
		},
	}
}

// writeSummary prints the final one-line JSON summary on stdout.
func writeSummary(e *env, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s\n", b)
	return err
}
