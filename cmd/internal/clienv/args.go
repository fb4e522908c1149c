package clienv

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// Permute puts a command line in the order the flag package reads: global
// flags first (wherever they were given), then the command, its flags, and
// its positional arguments after "--". So `chorus-elt search "phrase"
// --since 2026-01-01` reads --since as a flag, and `chorus-elt run
// --log-level debug` reads the global flag: the flag package stops at the
// first positional argument, and a command knows only its own flags.
func Permute(app *cli.App, args []string) []string {
	if len(args) == 0 {
		return args
	}
	global := []string{args[0]}
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") { // global flags
		global = append(global, args[i])
		if !strings.Contains(args[i], "=") && !isBoolFlag(app.Flags, args[i]) && i+1 < len(args) {
			i++
			global = append(global, args[i])
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
	out := []string{args[i]}
	for i+1 < len(args) && cmd.Command(args[i+1]) != nil { // subcommands
		i++
		cmd = cmd.Command(args[i])
		out = append(out, args[i])
	}
	var positional []string
	for j := i + 1; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "--":
			positional = append(positional, args[j+1:]...)
			j = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags, dst := cmd.Flags, &out
			if !hasFlag(cmd.Flags, a) && hasFlag(app.Flags, a) {
				flags, dst = app.Flags, &global
			}
			*dst = append(*dst, a)
			if !strings.Contains(a, "=") && !isBoolFlag(flags, a) && j+1 < len(args) {
				j++
				*dst = append(*dst, args[j])
			}
		default:
			positional = append(positional, a)
		}
	}
	out = append(global, out...)
	if len(positional) > 0 {
		out = append(append(out, "--"), positional...)
	}
	return out
}

func flagName(arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name
}

func hasFlag(flags []cli.Flag, arg string) bool {
	name := flagName(arg)
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

// isBoolFlag reports whether arg names a boolean flag (or help), which takes
// no value.
func isBoolFlag(flags []cli.Flag, arg string) bool {
	name := flagName(arg)
	if name == "help" || name == "h" || name == "version" || name == "v" {
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
