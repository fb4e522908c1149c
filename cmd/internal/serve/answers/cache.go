package answers

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chorus-elt/chorus-elt/transforms"
)

// cache keeps the answers of the read surfaces while the warehouse stays
// the same. The warehouse changes only when `chorus-elt transform` builds
// the models again, and every build adds rows to the transforms ledger
// (transforms.LedgerTable): its row count and newest applied_at are the
// warehouse's generation. The generation is read again at most every
// checkEvery (and at once after an in-process sync, see invalidate);
// when it changed, every answer is dropped. Answers are kept in least
// recently used order up to maxBytes of JSON. Concurrent misses of one
// key make one load (single flight). Errors are not kept.
type cache struct {
	w          Warehouse
	maxBytes   int64
	checkEvery time.Duration
	now        func() time.Time

	mu       sync.Mutex
	gen      string // "" when unknown: nothing is kept
	checked  time.Time
	checking chan struct{} // closed when the generation read under way ends
	bytes    int64
	lru      *list.List // of *Entry, most recent first
	items    map[string]*list.Element
	flights  map[string]*flight
	stats    CacheStats
}

// CacheStats count what the cache did.
type CacheStats struct {
	Hits, Misses, Shared, Evictions, Drops int64
	Entries                                int
	Bytes                                  int64
	Generation                             string
}

// Entry is a kept answer: the value and its JSON.
type Entry struct {
	key   string
	Value any    // the answer
	JSON  []byte // its JSON, as written
}

type flight struct {
	done chan struct{}
	ent  *Entry
	err  error
}

func newCache(w Warehouse, maxBytes int64, checkEvery time.Duration) *cache {
	return &cache{w: w, maxBytes: maxBytes, checkEvery: checkEvery, now: time.Now,
		lru: list.New(), items: map[string]*list.Element{}, flights: map[string]*flight{}}
}

// get returns the answer for key, loading it when it is not kept.
func (c *cache) get(ctx context.Context, key string, load func(ctx context.Context) (any, error)) (*Entry, error) {
	if c == nil {
		return loadEntry(ctx, key, load)
	}
	c.refresh(ctx)
	c.mu.Lock()
	if el, ok := c.items[key]; ok {
		c.lru.MoveToFront(el)
		c.stats.Hits++
		c.mu.Unlock()
		return el.Value.(*Entry), nil
	}
	if f, ok := c.flights[key]; ok {
		c.stats.Shared++
		c.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err == nil || !isCancel(f.err) {
			return f.ent, f.err
		}
		// The loading request went away; load for this one.
		return loadEntry(ctx, key, load)
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	gen := c.gen
	c.stats.Misses++
	c.mu.Unlock()

	f.ent, f.err = loadEntry(ctx, key, load)
	c.mu.Lock()
	delete(c.flights, key)
	if f.err == nil && gen != "" && gen == c.gen {
		c.add(f.ent)
	}
	c.mu.Unlock()
	close(f.done)
	return f.ent, f.err
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func loadEntry(ctx context.Context, key string, load func(ctx context.Context) (any, error)) (*Entry, error) {
	v, err := load(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", key, err)
	}
	return &Entry{key: key, Value: v, JSON: append(b, '\n')}, nil
}

// add keeps an entry (c.mu held), evicting the least recently used past
// maxBytes. The Go value is counted as large as its JSON again.
func (c *cache) add(e *Entry) {
	size := 2 * int64(len(e.JSON))
	if size > c.maxBytes/4 {
		return // one answer may not take over the cache
	}
	if old, ok := c.items[e.key]; ok {
		c.remove(old)
	}
	c.items[e.key] = c.lru.PushFront(e)
	c.bytes += size
	for c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
		c.stats.Evictions++
	}
}

func (c *cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*Entry)
	delete(c.items, e.key)
	c.bytes -= 2 * int64(len(e.JSON))
}

// dropAll forgets every answer (c.mu held).
func (c *cache) dropAll() {
	if len(c.items) > 0 {
		c.stats.Drops++
	}
	c.lru.Init()
	c.items = map[string]*list.Element{}
	c.bytes = 0
}

// invalidate forgets every answer and has the generation read again on
// the next request: the warehouse just changed.
func (c *cache) invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropAll()
	c.gen, c.checked = "", time.Time{}
}

// refresh reads the generation when it is due: one request reads it while
// the others go on with the one they know, or, when none is known yet,
// wait for it.
func (c *cache) refresh(ctx context.Context) {
	c.mu.Lock()
	if wait := c.checking; wait != nil {
		known := c.gen != ""
		c.mu.Unlock()
		if !known {
			select {
			case <-wait:
			case <-ctx.Done():
			}
		}
		return
	}
	if c.gen != "" && c.now().Sub(c.checked) < c.checkEvery {
		c.mu.Unlock()
		return
	}
	done := make(chan struct{})
	c.checking = done
	c.mu.Unlock()
	gen, err := c.generation(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking = nil
	close(done)
	c.checked = c.now()
	if err != nil || gen != c.gen {
		c.dropAll()
		c.gen = gen // "" after an error: nothing is kept until it reads again
	}
}

// generation reads the transforms ledger's size and newest build.
func (c *cache) generation(ctx context.Context) (string, error) {
	q := sqlText{dialect: c.w.Dialect(), models: c.w.ModelSchema()}
	rows, err := c.w.Query(ctx, fmt.Sprintf("SELECT COUNT(*) AS n, MAX(applied_at) AS newest FROM %s", q.table(transforms.LedgerTable)))
	if err != nil {
		return "", fmt.Errorf("cache: read the transforms ledger: %w", err)
	}
	if len(rows) != 1 {
		return "", fmt.Errorf("cache: the transforms ledger answered %d rows", len(rows))
	}
	r := row(rows[0])
	return fmt.Sprintf("%d@%s", r.int("n"), r.time("newest").Format(time.RFC3339Nano)), nil
}

// Stats returns what the cache did so far.
func (c *cache) Stats() CacheStats {
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Entries, st.Bytes, st.Generation = len(c.items), c.bytes, c.gen
	return st
}
