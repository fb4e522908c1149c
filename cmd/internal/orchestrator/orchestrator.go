// Package orchestrator is what run, extract, load and transform do for the
// scheduler that starts them: speak Dagster Pipes (package
// pipeline/dagster) when Dagster starts them — the context's window and
// assets in, logs, materializations and checks out — print the JSON
// summary as the last line of their output (after the Pipes session is
// closed and every log line is written: Airflow's BashOperator pushes the
// last line), copy it to a summary file (the error instead on failure:
// KubernetesPodOperator's XCom), and exit with the skip code when nothing
// new was found. It reads no environment variable: the caller passes the
// bootstrap values.
package orchestrator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// Options configure one command's Run.
type Options struct {
	Command string // the command's name, for the failure summary
	// PipesContext and PipesMessages are Dagster's bootstrap values (flag,
	// else environment); PipesContext empty: not under Dagster.
	PipesContext, PipesMessages string
	// SummaryFile, when set, receives the summary (or the error).
	SummaryFile string
	// SkipExitCode, when not 0, is the exit code of a command that found
	// nothing new (3 to 255).
	SkipExitCode int
	// Stdout receives the summary (and Pipes messages for {"stdio":
	// "stdout"}), Stderr the Pipes messages for {"stdio": "stderr"}.
	Stdout, Stderr io.Writer
	// Filter removes the API token from what is written to files (the
	// messages file, the summary file).
	Filter func([]byte) []byte
	Logger *slog.Logger
}

// Flags are the orchestrator flags of a command; --skip-exit-code only for
// a skippable one (run, extract, load).
func Flags(skippable bool) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: dagster.ContextFlag, Usage: "Dagster Pipes context `VALUE` (default $" + dagster.ContextEnv + ")"},
		&cli.StringFlag{Name: dagster.MessagesFlag, Usage: "Dagster Pipes messages `VALUE` (default $" + dagster.MessagesEnv + ")"},
		&cli.StringFlag{Name: "summary-file", Usage: "also write the JSON summary to `PATH`; the error on failure (KubernetesPodOperator: /airflow/xcom/return.json)"},
	}
	if skippable {
		flags = append(flags, &cli.IntFlag{Name: "skip-exit-code", Usage: "exit `N` when nothing new was found (Airflow skips on 99)"})
	}
	return flags
}

// FromFlags reads Flags; the Pipes values default to the environment
// variables, read with getenv.
func FromFlags(c *cli.Context, getenv func(string) string) Options {
	or := func(flag, env string) string {
		if v := c.String(flag); v != "" {
			return v
		}
		return getenv(env)
	}
	return Options{Command: c.Command.Name, SummaryFile: c.String("summary-file"), SkipExitCode: c.Int("skip-exit-code"),
		PipesContext: or(dagster.ContextFlag, dagster.ContextEnv), PipesMessages: or(dagster.MessagesFlag, dagster.MessagesEnv)}
}

// Run is one orchestrated command.
type Run struct {
	opt     Options
	pipes   *Reporter
	log     *slog.Logger
	summary any
}

// ExitCode ends the command with its own exit code (the skip code).
type ExitCode struct{ Code int }

func (x *ExitCode) Error() string { return fmt.Sprintf("exit %d: nothing new", x.Code) }

// Start checks the options and opens the Pipes session when Dagster's
// context is given. Its errors are usage errors.
func Start(opt Options) (*Run, error) {
	if n := opt.SkipExitCode; n < 0 || n > 255 || n == 1 || n == 2 {
		return nil, fmt.Errorf("--skip-exit-code %d: use 3 to 255 (Airflow's default is 99)", n)
	}
	if opt.Filter == nil {
		opt.Filter = func(p []byte) []byte { return p }
	}
	r := &Run{opt: opt, log: opt.Logger}
	if opt.PipesContext == "" {
		if opt.PipesMessages != "" {
			return nil, fmt.Errorf("dagster pipes: a messages value without a context value (--%s or $%s)", dagster.ContextFlag, dagster.ContextEnv)
		}
		return r, nil
	}
	s, err := dagster.OpenWith(opt.PipesContext, opt.PipesMessages, dagster.Options{Stdout: opt.Stdout, Stderr: opt.Stderr,
		OpenAppend: func(path string) (io.WriteCloser, error) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
			if err != nil {
				return nil, err
			}
			return &filteredFile{File: f, filter: opt.Filter}, nil
		}})
	if err != nil {
		return nil, err
	}
	r.pipes = New(s)
	r.log = slog.New(dagster.LogHandler(opt.Logger.Handler(), s, slog.LevelInfo))
	return r, nil
}

// Logger is the command's logger: under Dagster it also sends the log
// lines (info and above) to Dagster.
func (r *Run) Logger() *slog.Logger { return r.log }

// Pipes is the Dagster reporter; nil (whose methods do nothing) when not
// under Dagster or on a nil Run.
func (r *Run) Pipes() *Reporter {
	if r == nil {
		return nil
	}
	return r.pipes
}

// Window reads --start, --end and --streams (pipeline.ParseWindow); under
// Dagster the context fills what they leave (Reporter.Apply). Errors are
// *config.Error (exit 2).
func (r *Run) Window(start, end, streams string) (pipeline.Window, error) {
	w, err := pipeline.ParseWindow(start, end, streams)
	if err != nil {
		return w, err
	}
	if w, err = r.Pipes().Apply(w); err != nil {
		return w, &config.Error{Msg: err.Error()}
	}
	return w, nil
}

// Keep holds the command's summary until Finish.
func (r *Run) Keep(summary any) { r.summary = summary }

// Finish ends the command with its error: closes the Pipes session (with
// the error as the exception), writes the summary file (the error on
// failure), prints the summary, and returns the error, or an *ExitCode
// when nothing new was found and a skip code is set.
func (r *Run) Finish(err error) error {
	if cerr := r.pipes.Close(err); err == nil && cerr != nil {
		err = cerr
	}
	v := r.summary
	if err != nil {
		v = map[string]any{"command": r.opt.Command, "error": err.Error()}
	}
	if r.opt.SummaryFile != "" {
		b, jerr := json.Marshal(v)
		if jerr == nil {
			jerr = state.WriteFileAtomic(r.opt.SummaryFile, r.opt.Filter(append(b, '\n')))
		}
		if jerr != nil && err == nil {
			err = fmt.Errorf("--summary-file: %w", jerr)
		}
	}
	if err != nil || v == nil {
		return err
	}
	skip := r.opt.SkipExitCode != 0 && pipeline.NothingNew(v)
	if skip {
		r.opt.Logger.Info("nothing new found", "exit_code", r.opt.SkipExitCode)
	}
	b, err := json.Marshal(v)
	if err == nil {
		_, err = fmt.Fprintf(r.opt.Stdout, "%s\n", b)
	}
	if err == nil && skip {
		err = &ExitCode{Code: r.opt.SkipExitCode}
	}
	return err
}

// IsExitCode returns the exit code an error asks for.
func IsExitCode(err error) (int, bool) {
	var x *ExitCode
	if errors.As(err, &x) {
		return x.Code, true
	}
	return 0, false
}

// filteredFile is a file written without the token.
type filteredFile struct {
	*os.File
	filter func([]byte) []byte
}

func (f *filteredFile) Write(p []byte) (int, error) {
	if _, err := f.File.Write(f.filter(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
