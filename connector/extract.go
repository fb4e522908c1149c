// Package connector extracts a Chorus tenant: Extract composes the client,
// the API adapter, the sync engine and the Parquet sink; IsUsage and
// IsTransient classify what can go wrong. The parts live in the packages
// below: config, client, chorusapi, engine, derive, state, parquet, protocol,
// and the simulated tenant chorustest.
package connector

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/parquet"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// NewSyncID returns a unique id that sorts by time: 20260301T100000Z-1a2b3c.
func NewSyncID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// ExtractOptions sets up an extract to Parquet.
type ExtractOptions struct {
	Config *config.Config
	OutDir string
	// State is where the run starts; SaveState persists each checkpoint
	// after its files are durable.
	State     *state.State
	SaveState func(*state.State) error
	Selected  map[string]bool
	From, To  time.Time
	Logger    *slog.Logger
	HTTP      *http.Client
	Now       func() time.Time
	SyncID    string
	Backoff   time.Duration // first retry backoff; 0 = default
	// Stop ends the run early but cleanly (see Options.Stop).
	Stop <-chan struct{}
	// EngagementIDs restricts the extract to these calls (engine.Options).
	EngagementIDs []string
}

// ExtractResult says what an extract wrote.
type ExtractResult struct {
	*engine.Summary
	Files     int              `json:"files"`
	Bytes     map[string]int64 `json:"bytes"`
	Requests  int64            `json:"requests"`
	Retries   int64            `json:"retries"`
	Throttled int64            `json:"throttled"` // 429 answers
	// EffectiveRate is the requests the tenant accepted (429s excluded) per
	// second of the client's active time; RateLimit and MinRateLimit are the
	// adaptive budget's limit at the end and its lowest, in requests/second.
	EffectiveRate float64 `json:"effective_rate"`
	RateLimit     float64 `json:"rate_limit"`
	MinRateLimit  float64 `json:"min_rate_limit"`
}

// Extract syncs the tenant into typed Parquet under OutDir.
func Extract(ctx context.Context, opt ExtractOptions) (*ExtractResult, error) {
	if opt.SyncID == "" {
		opt.SyncID = NewSyncID(time.Now())
	}
	client := client.New(opt.Config, client.Options{HTTPClient: opt.HTTP, Logger: opt.Logger, Backoff: opt.Backoff})
	sink, err := parquet.NewSink(opt.OutDir, opt.SyncID, opt.SaveState, opt.State)
	if err != nil {
		return nil, err
	}
	st := opt.State
	if st == nil {
		st = state.New(opt.Config.BaseURL)
	}
	sum, err := engine.Sync(ctx, engine.Options{
		Config: opt.Config, API: chorusapi.NewV3(client), Selected: opt.Selected, From: opt.From, To: opt.To,
		Now: opt.Now, Logger: opt.Logger, SyncID: opt.SyncID, Stop: opt.Stop, EngagementIDs: opt.EngagementIDs,
	}, st, sink)
	if err == nil || errors.Is(err, engine.ErrInterrupted) {
		// An interrupted sync has checkpointed: its files are committed.
		if ferr := sink.Flush(); ferr != nil {
			err = ferr
		}
	}
	if err != nil && !errors.Is(err, engine.ErrInterrupted) {
		sink.Abort()
	}
	res := &ExtractResult{Summary: sum, Files: len(sink.Files), Bytes: sink.Bytes,
		Requests: client.Stats.Requests.Load(), Retries: client.Stats.Retries.Load(), Throttled: client.Stats.Throttled.Load(),
		EffectiveRate: client.Stats.EffectiveRate(), RateLimit: client.Stats.Limit(), MinRateLimit: client.Stats.MinLimit()}
	if err != nil {
		return res, fmt.Errorf("extract: %w", err)
	}
	return res, nil
}

// IsUsage reports whether err is the user's to fix — a bad config, a
// rejected token, an unusable state file — which the CLI ends with exit 2
// and Airbyte reports as a config_error.
func IsUsage(err error) bool {
	var ce *config.Error
	var ae *client.AuthError
	var se *state.Error
	return errors.As(err, &ce) || errors.As(err, &ae) || errors.As(err, &se)
}

// IsTransient reports whether a retry later may cure err: a 504, a 5xx.
func IsTransient(err error) bool {
	var gt *client.GatewayTimeoutError
	var api *client.APIError
	if errors.As(err, &gt) {
		return true
	}
	return errors.As(err, &api) && api.Status >= 500
}
