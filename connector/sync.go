package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// Sink receives what a sync produces. Write is called from one goroutine,
// in order. Checkpoint is called after a finished slice: everything written
// before it must be made durable before the state is persisted.
type Sink interface {
	Write(ctx context.Context, stream string, row Row) error
	Checkpoint(ctx context.Context, st *State) error
}

// StatusSink is implemented by sinks that report stream progress (Airbyte).
type StatusSink interface {
	StreamStatus(stream, status string)
	Estimate(stream string, rows int64)
	Log(level, msg string)
}

// Options is one sync run's setup.
type Options struct {
	Config   *Config
	API      API
	Selected map[string]bool // streams to emit; nil means all
	// Window, when set, syncs exactly [From, To) (an orchestrator partition)
	// and leaves the watermark where it is.
	From, To time.Time
	Now      func() time.Time
	Logger   *slog.Logger
	SyncID   string
}

// Summary says what a run did.
type Summary struct {
	SyncID         string           `json:"sync_id"`
	Rows           map[string]int64 `json:"rows"`
	ListRequests   int64            `json:"list_requests"`
	DetailRequests int64            `json:"detail_requests"`
	OtherRequests  int64            `json:"other_requests"`
	Calls          int64            `json:"calls"`
	Skipped        int64            `json:"skipped_non_calls"`
	AlreadyDone    int64            `json:"skipped_already_complete"`
	Unreadable     int64            `json:"skipped_unreadable"`
	Pending        int              `json:"pending"`
	NotFound       int64            `json:"not_found"`
	Abandoned      []string         `json:"abandoned,omitempty"`
	Narrowed       int64            `json:"windows_narrowed"`
	Watermark      *time.Time       `json:"watermark,omitempty"`
	Slices         int              `json:"slices"`
}

// Syncer runs incremental syncs.
type Syncer struct {
	opt    Options
	sink   Sink
	status StatusSink
	log    *slog.Logger
	now    func() time.Time
	lim    limits
	sum    Summary
	mu     sync.Mutex
	done   map[string]bool // call ids handled in this run
}

// Sync runs one sync into sink, starting from st, which it updates. It
// returns the run's summary; on error the state reflects the last
// checkpoint that the sink accepted.
func Sync(ctx context.Context, opt Options, st *State, sink Sink) (*Summary, error) {
	s := &Syncer{opt: opt, sink: sink, log: opt.Logger, now: opt.Now, done: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.status, _ = sink.(StatusSink)
	s.lim = limits{utteranceBytes: opt.Config.MaxUtteranceBytes, transcriptBytes: opt.Config.MaxTranscriptByte}
	s.sum = Summary{SyncID: opt.SyncID, Rows: map[string]int64{}}
	err := s.run(ctx, st)
	s.sum.Pending = len(st.Calls.Pending)
	s.sum.Watermark = st.Calls.Watermark
	return &s.sum, err
}

func (s *Syncer) selected(stream string) bool {
	return s.opt.Selected == nil || s.opt.Selected[stream]
}

func (s *Syncer) anySelected(f schemas.Family) bool {
	for _, st := range schemas.All() {
		if st.Family() == f && s.selected(st.Name) {
			return true
		}
	}
	return false
}

func (s *Syncer) emit(ctx context.Context) emitter {
	return func(stream string, row Row) error {
		if !s.selected(stream) {
			return nil
		}
		s.sum.Rows[stream]++
		row[schemas.ExtractedAt] = s.now().UTC()
		row[schemas.SyncID] = s.opt.SyncID
		return s.sink.Write(ctx, stream, row)
	}
}

func (s *Syncer) setStatus(f schemas.Family, status string) {
	if s.status == nil {
		return
	}
	for _, st := range schemas.All() {
		if st.Family() == f && s.selected(st.Name) {
			s.status.StreamStatus(st.Name, status)
		}
	}
}

func (s *Syncer) run(ctx context.Context, st *State) error {
	if s.anySelected(schemas.FamilyCalls) {
		s.setStatus(schemas.FamilyCalls, "STARTED")
		if err := s.syncCalls(ctx, st); err != nil {
			s.setStatus(schemas.FamilyCalls, "INCOMPLETE")
			return err
		}
		s.setStatus(schemas.FamilyCalls, "COMPLETE")
	}
	if s.anySelected(schemas.FamilyDirectory) {
		s.setStatus(schemas.FamilyDirectory, "STARTED")
		if err := s.syncDirectory(ctx, st); err != nil {
			s.setStatus(schemas.FamilyDirectory, "INCOMPLETE")
			return err
		}
		s.setStatus(schemas.FamilyDirectory, "COMPLETE")
	}
	return nil
}

func (s *Syncer) syncDirectory(ctx context.Context, st *State) error {
	emit := s.emit(ctx)
	if s.selected("users") {
		users, err := s.opt.API.ListUsers(ctx)
		s.sum.OtherRequests++
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		for _, u := range users {
			r := Row{"user_id": u.ID, "name": nullStr(u.Name), "email": nullStr(u.Email), "role": nullStr(u.Role),
				"team_id": nullStr(u.TeamID), "active": ptrVal(u.Active)}
			if len(u.Extra) > 0 {
				r["_extra"] = mustJSON(u.Extra)
			}
			if err := emit("users", r); err != nil {
				return err
			}
		}
	}
	if s.selected("teams") {
		teams, err := s.opt.API.ListTeams(ctx)
		s.sum.OtherRequests++
		if err != nil {
			return fmt.Errorf("teams: %w", err)
		}
		for _, t := range teams {
			r := Row{"team_id": t.ID, "name": nullStr(t.Name), "manager_user_id": ptrVal(t.ManagerUserID),
				"parent_team_id": nullStr(t.ParentTeamID), "user_ids": t.UserIDs}
			if t.UserIDs == nil {
				r["user_ids"] = []int64{}
			}
			if len(t.Extra) > 0 {
				r["_extra"] = mustJSON(t.Extra)
			}
			if err := emit("teams", r); err != nil {
				return err
			}
		}
	}
	now := s.now().UTC()
	st.DirectorySyncedAt = &now
	return s.sink.Checkpoint(ctx, st)
}

// window returns the range of start times this run lists.
func (s *Syncer) window(st *State) (from, to time.Time, moveWatermark bool) {
	if !s.opt.From.IsZero() || !s.opt.To.IsZero() {
		to = s.opt.To
		if to.IsZero() {
			to = s.now()
		}
		return s.opt.From, to, false
	}
	to = s.now().UTC().Truncate(time.Second)
	from = s.opt.Config.Start
	if w := st.Calls.Watermark; w != nil {
		back := w.Add(-time.Duration(s.opt.Config.LookbackHours * float64(time.Hour)))
		if back.After(from) {
			from = back
		}
	}
	return from, to, true
}

func (s *Syncer) syncCalls(ctx context.Context, st *State) error {
	if st.Calls.Seen == nil {
		st.Calls.Seen = map[string]SeenCall{}
	}
	if st.Calls.Pending == nil {
		st.Calls.Pending = map[string]PendingCall{}
	}
	from, to, move := s.window(st)
	if !from.Before(to) {
		return fmt.Errorf("nothing to sync: the window %s – %s is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	s.log.Info("syncing calls", "from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339), "pending", len(st.Calls.Pending))
	if s.status != nil {
		s.status.Estimate("calls", int64(len(st.Calls.Pending)))
	}

	// The producer lists slice after slice and starts detail requests; this
	// goroutine emits the calls in listing order and checkpoints at the end
	// of each slice, so the watermark only ever passes finished work while
	// listing and detail requests keep the rate budget busy.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	seen := make(map[string]bool, len(st.Calls.Seen))
	for id := range st.Calls.Seen {
		seen[id] = true
	}
	p := s.newProducer(seen)
	go p.run(ctx, from, to, time.Duration(s.opt.Config.SliceHours*float64(time.Hour)))
	if err := s.consume(ctx, cancel, st, p, move); err != nil {
		return err
	}
	if err := s.retryPending(ctx, st); err != nil {
		return fmt.Errorf("pending transcripts: %w", err)
	}
	s.prune(st)
	return s.sink.Checkpoint(ctx, st)
}

func (s *Syncer) newProducer(seen map[string]bool) *producer {
	conc := max(1, s.opt.Config.MaxConcurrency)
	return &producer{s: s, seen: seen, items: make(chan work, 256),
		ahead: make(chan struct{}, 4*conc), workers: make(chan struct{}, conc)}
}

// consume emits what the producer queues, in order, and checkpoints at the
// end of each slice. After a failure it cancels the producer and drains it.
func (s *Syncer) consume(ctx context.Context, cancel context.CancelFunc, st *State, p *producer, move bool) error {
	emit := s.emit(ctx)
	var err error
	for it := range p.items {
		if err != nil {
			continue // draining after a failure
		}
		if it.sliceEnd != nil {
			s.sum.Slices++
			if move && (st.Calls.Watermark == nil || it.sliceEnd.After(*st.Calls.Watermark)) {
				w := *it.sliceEnd
				st.Calls.Watermark = &w
			}
			s.prune(st)
			if err = s.sink.Checkpoint(ctx, st); err != nil {
				err = fmt.Errorf("checkpoint: %w", err)
				cancel()
			}
			continue
		}
		err = s.handle(ctx, st, it, emit)
		if it.result != nil {
			<-p.ahead
		}
		if err != nil {
			cancel()
		}
	}
	if err != nil {
		return err
	}
	return p.err
}

// work is one step of the ordered pipeline: a call to emit (with its detail
// request when one is made) or the end of a slice.
type work struct {
	eng      Engagement
	action   string // "fetch", StatusNoShow or StatusPending
	result   chan detailResult
	sliceEnd *time.Time
}

type detailResult struct {
	conv   *Conversation
	err    error
	status string      // when err is nil: complete, no_show or pending
	rows   []streamRow // the call's rows, built by the fetching goroutine
}

// producer lists the slices and dispatches detail requests. It owns the
// counters it updates until items is closed.
type producer struct {
	s       *Syncer
	seen    map[string]bool // complete at the start of the run
	items   chan work
	ahead   chan struct{} // bounds details fetched but not yet emitted
	workers chan struct{} // bounds requests in flight
	err     error
}

func (p *producer) run(ctx context.Context, from, to time.Time, slice time.Duration) {
	defer close(p.items)
	for a := from; a.Before(to); a = a.Add(slice) {
		b := a.Add(slice)
		if b.After(to) {
			b = to
		}
		if err := p.slice(ctx, a, b); err != nil {
			p.err = fmt.Errorf("calls %s – %s: %w", a.Format(time.RFC3339), b.Format(time.RFC3339), err)
			return
		}
		end := b
		if !p.send(ctx, work{sliceEnd: &end}) {
			return
		}
	}
}

func (p *producer) send(ctx context.Context, w work) bool {
	select {
	case p.items <- w:
		return true
	case <-ctx.Done():
		return false
	}
}

// slice lists one slice and queues every call in it.
func (p *producer) slice(ctx context.Context, from, to time.Time) error {
	s := p.s
	engs, err := s.list(ctx, from, to)
	if err != nil {
		return err
	}
	for _, e := range engs {
		switch {
		case !e.IsRecordedCall():
			s.sum.Skipped++
			continue
		case s.done[e.ID]:
			continue // repeated across pages or narrowed windows
		}
		s.done[e.ID] = true
		if p.seen[e.ID] {
			s.sum.AlreadyDone++
			continue
		}
		s.sum.Calls++
		w := work{eng: e, action: "fetch"}
		switch {
		case e.NoShow != nil && *e.NoShow:
			w.action = StatusNoShow
		case strings.ToLower(e.ProcessingState) != "" && strings.ToLower(e.ProcessingState) != "done":
			w.action = StatusPending
		default:
			if !p.fetch(ctx, &w) {
				return ctx.Err()
			}
		}
		if !p.send(ctx, w) {
			return ctx.Err()
		}
	}
	return nil
}

// fetch starts the detail request of w, once there is room ahead and a free
// worker.
func (p *producer) fetch(ctx context.Context, w *work) bool {
	for _, sem := range []chan struct{}{p.ahead, p.workers} {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	w.result = make(chan detailResult, 1)
	go func(e Engagement, out chan<- detailResult) {
		defer func() { <-p.workers }()
		c, err := p.s.opt.API.GetConversation(ctx, e.ID)
		r := detailResult{conv: c, err: err}
		if err == nil {
			// Building the rows (truncation, derived items and metrics) is
			// the costly part of a call after decoding; it runs here, in
			// parallel, and the consumer only writes them in order.
			if r.status = detailStatus(c); r.status != StatusPending {
				r.rows = callRows(&e, c, r.status, p.s.lim)
			}
		}
		out <- r
	}(w.eng, w.result)
	return true
}

// detailStatus is the transcript status a conversation's status means.
func detailStatus(c *Conversation) string {
	switch c.Status {
	case "done", "":
		return StatusComplete
	case "no show", "no_show", "noshow":
		return StatusNoShow
	default:
		return StatusPending
	}
}

// handle emits one call of the pipeline.
func (s *Syncer) handle(ctx context.Context, st *State, w work, emit emitter) error {
	switch w.action {
	case StatusNoShow:
		return s.finish(st, &w.eng, callRows(&w.eng, nil, StatusNoShow, s.lim), StatusNoShow, emit)
	case StatusPending:
		return s.markPending(st, &w.eng, emit)
	}
	var r detailResult
	select {
	case r = <-w.result:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.sum.DetailRequests++
	return s.handleDetail(st, &w.eng, r, emit)
}

// prune forgets seen calls that no future look-back can list again.
func (s *Syncer) prune(st *State) {
	if st.Calls.Watermark == nil {
		return
	}
	horizon := st.Calls.Watermark.Add(-time.Duration(s.opt.Config.LookbackHours*float64(time.Hour)) - 24*time.Hour)
	for id, c := range st.Calls.Seen {
		if c.StartedAt.Before(horizon) {
			delete(st.Calls.Seen, id)
		}
	}
}

// list returns every engagement in [from, to). A 504 narrows the window: the
// two halves are listed separately, down to five minutes.
func (s *Syncer) list(ctx context.Context, from, to time.Time) ([]Engagement, error) {
	var out []Engagement
	key := ""
	seenKeys := map[string]bool{}
	seenIDs := map[string]bool{}
	for {
		s.sum.ListRequests++
		p, err := s.opt.API.ListEngagements(ctx, ListQuery{From: from, To: to, Continuation: key})
		var gt *GatewayTimeoutError
		if errors.As(err, &gt) && to.Sub(from) > 5*time.Minute {
			s.sum.Narrowed++
			mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
			s.log.Warn("list timed out; narrowing the window", "from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339))
			left, err := s.list(ctx, from, mid)
			if err != nil {
				return nil, err
			}
			right, err := s.list(ctx, mid, to)
			if err != nil {
				return nil, err
			}
			// Pages already read stay in out; duplicates are dropped later.
			return append(append(out, right...), left...), nil
		}
		if err != nil {
			return nil, err
		}
		for _, u := range p.Unreadable {
			s.sum.Unreadable++
			s.log.Warn("skipping an engagement that cannot be read", "reason", u)
		}
		fresh := 0
		for _, e := range p.Engagements {
			if !seenIDs[e.ID] {
				seenIDs[e.ID] = true
				fresh++
			}
		}
		out = append(out, p.Engagements...)
		// End of listing: no key, an empty page, or a key seen before.
		if p.Next == "" || len(p.Engagements) == 0 || seenKeys[p.Next] {
			return out, nil
		}
		// A page of engagements all listed already under a new key: an API
		// that ignores the key but mints a new one would loop forever.
		if fresh == 0 {
			s.log.Warn("the listing repeats itself under a new continuation key; ending it", "from", from.Format(time.RFC3339), "to", to.Format(time.RFC3339))
			return out, nil
		}
		seenKeys[p.Next] = true
		key = p.Next
	}
}

func (s *Syncer) handleDetail(st *State, e *Engagement, r detailResult, emit emitter) error {
	var nf *NotFoundError
	switch {
	case errors.As(r.err, &nf):
		s.sum.NotFound++
		return s.finish(st, e, callRows(e, nil, StatusNotFound, s.lim), StatusNotFound, emit)
	case r.err != nil:
		return fmt.Errorf("call %s: %w", e.ID, r.err)
	case r.status == StatusPending:
		return s.markPending(st, e, emit)
	}
	return s.finish(st, e, r.rows, r.status, emit)
}

// streamRow is one row of one stream.
type streamRow struct {
	stream string
	row    Row
}

// callRows builds every row of a call in a final state: the calls row and,
// from the detail, participants, utterances, trackers, action items and
// metrics. Without a detail (no-show, 404, abandoned) the listing still
// tells who was on the call, which trackers matched and the action items.
func callRows(e *Engagement, c *Conversation, status string, lim limits) []streamRow {
	meta := rowMeta{}
	detail := c
	if detail == nil {
		detail = &Conversation{}
	} else {
		meta.truncation = truncateTranscript(c, lim)
	}
	rows := []streamRow{{"calls", callRow(e, c, status, meta)}}
	_ = childRows(e, detail, func(stream string, r Row) error {
		rows = append(rows, streamRow{stream, r})
		return nil
	})
	return rows
}

// finish emits a call in a final state and remembers it.
func (s *Syncer) finish(st *State, e *Engagement, rows []streamRow, status string, emit emitter) error {
	for _, r := range rows {
		if err := emit(r.stream, r.row); err != nil {
			return err
		}
	}
	delete(st.Calls.Pending, e.ID)
	st.Calls.Seen[e.ID] = SeenCall{StartedAt: e.StartedAt, Status: status}
	return nil
}

// markPending emits the listing's view of a call whose transcript is not
// ready and keeps it for later runs.
func (s *Syncer) markPending(st *State, e *Engagement, emit emitter) error {
	p, ok := st.Calls.Pending[e.ID]
	if !ok {
		p = PendingCall{FirstSeen: s.now().UTC().Truncate(time.Second)}
	}
	if maxAge := time.Duration(s.opt.Config.PendingMaxHours * float64(time.Hour)); s.now().Sub(p.FirstSeen) > maxAge {
		return s.abandon(st, e, p, emit)
	}
	p.Attempts++
	p.Engagement = *e
	st.Calls.Pending[e.ID] = p
	return emit("calls", callRow(e, nil, StatusPending, rowMeta{}))
}

// abandon records a call whose transcript never became ready as given up,
// and reports it.
func (s *Syncer) abandon(st *State, e *Engagement, p PendingCall, emit emitter) error {
	s.sum.Abandoned = append(s.sum.Abandoned, e.ID)
	msg := fmt.Sprintf("call %s: transcript still not ready %s after it was first listed (%d attempts); recorded as abandoned",
		e.ID, s.now().Sub(p.FirstSeen).Round(time.Minute), p.Attempts)
	s.log.Warn(msg, "call_id", e.ID)
	if s.status != nil {
		s.status.Log("WARN", msg)
	}
	return s.finish(st, e, callRows(e, nil, StatusAbandoned, s.lim), StatusAbandoned, emit)
}

// retryPending handles pending calls that this run's listing did not reach:
// they are fetched by id, or given up once older than pending_max_hours.
func (s *Syncer) retryPending(ctx context.Context, st *State) error {
	maxAge := time.Duration(s.opt.Config.PendingMaxHours * float64(time.Hour))
	now := s.now()
	emit := s.emit(ctx)
	var todo []Engagement
	for _, id := range sortedKeys(st.Calls.Pending) {
		if s.done[id] {
			continue
		}
		p := st.Calls.Pending[id]
		e := p.Engagement
		s.done[id] = true
		if now.Sub(p.FirstSeen) > maxAge {
			if err := s.abandon(st, &e, p, emit); err != nil {
				return err
			}
			continue
		}
		todo = append(todo, e)
	}
	if len(todo) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := s.newProducer(nil)
	go func() {
		defer close(p.items)
		for _, e := range todo {
			w := work{eng: e, action: "fetch"}
			if !p.fetch(ctx, &w) || !p.send(ctx, w) {
				return
			}
		}
	}()
	return s.consume(ctx, cancel, st, p, false)
}
