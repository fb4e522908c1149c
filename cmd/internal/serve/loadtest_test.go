package serve

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

func TestLoadTest(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	var paths []string
	for _, c := range f.tenant.RecordedCalls()[:10] {
		paths = append(paths, "/api/chorus/meetings/"+c.ID+"/transcript")
	}
	paths = append(paths, "/api/chorus/customer/"+f.tenant.Customers()[0].ID)
	p50, p95, mx, err := LoadTest(context.Background(), ts.URL, testToken, paths, 4, 60)
	if err != nil {
		t.Fatal(err)
	}
	if p50 <= 0 || p50 > p95 || p95 > mx {
		t.Errorf("p50 %v, p95 %v, max %v", p50, p95, mx)
	}
	t.Logf("150-call warehouse, 4 clients: p50 %v, p95 %v, max %v", p50, p95, mx)

	for _, c := range []struct{ token, path, want string }{
		{testToken, "/api/chorus/meetings/nope/transcript", "404"},
		{"wrong-token-0123456789", paths[0], "401"},
	} {
		if _, _, _, err := LoadTest(context.Background(), ts.URL, c.token, []string{c.path}, 2, 4); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %s", c.path, err, c.want)
		}
	}
	if _, _, _, err := LoadTest(context.Background(), ts.URL, testToken, nil, 2, 4); err == nil {
		t.Error("no paths: no error")
	}
}

// Environment of TestServeLatency.
const (
	latencyCallsEnv = "CHORUS_ELT_SERVE_LATENCY_CALLS" // build a demo warehouse of this many calls
	latencyDBEnv    = "CHORUS_ELT_SERVE_LATENCY_DB"    // keep (and reuse) it here
)

// TestServeLatency measures the p95 of the transcript and customer
// endpoints under 20 concurrent clients on a bigger demo warehouse
// (CHORUS_ELT_SERVE_LATENCY_CALLS calls); make bench measures the same
// on 20,000 calls through LoadTest.
func TestServeLatency(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv(latencyCallsEnv))
	if n <= 0 {
		t.Skipf("set %s (e.g. 2000) to measure the endpoints' latency on a demo warehouse of that many calls", latencyCallsEnv)
	}
	ctx := context.Background()
	db := os.Getenv(latencyDBEnv)
	if db == "" {
		db = filepath.Join(t.TempDir(), "latency.duckdb")
	}
	if _, err := os.Stat(db); err != nil {
		began := time.Now()
		if _, err := pipeline.Demo(ctx, pipeline.DemoOptions{DB: db, Calls: n, Seed: 3, Now: demoNow,
			Run: pipeline.Options{Transform: transforms.Options{AsOf: demoNow}}}); err != nil {
			t.Fatal(err)
		}
		t.Logf("demo warehouse of %d calls built in %.0fs", n, time.Since(began).Seconds())
	}
	w, err := warehouse.Open(ctx, "duckdb:"+db, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls, err := w.Query(ctx, "SELECT call_id FROM chorus.customer_calls WHERE transcript_status = 'complete' ORDER BY md5(call_id) LIMIT 500")
	if err != nil {
		t.Fatal(err)
	}
	custs, err := w.Query(ctx, "SELECT customer_id FROM chorus.customers")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[string][]string{}
	for _, c := range calls {
		sets["transcript"] = append(sets["transcript"], fmt.Sprintf("/api/chorus/meetings/%s/transcript", c["call_id"]))
		sets["meeting"] = append(sets["meeting"], fmt.Sprintf("/api/chorus/meetings/%s", c["call_id"]))
	}
	for _, c := range custs {
		sets["customer"] = append(sets["customer"], fmt.Sprintf("/api/chorus/customer/%s", c["customer_id"]))
		sets["insights"] = append(sets["insights"], fmt.Sprintf("/api/chorus/insights/%s", c["customer_id"]))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%d calls, %d customers; load average %s", n, len(custs), strings.Fields(string(load) + " ?")[0])
	for _, cached := range []bool{false, true} {
		opts := Options{Warehouse: w, Tokens: []string{testToken}}
		if !cached {
			opts.CacheBytes = -1
		}
		s, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s)
		for _, name := range []string{"transcript", "customer", "meeting", "insights"} {
			paths := sets[name]
			// Every path once (the cache's misses), then the measured run.
			if _, _, _, err := LoadTest(ctx, ts.URL, testToken, paths, 20, len(paths)); err != nil {
				t.Fatal(err)
			}
			requests := 1000
			began := time.Now()
			p50, p95, mx, err := LoadTest(ctx, ts.URL, testToken, paths, 20, requests)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("cache %-5v %-10s 20 clients, %d requests over %d paths: p50 %6.2f ms  p95 %6.2f ms  max %6.2f ms  (%.0f req/s)",
				cached, name, requests, len(paths), ms(p50), ms(p95), ms(mx), float64(requests)/time.Since(began).Seconds())
		}
		ts.Close()
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
