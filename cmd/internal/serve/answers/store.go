// Package answers is what serve's API and pages show, read from the
// models that `chorus-elt transform` builds (DuckDB or BigQuery): the SQL
// of each answer in both dialects, the answer types (their JSON is the
// API's), and a cache that keeps answers while the warehouse stays the
// same. It knows nothing of HTTP.
package answers

import (
	"context"
	"fmt"
	"time"
)

// Warehouse is what the answers are read from: the models, by SQL text.
// warehouse.Warehouse satisfies it.
type Warehouse interface {
	Dialect() string     // duckdb | bigquery
	ModelSchema() string // chorus | project.dataset
	Query(ctx context.Context, sql string) ([]map[string]any, error)
}

// Options configure New.
type Options struct {
	// CacheBytes bounds the answers kept (JSON size, doubled); 0 or
	// negative keeps none.
	CacheBytes int64
	// CacheCheckEvery is how often the warehouse is asked whether it
	// changed (a new transform build).
	CacheCheckEvery time.Duration
	// MaxQueries bounds the warehouse queries running at a time; 0: no
	// bound.
	MaxQueries int
}

// Store answers the read surfaces' questions from the models; cache
// (nil: off) keeps the answers while the warehouse stays the same.
type Store struct {
	w     Warehouse
	q     sqlText
	cache *cache
	slots chan struct{} // one per query allowed to run at a time; nil: no bound
}

// New reads from w, which must speak DuckDB or BigQuery.
func New(w Warehouse, o Options) (*Store, error) {
	switch w.Dialect() {
	case DuckDB, BigQuery:
	default:
		return nil, fmt.Errorf("unknown warehouse dialect %q", w.Dialect())
	}
	s := &Store{w: w, q: sqlText{dialect: w.Dialect(), models: w.ModelSchema()}}
	if o.MaxQueries > 0 {
		s.slots = make(chan struct{}, o.MaxQueries)
	}
	if o.CacheBytes > 0 {
		s.cache = newCache(w, o.CacheBytes, o.CacheCheckEvery)
	}
	return s, nil
}

// CacheStats says what the answer cache did.
func (s *Store) CacheStats() CacheStats { return s.cache.Stats() }

// Invalidate drops the kept answers and reads the warehouse's generation
// again (call it after a sync changed the warehouse).
func (s *Store) Invalidate() { s.cache.invalidate() }

// Kinds of kept answers by id.
const (
	KindMeeting    = "meeting"
	KindTranscript = "transcript"
	KindCustomer   = "customer"
	KindInsights   = "insights"
)

// ByID answers kind/id from the cache or the warehouse.
func (s *Store) ByID(ctx context.Context, kind, id string) (*Entry, error) {
	return s.cache.get(ctx, kind+"/"+id, func(ctx context.Context) (any, error) {
		switch kind {
		case KindMeeting:
			return s.meeting(ctx, id)
		case KindTranscript:
			return s.transcript(ctx, id)
		case KindCustomer:
			return s.customerView(ctx, id)
		case KindInsights:
			return s.insights(ctx, id)
		}
		return nil, fmt.Errorf("serve: unknown kind %q", kind)
	})
}

// Meetings answers a page of the library from the cache or the
// warehouse.
func (s *Store) Meetings(ctx context.Context, f MeetingFilter) (*Entry, error) {
	key := fmt.Sprintf("meetings/%q/%s/%s/%q/%q/%d/%d", f.CustomerID, f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano),
		f.Participant, f.Text, f.Page, f.PageSize)
	if f.After != nil {
		key += "/" + f.After.String()
	}
	return s.cache.get(ctx, key, func(ctx context.Context) (any, error) { return s.meetings(ctx, f) })
}

// Customers lists the customers from the cache or the warehouse.
func (s *Store) Customers(ctx context.Context) ([]CustomerSummary, error) {
	e, err := s.cache.get(ctx, "customers", func(ctx context.Context) (any, error) { return s.customers(ctx) })
	if err != nil {
		return nil, err
	}
	return e.Value.([]CustomerSummary), nil
}

// query runs one query, when a slot is free; what names it in errors.
func (s *Store) query(ctx context.Context, what, sql string) ([]row, error) {
	if s.slots != nil {
		select {
		case s.slots <- struct{}{}:
			defer func() { <-s.slots }()
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: waiting for the warehouse: %w", what, ctx.Err())
		}
	}
	rows, err := s.w.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (has `chorus-elt transform` built the models?)", what, err)
	}
	out := make([]row, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out, nil
}
