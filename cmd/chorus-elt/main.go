// Command chorus-elt moves ZoomInfo Chorus conversation data into a
// warehouse: extract (Airbyte, Singer or Parquet), load (DuckDB, BigQuery)
// and transform (versioned SQL).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	ctx, stop, release := onSignals(context.Background())
	code := run(ctx, stop, os.Args, os.Stdout, os.Stderr)
	release()
	os.Exit(code)
}

// stopGrace is how long the work in flight may take after SIGINT or
// SIGTERM before it is cancelled.
const stopGrace = 20 * time.Second

// onSignals turns the first SIGINT or SIGTERM (what Airflow and Kubernetes
// send) into a clean stop: stop is closed, so a sync starts no new request,
// writes what it fetched and checkpoints; the context is cancelled after
// stopGrace or at a second signal.
func onSignals(parent context.Context) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	stopped := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		close(stopped)
		select {
		case <-sigs:
		case <-time.After(stopGrace):
		case <-done:
		}
		cancel()
	}()
	return ctx, stopped, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// env is what commands share: the streams, the logger and the stop signal.
type env struct {
	stdout io.Writer
	stderr *redactor
	out    *redactor // stdout, when it is run's own (nil in some tests)
	log    *slog.Logger
	stop   <-chan struct{}
}

// stopped reports whether a stop was asked for (SIGINT, SIGTERM).
func (e *env) stopped() bool {
	select {
	case <-e.stop:
		return true
	default:
		return false
	}
}

// redactToken arms the token filter on stdout and stderr.
func (e *env) redactToken(s config.Secret) {
	e.stderr.setSecret(s)
	if e.out != nil {
		e.out.setSecret(s)
	}
}

// run executes the CLI and returns the exit code. Closing stop asks a
// running sync to stop cleanly (nil: never).
func run(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) int {
	out := &redactor{w: stdout}
	e := &env{stdout: out, stderr: &redactor{w: stderr}, out: out, stop: stop}
	unknown := ""
	app := &cli.App{
		Name:      "chorus-elt",
		Usage:     "move ZoomInfo Chorus calls, transcripts and insights into DuckDB or BigQuery",
		Writer:    stdout,
		ErrWriter: e.stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "auto (text on a terminal, else JSON), text or json"},
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
		},
		Before: func(c *cli.Context) error {
			l, err := newLogger(c.String("log-format"), c.String("log-level"), e.stderr)
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
		CommandNotFound: func(_ *cli.Context, name string) {
			unknown = name
		},
		Commands: commands(e),
	}
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
	}
	err := runApp(ctx, app, permuteArgs(app, args))
	if err == nil && unknown != "" {
		err = usageErr("unknown command %q; see chorus-elt --help", unknown)
	}
	if err == nil {
		return exitOK
	}
	code := exitFailure
	if connector.IsUsage(err) || isUsage(err) {
		code = exitUsage
	}
	if !errors.Is(err, errReported) {
		fmt.Fprintf(e.stderr, "chorus-elt: %v\n", err)
	}
	return code
}

// commands lists every subcommand; each lives in the file named for it.
func commands(e *env) []*cli.Command {
	return []*cli.Command{
		specCommand(e), checkCommand(e), discoverCommand(e), readCommand(e), singerCommand(e),
		extractCommand(e), loadCommand(e), runCommand(e), demoCommand(e),
		transformCommand(e), searchCommand(e), transcriptCommand(e), queryCommand(e), fakeAPICommand(),
	}
}

// runApp runs the app; a panic becomes an ordinary failure (exit 1) with
// one line, instead of a crash whose trace could carry request data.
func runApp(ctx context.Context, app *cli.App, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (a bug; please report it): %v", r)
		}
	}()
	return app.RunContext(ctx, args)
}

// permuteArgs moves a command's positional arguments after its flags, so
// that `chorus-elt search "phrase" --since 2026-01-01` reads --since as a
// flag: the flag package stops at the first positional argument.
func permuteArgs(app *cli.App, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") { // global flags
		if !strings.Contains(args[i], "=") && !isBoolFlag(app.Flags, args[i]) {
			i++
		}
		i++
	}
	if i >= len(args) {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	out := append([]string{}, args[:i+1]...)
	var positional []string
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "--":
			positional = append(positional, args[j+1:]...)
			j = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			out = append(out, a)
			if !strings.Contains(a, "=") && !isBoolFlag(cmd.Flags, a) && j+1 < len(args) {
				j++
				out = append(out, args[j])
			}
		default:
			positional = append(positional, a)
		}
	}
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

// isBoolFlag reports whether arg names a boolean flag (or help), which takes
// no value.
func isBoolFlag(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if name == "help" || name == "h" {
		return true
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				_, ok := f.(*cli.BoolFlag)
				return ok
			}
		}
	}
	return false
}

// errReported marks an error already written out (as a protocol message).
var errReported = errors.New("reported")

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usageErr(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func isUsage(err error) bool {
	var u *usageError
	var se *state.Error
	return errors.As(err, &u) || errors.As(err, &se) || strings.Contains(err.Error(), "flag provided but not defined") || strings.Contains(err.Error(), "Required flag")
}

// reported wraps an error that a protocol message already described, keeping
// its exit code.
type reportedErr struct{ err error }

func (r *reportedErr) Error() string   { return r.err.Error() }
func (r *reportedErr) Unwrap() []error { return []error{r.err, errReported} }

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if isTerminal(os.Stderr) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use auto, text or json", format)
	}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// redactor removes the API token from everything written to stdout and
// stderr, as a last line of defence: the token is never logged on purpose.
type redactor struct {
	mu     sync.Mutex
	w      io.Writer
	secret []byte
}

// tokenWitness is a writer that wants to know what the redactor did: the
// tests, which read the output as the commands wrote it and count the
// tokens replaced (a token the filter caught is still a leak). The redactor
// hands it the filtered bytes (out), the bytes it was given (in) and the
// number of replacements, instead of calling Write.
type tokenWitness interface {
	writeRedacted(out, in []byte, replaced int) (int, error)
}

func (r *redactor) setSecret(s config.Secret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(s) >= 4 {
		r.secret = []byte(string(s))
	}
}

func (r *redactor) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, n := p, 0
	if len(r.secret) > 0 {
		if n = bytes.Count(p, r.secret); n > 0 {
			out = bytes.ReplaceAll(p, r.secret, []byte("[redacted]"))
		}
	}
	var err error
	if tw, ok := r.w.(tokenWitness); ok {
		_, err = tw.writeRedacted(out, p, n)
	} else {
		_, err = r.w.Write(out)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
