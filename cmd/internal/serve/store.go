package serve

import (
	"context"
	"fmt"
	"time"
)

// store answers the read surfaces' questions from the models; cache
// (nil: off) keeps the answers while the warehouse stays the same.
type store struct {
	w     Warehouse
	q     sqlText
	cache *cache
	slots chan struct{} // one per query allowed to run at a time; nil: no bound
}

// Kinds of kept answers by id.
const (
	kindMeeting    = "meeting"
	kindTranscript = "transcript"
	kindCustomer   = "customer"
	kindInsights   = "insights"
)

// byID answers kind/id from the cache or the warehouse.
func (s *store) byID(ctx context.Context, kind, id string) (*cacheEntry, error) {
	return s.cache.get(ctx, kind+"/"+id, func(ctx context.Context) (any, error) {
		switch kind {
		case kindMeeting:
			return s.meeting(ctx, id)
		case kindTranscript:
			return s.transcript(ctx, id)
		case kindCustomer:
			return s.customerView(ctx, id)
		case kindInsights:
			return s.insights(ctx, id)
		}
		return nil, fmt.Errorf("serve: unknown kind %q", kind)
	})
}

// meetingsCached answers a page of the library from the cache or the
// warehouse.
func (s *store) meetingsCached(ctx context.Context, f MeetingFilter) (*cacheEntry, error) {
	key := fmt.Sprintf("meetings/%q/%s/%s/%q/%q/%d/%d", f.CustomerID, f.From.Format(time.RFC3339Nano), f.To.Format(time.RFC3339Nano),
		f.Participant, f.Text, f.Page, f.PageSize)
	if f.After != nil {
		key += "/" + f.After.String()
	}
	return s.cache.get(ctx, key, func(ctx context.Context) (any, error) { return s.meetings(ctx, f) })
}

// customersCached lists the customers from the cache or the warehouse.
func (s *store) customersCached(ctx context.Context) ([]CustomerSummary, error) {
	e, err := s.cache.get(ctx, "customers", func(ctx context.Context) (any, error) { return s.customers(ctx) })
	if err != nil {
		return nil, err
	}
	return e.val.([]CustomerSummary), nil
}

// query runs one query, when a slot is free; what names it in errors.
func (s *store) query(ctx context.Context, what, sql string) ([]row, error) {
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
