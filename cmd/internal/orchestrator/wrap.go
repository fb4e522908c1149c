package orchestrator

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/connector/config"
)

// Wrap adds the orchestrator flags to a command and runs its action inside
// a Run: options gives the Run's options (called once the command line is
// parsed), started hands the Run to the command before its action runs, and
// Finish ends it with the action's error. A bad orchestrator flag is a
// *config.Error (exit 2).
func Wrap(cmd *cli.Command, skippable bool, options func(*cli.Context) Options, started func(*Run)) *cli.Command {
	cmd.Flags = append(cmd.Flags, Flags(skippable)...)
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		r, err := Start(options(c))
		if err != nil {
			return &config.Error{Msg: err.Error()}
		}
		started(r)
		return r.Finish(action(c))
	}
	return cmd
}

// Summary is the command's one-line JSON summary: a Run keeps it for
// Finish to print last; without a Run (nil) it is printed on w at once.
func (r *Run) Summary(w io.Writer, v any) error {
	if r != nil {
		r.Keep(v)
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
