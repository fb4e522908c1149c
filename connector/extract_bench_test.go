package connector_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// cachedTenant answers every request with the simulated tenant's response to
// the same URL, rendered once: a benchmark's profile then shows the extract,
// not the tenant rendering transcripts.
type cachedTenant struct {
	t  *chorustest.Tenant
	mu sync.Mutex
	m  map[string]cachedResponse
}

type cachedResponse struct {
	status int
	header http.Header
	body   []byte
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.status = code }

func (c *cachedTenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.String()
	c.mu.Lock()
	resp, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		c.t.ServeHTTP(rec, r)
		resp = cachedResponse{status: rec.status, header: rec.header, body: rec.body.Bytes()}
		if rec.status == http.StatusOK {
			c.mu.Lock()
			c.m[key] = resp
			c.mu.Unlock()
		}
	}
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// BenchmarkExtract measures the extract (API → typed Parquet) of a simulated
// tenant of CHORUS_BENCH_CALLS calls (default 300) × 200 utterances, served
// from memory, on the zero-latency path of `make bench` figure 3. It reports
// rows/s and the process's CPU seconds per extract (less sensitive to other
// load on the machine than the wall time). CHORUS_BENCH_CPUPROFILE=FILE
// writes a CPU profile of the measured extracts only (not of the warm-up,
// which renders the responses):
//
//	CHORUS_BENCH_CPUPROFILE=cpu.out go test ./connector -run '^$' -bench BenchmarkExtract -benchtime 3x
func BenchmarkExtract(b *testing.B) {
	calls := 300
	if v, err := strconv.Atoi(os.Getenv("CHORUS_BENCH_CALLS")); err == nil && v > 0 {
		calls = v
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ten := chorustest.New(chorustest.Options{Seed: 1, Calls: calls, Now: now, ProcessingDelay: -1, UtterancesPerCall: 200, Token: token})
	srv := httptest.NewServer(&cachedTenant{t: ten, m: map[string]cachedResponse{}})
	defer srv.Close()
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q,"requests_per_second":1e6,"max_concurrency":8}`,
		token, srv.URL, now.AddDate(0, 0, -31).Format(time.RFC3339))
	cfg, err := config.Parse([]byte(doc), now, "")
	if err != nil {
		b.Fatal(err)
	}
	run := func() *connector.ExtractResult {
		res, err := connector.Extract(context.Background(), connector.ExtractOptions{Config: cfg, OutDir: b.TempDir(),
			State: state.New(cfg.BaseURL), Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	run() // renders and caches every response
	if path := os.Getenv("CHORUS_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("CHORUS_BENCH_HEAPPROFILE"); path != "" {
		stop := peakHeapProfile(b, path)
		defer stop()
	}
	b.ResetTimer()
	var rows int64
	start, cpu0 := time.Now(), cpuTime()
	for range b.N {
		for _, n := range run().Rows {
			rows += n
		}
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}

// peakHeapProfile writes to path, when stop is called, the heap profile
// taken (every 100 ms) when the live heap was largest.
func peakHeapProfile(b *testing.B, path string) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	var best bytes.Buffer
	go func() {
		defer close(finished)
		var peak uint64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak {
				peak = ms.HeapAlloc
				best.Reset()
				_ = pprof.Lookup("heap").WriteTo(&best, 0)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		if err := os.WriteFile(path, best.Bytes(), 0o644); err != nil {
			b.Error(err)
		}
	}
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
