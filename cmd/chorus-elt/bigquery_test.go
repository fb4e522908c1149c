package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/warehouse/bqtest"
)

// TestBigQueryEmulatorCLI uses chorus-elt as a user would, pointed at a
// real BigQuery emulator by BIGQUERY_EMULATOR_HOST (no credentials): run
// (extract, load, transform, the state kept in the warehouse), a second run
// that reads on from that state, then search, transcript and query. The
// same commands against DuckDB on the same tenant print the same answers.
func TestBigQueryEmulatorCLI(t *testing.T) {
	em := bqtest.Start(t, "chorus-test")
	srv, ten := testkit.NewServer(t, chorustest.Options{Seed: 11, Calls: 20, Customers: 6, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, ten.Token(), `,"settle_hours":1`)
	csv := filepath.Join(dir, "customers.csv")
	f, err := os.Create(csv)
	if err != nil {
		t.Fatal(err)
	}
	if err := ten.WriteCustomersCSV(f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	asOf := ten.Now().Format(time.RFC3339)
	t.Setenv("BIGQUERY_EMULATOR_HOST", em.HTTPAddr)

	bq := "bigquery:chorus-test.chorus"
	duck := "duckdb:" + filepath.Join(dir, "ref.duckdb")
	requests := map[string][]int{}
	for _, url := range []string{bq, duck} {
		for i := 1; i <= 2; i++ {
			before := ten.Stats().Requests
			began := time.Now()
			code, out, errOut := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", url, "--state", "warehouse",
				"--out", filepath.Join(dir, "out", fmt.Sprint(len(requests), i)), "--customers", csv, "--as-of", asOf)
			if code != exitOK {
				t.Fatalf("run %d into %s: exit %d\n%s\n%s", i, url, code, out, lastLines(errOut, 20))
			}
			sum := lastJSON(t, out)
			if sum["warehouse"] == nil || sum["transform"] == nil {
				t.Errorf("run %d into %s: summary %v", i, url, sum)
			}
			requests[url] = append(requests[url], ten.Stats().Requests-before)
			t.Logf("run %d into %s: %.1fs, %d requests", i, url, time.Since(began).Seconds(), ten.Stats().Requests-before)
		}
	}
	// The second run read on from the state in the warehouse.
	for url, r := range requests {
		if r[1] >= r[0] {
			t.Errorf("%s: the second run made %d requests, the first %d: it did not resume from the state in the warehouse", url, r[1], r[0])
		}
	}
	if fmt.Sprint(requests[bq]) != fmt.Sprint(requests[duck]) {
		t.Errorf("requests per run: BigQuery %v, DuckDB %v", requests[bq], requests[duck])
	}

	calls := ten.RecordedCalls()
	id := calls[len(calls)/2].ID
	phrase := firstWord(ten.Utterances(id)[0].Text)
	// {raw:T} and {models:T} name table T of the raw and model datasets.
	for _, args := range [][]string{
		{"query", "SELECT COUNT(*) AS n, COUNT(DISTINCT call_id) AS ids FROM {raw:calls}"},
		{"query", "SELECT customer_id, health_score, health_band, calls_last_30d, customer_talk_share FROM {models:customer_health} ORDER BY customer_id"},
		{"query", "SELECT call_id, customer_id, match_method FROM {models:customer_calls} ORDER BY call_id"},
		{"search", "--limit", "5", phrase},
		{"transcript", id},
	} {
		var outs []string
		for _, url := range []string{bq, duck} {
			a := append([]string{args[0], "--warehouse", url}, args[1:]...)
			last := a[len(a)-1]
			for _, ds := range []string{"raw", "models"} {
				for {
					i := strings.Index(last, "{"+ds+":")
					if i < 0 {
						break
					}
					j := i + strings.Index(last[i:], "}")
					table := last[i+len(ds)+2 : j]
					name := map[string]string{"raw": "chorus_raw", "models": "chorus"}[ds] + "." + table
					if url == bq {
						name = "`chorus-test." + name + "`"
					}
					last = last[:i] + name + last[j+1:]
				}
			}
			a[len(a)-1] = last
			code, out, errOut := runCLI(t, cliOpts{}, a...)
			if code != exitOK || strings.TrimSpace(out) == "" {
				t.Fatalf("%s: exit %d\n%s\n%s", strings.Join(a, " "), code, out, lastLines(errOut, 10))
			}
			outs = append(outs, out)
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: BigQuery printed\n%s\nDuckDB\n%s", args[0], outs[0], outs[1])
		}
	}
	code, out, _ := runCLI(t, cliOpts{}, "query", "--warehouse", bq, "SELECT COUNT(*) AS n FROM `chorus-test.chorus_raw.calls`")
	if want := fmt.Sprint(len(calls)); code != exitOK || !strings.Contains(out, want) {
		t.Errorf("calls in BigQuery: %s, want %s (the tenant's recorded calls)", out, want)
	}
}

func firstWord(s string) string {
	for _, w := range strings.Fields(s) {
		if w = strings.Trim(w, ".,!?"); len(w) >= 5 {
			return w
		}
	}
	return strings.Fields(s)[0]
}
