package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	apiserve "github.com/chorus-elt/chorus-elt/cmd/internal/serve"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// Figure 8's load: concurrent clients, and requests of the warm pass.
const (
	serveClients  = 20
	serveWarmRuns = 3 // the warm pass asks every path this many times
)

// 8. The read API's latency: `chorus-elt serve` (a child process) over
// figure 3's warehouse, 20 concurrent clients. Cold: each transcript and
// customer asked once (the answer cache has none of them); warm: the same
// paths again. Each p95 is also given as a ratio to the p95 of /healthz
// under the same load in the same run — the floor of a request on this
// machine at this moment.
func (b *bench) serveLatency(ctx context.Context) error {
	if localDB == "" {
		return errors.New("needs figure 3's warehouse (-only 3,8)")
	}
	sec := fmt.Sprintf("8. read API: `chorus-elt serve`, %d concurrent clients (figure 3's warehouse)", serveClients)
	w, err := warehouse.Open(ctx, "duckdb:"+localDB, warehouse.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	n := 200
	if b.sz.name == "small" {
		n = 60
	}
	calls, err := w.Query(ctx, fmt.Sprintf(`SELECT call_id FROM chorus_raw.calls WHERE transcript_status = 'complete'
		ORDER BY hash(call_id) LIMIT %d`, n))
	if err == nil && len(calls) == 0 {
		err = fmt.Errorf("no complete call in %s", localDB)
	}
	w.Close()
	if err != nil {
		return err
	}
	// Figure 3 ran without a customer list; the customer endpoint needs
	// one: the tenant's, and the models rebuilt with it.
	b.progress("figure 8: the models rebuilt with the tenant's customers")
	csv := filepath.Join(b.work, "customers.csv")
	if err := writeCustomers(csv, chorustest.Options{Seed: b.seed, Calls: b.sz.localCalls, Now: b.now, ProcessingDelay: -1,
		UtterancesPerCall: b.sz.utterances}); err != nil {
		return err
	}
	tr := exec.CommandContext(ctx, b.bin, "--log-level", "warn", "transform", "--warehouse", "duckdb:"+localDB, "--customers", csv)
	if out, err := tr.CombinedOutput(); err != nil {
		return fmt.Errorf("chorus-elt transform --customers: %w\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "chorus-bench-serve-token-0123456789"
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, b.bin, "--log-level", "warn", "serve", "--warehouse", "duckdb:"+localDB, "--addr", addr)
	cmd.Env = append(os.Environ(), "CHORUS_SERVE_TOKEN="+token)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	base := "http://" + addr
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chorus-elt serve does not answer on %s:\n%s", addr, stderr.String())
		}
	}
	customers, err := customerIDs(ctx, base, token)
	if err != nil {
		return err
	}
	b.progress("figure 8: %d transcripts and %d customers, %d clients", len(calls), len(customers), serveClients)
	_, floor, _, err := apiserve.LoadTest(ctx, base, token, []string{"/healthz"}, serveClients, 2000)
	if err != nil {
		return err
	}
	kinds := []struct {
		name  string
		paths []string
	}{{"/meetings/{id}/transcript", nil}, {"/customer/{id}", nil}}
	for _, c := range calls {
		kinds[0].paths = append(kinds[0].paths, fmt.Sprintf("/api/chorus/meetings/%s/transcript", c["call_id"]))
	}
	for _, id := range customers {
		kinds[1].paths = append(kinds[1].paths, "/api/chorus/customer/"+id)
	}
	b.add(sec, "baseline: /healthz p95", ms(floor), float64(floor)/1e6, "", "")
	for _, k := range kinds {
		_, cold, _, err := apiserve.LoadTest(ctx, base, token, k.paths, serveClients, len(k.paths))
		if err != nil {
			return err
		}
		_, warm, _, err := apiserve.LoadTest(ctx, base, token, k.paths, serveClients, serveWarmRuns*len(k.paths))
		if err != nil {
			return err
		}
		for _, m := range []struct {
			pass string
			p95  time.Duration
		}{{"cold", cold}, {"warm", warm}} {
			b.add(sec, fmt.Sprintf("%s p95, %s cache (÷ baseline)", k.name, m.pass),
				fmt.Sprintf("%s (%.1f×)", ms(m.p95), float64(m.p95)/float64(max(floor, time.Microsecond))),
				float64(m.p95)/1e6, "p95 ≤ 20 ms", passMiss(m.p95 <= 20*time.Millisecond))
		}
	}
	return nil
}

// writeCustomers writes the customer list of the tenant opts make.
func writeCustomers(path string, opts chorustest.Options) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = chorustest.New(opts).WriteCustomersCSV(f, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// customerIDs lists the customers through the API.
func customerIDs(ctx context.Context, base, token string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/chorus/customers", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var doc struct {
		Customers []struct {
			ID string `json:"id"`
		} `json:"customers"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/chorus/customers: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET /api/chorus/customers: %w", err)
	}
	ids := make([]string, 0, len(doc.Customers))
	for _, c := range doc.Customers {
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		return nil, errors.New("GET /api/chorus/customers: no customer")
	}
	return ids, nil
}
