package orchestrator_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/orchestrator"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster/pipestest"
)

func session(t *testing.T, keys []string, window map[string]string) *orchestrator.Reporter {
	t.Helper()
	ctx := map[string]any{"run_id": "r1", "asset_keys": keys}
	if window != nil {
		ctx["partition_time_window"] = window
	}
	s, err := dagster.Open(pipestest.EncodeParam(t, map[string]any{"data": ctx}), pipestest.EncodeParam(t, map[string]any{"stdio": "stdout"}), &bytes.Buffer{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(nil) })
	return orchestrator.New(s)
}

// TestApply: the command line wins; otherwise the context's
// partition window and raw asset keys decide; no session changes nothing.
func TestApply(t *testing.T) {
	day := map[string]string{"start": "2026-03-01T00:00:00+01:00", "end": "2026-03-02T00:00:00+01:00"}
	flagFrom := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		r            *orchestrator.Reporter
		from         time.Time
		selected     map[string]bool
		wantFrom     time.Time
		wantSelected map[string]bool
		wantErr      string
	}{
		{name: "not under Dagster", r: nil, selected: nil},
		{name: "context window, raw keys", r: session(t, []string{"chorus/customer_calls", "chorus_raw/calls", "chorus_raw/users"}, day),
			wantFrom: time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC), wantSelected: map[string]bool{"calls": true, "users": true}},
		{name: "flags win", r: session(t, []string{"chorus_raw/calls"}, day), from: flagFrom, selected: map[string]bool{"teams": true},
			wantFrom: flagFrom, wantSelected: map[string]bool{"teams": true}},
		{name: "models only: every stream", r: session(t, []string{"chorus/customer_calls"}, nil)},
		{name: "unknown stream", r: session(t, []string{"chorus_raw/nope"}, nil), wantErr: `chorus_raw/nope names no stream`},
		{name: "bad window", r: session(t, nil, map[string]string{"start": "2026-03-01", "end": "x"}), wantErr: "partition_time_window.start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := pipeline.Window{From: c.from, Selected: c.selected}
			if !c.from.IsZero() {
				in.To = c.from.Add(time.Hour)
			}
			w, err := c.r.Apply(in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !w.From.Equal(c.wantFrom) || !reflect.DeepEqual(w.Selected, c.wantSelected) {
				t.Errorf("from %v streams %v, want %v %v", w.From, w.Selected, c.wantFrom, c.wantSelected)
			}
		})
	}
}
