package engine

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// discardSink counts rows.
type discardSink struct{ rows int }

func (d *discardSink) WriteBatch(_ context.Context, _ string, rec arrow.RecordBatch) error {
	d.rows += int(rec.NumRows())
	return nil
}
func (d *discardSink) Checkpoint(context.Context, *state.State) error { return nil }

// TestAdaptiveBudgetTenant syncs the simulated tenant over HTTP under its
// rate limit of 4 requests/s with requests_per_second 12 (about a minute).
// It asserts the 429 share and that the limit came down near 4; how long
// the sync takes is the business of `make bench` (figure 6), not of a timed
// test on a shared machine (it is logged).
func TestAdaptiveBudgetTenant(t *testing.T) {
	if testing.Short() {
		t.Skip("about a minute at 4 requests/s")
	}
	t.Parallel()
	const tok = "tok-adaptive-4f2a"
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 180, Token: tok, ProcessingDelay: -1, RateLimit: 4})
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q,"requests_per_second":12,"max_concurrency":4,"timeout":"10s"}`,
		tok, srv.URL, tenant.Now().Add(-32*24*time.Hour).Format(time.RFC3339))
	cfg, err := config.Parse([]byte(doc), tenant.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(cfg, client.Options{})
	sink := &discardSink{}
	start := time.Now()
	sum, err := Sync(context.Background(), Options{Config: cfg, API: chorusapi.NewV3(c), Now: tenant.Now}, state.New(cfg.BaseURL), sink)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	st := tenant.Stats()
	accepted := st.Requests - st.RateLimited
	share := float64(st.RateLimited) / float64(st.Requests)
	t.Logf("%d calls, %d requests (%d accepted, %d 429s = %.1f%%) in %.1fs = %.2f× (accepted ÷ 4); limit now %.2f, min %.2f, mean since the first cut %.2f, %d cuts; effective rate %.2f/s",
		sum.Calls, st.Requests, accepted, st.RateLimited, 100*share, took.Seconds(), took.Seconds()/(float64(accepted)/4),
		c.Stats.Limit(), c.Stats.MinLimit(), c.Stats.MeanLimit(), c.Stats.Cuts.Load(), c.Stats.EffectiveRate())
	if st.Requests < 150 {
		t.Fatalf("only %d requests: too few to tell", st.Requests)
	}
	if got := c.Stats.Throttled.Load(); got != int64(st.RateLimited) {
		t.Errorf("client counted %d 429s, tenant sent %d", got, st.RateLimited)
	}
	if st.RateLimited == 0 {
		t.Error("no 429 at 12/s against a limit of 4/s: the tenant's limit was not exercised")
	}
	if share > 0.10 {
		t.Errorf("%.1f%% of the requests drew a 429, want at most 10%%", 100*share)
	}
	if m := c.Stats.MeanLimit(); m < 2 || m > 6 {
		t.Errorf("mean limit since the first 429 %.2f, want within [2, 6] (the tenant allows 4)", m)
	}
	if m := c.Stats.MinLimit(); m < 2 {
		t.Errorf("the limit fell to %.2f: cut far below the tenant's 4/s", m)
	}
	if r := c.Stats.EffectiveRate(); r < 2 || r > 6 {
		t.Errorf("effective rate %.2f/s, want near 4", r)
	}
}
