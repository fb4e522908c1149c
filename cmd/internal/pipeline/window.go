package pipeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// Window is the part of Chorus a sync reads: a time window (zero: from the
// state on) and the streams selected (nil: all).
type Window struct {
	From, To time.Time
	Selected map[string]bool
}

// ParseWindow reads --start, --end and --streams; a bad value is a
// *config.Error (exit 2).
func ParseWindow(start, end, streams string) (Window, error) {
	var w Window
	for _, f := range []struct {
		name, v string
		dst     *time.Time
	}{{"start", start, &w.From}, {"end", end, &w.To}} {
		if f.v != "" {
			t, err := config.ParseDate(f.v)
			if err != nil {
				return w, &config.Error{Msg: fmt.Sprintf("--%s: %v", f.name, err)}
			}
			*f.dst = t
		}
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return w, &config.Error{Msg: "--start must be before --end"}
	}
	if !w.To.IsZero() && w.From.IsZero() {
		return w, &config.Error{Msg: "--end needs --start"}
	}
	if streams != "" {
		w.Selected = map[string]bool{}
		for _, n := range strings.Split(streams, ",") {
			n = strings.TrimSpace(n)
			if schemas.Get(n) == nil {
				return w, &config.Error{Msg: fmt.Sprintf("--streams: unknown stream %q (streams: %s)", n, strings.Join(schemas.Names(), ", "))}
			}
			w.Selected[n] = true
		}
	}
	return w, nil
}

// selectedNames lists the selected streams (nil: all).
func (w Window) selectedNames() []string {
	var out []string
	for n := range w.Selected {
		out = append(out, n)
	}
	return out
}
