package pipeline

import (
	"context"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// Reporter is told, table by table, what a run did: Loaded once the load
// has committed (streams are the raw tables the run refreshed), Built once
// the models are rebuilt. An error fails the run.
type Reporter interface {
	Loaded(ctx context.Context, w warehouse.Warehouse, streams []string, sum *Summary) error
	Built(ctx context.Context, w warehouse.Warehouse, tr *transforms.Result) error
}

// fill puts what the extract and the load did into the summary.
func fill(sum *Summary, xr *connector.ExtractResult, res *warehouse.LoadResult) {
	for name, n := range xr.Rows {
		sum.Stream(name).Rows = n
	}
	for name, n := range xr.Bytes {
		sum.Stream(name).Bytes = n
	}
	for name, r := range res.Streams {
		s := sum.Stream(name)
		s.Inserted, s.Updated, s.Deleted = r.Inserted, r.Updated, r.Deleted
	}
	sum.Cursor, sum.Requests, sum.Retries, sum.Calls, sum.Pending = xr.Watermark, xr.Requests, xr.Retries, xr.Calls, xr.Pending
	sum.Abandoned = xr.Abandoned
	sum.Settling, sum.Refetched, sum.RefetchedChanged = xr.Settling, xr.Refetched, xr.RefetchedChanged
	sum.Throttled, sum.Rate = xr.Throttled, xr.EffectiveRate
}

// streams are the raw tables the run refreshes: the selected streams, in
// schema order.
func (o *Options) streams() []string {
	var names []string
	for _, n := range schemas.Names() {
		if o.Selected == nil || o.Selected[n] {
			names = append(names, n)
		}
	}
	return names
}

// NothingNew reports whether a command's summary (a *Summary, or a map
// whose "result" is a load's or an extract's) shows that nothing new was
// found. For a run or a load: no raw row inserted or deleted and no settling
// call changed (updated rows do not count: a directory stream such as users
// is read whole each run, and a call still pending is listed again, their
// rows rewritten unchanged). For an extract, which cannot compare with the
// warehouse: no call extracted and none changed (a call still pending is
// extracted again: such an extract is not skipped).
func NothingNew(summary any) bool {
	switch v := summary.(type) {
	case map[string]any:
		return NothingNew(v["result"])
	case *Summary:
		return v.RefetchedChanged == 0 && v.Resumed == nil && unchanged(v.Load)
	case *warehouse.LoadResult:
		return unchanged(v)
	case *connector.ExtractResult:
		return v.Calls == 0 && v.RefetchedChanged == 0
	}
	return false
}

// unchanged reports whether a load inserted and deleted no row.
func unchanged(r *warehouse.LoadResult) bool {
	if r == nil {
		return false
	}
	for _, s := range r.Streams {
		if s.Inserted+s.Deleted > 0 {
			return false
		}
	}
	return true
}
