package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// reach wraps a transport to say at once when the API's host cannot be
// reached (connection refused, unknown host, no route): the client retries
// such failures quietly, and a wrong base_url would otherwise show only
// after every retry. With failFast set (check), the first such failure
// ends the request's context with the failure as its cause.
type reach struct {
	rt       http.RoundTripper
	log      *slog.Logger
	base     string
	once     sync.Once
	failFast context.CancelCauseFunc
}

func (r *reach) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.rt.RoundTrip(req)
	if err != nil && unreachable(err) {
		r.once.Do(func() {
			r.log.Warn("cannot reach the API; retrying", "base_url", r.base, "error", err.Error())
		})
		if r.failFast != nil {
			r.failFast(fmt.Errorf("cannot reach %s: %w", r.base, err))
		}
	}
	return resp, err
}

// unreachable reports whether err means the host cannot be reached at all
// (as opposed to a timeout or a broken response).
func unreachable(err error) bool {
	var dns *net.DNSError
	var op *net.OpError
	return errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial" && !op.Timeout())
}

// watchReach returns hc (nil: a new client) with its transport wrapped.
func watchReach(hc *http.Client, log *slog.Logger, base string, failFast context.CancelCauseFunc) *http.Client {
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	rt := c.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		rt = t
	}
	c.Transport = &reach{rt: rt, log: log, base: base, failFast: failFast}
	return c
}

// Check lists one day of calls: a bad token, an unreachable host or a
// failing API is an error. Connection refused and unknown hosts fail at
// the first attempt.
func Check(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hc := watchReach(nil, log, cfg.BaseURL, cancel)
	api := chorusapi.NewV3(client.New(cfg, client.Options{Logger: log, HTTPClient: hc}))
	now := time.Now().UTC()
	_, err := api.ListEngagements(ctx, chorusapi.ListQuery{From: now.Add(-24 * time.Hour), To: now})
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// FlushSink is a protocol sink that buffers its output.
type FlushSink interface {
	engine.Sink
	Flush() error
}

// Sync runs one sync of the selected streams (nil: all) into a protocol
// sink (Airbyte read, Singer tap), from st.
func Sync(ctx context.Context, cfg *config.Config, selected map[string]bool, st *state.State, sink FlushSink, log *slog.Logger, stop <-chan struct{}) error {
	hc := watchReach(nil, log, cfg.BaseURL, nil)
	_, err := engine.Sync(ctx, engine.Options{
		Config: cfg, API: chorusapi.NewV3(client.New(cfg, client.Options{Logger: log, HTTPClient: hc})),
		Selected: selected, Logger: log, SyncID: connector.NewSyncID(time.Now()), Stop: stop,
	}, st, sink)
	if ferr := sink.Flush(); err == nil {
		err = ferr
	}
	return err
}

// ExtractOptions is one `extract`: a sync into Parquet under Out.
type ExtractOptions struct {
	Config      *config.Config
	Out         string
	StatePath   string // "" is Out/state.json
	Window      Window
	FullRefresh bool // forget the selected streams' state first
	Logger      *slog.Logger
	Stop        <-chan struct{}
}

// Extract runs an extract, holding Out's lock; the state is saved at every
// checkpoint.
func Extract(ctx context.Context, opt ExtractOptions) (*connector.ExtractResult, error) {
	unlock, err := LockDir(opt.Out)
	if err != nil {
		return nil, err
	}
	defer unlock()
	path := opt.StatePath
	if path == "" {
		path = StatePath("", "file", opt.Out)
	}
	st, err := state.Load(path, opt.Config.BaseURL)
	if err != nil {
		return nil, err
	}
	if opt.FullRefresh {
		if _, err := st.ResetStreams(opt.Window.selectedNames()); err != nil {
			return nil, err
		}
	}
	return connector.Extract(ctx, connector.ExtractOptions{
		Config: opt.Config, OutDir: opt.Out, State: st, Selected: opt.Window.Selected, From: opt.Window.From, To: opt.Window.To,
		Logger: opt.Logger, Stop: opt.Stop, HTTP: watchReach(nil, opt.Logger, opt.Config.BaseURL, nil),
		SaveState: func(s *state.State) error { return state.Save(path, s) },
	})
}
