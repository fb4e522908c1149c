package transforms

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ledger is the table of builds: model, kind, version, checksum, dialect,
// applied_at, row_count, duration_ms and as_of, one row per build.
type ledger struct {
	e     Engine
	table string
}

// ChangedError is a model file whose content changed while its version did
// not. Nothing was built.
type ChangedError struct {
	Changes []Change
}

// Change is one refused model.
type Change struct {
	Model, File              string
	Version                  int
	OldChecksum, NewChecksum string
}

func (e *ChangedError) Error() string {
	var b strings.Builder
	b.WriteString("transforms: refusing to build; nothing was changed:")
	for _, c := range e.Changes {
		fmt.Fprintf(&b, "\n  model %s (%s) changed without a version bump: version %d was built from checksum %s, the file now has checksum %s; bump \"-- version: %d\" to %d in %s if the change is meant",
			c.Model, c.File, c.Version, c.OldChecksum, c.NewChecksum, c.Version, c.Version+1, c.File)
	}
	return b.String()
}

func (l *ledger) ensure(ctx context.Context) error {
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (model STRING, kind STRING, version INT64, checksum STRING, dialect STRING, applied_at TIMESTAMP, row_count INT64, duration_ms INT64, as_of TIMESTAMP)", l.table)
	if err := l.e.Exec(ctx, q); err != nil {
		return fmt.Errorf("transforms: create ledger %s: %w", l.table, err)
	}
	return nil
}

// check refuses models whose (name, version) was built before from other
// content.
func (l *ledger) check(ctx context.Context, steps []*step) error {
	rows, err := l.e.Query(ctx, fmt.Sprintf("SELECT model, version, checksum, applied_at FROM %s WHERE kind IN ('table', 'view')", l.table))
	if err != nil {
		return fmt.Errorf("transforms: read ledger %s: %w", l.table, err)
	}
	type key struct {
		model   string
		version int64
	}
	type seen struct {
		sum string
		at  time.Time
	}
	built := map[key]seen{}
	for _, r := range rows {
		k := key{fmt.Sprint(r["model"]), toInt64(r["version"])}
		at, _ := r["applied_at"].(time.Time)
		if prev, ok := built[k]; !ok || at.After(prev.at) {
			built[k] = seen{fmt.Sprint(r["checksum"]), at}
		}
	}
	var ch []Change
	for _, st := range steps {
		if st.model == nil {
			continue
		}
		if prev, ok := built[key{st.name, int64(st.version)}]; ok && prev.sum != st.checksum {
			ch = append(ch, Change{Model: st.name, File: st.model.File, Version: st.version, OldChecksum: prev.sum, NewChecksum: st.checksum})
		}
	}
	if len(ch) > 0 {
		sort.Slice(ch, func(i, j int) bool { return ch[i].Model < ch[j].Model })
		return &ChangedError{Changes: ch}
	}
	return nil
}

func (l *ledger) record(ctx context.Context, s *StepResult, at, asOf time.Time) error {
	d := l.e.Dialect()
	var rows any
	if s.Rows >= 0 {
		rows = s.Rows
	}
	q := fmt.Sprintf("INSERT INTO %s (model, kind, version, checksum, dialect, applied_at, row_count, duration_ms, as_of) VALUES (%s, %s, %d, %s, %s, %s, %s, %d, %s)",
		l.table, literal(d, s.Name), literal(d, s.Kind), s.Version, literal(d, s.Checksum), literal(d, d), literal(d, at),
		literal(d, rows), int64(s.Seconds*1000), literal(d, asOf))
	if err := l.e.Exec(ctx, q); err != nil {
		return fmt.Errorf("transforms: ledger: %w", err)
	}
	return nil
}
