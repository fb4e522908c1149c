package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// The scorecard family: scorecards and scorecard_answers, from
// GET /api/v1/scorecards, incremental on the scorecards' submitted time with
// a state of their own (state.State.Streams["scorecards"]).
//
// Each run lists filter[submitted]=from:* — from is the cursor (the newest
// submitted time listed so far) minus scorecards_lookback_hours, or the
// config's start on the first run — page by page (page[size]=100) until a
// page holds fewer than 100 entries. A scorecard listed again is emitted
// again only when its content changed (the state keeps a hash of each
// scorecard the next look-back reaches), with all its answers: a scorecard
// always carries its complete set.

// scorecardPageSize is the page[size] asked for: the most the API allows.
const scorecardPageSize = 100

// syncScorecardFamily runs the scorecard step when one of its streams is
// selected.
func (s *Syncer) syncScorecardFamily(ctx context.Context, st *state.State) error {
	if !s.anySelected(schemas.FamilyScorecards) {
		return nil
	}
	if s.stopped() {
		return s.interrupted()
	}
	s.setStatus(schemas.FamilyScorecards, "STARTED")
	if err := s.syncScorecards(ctx, st); err != nil {
		s.setStatus(schemas.FamilyScorecards, "INCOMPLETE")
		return err
	}
	s.setStatus(schemas.FamilyScorecards, "COMPLETE")
	return nil
}

// scorecardStateKey names the stream whose state holds the family's:
// "scorecards", or "scorecard_answers" when only that one is read, because
// Airbyte and Singer hand back the states of the streams read only.
func (s *Syncer) scorecardStateKey() string {
	if !s.selected("scorecards") && s.selected("scorecard_answers") {
		return "scorecard_answers"
	}
	return "scorecards"
}

// scorecardState returns the family's state from the previous run, nil on a
// first run.
func (s *Syncer) scorecardState(st *state.State) *state.StreamState {
	for _, k := range []string{s.scorecardStateKey(), "scorecards", "scorecard_answers"} {
		if ss := st.Streams[k]; ss != nil && ss.Cursor != nil {
			return ss
		}
	}
	return nil
}

func (s *Syncer) syncScorecards(ctx context.Context, st *state.State) error {
	lookback := time.Duration(s.opt.Config.ScorecardsLookbackHours * float64(time.Hour))
	prev := s.scorecardState(st)
	window := !s.opt.From.IsZero() || !s.opt.To.IsZero() // an orchestrator partition: no state change
	from, to := s.opt.Config.Start, time.Time{}
	known := map[string]string{}
	switch {
	case window:
		from, to = s.opt.From, s.opt.To
	case prev != nil:
		if back := prev.Cursor.Add(-lookback); back.After(from) {
			from = back
		}
		known = prev.Known
	}
	s.log.Info("syncing scorecards", "submitted_from", from.Format(time.RFC3339))

	listed := map[string]string{}        // id → fingerprint, this run
	submitted := map[string]*time.Time{} // id → submitted time, this run
	var newest *time.Time
	for page := 1; ; page++ {
		if s.stopped() {
			if !window {
				s.keepScorecards(st, prev, listed)
				if err := s.checkpoint(ctx, st); err != nil {
					return fmt.Errorf("checkpoint: %w", err)
				}
			}
			return s.interrupted()
		}
		s.sum.ScorecardRequests++
		p, err := s.opt.API.ListScorecards(ctx, chorusapi.ScorecardQuery{SubmittedFrom: from, SubmittedTo: to, Page: page, Size: scorecardPageSize})
		var nf *client.NotFoundError
		switch {
		case errors.As(err, &nf) && page == 1:
			// Scorecards are a product feature the tenant or the token's user
			// may not have: the rest of the sync goes on.
			msg := "scorecards: GET " + nf.Path + " answered 404 (no scorecards feature, or not visible to the token's user); skipped"
			s.log.Warn(msg)
			if s.status != nil {
				s.status.Log("WARN", msg)
			}
			return nil
		case errors.As(err, &nf):
			p = chorusapi.ScorecardPage{} // a page past the end
		case err != nil:
			return fmt.Errorf("scorecards page %d: %w", page, err)
		}
		for _, u := range p.Unreadable {
			s.sum.Unreadable++
			s.log.Warn("skipping a scorecard that cannot be read", "reason", u)
		}
		fresh := 0
		for i := range p.Scorecards {
			sc := &p.Scorecards[i]
			if _, dup := listed[sc.ID]; dup {
				continue // repeated across pages
			}
			fresh++
			fp := sc.Fingerprint()
			listed[sc.ID], submitted[sc.ID] = fp, sc.SubmittedAt
			if t := sc.SubmittedAt; t != nil && (newest == nil || t.After(*newest)) {
				newest = t
			}
			if !window && known[sc.ID] == fp {
				continue // listed again by the look-back, unchanged
			}
			streamrows.Scorecard(s.local, sc)
			if err := s.flushLocalAll(ctx, true); err != nil {
				return err
			}
		}
		if p.Count < scorecardPageSize {
			break
		}
		// A full page of scorecards all listed already: an API that ignores
		// page[number] would loop forever.
		if fresh == 0 {
			s.log.Warn("the scorecards listing repeats itself; ending it", "page", page)
			break
		}
	}
	if window {
		return s.checkpoint(ctx, st)
	}

	now := s.now().UTC()
	ss := &state.StreamState{SyncedAt: &now, Known: map[string]string{}}
	if prev != nil {
		ss.Cursor = prev.Cursor
	}
	if newest != nil && (ss.Cursor == nil || newest.After(*ss.Cursor)) {
		c := *newest
		if c.After(now) { // a submitted time in the future must not hide the present
			c = now.Truncate(time.Second)
		}
		ss.Cursor = &c
	}
	// Keep the hashes of the scorecards the next run lists again.
	next := s.opt.Config.Start
	if ss.Cursor != nil && ss.Cursor.Add(-lookback).After(next) {
		next = ss.Cursor.Add(-lookback)
	}
	for id, fp := range listed {
		if t := submitted[id]; t == nil || !t.Before(next) {
			ss.Known[id] = fp
		}
	}
	*st.Stream(s.scorecardStateKey()) = *ss
	return s.checkpoint(ctx, st)
}

// keepScorecards records, for a run stopped part way, the scorecards
// already emitted; the cursor stays, so the next run lists them again and
// skips them.
func (s *Syncer) keepScorecards(st *state.State, prev *state.StreamState, listed map[string]string) {
	if len(listed) == 0 {
		return
	}
	ss := &state.StreamState{Known: map[string]string{}}
	if prev != nil {
		*ss = *prev
		ss.Known = map[string]string{}
		for id, fp := range prev.Known {
			ss.Known[id] = fp
		}
	}
	for id, fp := range listed {
		ss.Known[id] = fp
	}
	if ss.Cursor == nil {
		// A first run stopped part way: keep no cursor, so the next one
		// starts from the config's start again. A cursor is what ParseState
		// keys a stream state on, so the start date stands in.
		c := s.opt.Config.Start.UTC()
		ss.Cursor = &c
	}
	*st.Stream(s.scorecardStateKey()) = *ss
}
