// Package engine is the sync engine: it lists and fetches calls through an
// API, has their rows built (connector/streamrows), keeps the incremental state (the
// watermark, settling and pending calls, the scorecards cursor) and hands rows
// and checkpoints to a Sink.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// Transcript statuses recorded in calls.transcript_status.
const (
	StatusComplete  = "complete"  // the detail was read with its final transcript
	StatusPending   = "pending"   // listed, but Chorus has not finished processing it
	StatusNoShow    = "no_show"   // nobody showed up: there is no transcript to fetch
	StatusNotFound  = "not_found" // the detail answered 404 (deleted or private)
	StatusAbandoned = "abandoned" // still not processed after pending_max_hours
)

// API is everything the connector needs from Chorus. All knowledge of the
// API's URLs and JSON shapes sits behind it: another API version (or a
// third-party variant) is one new implementation, in one new file.
type API interface {
	// ListEngagements returns one page of engagements that started in
	// [q.From, q.To) — or, when q.IDs is set, of those engagements — newest
	// first, and the key of the next page ("" at the end). A 504 comes back
	// as *client.GatewayTimeoutError so that the caller can narrow the window.
	ListEngagements(ctx context.Context, q chorusapi.ListQuery) (chorusapi.Page, error)
	// GetConversation returns the detail and transcript of one engagement;
	// *client.NotFoundError when it is gone or not visible.
	GetConversation(ctx context.Context, id string) (*chorusapi.Conversation, error)
	ListUsers(ctx context.Context) ([]chorusapi.User, error)
	ListTeams(ctx context.Context) ([]chorusapi.Team, error)
	// GetSalesQualification returns Chorus's sales qualification analysis of
	// a call; *client.NotFoundError when there is none.
	GetSalesQualification(ctx context.Context, id string) (*chorusapi.SalesQualification, error)
	// ListScorecards returns one page of the scorecards submitted at or
	// after q.SubmittedFrom (and not after q.SubmittedTo, when set).
	ListScorecards(ctx context.Context, q chorusapi.ScorecardQuery) (chorusapi.ScorecardPage, error)
}

// Sink receives what a sync produces. WriteBatch receives rows of one
// stream as an Arrow record of the stream's schema (schemas.Stream.Arrow),
// the rows of each stream in order; it is called from one goroutine, and the
// record is released when it returns (a sink that keeps it retains it).
// Checkpoint is called after a finished slice: everything written before it
// must be made durable before the state is persisted.
type Sink interface {
	WriteBatch(ctx context.Context, stream string, rec arrow.RecordBatch) error
	Checkpoint(ctx context.Context, st *state.State) error
}

// StatusSink is implemented by sinks that report stream progress (Airbyte).
type StatusSink interface {
	StreamStatus(stream, status string)
	Estimate(stream string, rows int64)
	Log(level, msg string)
}

// ErrInterrupted is returned by a sync stopped through Options.Stop, after
// it checkpointed the work done.
var ErrInterrupted = errors.New("interrupted")

// Options is one sync run's setup.
type Options struct {
	Config   *config.Config
	API      API
	Selected map[string]bool // streams to emit; nil means all
	// Window, when set, syncs exactly [From, To) (an orchestrator partition)
	// and leaves the watermark where it is.
	From, To time.Time
	Now      func() time.Time
	Logger   *slog.Logger
	SyncID   string
	// Stop, when closed, ends the run early but cleanly: no new request is
	// started, the calls already fetched are written, the state is
	// checkpointed, and Sync returns ErrInterrupted. (Cancelling the context
	// instead abandons the work in flight.)
	Stop <-chan struct{}
	// EngagementIDs, when set, restricts the sync to these calls, listed by
	// id (see syncIDs): the watermark stays, nothing else is synced.
	EngagementIDs []string
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
	// Refetched counts settling calls read again because their listing
	// changed or their AI output was pending; RefetchedChanged those whose
	// content had changed and were written again.
	Refetched        int64 `json:"refetched"`
	RefetchedChanged int64 `json:"refetched_changed"`
	// QualificationRequests counts sales qualification requests (opt-in:
	// one per complete call read).
	QualificationRequests int64      `json:"qualification_requests,omitempty"`
	Pending               int        `json:"pending"`
	Settling              int        `json:"settling"`
	NotFound              int64      `json:"not_found"`
	Abandoned             []string   `json:"abandoned,omitempty"`
	Narrowed              int64      `json:"windows_narrowed"`
	Watermark             *time.Time `json:"watermark,omitempty"`
	Slices                int        `json:"slices"`
	Interrupted           bool       `json:"interrupted,omitempty"`

	// ScorecardRequests counts GET /api/v1/scorecards requests.
	ScorecardRequests int64 `json:"scorecard_requests"`
}

// Syncer runs incremental syncs.
type Syncer struct {
	opt      Options
	sink     Sink
	status   StatusSink
	log      *slog.Logger
	now      func() time.Time
	lim      streamrows.Limits
	children []string // the selected child streams of a call
	sum      Summary
	done     map[string]bool // call ids handled in this run
	listed   map[string]bool // engagement ids whose engagements row this run wrote
	// local holds the rows the consumer builds itself (engagements, calls
	// without a detail, the directory, scorecards) until a record of the
	// same stream is written or a checkpoint comes; batches are the
	// fetching goroutines' batches, reused.
	local   *streamrows.Batch
	batches sync.Pool
}

// Sync runs one sync into sink, starting from st, which it updates. It
// returns the run's summary; on error the state reflects the last
// checkpoint that the sink accepted.
func Sync(ctx context.Context, opt Options, st *state.State, sink Sink) (*Summary, error) {
	s := &Syncer{opt: opt, sink: sink, log: opt.Logger, now: opt.Now, done: map[string]bool{}, listed: map[string]bool{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.status, _ = sink.(StatusSink)
	s.local = streamrows.NewBatch(s.selected, opt.SyncID, s.now)
	s.local.StampEachRow()
	s.batches.New = func() any { return streamrows.NewBatch(s.selected, opt.SyncID, s.now) }
	s.lim = streamrows.Limits{UtteranceBytes: opt.Config.MaxUtteranceBytes, TranscriptBytes: opt.Config.MaxTranscriptByte}
	for _, c := range streamrows.ChildStreams() {
		if s.selected(c) && (c != "sales_qualifications" || opt.Config.SyncSalesQualifications) {
			s.children = append(s.children, c)
		}
	}
	s.sum = Summary{SyncID: opt.SyncID, Rows: map[string]int64{}}
	err := s.run(ctx, st)
	s.sum.Pending = len(st.Calls.Pending)
	for _, k := range st.Calls.Known {
		if s.settling(k) {
			s.sum.Settling++
		}
	}
	s.sum.Watermark = st.Calls.Watermark
	s.sum.Interrupted = errors.Is(err, ErrInterrupted)
	return &s.sum, err
}

func (s *Syncer) selected(stream string) bool {
	return s.opt.Selected == nil || s.opt.Selected[stream]
}

// stopped reports whether Options.Stop has been closed.
func (s *Syncer) stopped() bool {
	select {
	case <-s.opt.Stop:
		return true
	default:
		return false
	}
}

func (s *Syncer) anySelected(f schemas.Family) bool {
	for _, st := range schemas.All() {
		if st.Family() == f && s.selected(st.Name) {
			return true
		}
	}
	return false
}

// localFlushRows is how many rows of a stream the consumer's own batch
// holds before it writes them.
const localFlushRows = 4096

// write hands records to the sink, in order, and releases them. The
// consumer's own rows of a stream are written before a record of the same
// stream, so that every stream's rows reach the sink in the order they were
// produced.
func (s *Syncer) write(ctx context.Context, recs []streamrows.StreamRecord) error {
	for i, r := range recs {
		err := s.flushLocal(ctx, r.Stream)
		if err == nil {
			s.sum.Rows[r.Stream] += r.Rec.NumRows()
			err = s.sink.WriteBatch(ctx, r.Stream, r.Rec)
		}
		r.Rec.Release()
		if err != nil {
			streamrows.ReleaseAll(recs[i+1:])
			return err
		}
	}
	return nil
}

// flushLocal writes the consumer's own rows of stream.
func (s *Syncer) flushLocal(ctx context.Context, stream string) error {
	rec, err := s.local.Take(stream)
	if rec == nil || err != nil {
		return err
	}
	defer rec.Release()
	s.sum.Rows[stream] += rec.NumRows()
	return s.sink.WriteBatch(ctx, stream, rec)
}

// flushLocalAll writes every row the consumer holds (before a checkpoint),
// or, with full set, the streams that hold localFlushRows rows or more.
func (s *Syncer) flushLocalAll(ctx context.Context, full bool) error {
	for _, stream := range s.local.Streams() {
		if full && s.local.StreamLen(stream) < localFlushRows {
			continue
		}
		if err := s.flushLocal(ctx, stream); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint writes the consumer's rows, then checkpoints the sink.
func (s *Syncer) checkpoint(ctx context.Context, st *state.State) error {
	if err := s.flushLocalAll(ctx, false); err != nil {
		return err
	}
	return s.sink.Checkpoint(ctx, st)
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

func (s *Syncer) run(ctx context.Context, st *state.State) error {
	if len(s.opt.EngagementIDs) > 0 {
		return s.syncIDs(ctx, st)
	}
	if s.anySelected(schemas.FamilyCalls) {
		s.setStatus(schemas.FamilyCalls, "STARTED")
		if err := s.syncCalls(ctx, st); err != nil {
			s.setStatus(schemas.FamilyCalls, "INCOMPLETE")
			return err
		}
		s.setStatus(schemas.FamilyCalls, "COMPLETE")
	}
	if s.anySelected(schemas.FamilyDirectory) {
		if s.stopped() {
			return s.interrupted()
		}
		s.setStatus(schemas.FamilyDirectory, "STARTED")
		if err := s.syncDirectory(ctx, st); err != nil {
			s.setStatus(schemas.FamilyDirectory, "INCOMPLETE")
			return err
		}
		s.setStatus(schemas.FamilyDirectory, "COMPLETE")
	}
	return s.syncScorecardFamily(ctx, st)
}

func (s *Syncer) interrupted() error {
	return fmt.Errorf("%w: the state covers every call written so far; the next run resumes from it", ErrInterrupted)
}

func (s *Syncer) syncDirectory(ctx context.Context, st *state.State) error {
	now := s.now().UTC()
	if s.selected("users") || s.selected("user_teams") {
		users, err := s.opt.API.ListUsers(ctx)
		s.sum.OtherRequests++
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		for i := range users {
			streamrows.User(s.local, &users[i])
			if err := s.flushLocalAll(ctx, true); err != nil {
				return err
			}
		}
		st.Stream("users").SyncedAt = &now
	}
	if s.selected("teams") {
		teams, err := s.opt.API.ListTeams(ctx)
		s.sum.OtherRequests++
		if err != nil {
			return fmt.Errorf("teams: %w", err)
		}
		for i := range teams {
			streamrows.Team(s.local, &teams[i])
		}
		st.Stream("teams").SyncedAt = &now
	}
	return s.checkpoint(ctx, st)
}

// window returns the range of start times this run lists.
func (s *Syncer) window(st *state.State) (from, to time.Time, moveWatermark bool) {
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

// settleWindow is how long after its start a complete call may still change.
func (s *Syncer) settleWindow() time.Duration {
	return s.opt.Config.Settle()
}

// settling reports whether a known call is young enough for Chorus to
// change it: such calls are re-read in the listing on every run.
func (s *Syncer) settling(k state.KnownCall) bool {
	return k.Status == StatusComplete && s.now().Before(k.StartedAt.Add(s.settleWindow()))
}

func (s *Syncer) syncCalls(ctx context.Context, st *state.State) error {
	if st.Calls.Known == nil {
		st.Calls.Known = map[string]state.KnownCall{}
	}
	if st.Calls.Pending == nil {
		st.Calls.Pending = map[string]state.PendingCall{}
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
	p := s.newProducer(st)
	cctx, cancel := context.WithCancel(ctx)
	go p.run(cctx, func(ctx context.Context) error {
		return p.slices(ctx, from, to, time.Duration(s.opt.Config.SliceHours*float64(time.Hour)))
	})
	err := s.consume(cctx, cancel, st, p, move)
	cancel()
	if err != nil {
		return err
	}
	if !s.stopped() {
		// Calls this run's window did not list: pending ones and settling
		// ones are looked up by id in batches (listing requests only).
		p = s.newProducer(st)
		cctx, cancel = context.WithCancel(ctx)
		go p.run(cctx, func(ctx context.Context) error { return p.revisit(ctx, st) })
		err = s.consume(cctx, cancel, st, p, false)
		cancel()
		if err != nil {
			return fmt.Errorf("pending and settling calls: %w", err)
		}
	}
	s.prune(st)
	if err := s.checkpoint(ctx, st); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if s.stopped() {
		return s.interrupted()
	}
	return nil
}

// revisitBatch is how many engagement ids one batch lookup asks for.
const revisitBatch = 100

func (s *Syncer) newProducer(st *state.State) *producer {
	conc := max(1, s.opt.Config.MaxConcurrency)
	return &producer{s: s, known: maps.Clone(st.Calls.Known), items: make(chan work, 256),
		ahead: make(chan struct{}, 4*conc), workers: make(chan struct{}, conc)}
}

// consume emits what the producer queues, in order, and checkpoints at the
// end of each slice. After a failure it cancels the producer and drains it.
func (s *Syncer) consume(ctx context.Context, cancel context.CancelFunc, st *state.State, p *producer, move bool) error {
	var err error
	for it := range p.items {
		if err != nil {
			if it.result != nil { // draining after a failure
				select {
				case r := <-it.result:
					streamrows.ReleaseAll(r.recs)
				case <-ctx.Done():
				}
			}
			continue
		}
		switch {
		case it.sliceEnd != nil:
			s.sum.Slices++
			if move && (st.Calls.Watermark == nil || it.sliceEnd.After(*st.Calls.Watermark)) {
				w := *it.sliceEnd
				st.Calls.Watermark = &w
			}
			s.prune(st)
			if err = s.checkpoint(ctx, st); err != nil {
				err = fmt.Errorf("checkpoint: %w", err)
			}
		case it.vanished != "":
			s.vanished(st, it.vanished)
		case it.listing:
			streamrows.Engagement(s.local, &it.eng)
			err = s.flushLocalAll(ctx, true)
		default:
			err = s.handle(ctx, st, it)
			if it.result != nil {
				<-p.ahead
			}
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

// Actions of the pipeline.
const (
	actFetch   = "fetch"   // a new call (or a pending one now done): read its detail
	actRefetch = "refetch" // a settling call that changed: read its detail again
)

// work is one step of the ordered pipeline: a call to emit (with its detail
// request when one is made), the end of a slice, or a pending call that its
// batch lookup no longer returns.
type work struct {
	eng      chorusapi.Engagement
	listing  bool   // emit the engagements row of eng (nothing else)
	action   string // actFetch, actRefetch, StatusNoShow or StatusPending
	result   chan detailResult
	sliceEnd *time.Time
	vanished string
}

type detailResult struct {
	conv   *chorusapi.Conversation
	err    error
	qualed bool                      // a sales qualification request was made
	status string                    // when err is nil: complete, no_show or pending
	recs   []streamrows.StreamRecord // the call's rows, built by the fetching goroutine
}

// producer lists and dispatches detail requests. It owns the counters it
// updates until items is closed.
type producer struct {
	s       *Syncer
	known   map[string]state.KnownCall // the known calls at the start of the run
	items   chan work
	ahead   chan struct{} // bounds details fetched but not yet emitted
	workers chan struct{} // bounds requests in flight
	err     error
}

// run runs f, then closes items.
func (p *producer) run(ctx context.Context, f func(context.Context) error) {
	defer close(p.items)
	if err := f(ctx); err != nil && !errors.Is(err, errStopped) {
		p.err = err
	}
}

// errStopped ends a producer whose run was stopped (Options.Stop).
var errStopped = errors.New("stopped")

func (p *producer) slices(ctx context.Context, from, to time.Time, slice time.Duration) error {
	for a := from; a.Before(to); a = a.Add(slice) {
		b := a.Add(slice)
		if b.After(to) {
			b = to
		}
		err := p.s.listPages(ctx, chorusapi.ListQuery{From: a, To: b}, func(engs []chorusapi.Engagement) error {
			return p.queue(ctx, engs)
		})
		if err != nil {
			if errors.Is(err, errStopped) {
				return err
			}
			return fmt.Errorf("calls %s – %s: %w", a.Format(time.RFC3339), b.Format(time.RFC3339), err)
		}
		end := b
		if !p.send(ctx, work{sliceEnd: &end}) {
			return ctx.Err()
		}
	}
	return nil
}

// revisit looks up, by id, the pending calls and the settling calls this
// run's window did not list.
func (p *producer) revisit(ctx context.Context, st *state.State) error {
	s := p.s
	var ids []string
	pending := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(st.Calls.Pending)) {
		if !s.done[id] {
			ids = append(ids, id)
			pending[id] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(p.known)) {
		if !s.done[id] && s.settling(p.known[id]) {
			ids = append(ids, id)
		}
	}
	for len(ids) > 0 {
		batch := ids[:min(revisitBatch, len(ids))]
		ids = ids[len(batch):]
		engs, err := s.listIDs(ctx, batch)
		if err != nil {
			return err
		}
		if err := p.queue(ctx, engs); err != nil {
			return err
		}
		for _, id := range batch {
			if pending[id] && !s.done[id] {
				s.done[id] = true
				if !p.send(ctx, work{vanished: id}) {
					return ctx.Err()
				}
			}
		}
	}
	return nil
}

func (p *producer) send(ctx context.Context, w work) bool {
	select {
	case p.items <- w:
		return true
	case <-ctx.Done():
		return false
	}
}

// queue decides what to do with each listed engagement and queues it.
func (p *producer) queue(ctx context.Context, engs []chorusapi.Engagement) error {
	s := p.s
	for _, e := range engs {
		if s.stopped() {
			return errStopped
		}
		if s.selected("engagements") && !s.listed[e.ID] {
			s.listed[e.ID] = true
			if !p.send(ctx, work{eng: e, listing: true}) {
				return ctx.Err()
			}
		}
		switch {
		case !e.IsRecordedCall():
			s.sum.Skipped++
			continue
		case s.done[e.ID]:
			continue // repeated across pages or narrowed windows
		}
		s.done[e.ID] = true
		w := work{eng: e, action: actFetch}
		if k, ok := p.known[e.ID]; ok {
			if !p.changed(k, &e) {
				s.sum.AlreadyDone++
				continue
			}
			w.action = actRefetch
		} else {
			s.sum.Calls++
		}
		switch {
		case w.action == actRefetch:
			if !p.fetch(ctx, &w) {
				return ctx.Err()
			}
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

// changed reports whether a known call must be read again: it is settling,
// and its listing changed or its AI output was pending and is due for a
// recheck.
func (p *producer) changed(k state.KnownCall, e *chorusapi.Engagement) bool {
	if !p.s.settling(k) {
		return false
	}
	if k.Listing != e.Fingerprint() {
		return true
	}
	return k.AIPending && (k.RecheckAt == nil || !p.s.now().Before(*k.RecheckAt))
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
	go func(e chorusapi.Engagement, out chan<- detailResult) {
		defer func() { <-p.workers }()
		c, err := p.s.opt.API.GetConversation(ctx, e.ID)
		r := detailResult{conv: c, err: err}
		if err == nil {
			// Building the rows (truncation, derived items and metrics) is
			// the costly part of a call after decoding; it runs here, in
			// parallel, and the consumer only writes them in order.
			if r.status = detailStatus(c); r.status != StatusPending {
				b := p.s.batches.Get().(*streamrows.Batch)
				streamrows.Call(b, &e, c, r.status, p.s.lim, p.s.children)
				if r.status == StatusComplete && slices.Contains(p.s.children, "sales_qualifications") {
					r.qualed = true
					q, err := p.s.opt.API.GetSalesQualification(ctx, e.ID)
					var nf *client.NotFoundError
					switch {
					case err == nil:
						streamrows.Qualification(b, e.ID, q)
					case !errors.As(err, &nf):
						r.err = fmt.Errorf("sales qualification: %w", err)
					}
				}
				recs, err := b.Records()
				p.s.batches.Put(b)
				switch {
				case err != nil && r.err == nil:
					r.err = fmt.Errorf("call %s: rows: %w", e.ID, err)
				case r.err != nil:
					streamrows.ReleaseAll(recs)
				default:
					r.recs = recs
				}
			}
		}
		out <- r
	}(w.eng, w.result)
	return true
}

// detailStatus is the transcript status a conversation's status means:
// "done" is complete; "unknown" (the documented default) is complete when
// the detail has a transcript, else still pending; "no show" has no
// transcript to wait for; "processing", "live" and "scheduled" are pending.
func detailStatus(c *chorusapi.Conversation) string {
	switch c.Status {
	case "done", "":
		return StatusComplete
	case "unknown":
		if len(c.Utterances) > 0 {
			return StatusComplete
		}
		return StatusPending
	case "no show", "no_show", "noshow":
		return StatusNoShow
	default:
		return StatusPending
	}
}

// handle emits one call of the pipeline.
func (s *Syncer) handle(ctx context.Context, st *state.State, w work) error {
	switch w.action {
	case StatusNoShow:
		return s.finishLocal(ctx, st, &w.eng, StatusNoShow)
	case StatusPending:
		return s.markPending(ctx, st, &w.eng)
	}
	var r detailResult
	select {
	case r = <-w.result:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.sum.DetailRequests++
	if r.qualed {
		s.sum.QualificationRequests++
	}
	if w.action == actRefetch {
		return s.handleRefetch(ctx, st, &w.eng, r)
	}
	return s.handleDetail(ctx, st, &w.eng, r)
}

// prune forgets known calls that no future run lists again or re-reads:
// older than the look-back reach and no longer settling.
func (s *Syncer) prune(st *state.State) {
	if st.Calls.Watermark == nil {
		return
	}
	horizon := st.Calls.Watermark.Add(-time.Duration(s.opt.Config.LookbackHours*float64(time.Hour)) - 24*time.Hour)
	for id, c := range st.Calls.Known {
		if c.StartedAt.Before(horizon) && !s.settling(c) {
			delete(st.Calls.Known, id)
		}
	}
}

// list returns every engagement of q (see listPages).
func (s *Syncer) list(ctx context.Context, q chorusapi.ListQuery) ([]chorusapi.Engagement, error) {
	var out []chorusapi.Engagement
	err := s.listPages(ctx, q, func(engs []chorusapi.Engagement) error {
		out = append(out, engs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listPages hands each page of q's engagements to page as it is read, so
// that a back-fill holds a page of a week's listing at a time, not the
// week. A 504 on a date window narrows it: the two halves are listed
// separately, down to five minutes; pages already handed over stay, and
// the engagements they repeat are the caller's to drop.
func (s *Syncer) listPages(ctx context.Context, q chorusapi.ListQuery, page func([]chorusapi.Engagement) error) error {
	seenKeys := map[string]bool{}
	seenIDs := map[string]bool{}
	for {
		if s.stopped() {
			return errStopped
		}
		s.sum.ListRequests++
		p, err := s.opt.API.ListEngagements(ctx, q)
		var gt *client.GatewayTimeoutError
		if errors.As(err, &gt) && len(q.IDs) == 0 && q.To.Sub(q.From) > 5*time.Minute {
			s.sum.Narrowed++
			mid := q.From.Add(q.To.Sub(q.From) / 2).Truncate(time.Second)
			s.log.Warn("list timed out; narrowing the window", "from", q.From.Format(time.RFC3339), "to", q.To.Format(time.RFC3339))
			if err := s.listPages(ctx, chorusapi.ListQuery{From: q.From, To: mid}, page); err != nil {
				return err
			}
			return s.listPages(ctx, chorusapi.ListQuery{From: mid, To: q.To}, page)
		}
		if err != nil {
			return err
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
		if err := page(p.Engagements); err != nil {
			return err
		}
		// End of listing: no key, an empty page, or a key seen before.
		if p.Next == "" || len(p.Engagements) == 0 || seenKeys[p.Next] {
			return nil
		}
		// A page of engagements all listed already under a new key: an API
		// that ignores the key but mints a new one would loop forever.
		if fresh == 0 {
			s.log.Warn("the listing repeats itself under a new continuation key; ending it", "from", q.From.Format(time.RFC3339), "to", q.To.Format(time.RFC3339))
			return nil
		}
		seenKeys[p.Next] = true
		q.Continuation = p.Next
	}
}

func (s *Syncer) handleDetail(ctx context.Context, st *state.State, e *chorusapi.Engagement, r detailResult) error {
	var nf *client.NotFoundError
	switch {
	case errors.As(r.err, &nf):
		s.sum.NotFound++
		return s.finishLocal(ctx, st, e, StatusNotFound)
	case r.err != nil:
		return fmt.Errorf("call %s: %w", e.ID, r.err)
	case r.status == StatusPending:
		return s.markPending(ctx, st, e)
	}
	return s.finish(ctx, st, e, r.conv, r.recs, r.status)
}

// handleRefetch writes a settling call read again: its rows replace the
// ones written before only when its content changed. A call that is gone
// (404) or no longer done keeps the rows it has; it stops settling.
func (s *Syncer) handleRefetch(ctx context.Context, st *state.State, e *chorusapi.Engagement, r detailResult) error {
	s.sum.Refetched++
	k := st.Calls.Known[e.ID]
	var nf *client.NotFoundError
	switch {
	case errors.As(r.err, &nf), r.err == nil && r.status == StatusPending:
		s.log.Warn("a complete call is no longer readable; keeping what was loaded", "call_id", e.ID)
		k.Listing, k.AIPending, k.RecheckAt = e.Fingerprint(), false, nil
		st.Calls.Known[e.ID] = k
		return nil
	case r.err != nil:
		return fmt.Errorf("call %s: %w", e.ID, r.err)
	}
	if r.conv.Fingerprint() == k.Content && r.status == k.Status {
		streamrows.ReleaseAll(r.recs)
		s.record(st, e, r.conv, r.status) // same content: only the hashes and AI flags move
		return nil
	}
	s.sum.RefetchedChanged++
	return s.finish(ctx, st, e, r.conv, r.recs, r.status)
}

// finish writes a call in a final state and remembers it.
func (s *Syncer) finish(ctx context.Context, st *state.State, e *chorusapi.Engagement, c *chorusapi.Conversation, recs []streamrows.StreamRecord, status string) error {
	if err := s.write(ctx, recs); err != nil {
		return err
	}
	s.record(st, e, c, status)
	return nil
}

// finishLocal writes a call in a final state without a detail (no-show,
// not found, abandoned): its rows come from the listing.
func (s *Syncer) finishLocal(ctx context.Context, st *state.State, e *chorusapi.Engagement, status string) error {
	streamrows.Call(s.local, e, nil, status, s.lim, s.children)
	if err := s.flushLocalAll(ctx, true); err != nil {
		return err
	}
	s.record(st, e, nil, status)
	return nil
}

// aiRecheckFirst is the wait before a call whose AI output was pending is
// read again; it doubles with each recheck, within the settle window.
const aiRecheckFirst = time.Hour

// record remembers a call in a final state, with the hashes of what the
// listing and the detail said.
func (s *Syncer) record(st *state.State, e *chorusapi.Engagement, c *chorusapi.Conversation, status string) {
	delete(st.Calls.Pending, e.ID)
	prev := st.Calls.Known[e.ID]
	k := state.KnownCall{StartedAt: e.StartedAt, Status: status, Listing: e.Fingerprint()}
	if c != nil {
		k.Content = c.Fingerprint()
		if c.AIPending() {
			k.AIPending, k.Rechecks = true, prev.Rechecks+1
			at := s.now().UTC().Add(aiRecheckFirst << min(prev.Rechecks, 10)).Truncate(time.Second)
			k.RecheckAt = &at
		}
	}
	st.Calls.Known[e.ID] = k
}

// markPending emits the listing's view of a call whose transcript is not
// ready and keeps it for later runs.
func (s *Syncer) markPending(ctx context.Context, st *state.State, e *chorusapi.Engagement) error {
	p, ok := st.Calls.Pending[e.ID]
	if !ok {
		p = state.PendingCall{StartedAt: e.StartedAt, FirstSeen: s.now().UTC().Truncate(time.Second)}
	}
	if maxAge := time.Duration(s.opt.Config.PendingMaxHours * float64(time.Hour)); s.now().Sub(p.FirstSeen) > maxAge {
		return s.abandon(ctx, st, e, p)
	}
	p.Attempts++
	st.Calls.Pending[e.ID] = p
	streamrows.ListedCall(s.local, e, StatusPending)
	return s.flushLocalAll(ctx, true)
}

// abandon records a call whose transcript never became ready as given up,
// and reports it.
func (s *Syncer) abandon(ctx context.Context, st *state.State, e *chorusapi.Engagement, p state.PendingCall) error {
	s.report(e.ID, fmt.Sprintf("call %s: transcript still not ready %s after it was first listed (%d attempts); recorded as abandoned",
		e.ID, s.now().Sub(p.FirstSeen).Round(time.Minute), p.Attempts))
	return s.finishLocal(ctx, st, e, StatusAbandoned)
}

// vanished handles a pending call that its batch lookup no longer returns
// (deleted, or made private): it is kept until pending_max_hours, then
// given up. Its calls row keeps the listing's last view (status pending).
func (s *Syncer) vanished(st *state.State, id string) {
	p := st.Calls.Pending[id]
	p.Attempts++
	if s.now().Sub(p.FirstSeen) <= time.Duration(s.opt.Config.PendingMaxHours*float64(time.Hour)) {
		st.Calls.Pending[id] = p
		return
	}
	delete(st.Calls.Pending, id)
	s.report(id, fmt.Sprintf("call %s: no longer listed %s after it was first seen (deleted or made private); given up",
		id, s.now().Sub(p.FirstSeen).Round(time.Minute)))
}

func (s *Syncer) report(id, msg string) {
	s.sum.Abandoned = append(s.sum.Abandoned, id)
	s.log.Warn(msg, "call_id", id)
	if s.status != nil {
		s.status.Log("WARN", msg)
	}
}
