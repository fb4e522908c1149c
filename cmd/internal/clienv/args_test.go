package clienv

import (
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp has chorus-elt's global flags and commands of each shape: flags
// with values, boolean flags, positional arguments, subcommands.
func testApp() *cli.App {
	return &cli.App{
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "log-format"}, &cli.StringFlag{Name: "log-level"}, &cli.BoolFlag{Name: "version"},
		},
		Commands: []*cli.Command{
			{Name: "run", Flags: []cli.Flag{&cli.StringFlag{Name: "config"}, &cli.BoolFlag{Name: "keep-files"}}},
			{Name: "search", Flags: []cli.Flag{&cli.StringFlag{Name: "since"}, &cli.BoolFlag{Name: "json"}}},
			{Name: "state", Subcommands: []*cli.Command{
				{Name: "show", Flags: []cli.Flag{&cli.StringFlag{Name: "config"}}},
				{Name: "reset", Flags: []cli.Flag{&cli.StringFlag{Name: "config"}, &cli.BoolFlag{Name: "yes"}}},
			}},
		},
	}
}

func TestPermute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"x", "x"},
		{"x --version", "x --version"},
		{"x --log-level warn run", "x --log-level warn run"},
		// Global flags after the command move before it.
		{"x run --log-level debug --config c.json", "x --log-level debug run --config c.json"},
		{"x run --config c.json --log-format=json --keep-files", "x --log-format=json run --config c.json --keep-files"},
		{"x run --version", "x --version run"},
		// Flags after positional arguments are read as flags.
		{"x search phrase --since 2026-01-01 --json", "x search --since 2026-01-01 --json -- phrase"},
		{"x search phrase --log-level debug", "x --log-level debug search -- phrase"},
		{"x search - --json", "x search --json -- -"},
		// Subcommands of state keep their place and their flags.
		{"x state reset calls --yes --log-level debug", "x --log-level debug state reset --yes -- calls"},
		{"x state show --config c.json", "x state show --config c.json"},
		{"x state reset calls utterances --yes", "x state reset --yes -- calls utterances"},
		// After "--" everything is positional, even what looks like a flag.
		{"x search --json -- --log-level", "x search --json -- --log-level"},
		{"x search a -- -b --json", "x search -- a -b --json"},
		// An unknown command, or no command, is left as it is.
		{"x nope --log-level debug", "x nope --log-level debug"},
		{"x --log-level debug", "x --log-level debug"},
	} {
		got := Permute(testApp(), strings.Fields(tc.in))
		if want := strings.Fields(tc.want); !slices.Equal(got, want) {
			t.Errorf("Permute(%q) = %q, want %q", tc.in, got, want)
		}
	}
}

// What Permute returns is read by the cli package as meant: the global flag,
// the command's flags and the positional arguments each in their place.
func TestPermuteParses(t *testing.T) {
	app := testApp()
	var level, since string
	var json bool
	var args []string
	app.Commands[1].Action = func(c *cli.Context) error {
		level, since, json, args = c.String("log-level"), c.String("since"), c.Bool("json"), c.Args().Slice()
		return nil
	}
	in := strings.Fields("x search big deal --since 2026-01-01 --log-level debug --json")
	if err := app.Run(Permute(app, in)); err != nil {
		t.Fatal(err)
	}
	if level != "debug" || since != "2026-01-01" || !json || !slices.Equal(args, []string{"big", "deal"}) {
		t.Errorf("read log-level %q, since %q, json %v, args %q", level, since, json, args)
	}
}
