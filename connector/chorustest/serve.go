package chorustest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Serve runs a tenant on addr until ctx ends, logging its URL to log.
func Serve(ctx context.Context, addr string, opts Options, log io.Writer) error {
	return ServeTenant(ctx, addr, New(opts), log)
}

// ServeTenant is Serve for an existing tenant (for example one whose customer
// list was written out first).
func ServeTenant(ctx context.Context, addr string, t *Tenant, log io.Writer) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake API: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: t, ReadHeaderTimeout: 10 * time.Second}
	hint := "the token given with --token"
	if t.opts.Token == "test-token" {
		hint = `"test-token" (the default)`
	}
	if log != nil {
		fmt.Fprintf(log, "chorus fake API: serving %d engagements at http://%s (base URL) — token: %s\n",
			len(t.all), ln.Addr(), hint)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("fake API: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("fake API: shutdown: %w", err)
	}
	return nil
}
