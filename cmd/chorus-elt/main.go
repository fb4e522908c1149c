// Command chorus-elt moves ZoomInfo Chorus conversation data into a
// warehouse: extract (Airbyte, Singer or Parquet), load (DuckDB, BigQuery)
// and transform (versioned SQL).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"
	"github.com/chorus-elt/chorus-elt/cmd/internal/orchestrator"
	"github.com/chorus-elt/chorus-elt/cmd/internal/version"
	"github.com/chorus-elt/chorus-elt/connector/config"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// stopGrace is how long the work in flight may take after SIGINT or
// SIGTERM before it is cancelled.
const stopGrace = 20 * time.Second

func main() {
	ctx, stop, release := clienv.OnSignals(context.Background(), stopGrace)
	code := run(ctx, stop, os.Args, os.Stdout, os.Stderr)
	release()
	os.Exit(code)
}

// env is what commands share: the streams, the logger and the stop signal.
type env struct {
	stdout io.Writer
	stderr *clienv.Redactor
	out    *clienv.Redactor
	log    *slog.Logger
	stop   <-chan struct{}
	orch   *orchestrator.Run // run, extract, load, transform: see orchestrated
}

// redactToken arms the token filter on stdout and stderr.
func (e *env) redactToken(s config.Secret) {
	e.stderr.SetSecret(string(s))
	e.out.SetSecret(string(s))
}

// run executes the CLI and returns the exit code. Closing stop asks a
// running sync to stop cleanly (nil: never).
func run(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) int {
	out := clienv.NewRedactor(stdout)
	e := &env{stdout: out, stderr: clienv.NewRedactor(stderr), out: out, stop: stop}
	app := &cli.App{
		Name:      "chorus-elt",
		Usage:     "move ZoomInfo Chorus calls, transcripts and insights into DuckDB or BigQuery",
		Writer:    stdout,
		ErrWriter: e.stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "auto (text on a terminal, else JSON), text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		HideVersion: true,
		Before: func(c *cli.Context) error {
			l, err := clienv.NewLogger(c.String("log-format"), c.String("log-level"), e.stderr)
			if err != nil {
				return usageErr("%v", err)
			}
			e.log = l
			return nil
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErr("%v", err)
		},
		ExitErrHandler: func(*cli.Context, error) {}, // exit codes are decided below
		Commands:       commands(e),
	}
	app.Flags = append(app.Flags, &cli.BoolFlag{Name: "version", Usage: "print the version, the commit and the DuckDB version"})
	app.Action = func(c *cli.Context) error {
		switch {
		case c.Bool("version"):
			_, err := fmt.Fprint(e.stdout, version.Get(c.Context))
			return err
		case c.NArg() > 0:
			return usageErr("unknown command %q; see chorus-elt --help", c.Args().First())
		}
		return cli.ShowAppHelp(c)
	}
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
	}
	err := clienv.RunApp(ctx, app, clienv.Permute(app, args))
	if err == nil {
		return exitOK
	}
	if code, ok := orchestrator.IsExitCode(err); ok {
		return code
	}
	code := exitFailure
	if clienv.IsUsage(err) {
		code = exitUsage
	}
	if !clienv.IsReported(err) {
		fmt.Fprintf(e.stderr, "chorus-elt: %v\n", err)
	}
	return code
}

// commands lists every subcommand; each lives in the file named for it.
func commands(e *env) []*cli.Command {
	return []*cli.Command{
		specCommand(e), checkCommand(e), discoverCommand(e), readCommand(e), singerCommand(e),
		orchestrated(e, extractCommand(e), true), orchestrated(e, loadCommand(e), true), orchestrated(e, runCommand(e), true),
		demoCommand(e), stateCommand(e), orchestrated(e, transformCommand(e), false), searchCommand(e), transcriptCommand(e),
		queryCommand(e), fakeAPICommand(), serveCommand(e),
	}
}

// usageErr is a bad command line: exit 2 (and an Airbyte config_error).
func usageErr(format string, a ...any) error { return clienv.Usage(format, a...) }
