// Package serve is the read side of chorus-elt: a JSON API over the models
// (the PRD's /api/chorus/... endpoints), web pages to look at calls and
// customer health, a chat-style lookup, and the recording_done webhook that
// hands new calls to a syncer.
//
// The answers themselves (their SQL over the models that `chorus-elt
// transform` builds, in DuckDB or BigQuery, and their cache) are package
// answers; this package is their HTTP side. The API and
// the pages need a bearer token; the webhook needs the shared secret
// instead.
package serve

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
)

// Warehouse is what serve reads: the models, by SQL text (the answers
// package's).
type Warehouse = answers.Warehouse

// Options configure New.
type Options struct {
	Warehouse Warehouse
	// Tokens are the bearer tokens the API and the pages accept (at least
	// one, each at least MinTokenLength characters).
	Tokens []string
	// WebhookSecret is what the webhook's WebhookSecretHeader must hold;
	// empty turns the webhook off (it answers 503).
	WebhookSecret string
	// Syncer syncs the calls the webhook names (and, with SyncEvery, the
	// scheduled incremental sync); nil turns the webhook off.
	Syncer Syncer
	// SyncEvery, when positive, runs an incremental sync (Syncer.Sync with
	// no ids) that often while Run runs.
	SyncEvery time.Duration
	// SyncGather is how long the webhook's sync waits for more calls
	// before it starts (QueueOptions.Gather); 0 is DefaultSyncGather,
	// negative none.
	SyncGather time.Duration
	// Logger receives one line per request (method, path, status, time;
	// never a query string, a header or a body) and the syncs; nil
	// discards.
	Logger *slog.Logger
	// QueryTimeout bounds each request's warehouse queries; 0 is 30s.
	QueryTimeout time.Duration
	// SecureCookie marks the login cookie Secure even on plain HTTP (set
	// it behind a TLS-terminating proxy); it is always Secure under TLS.
	SecureCookie bool
	// CacheBytes bounds the answers kept between warehouse changes
	// (JSON size, doubled); 0 is DefaultCacheBytes, negative keeps none.
	CacheBytes int64
	// CacheCheckEvery is how often the warehouse is asked whether it
	// changed (a new transform build); 0 is 5s. A sync through the queue
	// drops the answers at once.
	CacheCheckEvery time.Duration
	// MaxQueries bounds the warehouse queries running at a time; more
	// wait. 0 is twice the CPUs for DuckDB (which runs them here: more at
	// once only share the same cores, and each holds memory under
	// DuckDB's memory_limit) and 32 for BigQuery.
	MaxQueries int
}

// DefaultSyncGather is Options.SyncGather unless set.
const DefaultSyncGather = 500 * time.Millisecond

// DefaultCacheBytes is Options.CacheBytes unless set.
const DefaultCacheBytes = 64 << 20

// MinTokenLength is the shortest token New accepts.
const MinTokenLength = 16

// Server is the API, the pages and the webhook: an http.Handler. Run (or
// ListenAndServe) also runs the sync queue.
type Server struct {
	opts    Options
	log     *slog.Logger
	store   *answers.Store
	tokens  [][32]byte // SHA-256 of each token
	secret  [32]byte   // SHA-256 of the webhook secret
	queue   *SyncQueue // nil without a Syncer
	pages   *pages
	handler http.Handler
}

// New checks the options and builds the server.
func New(opts Options) (*Server, error) {
	if opts.Warehouse == nil {
		return nil, errors.New("serve: no warehouse")
	}
	switch opts.Warehouse.Dialect() {
	case answers.DuckDB, answers.BigQuery:
	default:
		return nil, fmt.Errorf("serve: unknown warehouse dialect %q", opts.Warehouse.Dialect())
	}
	if len(opts.Tokens) == 0 {
		return nil, errors.New("serve: no API token: every request would be refused")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.CacheCheckEvery <= 0 {
		opts.CacheCheckEvery = 5 * time.Second
	}
	if opts.MaxQueries <= 0 {
		opts.MaxQueries = 32
		if opts.Warehouse.Dialect() == answers.DuckDB {
			opts.MaxQueries = 2 * runtime.GOMAXPROCS(0)
		}
	}
	st, err := answers.New(opts.Warehouse, answers.Options{CacheBytes: opts.CacheBytes, CacheCheckEvery: opts.CacheCheckEvery,
		MaxQueries: opts.MaxQueries})
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s := &Server{opts: opts, log: opts.Logger, store: st}
	for i, t := range opts.Tokens {
		if len(t) < MinTokenLength {
			return nil, fmt.Errorf("serve: token %d is %d characters; use at least %d (e.g. openssl rand -hex 24)", i+1, len(t), MinTokenLength)
		}
		s.tokens = append(s.tokens, sha256.Sum256([]byte(t)))
	}
	if opts.WebhookSecret != "" {
		if len(opts.WebhookSecret) < MinTokenLength {
			return nil, fmt.Errorf("serve: the webhook secret is %d characters; use at least %d", len(opts.WebhookSecret), MinTokenLength)
		}
		s.secret = sha256.Sum256([]byte(opts.WebhookSecret))
	}
	if opts.Syncer != nil {
		if opts.SyncGather == 0 {
			opts.SyncGather = DefaultSyncGather
		}
		s.queue = NewSyncQueue(opts.Syncer, QueueOptions{Every: opts.SyncEvery, Gather: max(0, opts.SyncGather), Logger: opts.Logger,
			AfterSync: s.store.Invalidate})
	}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.handler = s.logRequests(s.recoverPanics(securityHeaders(s.routes())))
	return s, nil
}

// ServeHTTP serves the API, the pages and the webhook.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// CacheStats says what the answer cache did.
func (s *Server) CacheStats() answers.CacheStats { return s.store.CacheStats() }

// Queue is the sync queue the webhook feeds; nil without a Syncer.
func (s *Server) Queue() *SyncQueue { return s.queue }

// Run runs the sync queue until ctx is done; without a Syncer it just
// waits for ctx.
func (s *Server) Run(ctx context.Context) error {
	if s.queue == nil {
		<-ctx.Done()
		return nil
	}
	return s.queue.Run(ctx)
}

// ListenAndServe serves on addr and runs the sync queue until ctx is
// done, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on a listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queued := make(chan error, 1)
	go func() { queued <- s.Run(ctx) }()
	err := Serve(ctx, ln, s)
	cancel()
	if qerr := <-queued; err == nil {
		err = qerr
	}
	return err
}

// ListenAndServe serves h on addr until ctx is done, then stops taking
// connections and waits (up to ShutdownTimeout) for requests in flight.
func ListenAndServe(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w", addr, err)
	}
	return Serve(ctx, ln, h)
}

// ShutdownTimeout is how long a graceful shutdown waits for requests.
const ShutdownTimeout = 10 * time.Second

// Serve is ListenAndServe on a listener.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}
