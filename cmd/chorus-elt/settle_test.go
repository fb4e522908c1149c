package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// TestLateAIOutputReachesWarehouse: Chorus writes the AI output of a call
// hours after its transcript. `run` re-reads such calls while they settle:
// after the output arrives, the warehouse holds their action items and
// summaries, and customer_tasks the tasks made from them; an action item
// Chorus removes later leaves the raw table and the tasks too.
func TestLateAIOutputReachesWarehouse(t *testing.T) {
	const aiDelay = 24 * time.Hour
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 12, Calls: 500, AIDelay: aiDelay, Token: cliToken})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	csv := filepath.Join(dir, "customers.csv")
	if err := pipeline.WriteCustomersCSV(tenant, csv); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "w.duckdb")
	run := func(what string) map[string]any {
		t.Helper()
		code, stdout, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+db, "--customers", csv)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", what, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		var sum map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
			t.Fatalf("%s: summary: %v", what, err)
		}
		return sum
	}
	query := func(q string, args ...any) []map[string]any {
		t.Helper()
		w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		rows, err := w.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	items := func(id, table string) []string {
		col := "text"
		if table == "chorus.customer_tasks" {
			col = "description"
		}
		var out []string
		for _, r := range query("SELECT " + col + " AS t FROM " + table + " WHERE call_id = '" + id + "' AND source = 'chorus' ORDER BY 1") {
			out = append(out, r["t"].(string))
		}
		return out
	}

	var waiting []chorustest.TruthEngagement
	for _, e := range tenant.RecordedCalls() {
		if len(e.APIActionItems) > 0 && !tenant.Processing(e.ID) && !tenant.AIReady(e.ID) && e.CustomerID != "" && e.MatchableBy != "" {
			waiting = append(waiting, e)
		}
	}
	if len(waiting) < 2 {
		t.Fatalf("fixture: %d calls wait for their AI output", len(waiting))
	}
	run("first run")
	for _, e := range waiting {
		if got := items(e.ID, "chorus_raw.action_items"); len(got) != 0 {
			t.Fatalf("call %s has API action items %q before Chorus wrote them", e.ID, got)
		}
	}

	tenant.Advance(aiDelay + time.Hour)
	sum := run("second run")
	ext, _ := json.Marshal(sum)
	if !strings.Contains(string(ext), `"refetched_changed"`) {
		t.Errorf("the run summary does not report refetched_changed: %s", ext)
	}
	for _, e := range waiting {
		want := slices.Clone(e.APIActionItems)
		slices.Sort(want)
		if got := items(e.ID, "chorus_raw.action_items"); !slices.Equal(got, want) {
			t.Errorf("call %s: raw action items %q, want %q", e.ID, got, want)
		}
		if got := items(e.ID, "chorus.customer_tasks"); len(got) != len(want) {
			t.Errorf("call %s: %d tasks from Chorus's action items, want %d (%q)", e.ID, len(got), len(want), got)
		}
		if r := query("SELECT has_meeting_summary AS h, summary FROM chorus_raw.calls WHERE call_id = '" + e.ID + "'"); r[0]["h"] != true || r[0]["summary"] == nil {
			t.Errorf("call %s: %v", e.ID, r[0])
		}
	}

	// Chorus removes all but the first action item of a call.
	e := waiting[0]
	for _, w := range waiting {
		if len(w.APIActionItems) > 1 {
			e = w
		}
	}
	tenant.SetActionItems(e.ID, e.APIActionItems[:1])
	tenant.Advance(time.Minute)
	run("third run")
	if got := items(e.ID, "chorus_raw.action_items"); !slices.Equal(got, e.APIActionItems[:1]) {
		t.Errorf("after the removal: raw action items %q, want %q", got, e.APIActionItems[:1])
	}
	if got := items(e.ID, "chorus.customer_tasks"); len(got) != 1 {
		t.Errorf("after the removal: tasks %q, want one", got)
	}
	if n := query(`SELECT count(*) AS n FROM (SELECT call_id, item_index FROM chorus_raw.action_items GROUP BY ALL HAVING count(*) > 1)`)[0]["n"]; n != int64(0) {
		t.Errorf("%v duplicate action items", n)
	}
}
