package clienv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// Environment variables the warehouse commands read.
const (
	// BigQueryEmulatorEnv (host:port), as Google's other clients read it,
	// points the BigQuery path at an emulator, without credentials.
	BigQueryEmulatorEnv = "BIGQUERY_EMULATOR_HOST"
	// DuckDBMemoryEnv sets DuckDB's memory_limit (e.g. 1GB).
	DuckDBMemoryEnv = "CHORUS_ELT_DUCKDB_MEMORY_LIMIT"
)

// WarehouseOptions are what the environment (read with getenv) and the
// --bigquery-location flag say of the warehouse.
func WarehouseOptions(getenv func(string) string, location string, log *slog.Logger) warehouse.Options {
	return warehouse.Options{BigQueryEndpoint: getenv(BigQueryEmulatorEnv), DuckDBMemoryLimit: getenv(DuckDBMemoryEnv),
		Location: location, Logger: log}
}

// WarehouseErr makes a bad warehouse URL or option a usage error (exit
// 2); a bad option names the variable it came from and its value.
func WarehouseErr(err error, getenv func(string) string) error {
	var ue *warehouse.URLError
	var oe *warehouse.OptionError
	switch {
	case errors.As(err, &ue):
		return Usage("%v", err)
	case errors.As(err, &oe):
		return Usage("%s=%q: %v", DuckDBMemoryEnv, getenv(DuckDBMemoryEnv), err)
	}
	return err
}

// Usage is a bad command line: exit 2 (and an Airbyte config_error).
func Usage(format string, a ...any) error { return &config.Error{Msg: fmt.Sprintf(format, a...)} }

// IsUsage reports whether err is a usage error: a bad config, token or
// state, or a flag the command line got wrong.
func IsUsage(err error) bool {
	return connector.IsUsage(err) || strings.Contains(err.Error(), "flag provided but not defined") || strings.Contains(err.Error(), "Required flag")
}

// errReported marks an error already written out (as a protocol message).
var errReported = errors.New("reported")

// Reported wraps an error that a protocol message already described: it
// keeps its exit code, and IsReported says not to print it again.
func Reported(err error) error { return &reportedErr{err} }

// IsReported reports whether err was already written out.
func IsReported(err error) bool { return errors.Is(err, errReported) }

type reportedErr struct{ err error }

func (r *reportedErr) Error() string   { return r.err.Error() }
func (r *reportedErr) Unwrap() []error { return []error{r.err, errReported} }

// RunApp runs the app; a panic becomes an ordinary failure (exit 1) with
// one line, instead of a crash whose trace could carry request data.
func RunApp(ctx context.Context, app *cli.App, args []string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error (a bug; please report it): %v", r)
		}
	}()
	return app.RunContext(ctx, args)
}
