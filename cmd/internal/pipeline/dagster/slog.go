package dagster

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// LogHandler returns a slog.Handler that passes every record to next and
// also sends each record at level minLevel or above to the session as a "log"
// message: the message followed by its attributes as key=value, the level
// mapped to Python's names (slog's WARN is WARNING). A record that cannot
// be sent is still handled by next; the send error is not returned (a log
// line must not fail the work it describes). On a nil session it returns
// next.
func LogHandler(next slog.Handler, s *Session, minLevel slog.Level) slog.Handler {
	if s == nil {
		return next
	}
	return &logHandler{next: next, s: s, min: minLevel}
}

type logHandler struct {
	next   slog.Handler
	s      *Session
	min    slog.Level
	prefix string // attributes added with WithAttrs, rendered
	group  string // group prefix for keys, "g." or ""
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min || h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.min {
		var b strings.Builder
		b.WriteString(r.Message)
		b.WriteString(h.prefix)
		r.Attrs(func(a slog.Attr) bool {
			writeAttr(&b, h.group, a)
			return true
		})
		_ = h.s.Log(pythonLevel(r.Level), b.String())
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	for _, a := range attrs {
		writeAttr(&b, h.group, a)
	}
	c := *h
	c.next, c.prefix = h.next.WithAttrs(attrs), h.prefix+b.String()
	return &c
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next, c.group = h.next.WithGroup(name), h.group+name+"."
	return &c
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range v.Group() {
			writeAttr(b, g, ga)
		}
		return
	}
	if a.Equal(slog.Attr{}) {
		return
	}
	s := v.String()
	if strings.ContainsAny(s, " \"=") || s == "" {
		s = fmt.Sprintf("%q", s)
	}
	fmt.Fprintf(b, " %s%s=%s", group, a.Key, s)
}

// pythonLevel maps a slog level to the name Dagster accepts.
func pythonLevel(l slog.Level) Level {
	switch {
	case l >= slog.LevelError:
		return LevelError
	case l >= slog.LevelWarn:
		return LevelWarning
	case l >= slog.LevelInfo:
		return LevelInfo
	default:
		return LevelDebug
	}
}
