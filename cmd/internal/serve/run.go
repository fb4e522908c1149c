package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// RunOptions are what `chorus-elt serve` reads from its flags and the
// environment.
type RunOptions struct {
	// Warehouse is the --warehouse URL; WarehouseOptions how to open it.
	Warehouse        string
	WarehouseOptions warehouse.Options
	Addr             string // HOST:PORT
	Tokens           []string
	WebhookSecret    string
	// Config is the Chorus connector's; nil: serve only reads (no webhook
	// syncs, no --sync-every).
	Config    *config.Config
	Transform transforms.Options
	SyncEvery time.Duration
	// Out holds the Parquet files between a sync's extract and load;
	// "" is pipeline.DefaultOutDir.
	Out    string
	Logger *slog.Logger
}

// Run serves until ctx is done. With a Config it syncs into the warehouse
// (the webhook's calls, and every SyncEvery); a DuckDB file is then opened
// read-write and is serve's alone while it runs (DuckDB allows one writing
// process), and the syncs write through the same connection the reads
// use. Without a Config a DuckDB file is opened read-only.
func Run(ctx context.Context, o RunOptions) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	syncs := o.Config != nil
	if !syncs && o.SyncEvery > 0 {
		return errors.New("serve: --sync-every needs --config (the Chorus connector's)")
	}
	if o.SyncEvery < 0 {
		return fmt.Errorf("serve: --sync-every %s: want a positive duration", o.SyncEvery)
	}
	wopt := o.WarehouseOptions
	wopt.Logger = o.Logger
	wopt.ReadOnly = !syncs && strings.HasPrefix(o.Warehouse, "duckdb:")
	w, err := warehouse.Open(ctx, o.Warehouse, wopt)
	if err != nil {
		return err
	}
	defer w.Close()

	opts := Options{Warehouse: w, Tokens: o.Tokens, WebhookSecret: o.WebhookSecret, SyncEvery: o.SyncEvery, Logger: o.Logger}
	if syncs {
		opts.Syncer = newPipelineSyncer(o, w)
	} else if o.WebhookSecret != "" {
		o.Logger.Warn("the webhook is off: serve syncs only with --config")
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", o.Addr, err)
	}
	o.Logger.Info("serving", "url", "http://"+ln.Addr().String()+"/", "warehouse", w.Dialect(), "syncs", syncs,
		"sync_every", o.SyncEvery.String(), "webhook", opts.Syncer != nil && o.WebhookSecret != "")
	return s.Serve(ctx, ln)
}

// newPipelineSyncer sets up the syncs of Run: the state where `chorus-elt
// run` keeps it (the config's state_store, else OUT/state.JSON), and, for
// DuckDB, the connection Run reads through.
func newPipelineSyncer(o RunOptions, w warehouse.Warehouse) *PipelineSyncer {
	p := pipeline.Options{Config: o.Config, Warehouse: o.Warehouse, WarehouseOptions: o.WarehouseOptions, Out: o.Out,
		Transform: o.Transform, Logger: o.Logger}
	if p.Out == "" {
		p.Out = pipeline.DefaultOutDir(o.Warehouse)
	}
	if o.Config.StateStore != "warehouse" {
		p.StatePath = filepath.Join(p.Out, "state.JSON")
	}
	if w.Dialect() == answers.DuckDB {
		p.Opened = w
	}
	return &PipelineSyncer{Run: p, Log: o.Logger}
}

// ReadTokens reads a token file: tokens separated by newlines or commas;
// blank lines and lines starting with # are skipped.
func ReadTokens(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serve: token file: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		out = append(out, SplitTokens(line)...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("serve: token file %s holds no token", path)
	}
	return out, nil
}

// SplitTokens splits a comma-separated list of tokens (CHORUS_SERVE_TOKEN),
// dropping blanks.
func SplitTokens(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}
