package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/orchestrator"
)

// orchestrated adds the orchestrator flags to a command and runs its action
// inside an orchestrator.Run: Dagster Pipes, the summary last and in
// --summary-file, --skip-exit-code (skippable commands).
func orchestrated(e *env, cmd *cli.Command, skippable bool) *cli.Command {
	return orchestrator.Wrap(cmd, skippable, func(c *cli.Context) orchestrator.Options {
		opt := orchestrator.FromFlags(c, os.Getenv)
		opt.Stdout, opt.Stderr, opt.Filter, opt.Logger = e.stdout, e.stderr, e.stderr.Filter, e.log
		return opt
	}, func(o *orchestrator.Run) { e.orch, e.log = o, o.Logger() })
}
