package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
	"github.com/chorus-elt/chorus-elt/warehouse/bqtest"
)

// TestBigQueryAnswersEqualDuckDB syncs one tenant into a real BigQuery
// emulator and into DuckDB, serves both, and asks every endpoint the same
// questions: the answers are the same. (Skips without the emulator; see
// warehouse/bqtest.)
func TestBigQueryAnswersEqualDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the BigQuery emulator run takes a minute or two")
	}
	em := bqtest.Start(t, "chorus-test")
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 11, Calls: 20, Customers: 5, Now: now, ProcessingDelay: -1})
	cfg, err := config.Parse([]byte(fmt.Sprintf(`{"api_token":%q,"base_url":%q,"lookback_days":31,"requests_per_second":1000,"max_concurrency":8}`,
		ten.Token(), srv.URL)), now, "")
	if err != nil {
		t.Fatal(err)
	}
	var custs []transforms.Customer
	for _, c := range ten.Customers() {
		custs = append(custs, transforms.Customer{ID: c.ID, Name: c.Name, Domains: c.Domains, CRMAccountID: c.CRMAccountID, CSMEmail: c.CSMEmail, CSMName: c.CSMName})
	}
	dir := t.TempDir()
	ctx := context.Background()
	urls := map[string]string{"bigquery": "bigquery:chorus-test.chorus", "duckdb": "duckdb:" + filepath.Join(dir, "ref.duckdb")}
	servers := map[string]string{}
	for name, u := range urls {
		began := time.Now()
		wopt := warehouse.Options{BigQueryEndpoint: em.HTTPAddr}
		if _, err := pipeline.Run(ctx, pipeline.Options{Config: cfg, Warehouse: u, WarehouseOptions: wopt, Out: filepath.Join(dir, name),
			Transform: transforms.Options{Customers: custs, AsOf: now}}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		w, err := warehouse.Open(ctx, u, wopt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		ts, _, _ := testServer(t, func(o *Options) { o.Warehouse = w })
		servers[name] = ts.URL
		t.Logf("%s: synced and transformed in %.1fs", name, time.Since(began).Seconds())
	}

	calls := ten.RecordedCalls()
	sort.Slice(calls, func(i, j int) bool { return calls[i].ID < calls[j].ID })
	cust := ten.Customers()[0]
	paths := []string{
		"/api/chorus/meetings?page_size=7",
		"/api/chorus/meetings?page=2&page_size=7",
		"/api/chorus/meetings?customer=" + cust.ID,
		"/api/chorus/meetings?from=2026-02-15&to=2026-02-25",
		"/api/chorus/meetings?q=" + url.QueryEscape("it's \\ \"q\""),
		"/api/chorus/meetings?participant=" + url.QueryEscape(calls[3].Participants[0].Name),
		"/api/chorus/customers",
		"/api/chorus/ask?q=" + url.QueryEscape("What action items from "+cust.Name+" calls?"),
		"/api/chorus/ask?q=" + url.QueryEscape("show chorus calls for "+cust.Name),
		"/api/chorus/meetings/NOSUCH'CALL",
		"/api/chorus/customer/NOSUCH'CUSTOMER",
	}
	for _, c := range ten.Customers() {
		paths = append(paths, "/api/chorus/customer/"+c.ID, "/api/chorus/insights/"+c.ID)
	}
	for _, c := range calls[:8] {
		paths = append(paths, "/api/chorus/meetings/"+c.ID, "/api/chorus/meetings/"+c.ID+"/transcript")
	}
	ok := 0
	for _, p := range paths {
		var answers [2]any
		var codes [2]int
		for i, name := range []string{"duckdb", "bigquery"} {
			code, body := call(t, http.MethodGet, servers[name]+p, testToken, nil)
			codes[i] = code
			if err := json.Unmarshal(body, &answers[i]); err != nil {
				t.Fatalf("%s %s: %v: %s", name, p, err, body)
			}
		}
		if codes[0] == http.StatusOK {
			ok++
		}
		if codes[0] != codes[1] || !sameJSON(answers[0], answers[1]) {
			a, _ := json.Marshal(answers[0])
			b, _ := json.Marshal(answers[1])
			t.Errorf("%s: DuckDB %d, BigQuery %d\nduckdb:   %.1500s\nbigquery: %.1500s", p, codes[0], codes[1], a, b)
		}
	}
	if ok != len(paths)-2 {
		t.Errorf("%d of %d questions answered 200 (all but the two unknown ids should)", ok, len(paths))
	}
	t.Logf("%d questions answered the same by DuckDB and BigQuery", len(paths))
}

// sameJSON compares decoded JSON, numbers to 1e-9 relative.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !sameJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(x))
	}
	return reflect.DeepEqual(a, b)
}
