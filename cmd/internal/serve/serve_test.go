package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// slowWarehouse holds every query until release is closed.
type slowWarehouse struct {
	Warehouse
	started chan struct{}
	release chan struct{}
}

func (s *slowWarehouse) Query(ctx context.Context, q string) ([]map[string]any, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-s.release
	return s.Warehouse.Query(ctx, q)
}

// TestGracefulShutdown: when the context ends, a request in flight still
// gets its answer, new connections are refused and Serve returns.
func TestGracefulShutdown(t *testing.T) {
	f := demoWarehouse(t)
	w := &slowWarehouse{Warehouse: f.w, started: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := New(Options{Warehouse: w, Tokens: []string{testToken}, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, s) }()

	url := "http://" + ln.Addr().String()
	answered := make(chan int, 1)
	go func() {
		code, _ := call(t, "GET", url+"/api/chorus/customers", testToken, nil)
		answered <- code
	}()
	<-w.started // the request is in flight
	cancel()
	time.Sleep(100 * time.Millisecond)
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("new connections are still accepted during the shutdown")
	}
	close(w.release)
	if code := <-answered; code != 200 {
		t.Errorf("the request in flight: %d", code)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(ShutdownTimeout):
		t.Fatal("Serve did not return")
	}
}

func TestServerListenAndServe(t *testing.T) {
	syncer := &countingSyncer{}
	_, s, _ := testServer(t, func(o *Options) { o.Syncer = syncer; o.SyncEvery = 20 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx, addr) }()
	var code int
	for range 50 { // until it listens
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
	if _, scheduled := syncer.synced(); scheduled < 2 {
		t.Errorf("%d scheduled syncs in 300ms every 20ms", scheduled)
	}
	// A taken address is an error.
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	if err := ListenAndServe(context.Background(), ln.Addr().String(), s); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("taken address: %v", err)
	}
}

func TestPagesWithoutBrowser(t *testing.T) {
	ts, _, _ := testServer(t, nil)
	f := demoWarehouse(t)
	get := func(path string) (int, http.Header, string) {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	c := callWithEverything(t, f)
	for _, p := range []struct {
		path   string
		status int
		says   string
	}{
		{"/", 200, "Call library"},
		{"/?page=2", 200, "page 2"},
		{"/?from=2026-99-01", 400, `parameter &#34;from&#34;`},
		{"/?customer=&from=&to=&participant=&q=", 200, "Call library"},
		{"/calls/" + c.ID, 200, "Transcript"},
		{"/calls/NOSUCHCALL", 404, `meeting &#34;NOSUCHCALL&#34; is not in the warehouse`},
		{"/customers", 200, "Customers"},
		{"/customers/cust-404", 404, "not in the customer list"},
		{"/insights/cust-404", 404, "Not found"},
		{"/no/such/page", 404, "There is no page at /no/such/page"},
	} {
		code, h, body := get(p.path)
		if code != p.status || !strings.Contains(body, p.says) {
			t.Errorf("%s: %d, want %d saying %q:\n%.600s", p.path, code, p.status, p.says, body)
		}
		if h.Get("Content-Security-Policy") != contentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: headers %v", p.path, h)
		}
		if strings.Contains(body, "http://") && !strings.Contains(body, "http://www.w3.org/2000/svg") {
			t.Errorf("%s: the page refers to another site over http", p.path)
		}
		for _, tag := range []string{"<script>", "<style>", " style=", " onclick=", "https://cdn", "https://fonts"} {
			if strings.Contains(body, tag) {
				t.Errorf("%s: the page holds %q (CSP allows only the served script and style sheet)", p.path, tag)
			}
		}
	}
	// The static files are embedded and served.
	for _, p := range []string{"/static/style.css", "/static/app.js"} {
		if code, _, body := get(p); code != 200 || len(body) < 500 {
			t.Errorf("%s: %d, %d bytes", p, code, len(body))
		}
	}
}

// TestDeadlineIs504: a warehouse slower than QueryTimeout is a 504 with a
// JSON error, not a hung request.
func TestDeadlineIs504(t *testing.T) {
	f := demoWarehouse(t)
	w := &slowWarehouse{Warehouse: f.w, started: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(w.release)
	hold := &ctxWarehouse{Warehouse: w}
	s, err := New(Options{Warehouse: hold, Tokens: []string{testToken}, QueryTimeout: 50 * time.Millisecond, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = Serve(ctx, ln, s) }()
	code, body := call(t, "GET", "http://"+ln.Addr().String()+"/api/chorus/customers", testToken, nil)
	if code != http.StatusGatewayTimeout || !strings.Contains(string(body), "did not answer in time") {
		t.Errorf("%d %s", code, body)
	}
}

// ctxWarehouse gives up on a query when its context ends.
type ctxWarehouse struct{ Warehouse }

func (c *ctxWarehouse) Query(ctx context.Context, q string) ([]map[string]any, error) {
	type result struct {
		rows []map[string]any
		err  error
	}
	ch := make(chan result, 1)
	go func() { r, err := c.Warehouse.Query(ctx, q); ch <- result{r, err} }()
	select {
	case r := <-ch:
		return r.rows, r.err
	case <-ctx.Done():
		return nil, errors.Join(errors.New("query abandoned"), ctx.Err())
	}
}
