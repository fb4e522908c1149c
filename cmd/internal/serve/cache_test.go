package serve

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve/answers"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// countingWarehouse counts the queries that reach the warehouse.
type countingWarehouse struct {
	warehouse.Warehouse
	n atomic.Int64
}

func (c *countingWarehouse) Query(ctx context.Context, q string) ([]map[string]any, error) {
	c.n.Add(1)
	return c.Warehouse.Query(ctx, q)
}

// writableCopy copies the demo warehouse, which the test may then change.
func writableCopy(t *testing.T) warehouse.Warehouse {
	t.Helper()
	f := demoWarehouse(t)
	b, err := os.ReadFile(f.path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.duckdb")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := warehouse.Open(context.Background(), "duckdb:"+path, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// TestCacheFollowsTheWarehouse: answers are kept while the models stay,
// concurrent misses load once, and a new transform build is seen.
func TestCacheFollowsTheWarehouse(t *testing.T) {
	w := &countingWarehouse{Warehouse: writableCopy(t)}
	f := demoWarehouse(t)
	syncer := &countingSyncer{}
	s, err := New(Options{Warehouse: w, Tokens: []string{testToken}, WebhookSecret: testSecret, Syncer: syncer,
		CacheCheckEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	go func() { _ = s.Run(t.Context()) }()
	cust := f.tenant.Customers()[0]

	// Twenty concurrent first requests: one load.
	before := w.n.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var v answers.CustomerView
			getJSON(t, ts, "/api/chorus/customer/"+cust.ID, 200, &v)
		}()
	}
	wg.Wait()
	first := w.n.Load() - before
	st := s.CacheStats()
	if st.Misses != 1 || st.Shared+st.Hits != 19 {
		t.Errorf("20 concurrent requests: %+v", st)
	}
	// Kept: no query.
	before = w.n.Load()
	var v answers.CustomerView
	getJSON(t, ts, "/api/chorus/customer/"+cust.ID, 200, &v)
	if n := w.n.Load() - before; n != 0 {
		t.Errorf("a kept answer ran %d queries (the first load ran %d)", n, first)
	}
	if v.Customer.Name != cust.Name {
		t.Fatalf("name %q", v.Customer.Name)
	}
	// Errors are not kept.
	wantError(t, ts, "GET", "/api/chorus/customer/cust-404", 404)
	before = w.n.Load()
	wantError(t, ts, "GET", "/api/chorus/customer/cust-404", 404)
	if w.n.Load() == before {
		t.Error("a 404 was kept")
	}

	// A new transform build with the customer renamed (a name to escape
	// on the pages, too): the next answers show it.
	renamed := `<script>alert("x")</script> & Sons`
	var custs []transforms.Customer
	for _, c := range f.tenant.Customers() {
		if c.ID == cust.ID {
			c.Name = renamed
		}
		custs = append(custs, transforms.Customer{ID: c.ID, Name: c.Name, Domains: c.Domains, CRMAccountID: c.CRMAccountID, CSMEmail: c.CSMEmail, CSMName: c.CSMName})
	}
	if _, err := transforms.Run(context.Background(), w.Warehouse, transforms.Options{Customers: custs, AsOf: demoNow}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for v.Customer.Name != renamed && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		getJSON(t, ts, "/api/chorus/customer/"+cust.ID, 200, &v)
	}
	if v.Customer.Name != renamed {
		t.Fatalf("after a new build: name %q", v.Customer.Name)
	}
	if st := s.CacheStats(); st.Drops == 0 {
		t.Errorf("the build dropped nothing: %+v", st)
	}
	// The pages escape it.
	for _, path := range []string{"/customers/" + cust.ID, "/customers", "/insights/" + cust.ID, "/?customer=" + cust.ID} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(body), "<script>alert") || !strings.Contains(string(body), "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons") {
			t.Errorf("%s: %d, the name is not escaped", path, resp.StatusCode)
		}
	}

	// A sync through the queue drops the answers at once.
	drops := s.CacheStats().Drops
	s.Queue().Enqueue("CALL-1")
	waitIdle(t, s.Queue())
	if st := s.CacheStats(); st.Drops != drops+1 || st.Entries != 0 {
		t.Errorf("after a sync: %+v", st)
	}
}
