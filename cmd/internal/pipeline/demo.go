package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
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
// second demo resumes instead of being refused as another tenant's.
const demoBaseURL = "http://simulated-tenant.chorus-elt.invalid"

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
	doc, err := json.Marshal(map[string]any{"base_url": demoBaseURL, "api_token": tenant.Token(),
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
	{"open tasks per CSM", `SELECT coalesce(assignee_name, assignee_email) AS v, count(*) AS n FROM chorus.customer_tasks WHERE status <> 'done' GROUP BY 1 ORDER BY n DESC, v LIMIT 5`},
	{"signals mentioned in the last 4 weeks", `SELECT category AS v, sum(mentions) AS n FROM chorus.tracker_trends WHERE week_start >= current_date - INTERVAL 28 DAY GROUP BY 1 ORDER BY n DESC, v`},
}

// DemoReport prints rows per table and a few facts from the models of the
// DuckDB file the demo built.
func DemoReport(ctx context.Context, w warehouse.Warehouse, out io.Writer, db string, sum *Summary) error {
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
