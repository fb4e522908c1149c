package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/transforms"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// DemoOptions sets up a demo: a simulated tenant synced into a DuckDB file.
type DemoOptions struct {
	DB          string // the DuckDB file
	Calls       int
	Seed        int64
	Run         Options // Logger, Progress, Stop, WarehouseOptions; the rest is set by Demo
	Now         time.Time
	TenantToken string // default "test-token"
}

// demoBaseURL names the simulated tenant whatever port it answers on, so
// that the state kept in the demo database stays the same tenant's and a
// second demo resumes instead of being refused as another tenant's. The
// tenant's size and seed are part of its name: a demo database holds one
// tenant.
func demoBaseURL(calls int, seed int64) string {
	return fmt.Sprintf("http://calls-%d.seed-%d.simulated-tenant.chorus-elt.invalid", calls, seed)
}

// DemoMismatchError is a demo database built from another simulated tenant
// (other --calls or --seed): the demo refuses to mix two tenants.
type DemoMismatchError struct {
	DB, Have, Want string
}

func (e *DemoMismatchError) Error() string {
	return fmt.Sprintf("%s holds the demo of another simulated tenant (%s; this one is %s) and two tenants do not mix: "+
		"nothing was changed; remove the file (and the chorus-data folder next to it) or choose another --db", e.DB, e.Have, e.Want)
}

// checkDemoDB refuses an existing database whose state is another
// tenant's; a new file, or one of the same tenant, is fine (a second demo
// of the same tenant resumes it).
func checkDemoDB(ctx context.Context, opt DemoOptions, base string) error {
	if _, err := os.Stat(opt.DB); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	w, err := warehouse.Open(ctx, "duckdb:"+opt.DB, warehouse.Options{ReadOnly: true, DuckDBMemoryLimit: opt.Run.WarehouseOptions.DuckDBMemoryLimit})
	if err != nil {
		return err
	}
	defer w.Close()
	doc, err := w.State(ctx)
	if err != nil {
		return &DemoMismatchError{DB: opt.DB, Have: "not a chorus-elt demo database", Want: describeTenant(base)}
	}
	var head struct{ Tenant string }
	if len(doc) == 0 || json.Unmarshal(doc, &head) != nil {
		return nil // no state: nothing synced yet
	}
	if head.Tenant != strings.TrimPrefix(base, "http://") {
		return &DemoMismatchError{DB: opt.DB, Have: describeTenant("http://" + head.Tenant), Want: describeTenant(base)}
	}
	return nil
}

// describeTenant says which demo a tenant name stands for.
func describeTenant(base string) string {
	var calls int
	var seed int64
	if _, err := fmt.Sscanf(base, "http://calls-%d.seed-%d.", &calls, &seed); err != nil {
		return "built by an earlier version or another tenant: " + strings.TrimPrefix(base, "http://")
	}
	return fmt.Sprintf("--calls %d --seed %d", calls, seed)
}

// Demo serves a simulated tenant in-process on a loopback port and runs the
// whole pipeline against it, its customer list included.
func Demo(ctx context.Context, opt DemoOptions) (*Summary, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now().UTC().Truncate(time.Second)
	}
	tenant := chorustest.New(chorustest.Options{Seed: opt.Seed, Calls: opt.Calls, Now: opt.Now, ProcessingDelay: -1})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: simulated tenant: %w", err)
	}
	srv := &http.Server{Handler: tenant, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	defer srv.Close()
	addr := ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
	base := demoBaseURL(opt.Calls, opt.Seed)
	if err := checkDemoDB(ctx, opt, base); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(map[string]any{"base_url": base, "api_token": tenant.Token(),
		"lookback_days": 31, "requests_per_second": 500, "max_concurrency": 8})
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse(doc, opt.Now, "")
	if err != nil {
		return nil, err
	}
	run := opt.Run
	run.Config, run.Warehouse, run.HTTP = cfg, "duckdb:"+opt.DB, client
	run.Out = DefaultOutDir(run.Warehouse)
	run.Transform.Customers = customersOf(tenant)
	sum, err := Run(ctx, run)
	if err != nil {
		return nil, err
	}
	sum.Command = "demo"
	return sum, nil
}

// customersOf is the simulated tenant's customer list, as a CSM team would
// provide it with --customers.
func customersOf(t *chorustest.Tenant) []transforms.Customer {
	var out []transforms.Customer
	for _, c := range t.Customers() {
		out = append(out, transforms.Customer{ID: c.ID, Name: c.Name, Domains: c.Domains, CRMAccountID: c.CRMAccountID,
			CSMEmail: c.CSMEmail, CSMName: c.CSMName})
	}
	return out
}

// demoModels are the models the demo report counts.
var demoModels = []string{"customer_calls", "unattached_calls", "customer_tasks", "customer_health", "customer_health_weekly",
	"tracker_trends", "customer_touchpoints", "rep_scorecards", "transcript_search"}

// demoFacts are the questions the demo report answers from the models.
var demoFacts = []struct{ title, sql string }{
	{"customers with the worst health", `SELECT customer_name || ' (' || health_band || ', last call ' || days_since_last_call || ' days ago, ' ||
			overdue_tasks || ' overdue tasks)' AS v, health_score AS n FROM chorus.customer_health ORDER BY health_score, customer_name LIMIT 5`},
	{"how calls were matched to customers", `SELECT coalesce(match_method, 'unattached') AS v, count(*) AS n FROM chorus.customer_calls GROUP BY 1 ORDER BY n DESC, v`},
	{"open tasks per CSM", `SELECT coalesce(assignee_name, assignee_email) AS v, count(*) AS n FROM chorus.customer_tasks WHERE status IN ('open', 'overdue') GROUP BY 1 ORDER BY n DESC, v LIMIT 5`},
	{"signals mentioned in the last 4 weeks", `SELECT category AS v, sum(mentions) AS n FROM chorus.tracker_trends WHERE week_start >= current_date - INTERVAL 28 DAY GROUP BY 1 ORDER BY n DESC, v`},
}

// DemoReport prints rows per table and a few facts from the models of the
// DuckDB file the demo built (opened read-only).
func DemoReport(ctx context.Context, db string, wopt warehouse.Options, out io.Writer, sum *Summary) error {
	wopt.ReadOnly = true
	w, err := warehouse.Open(ctx, "duckdb:"+db, wopt)
	if err != nil {
		return err
	}
	defer w.Close()
	fmt.Fprintf(out, "chorus-elt demo: synced a simulated Chorus tenant into %s in %.1fs (%d API requests)\n\n", db, sum.Seconds, sum.Requests)
	fmt.Fprintf(out, "%-28s %10s\n", "table", "rows")
	var tables []string
	for _, st := range schemas.All() {
		tables = append(tables, w.RawSchema()+"."+st.Name)
	}
	for _, m := range demoModels {
		tables = append(tables, w.ModelSchema()+"."+m)
	}
	for _, t := range tables {
		rows, err := w.Query(ctx, "SELECT count(*) AS n FROM "+t)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-28s %10v\n", t, rows[0]["n"])
	}
	for _, f := range demoFacts {
		rows, err := w.Query(ctx, f.sql)
		if err != nil {
			return fmt.Errorf("demo: %s: %w", f.title, err)
		}
		fmt.Fprintf(out, "\n%s:\n", f.title)
		for _, r := range rows {
			fmt.Fprintf(out, "  %-64v %v\n", r["v"], r["n"])
		}
	}
	fmt.Fprintf(out, "\nquery it: chorus-elt query --warehouse duckdb:%s \"SELECT * FROM chorus_raw.calls LIMIT 5\"\n", strings.TrimPrefix(db, "duckdb:"))
	return nil
}

// WriteCustomersCSV writes the tenant's customer list to path (fake-api
// --customers-csv).
func WriteCustomersCSV(t *chorustest.Tenant, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("--customers-csv: %w", err)
	}
	if err := t.WriteCustomersCSV(f, nil); err != nil {
		f.Close()
		return fmt.Errorf("--customers-csv %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--customers-csv %s: %w", path, err)
	}
	return nil
}
