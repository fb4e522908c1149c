package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LoadTest sends requests GETs to baseURL (paths in turn, with the bearer
// token) from clients concurrent clients, and returns the latency
// percentiles of the whole answers. Any answer but 200 fails it.
// cmd/chorus-bench measures the read API with it.
func LoadTest(ctx context.Context, baseURL, token string, paths []string, clients, requests int) (p50, p95, maxLatency time.Duration, err error) {
	if len(paths) == 0 || clients < 1 || requests < 1 {
		return 0, 0, 0, errors.New("loadtest: want paths, clients ≥ 1 and requests ≥ 1")
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	base := strings.TrimRight(baseURL, "/")
	latencies := make([]time.Duration, requests)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= requests || ctx.Err() != nil {
					return
				}
				d, err := get(ctx, client, base+paths[i%len(paths)], token)
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				latencies[i] = d
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, 0, fmt.Errorf("loadtest: %w", err)
	}
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[min(len(latencies)-1, int(q*float64(len(latencies))))] }
	return at(0.50), at(0.95), latencies[len(latencies)-1], nil
}

// get times one GET, the body read to its end.
func get(ctx context.Context, c *http.Client, url, token string) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("loadtest: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	began := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("loadtest: GET %s: %w", req.URL.Path, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(began)
	if err != nil {
		return 0, fmt.Errorf("loadtest: GET %s: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("loadtest: GET %s: %s", req.URL.Path, resp.Status)
	}
	return d, nil
}
