package serve

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Syncer brings calls into the warehouse.
type Syncer interface {
	// Sync syncs the calls with these engagement ids (listing each by
	// engagement_id, then reading its detail); with no ids it runs the
	// scheduled incremental sync. It must be idempotent.
	Sync(ctx context.Context, ids []string) error
}

// QueueOptions tune a SyncQueue.
type QueueOptions struct {
	// Every, when positive, runs the scheduled incremental sync that often.
	Every time.Duration
	// Gather is how long a sync woken by Enqueue waits for more ids first,
	// so that a burst of webhooks (Chorus retrying, several calls ending
	// together) is one sync; 0 waits not at all.
	Gather time.Duration
	// MaxAttempts is how often an id whose sync failed is tried in all;
	// 0 is 3.
	MaxAttempts int
	// RetryDelay is the wait before failed ids are tried again; 0 is 30s.
	RetryDelay time.Duration
	// AfterSync, when set, is called after every sync that succeeded (the
	// server drops its kept answers).
	AfterSync func()
	Logger    *slog.Logger
}

// SyncQueue runs syncs one at a time (single flight) and coalesces what
// arrives meanwhile: ids enqueued while a sync runs are merged, repeats
// included, into the one sync that follows it. A burst of any number of
// enqueues that arrives before the sync it woke has finished therefore
// causes at most two syncs: that one, which takes what had arrived when it
// started, and one for all the rest.
type SyncQueue struct {
	syncer Syncer
	opts   QueueOptions
	log    *slog.Logger
	wake   chan struct{} // holds at most one wake-up: signals coalesce

	mu       sync.Mutex
	pending  map[string]int // id → failed attempts so far
	periodic bool           // the scheduled sync is due
	stats    QueueStats
}

// QueueStats count what a queue did.
type QueueStats struct {
	Enqueued  int64     `json:"enqueued"`  // ids handed to Enqueue
	Coalesced int64     `json:"coalesced"` // of those, already pending
	Syncs     int64     `json:"syncs"`     // Sync calls with ids
	Scheduled int64     `json:"scheduled"` // Sync calls without ids
	Failures  int64     `json:"failures"`
	Dropped   int64     `json:"dropped"` // ids given up after MaxAttempts
	Pending   int       `json:"pending"`
	Running   bool      `json:"running"`
	LastSync  time.Time `json:"last_sync,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// NewSyncQueue makes a queue; Run works it.
func NewSyncQueue(s Syncer, o QueueOptions) *SyncQueue {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 3
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &SyncQueue{syncer: s, opts: o, log: o.Logger, wake: make(chan struct{}, 1), pending: map[string]int{}}
}

// Enqueue asks for the calls to be synced and returns at once.
func (q *SyncQueue) Enqueue(ids ...string) {
	q.mu.Lock()
	for _, id := range ids {
		q.stats.Enqueued++
		if _, ok := q.pending[id]; ok {
			q.stats.Coalesced++
			continue
		}
		q.pending[id] = 0
	}
	q.mu.Unlock()
	q.signal()
}

func (q *SyncQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default: // a wake-up is already waiting: this one joins it
	}
}

// Stats returns what the queue did so far.
func (q *SyncQueue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.stats
	st.Pending = len(q.pending)
	return st
}

// Run works the queue until ctx is done. A sync in flight then sees its
// context cancelled; ids still pending are logged and left to the next
// scheduled sync.
func (q *SyncQueue) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if q.opts.Every > 0 {
		t := time.NewTicker(q.opts.Every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if st := q.Stats(); st.Pending > 0 {
				q.log.Warn("sync queue stopped with calls not synced yet", "pending", st.Pending)
			}
			return nil
		case <-q.wake:
			if q.opts.Gather > 0 {
				select {
				case <-time.After(q.opts.Gather):
				case <-ctx.Done():
					continue // reported at the top of the loop
				}
			}
		case <-tick:
			q.mu.Lock()
			q.periodic = true
			q.mu.Unlock()
		}
		q.round(ctx)
	}
}

// round runs the scheduled sync if it is due, then one sync of every
// pending id.
func (q *SyncQueue) round(ctx context.Context) {
	q.mu.Lock()
	batch, periodic := q.pending, q.periodic
	q.pending, q.periodic = map[string]int{}, false
	q.stats.Running = len(batch) > 0 || periodic
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.stats.Running = false
		q.mu.Unlock()
	}()
	if periodic {
		q.run(ctx, nil)
	}
	if len(batch) == 0 {
		return
	}
	ids := make([]string, 0, len(batch))
	for id := range batch {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if q.run(ctx, ids) || ctx.Err() != nil {
		return
	}
	// Failed ids go back to the queue (unless they arrived again
	// meanwhile) and are tried after RetryDelay, up to MaxAttempts.
	q.mu.Lock()
	retry := 0
	for _, id := range ids {
		if _, again := q.pending[id]; again {
			continue
		}
		if n := batch[id] + 1; n < q.opts.MaxAttempts {
			q.pending[id] = n
			retry++
		} else {
			q.stats.Dropped++
			q.log.Error("sync: giving up on a call", "id", id, "attempts", n)
		}
	}
	q.mu.Unlock()
	if retry > 0 {
		time.AfterFunc(q.opts.RetryDelay, q.signal)
	}
}

// run calls the syncer once and records the outcome; ok reports success.
func (q *SyncQueue) run(ctx context.Context, ids []string) bool {
	began := time.Now()
	err := q.syncer.Sync(ctx, ids)
	if err == nil && q.opts.AfterSync != nil {
		q.opts.AfterSync()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if ids == nil {
		q.stats.Scheduled++
	} else {
		q.stats.Syncs++
	}
	q.stats.LastSync = time.Now()
	if err != nil {
		q.stats.Failures++
		q.stats.LastError = err.Error()
		q.log.Error("sync failed", "calls", len(ids), "scheduled", ids == nil, "err", err)
		return false
	}
	q.stats.LastError = ""
	q.log.Info("synced", "calls", len(ids), "scheduled", ids == nil, "seconds", time.Since(began).Seconds())
	return true
}
