package main

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// stateCommand shows and edits the state `run` starts from: the file or
// the warehouse's, found as run finds it (same flags, same config).
func stateCommand(e *env) *cli.Command {
	flags := []cli.Flag{configFlag, warehouseFlag, locationFlag, stateFlag, outFlag}
	return &cli.Command{
		Name:  "state",
		Usage: "show, reset or move the state `run` starts from (its file, or the warehouse's)",
		Subcommands: []*cli.Command{{
			Name:  "show",
			Usage: "print the state document",
			Flags: flags,
			Action: func(c *cli.Context) error {
				_, st, _, err := e.openState(c)
				if err != nil {
					return err
				}
				_, err = e.stdout.Write(st.Marshal())
				return err
			},
		}, {
			Name:      "reset",
			Usage:     "forget the state of the streams named (none: all), so that the next run reads them again from start_date; needs --yes",
			ArgsUsage: "[STREAM…]",
			Flags:     append(flags, &cli.BoolFlag{Name: "yes", Usage: "confirm the reset"}),
			Action: func(c *cli.Context) error {
				p, st, where, err := e.openState(c)
				if err != nil {
					return err
				}
				fams, err := st.ResetStreams(c.Args().Slice())
				if err != nil {
					return err
				}
				if !c.Bool("yes") {
					return usageErr("this resets the stream families %s of the state in %s (the next run reads them again from start_date); add --yes to do it",
						strings.Join(fams, ", "), where)
				}
				if err := pipeline.WriteState(c.Context, p, st); err != nil {
					return err
				}
				return e.orch.Summary(e.stdout, map[string]any{"command": "state reset", "state": where, "families": fams})
			},
		}, {
			Name:      "set-watermark",
			Usage:     "move the cursor of a stream's family: the next run lists from TIME on (minus the look-back)",
			ArgsUsage: "STREAM TIME",
			Flags:     flags,
			Action: func(c *cli.Context) error {
				if c.NArg() != 2 {
					return usageErr("set-watermark wants STREAM TIME (RFC 3339 or YYYY-MM-DD)")
				}
				t, err := config.ParseDate(c.Args().Get(1))
				if err != nil {
					return usageErr("set-watermark: %v", err)
				}
				p, st, where, err := e.openState(c)
				if err != nil {
					return err
				}
				if err := st.SetWatermark(c.Args().First(), t, time.Now()); err != nil {
					return err
				}
				if err := pipeline.WriteState(c.Context, p, st); err != nil {
					return err
				}
				return e.orch.Summary(e.stdout, map[string]any{"command": "state set-watermark", "state": where, "stream": c.Args().First(), "watermark": t})
			},
		}},
	}
}

// openState reads the state run would start from, and says where it is.
func (e *env) openState(c *cli.Context) (pipeline.Options, *state.State, string, error) {
	cfg, err := e.loadConfig(c)
	if err != nil {
		return pipeline.Options{}, nil, "", err
	}
	p, err := e.runOptions(c, cfg)
	if err != nil {
		return p, nil, "", err
	}
	st, where, err := pipeline.OpenState(c.Context, p)
	return p, st, where, warehouseErr(err)
}
