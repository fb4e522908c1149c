package serve

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// countingSyncer is a Syncer that records its calls. When gate is set,
// every Sync first says it started (on started) and then waits for the
// gate to open; failures makes the first syncs fail.
type countingSyncer struct {
	mu       sync.Mutex
	calls    [][]string // nil entries: scheduled syncs
	gate     chan struct{}
	started  chan struct{}
	failures int
}

func (c *countingSyncer) Sync(ctx context.Context, ids []string) error {
	if c.started != nil {
		select {
		case c.started <- struct{}{}:
		default:
		}
	}
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, slices.Clone(ids))
	if c.failures > 0 {
		c.failures--
		return errors.New("the API is down")
	}
	return nil
}

// synced returns the syncs with ids and the scheduled ones.
func (c *countingSyncer) synced() (withIDs [][]string, scheduled int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ids := range c.calls {
		if ids == nil {
			scheduled++
		} else {
			withIDs = append(withIDs, ids)
		}
	}
	return withIDs, scheduled
}

// waitIdle waits until the queue has nothing pending or running.
func waitIdle(t *testing.T, q *SyncQueue) QueueStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st := q.Stats(); st.Pending == 0 && !st.Running && len(q.wake) == 0 {
			time.Sleep(20 * time.Millisecond) // a wake-up just taken
			if st := q.Stats(); st.Pending == 0 && !st.Running {
				return st
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the queue is not idle: %+v", q.Stats())
	return QueueStats{}
}

func TestSyncQueueCoalesces(t *testing.T) {
	s := &countingSyncer{gate: make(chan struct{}), started: make(chan struct{}, 1)}
	q := NewSyncQueue(s, QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()

	q.Enqueue("A")
	<-s.started // the first sync runs (and waits at the gate) …
	// … while a burst arrives: repeats of A, B and C many times.
	var wg sync.WaitGroup
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.Enqueue([]string{"A", "B", "C"}[i%3])
		}()
	}
	wg.Wait()
	if st := q.Stats(); st.Pending != 3 || st.Coalesced != 297 || !st.Running {
		t.Errorf("during the first sync: %+v", st)
	}
	close(s.gate)
	st := waitIdle(t, q)
	got, _ := s.synced()
	if len(got) != 2 || !slices.Equal(got[0], []string{"A"}) || !slices.Equal(got[1], []string{"A", "B", "C"}) {
		t.Errorf("syncs %v, want [A] then [A B C]", got)
	}
	if st.Syncs != 2 || st.Enqueued != 301 || st.Failures != 0 {
		t.Errorf("stats %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestSyncQueueScheduled(t *testing.T) {
	s := &countingSyncer{}
	after := 0
	var mu sync.Mutex
	q := NewSyncQueue(s, QueueOptions{Every: 15 * time.Millisecond, AfterSync: func() { mu.Lock(); after++; mu.Unlock() }})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := q.Run(ctx); err != nil {
		t.Fatal(err)
	}
	withIDs, scheduled := s.synced()
	if scheduled < 3 || len(withIDs) != 0 {
		t.Errorf("in 200ms every 15ms: %d scheduled syncs, %d with ids", scheduled, len(withIDs))
	}
	mu.Lock()
	defer mu.Unlock()
	if after != scheduled {
		t.Errorf("AfterSync ran %d times for %d syncs", after, scheduled)
	}
}

func TestSyncQueueRetries(t *testing.T) {
	s := &countingSyncer{failures: 1}
	q := NewSyncQueue(s, QueueOptions{RetryDelay: 10 * time.Millisecond, MaxAttempts: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = q.Run(ctx) }()
	q.Enqueue("A", "B")
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if st := q.Stats(); st.Syncs == 2 && !st.Running {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, _ := s.synced()
	if len(got) != 2 || !slices.Equal(got[1], []string{"A", "B"}) {
		t.Fatalf("syncs %v: the failed ids were not tried again", got)
	}
	if st := q.Stats(); st.Failures != 1 || st.LastError != "" || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}

	// Always failing: given up after MaxAttempts.
	s2 := &countingSyncer{failures: 100}
	q2 := NewSyncQueue(s2, QueueOptions{RetryDelay: 5 * time.Millisecond, MaxAttempts: 3})
	go func() { _ = q2.Run(ctx) }()
	q2.Enqueue("X")
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && q2.Stats().Dropped == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if st := q2.Stats(); st.Dropped != 1 || st.Syncs != 3 || st.LastError == "" {
		t.Errorf("always failing: %+v", st)
	}
}

// TestSyncQueueGathers enqueues a burst spread over 100ms: with a gather
// of a second, it is one sync of every id.
func TestSyncQueueGathers(t *testing.T) {
	s := &countingSyncer{}
	q := NewSyncQueue(s, QueueOptions{Gather: time.Second})
	go func() { _ = q.Run(t.Context()) }()
	for _, id := range []string{"A", "B", "A", "C"} {
		q.Enqueue(id)
		time.Sleep(25 * time.Millisecond)
	}
	waitIdle(t, q)
	if got, _ := s.synced(); len(got) != 1 || !slices.Equal(got[0], []string{"A", "B", "C"}) {
		t.Errorf("syncs %v, want one: [A B C]", got)
	}
}
