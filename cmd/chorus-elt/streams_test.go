package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// TestEngagementsAndUserTeams: after `run` into DuckDB, chorus_raw.engagements
// holds every engagement the tenant has listed (every type, participants'
// emails lower-cased) and chorus_raw.user_teams one row per user and team;
// when an admin moves a user to another team, the next run's full refresh
// leaves no stale membership behind. Re-runs add no duplicates.
func TestEngagementsAndUserTeams(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 31, Calls: 80, Token: cliToken})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := filepath.Join(dir, "w.duckdb")
	run := func() {
		t.Helper()
		if code, _, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+db); code != exitOK {
			t.Fatalf("run: exit %d\n%s", code, stderr)
		}
	}
	query := func(q string) []map[string]any {
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
	run()
	tenant.ResetStats()
	run()
	listRequests := tenant.Stats().ListRequests

	// engagements: every engagement started by the clock, once.
	want := map[string]string{}
	types := map[string]bool{}
	for _, e := range tenant.Engagements() {
		if !e.StartedAt.After(tenant.Now()) {
			var emails []string
			for _, p := range e.Participants {
				if p.Email != "" {
					emails = append(emails, strings.ToLower(p.Email))
				}
			}
			want[e.ID] = e.Type + " " + strings.Join(emails, ",")
			types[e.Type] = true
		}
	}
	got := map[string]string{}
	for _, r := range query(`SELECT engagement_id, engagement_type, array_to_string(participant_emails, ',') AS emails FROM chorus_raw.engagements`) {
		id := r["engagement_id"].(string)
		if _, dup := got[id]; dup {
			t.Fatalf("engagement %s twice", id)
		}
		got[id] = fmt.Sprint(r["engagement_type"], " ", r["emails"])
	}
	if len(got) != len(want) {
		t.Errorf("%d engagements loaded, the tenant has %d", len(got), len(want))
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("engagement %s: %q, want %q", id, got[id], w)
		}
	}
	if len(types) < 4 {
		t.Errorf("fixture: engagement types %v", types)
	}
	// No request for the non-call engagements: the second run listed pages
	// only (its window and one batch of settling calls).
	if listRequests > 4 {
		t.Errorf("the second run made %d list requests", listRequests)
	}

	memberships := func() []string {
		var out []string
		for _, r := range query(`SELECT user_id, team_id, is_primary FROM chorus_raw.user_teams`) {
			out = append(out, fmt.Sprint(r["user_id"], "/", r["team_id"], "/", r["is_primary"]))
		}
		sort.Strings(out)
		return out
	}
	truth := func() []string {
		var out []string
		for _, u := range tenant.Users() {
			for _, team := range u.TeamIDs {
				out = append(out, fmt.Sprint(u.ID, "/", team, "/", team == u.PrimaryTeam))
			}
		}
		sort.Strings(out)
		return out
	}
	if got, want := memberships(), truth(); !slices.Equal(got, want) {
		t.Fatalf("user_teams:\n got %v\nwant %v", got, want)
	}
	// Dana moves from Account Executives (and Revenue) to Customer Success.
	dana := tenant.Users()[1]
	if !tenant.SetUserTeams(dana.ID, []int64{4103}) {
		t.Fatal("SetUserTeams")
	}
	run()
	if got, want := memberships(), truth(); !slices.Equal(got, want) {
		t.Errorf("user_teams after the move:\n got %v\nwant %v", got, want)
	}
}
