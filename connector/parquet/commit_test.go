package parquet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// A Parquet commit is two-phase: files durable under temporary names, the
// state saved naming them, then the renames. A crash on either side of the
// state save leaves every row in the committed files exactly once after the
// next start.
func TestParquetCommitSurvivesCrashes(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, dir string, save func(*state.State) error, prior *state.State) (*Sink, error) {
		t.Helper()
		sink, err := NewSink(dir, "20260301T100000Z-abcdef", save, prior)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			row := streamrows.Row{"call_id": string(rune('A' + i)), "started_at": time.Unix(1772362920, 0), "_extracted_at": time.Now()}
			if err := sink.Write(ctx, "calls", row); err != nil {
				t.Fatal(err)
			}
		}
		st := state.New("https://chorus.ai")
		w := time.Unix(1772400000, 0).UTC()
		st.Calls.Watermark = &w
		return sink, sink.Checkpoint(ctx, st)
	}
	finals := func(dir string) []string {
		m, _ := filepath.Glob(filepath.Join(dir, "calls", "*.parquet"))
		return m
	}
	temps := func(dir string) []string {
		m, _ := filepath.Glob(filepath.Join(dir, "calls", ".*.tmp"))
		return m
	}

	t.Run("crash after the state is saved, before the renames", func(t *testing.T) {
		dir := t.TempDir()
		statePath := filepath.Join(dir, "state.json")
		_, err := write(t, dir, func(st *state.State) error {
			if err := state.Save(statePath, st); err != nil {
				return err
			}
			return errors.New("killed")
		}, nil)
		if err == nil || len(finals(dir)) != 0 || len(temps(dir)) != 1 {
			t.Fatalf("setup: err %v, %d final, %d temp files", err, len(finals(dir)), len(temps(dir)))
		}
		prior, err := state.Load(statePath, "https://chorus.ai")
		if err != nil || prior.Commit == nil || prior.Calls.Watermark == nil {
			t.Fatalf("the saved state must name the commit: %v %+v", err, prior)
		}
		if _, err := NewSink(dir, "20260301T110000Z-fedcba", nil, prior); err != nil {
			t.Fatal(err)
		}
		if len(finals(dir)) != 1 || len(temps(dir)) != 0 {
			t.Fatalf("the commit was not rolled forward: %d final, %d temp files", len(finals(dir)), len(temps(dir)))
		}
	})

	t.Run("crash before the state is saved", func(t *testing.T) {
		dir := t.TempDir()
		_, err := write(t, dir, func(*state.State) error { return errors.New("killed") }, nil)
		if err == nil || len(temps(dir)) != 1 {
			t.Fatalf("setup: err %v, %d temp files", err, len(temps(dir)))
		}
		// The state on disk (none) does not cover the rows: they are dropped
		// and the next run extracts them again.
		if _, err := NewSink(dir, "20260301T110000Z-fedcba", nil, state.New("https://chorus.ai")); err != nil {
			t.Fatal(err)
		}
		if len(finals(dir)) != 0 || len(temps(dir)) != 0 {
			t.Fatalf("uncovered files survived: %d final, %d temp", len(finals(dir)), len(temps(dir)))
		}
	})

	t.Run("a clean commit", func(t *testing.T) {
		dir := t.TempDir()
		statePath := filepath.Join(dir, "state.json")
		sink, err := write(t, dir, func(st *state.State) error { return state.Save(statePath, st) }, nil)
		if err != nil || len(finals(dir)) != 1 || len(sink.Files) != 1 {
			t.Fatalf("err %v, %d files", err, len(finals(dir)))
		}
		if _, err := os.Stat(statePath); err != nil {
			t.Fatal(err)
		}
	})
}
