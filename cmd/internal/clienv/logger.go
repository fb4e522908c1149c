package clienv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// NewLogger is the logger of --log-format and --log-level; "auto" is text
// on a terminal, JSON otherwise.
func NewLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if IsTerminal(os.Stderr) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use auto, text or json", format)
	}
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Progress is a terminal's progress line on w, rewritten in place (nil
// when stderr is not a terminal).
func Progress(w io.Writer) func(string) {
	if !IsTerminal(os.Stderr) {
		return nil
	}
	return func(line string) { fmt.Fprint(w, "\r\033[K"+line) }
}

// OnSignals turns the first SIGINT or SIGTERM (what Airflow and Kubernetes
// send) into a clean stop: stop is closed, so a sync starts no new request,
// writes what it fetched and checkpoints; the context is cancelled after
// grace or at a second signal.
func OnSignals(parent context.Context, grace time.Duration) (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(parent)
	stopped := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		close(stopped)
		select {
		case <-sigs:
		case <-time.After(grace):
		case <-done:
		}
		cancel()
	}()
	return ctx, stopped, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// CancelOnStop is a context that ends when stop is closed (the first
// SIGINT or SIGTERM), or when parent ends; call cancel when done.
func CancelOnStop(parent context.Context, stop <-chan struct{}) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(parent)
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
