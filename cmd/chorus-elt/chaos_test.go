package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/clienv"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
)

// TestMain lets the crash and interrupt tests run the CLI as a separate
// process: with CHORUS_ELT_AS_CLI=1 this test binary is chorus-elt, whose
// stdout and stderr carry what the commands wrote before the token filter
// (a leak then shows to the test that reads them).
func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) == "1" {
		ctx, stop, release := clienv.OnSignals(context.Background(), stopGrace)
		code := run(ctx, stop, os.Args, unfilteredFile{os.Stdout}, unfilteredFile{os.Stderr})
		release()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

var (
	chaosKills      = flag.Int("chaos.kills", 5, "crash test: SIGKILLs before the run is let finish")
	chaosCalls      = flag.Int("chaos.calls", 40, "crash test: recorded calls in the simulated tenant")
	chaosUtterances = flag.Int("chaos.utterances", 20, "crash test: mean utterances per call")
	chaosSeed       = flag.Int64("chaos.seed", 1, "crash test: seed of the tenant, its faults and the kill moments")
	chaosState      = flag.String("chaos.state", "file", "crash test: where the connector state lives: file or warehouse")
	chaosRPS        = flag.Float64("chaos.rps", 400, "crash test: the connector's requests_per_second")
	chaosFaults     = flag.String("chaos.faults", "500=0.08,504=0.02,429=0.05,truncate=0.01", "crash test: the tenant's fault spec")
)

// TestChaos SIGKILLs `chorus-elt run` (a separate process) at seeded random
// moments of its extract, load and transform, against a simulated tenant
// (served here) that injects 5xx, 429 and truncated bodies, then lets it
// finish: the warehouse must equal an uninterrupted run's, row for row, in
// every raw table and every model. `make chaos` runs it with 25 kills and
// 300 calls.
func TestChaos(t *testing.T) {
	if *chaosState != "file" && *chaosState != "warehouse" {
		t.Fatalf("-chaos.state %q: use file or warehouse", *chaosState)
	}
	faults, err := chorustest.ParseFaults(*chaosFaults)
	if err != nil {
		t.Fatal(err)
	}
	if faults.Seed == 0 {
		faults.Seed = *chaosSeed + 100
	}
	ctx := context.Background()
	// A fixed clock and no processing delay: every run sees the same calls.
	now := time.Now().UTC().Truncate(time.Second)
	tenant := chorustest.New(chorustest.Options{Seed: *chaosSeed, Calls: *chaosCalls, UtterancesPerCall: *chaosUtterances,
		Now: now, ProcessingDelay: -1})
	wt := &watchedTenant{t: tenant}
	srv := httptest.NewServer(wt)
	defer srv.Close()

	root := t.TempDir()
	cfg, err := writeChaosConfig(root, srv.URL, now.AddDate(0, 0, -31), *chaosRPS)
	if err != nil {
		t.Fatal(err)
	}
	customers := filepath.Join(root, "customers.csv")
	if err := pipeline.WriteCustomersCSV(tenant, customers); err != nil {
		t.Fatal(err)
	}
	runArgs := func(dir string) ([]string, string) {
		db := filepath.Join(dir, "chorus.duckdb")
		args := []string{"chorus-elt", "--log-format", "json", "--log-level", "info", "run",
			"--config", cfg, "--warehouse", "duckdb:" + db, "--customers", customers, "--as-of", now.Format(time.RFC3339)}
		state := filepath.Join(dir, "chorus-data", "state.json")
		if *chaosState == "warehouse" {
			args = append(args, "--state", "warehouse")
			state = filepath.Join(dir, "chorus-data", pipeline.PendingStateFile)
		}
		return args[1:], state
	}
	finish := func(a *attempt, what string) {
		t.Helper()
		<-a.done
		if a.err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nlogs:\n%s", what, a.err, a.stdout.String(), a.logTail())
		}
	}

	// 1. The reference: an uninterrupted run without faults.
	cleanDir := filepath.Join(root, "clean")
	args, state := runArgs(cleanDir)
	clean, err := startAttempt(args, state, *chaosState == "file")
	if err != nil {
		t.Fatal(err)
	}
	wt.observe(clean)
	finish(clean, "clean run")
	wt.observe(nil)
	ex, ld, tr, exReq := clean.durations()
	hasTransform := clean.transAt.Load() != 0
	t.Logf("clean run: %d calls, %d requests, %.1fs (extract %.2fs, load %.2fs, transform %.2fs)",
		*chaosCalls, clean.requests.Load(), time.Since(clean.start).Seconds(), ex.Seconds(), ld.Seconds(), tr.Seconds())
	if !hasTransform {
		t.Logf("run logged no transform step: kills are spread over extract and load only")
	}

	// 2. The same run, with faults, killed again and again.
	tenant.SetFaults(faults)
	chaosDir := filepath.Join(root, "chaos")
	args, state = runArgs(chaosDir)
	rng := rand.New(rand.NewPCG(uint64(*chaosSeed), 0xC4A05))
	phases := []string{phaseExtract, phaseLoad}
	if hasTransform {
		phases = append(phases, phaseTransform)
	}
	kills := map[string]int{}
	var moments []string
	total, attempts := 0, 0
	// Kills go to the phases in order — extract, load, transform — each
	// getting its share; the moment inside a phase is random. The extract
	// kills land in the first back-fill (nothing is loaded until one ends);
	// the load kills hit either a run's load or, at the start of the next
	// run, the resumed load of the files a killed run left; the transform
	// kills hit the models' build. Where a kill lands is read from the
	// process at that moment, not assumed.
	quota := map[string]int{}
	for i := 0; i < *chaosKills; i++ {
		quota[phases[i%len(phases)]]++
	}
	nextTarget := func() string {
		for _, p := range phases {
			if kills[p] < max(1, quota[p]) {
				return p
			}
		}
		return phases[rng.IntN(len(phases))]
	}
	// Estimates of the phases' lengths, from the clean run and then from
	// the attempts that went through them. An extract kill is placed by
	// request count, which the faults change less than the time.
	estExtractReq, estLoad, estTransform := max(exReq, 1), ld, tr
	estResume := ld + 300*time.Millisecond
	for total < *chaosKills || kills[phases[len(phases)-1]] == 0 || kills[phaseLoad] == 0 || kills[phaseExtract] == 0 {
		if attempts >= 4**chaosKills+20 {
			t.Fatalf("%d attempts and only %d kills landed (%v)", attempts, total, kills)
		}
		attempts++
		target := nextTarget()
		a, err := startAttempt(args, state, *chaosState == "file")
		resumePending := a.resumeFiles > 0
		if err != nil {
			t.Fatal(err)
		}
		wt.observe(a)
		var wait func() bool // reports whether the moment came before the exit
		switch {
		case target == phaseExtract:
			k := 1 + rng.Int64N(estExtractReq)
			jitter := randDur(rng, 20*time.Millisecond)
			wait = func() bool {
				ok := pollUntil(a, func() bool { return a.requests.Load() >= k || a.teamsAt.Load() != 0 })
				return ok && sleepUnless(a, jitter)
			}
		case target == phaseLoad && resumePending && rng.IntN(2) == 0:
			d := randDur(rng, estResume)
			wait = func() bool { return sleepUnless(a, d) }
		case target == phaseLoad:
			d := randDur(rng, estLoad)
			wait = func() bool {
				return pollUntil(a, func() bool { return a.teamsAt.Load() != 0 }) && sleepUnless(a, d)
			}
		case target == phaseTransform:
			d := randDur(rng, estTransform)
			wait = func() bool {
				return pollUntil(a, func() bool { return a.transAt.Load() != 0 }) && sleepUnless(a, d)
			}
		}
		if wait() {
			p, where := a.phase()
			if err := a.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
			<-a.done
			var ee *exec.ExitError
			if errors.As(a.err, &ee) && !ee.Exited() { // killed, not finished first
				a.killed = true
				kills[p]++
				if p != phaseStartup {
					total++
				}
				moments = append(moments, fmt.Sprintf("%s@%.2fs", where, time.Since(a.start).Seconds()))
			}
		}
		<-a.done
		wt.observe(nil)
		if !a.killed {
			if a.err != nil {
				t.Fatalf("attempt %d (not killed) failed: %v\nlogs:\n%s", attempts, a.err, a.logTail())
			}
			moments = append(moments, fmt.Sprintf("(finished@%.2fs)", time.Since(a.start).Seconds()))
		}
		// What an attempt went through tells how long the next ones take.
		if f := a.firstReqAt.Load(); resumePending && f != 0 {
			estResume = time.Duration(f - a.start.UnixNano())
		}
		if e, l, tr, req := a.durations(); e > 0 && l > 0 {
			if a.transAt.Load() != 0 || !hasTransform {
				estLoad = l
			}
			if !a.killed && tr > 0 {
				estTransform = tr
			}
			if !a.killed {
				estExtractReq = max(req, 1)
			}
		}
	}

	// 3. Let it finish.
	final, err := startAttempt(args, state, *chaosState == "file")
	if err != nil {
		t.Fatal(err)
	}
	wt.observe(final)
	finish(final, "the run after the kills")
	wt.observe(nil)
	st := tenant.Stats()

	tables, diffs, err := compareWarehouses(ctx, filepath.Join(cleanDir, "chorus.duckdb"), filepath.Join(chaosDir, "chorus.duckdb"), chaosSkipCols)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "crash test: %d kills in %d attempts (state: %s; faults %s; tenant answered %d requests: %d× 5xx, %d× 429, injected truncations not counted)\n",
		total, attempts, *chaosState, *chaosFaults, st.Requests, st.Status[500]+st.Status[504], st.Status[429])
	fmt.Fprintf(&b, "  kills per phase:")
	for _, p := range []string{phaseExtract, phaseLoad, phaseTransform, phaseStartup} {
		if p != phaseStartup || kills[p] > 0 {
			fmt.Fprintf(&b, " %s %d", p, kills[p])
		}
	}
	if !hasTransform {
		fmt.Fprintf(&b, " (run builds no models yet: no transform phase)")
	}
	fmt.Fprintf(&b, "\n  kill moments (phase, or what in it, @ seconds into the attempt): %s\n", strings.Join(moments, " "))
	fmt.Fprintf(&b, "  compared %d tables and views (columns %s set aside):\n", len(tables), strings.Join(sortedSkip(), ", "))
	failed := false
	for _, d := range diffs {
		if d.Table == "chorus_raw.calls" && d.Rows != len(tenant.RecordedCalls()) {
			failed = true
			fmt.Fprintf(&b, "    the clean run has %d calls; the tenant has %d\n", d.Rows, len(tenant.RecordedCalls()))
		}
		switch {
		case d.Problem != "":
			failed = true
			fmt.Fprintf(&b, "    %-40s %s\n", d.Table, d.Problem)
		case len(d.Missing)+len(d.Extra) > 0:
			failed = true
			fmt.Fprintf(&b, "    %-40s %d rows: %d missing, %d extra after the crashes\n", d.Table, d.Rows, len(d.Missing), len(d.Extra))
			for i, r := range d.Missing {
				if i == 3 {
					break
				}
				fmt.Fprintf(&b, "      - %s\n", r)
			}
			for i, r := range d.Extra {
				if i == 3 {
					break
				}
				fmt.Fprintf(&b, "      + %s\n", r)
			}
		default:
			fmt.Fprintf(&b, "    %-40s %d rows, identical\n", d.Table, d.Rows)
		}
	}
	// The load ledgers: what must be equal despite the crashes (see
	// compareLedgers; the attempts include the final one).
	ledgerProblems, totals, err := compareLedgers(ctx, filepath.Join(cleanDir, "chorus.duckdb"), filepath.Join(chaosDir, "chorus.duckdb"), attempts+1)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "    %-40s rows recorded per stream (reference→after the crashes): %s\n", "chorus_raw._chorus_loads", totals)
	if len(ledgerProblems) == 0 {
		fmt.Fprintf(&b, "    %-40s consistent with the reference\n", "chorus_raw._chorus_loads")
	}
	for _, p := range ledgerProblems {
		failed = true
		fmt.Fprintf(&b, "    %-40s %s\n", "chorus_raw._chorus_loads", p)
	}
	if failed {
		fmt.Fprintf(&b, "  diff: NOT EMPTY\n")
		t.Fatal(b.String())
	}
	fmt.Fprintf(&b, "  diff: empty\n")
	t.Log("\n" + b.String())
	if total < *chaosKills {
		t.Fatalf("only %d kills landed (wanted %d)", total, *chaosKills)
	}
}

// chaosSkipCols are the lineage columns: when a row was extracted, and by
// which sync. (Both runs build the models --as-of the same time.)
var chaosSkipCols = map[string]bool{"_extracted_at": true, "_sync_id": true}

func sortedSkip() []string { return slices.Sorted(maps.Keys(chaosSkipCols)) }

func randDur(rng *rand.Rand, upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	return time.Duration(rng.Int64N(int64(upTo) + 1))
}

// pollUntil waits until cond holds (true) or the process exits (false).
func pollUntil(a *attempt, cond func() bool) bool {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-a.done:
			return false
		case <-t.C:
		}
	}
	return true
}

// sleepUnless sleeps d unless the process exits first.
func sleepUnless(a *attempt, d time.Duration) bool {
	select {
	case <-a.done:
		return false
	case <-time.After(d):
		return true
	}
}

// TestCompareLedgersFindsDifferences checks the ledger comparison: a
// crashed run's ledger may record rows again (more files, other names), but
// lost rows, a file recorded twice, rows the ledger does not account for, a
// full-refresh stream recorded a fractional number of times, or a stream
// missing are differences.
func TestCompareLedgersFindsDifferences(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, stmts ...string) string {
		path := filepath.Join(dir, name)
		db, err := sql.Open("duckdb", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range append([]string{
			`CREATE SCHEMA chorus_raw`,
			`CREATE TABLE chorus_raw.calls (call_id VARCHAR, _sync_id VARCHAR)`,
			`CREATE TABLE chorus_raw.users (user_id BIGINT, _sync_id VARCHAR)`,
			`CREATE TABLE chorus_raw.teams (team_id VARCHAR, _sync_id VARCHAR)`,
			`CREATE TABLE chorus_raw._chorus_loads (stream VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, file VARCHAR NOT NULL, bytes BIGINT NOT NULL,
			  rows BIGINT NOT NULL, sync_id VARCHAR, load_id VARCHAR NOT NULL, loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (stream, sha256))`,
		}, stmts...) {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return path
	}
	file := func(stream, sha, name string, rows int, sync string) string {
		return fmt.Sprintf(`INSERT INTO chorus_raw._chorus_loads VALUES ('%s', '%s', '%s', 100, %d, '%s', 'l-%s', now())`, stream, sha, name, rows, sync, sha)
	}
	ref := mk("ref.duckdb",
		`INSERT INTO chorus_raw.calls VALUES ('a', 's1'), ('b', 's1'), ('c', 's1')`,
		`INSERT INTO chorus_raw.users VALUES (1, 's1'), (2, 's1')`,
		file("calls", "h1", "calls/s1-0.parquet", 3, "s1"), file("users", "h2", "users/s1-0.parquet", 2, "s1"))
	// Killed after its first file, re-extracted b and c, read the
	// directory twice: legitimate.
	resumed := mk("resumed.duckdb",
		`INSERT INTO chorus_raw.calls VALUES ('a', 's1'), ('b', 's2'), ('c', 's2')`,
		`INSERT INTO chorus_raw.users VALUES (1, 's2'), (2, 's2')`,
		file("calls", "h1", "calls/s1-0.parquet", 2, "s1"), file("calls", "h3", "calls/s2-0.parquet", 2, "s2"),
		file("users", "h2", "users/s1-0.parquet", 2, "s1"), file("users", "h4", "users/s2-0.parquet", 2, "s2"))
	ctx := context.Background()
	if problems, _, err := compareLedgers(ctx, ref, resumed, 2); err != nil || len(problems) > 0 {
		t.Fatalf("a legitimately resumed ledger differs: %v %v", problems, err)
	}
	bad := mk("bad.duckdb",
		`INSERT INTO chorus_raw.calls VALUES ('a', 's1'), ('b', 's1'), ('c', 's1')`,
		`INSERT INTO chorus_raw.users VALUES (1, 's2'), (2, 's2')`,
		file("calls", "h1", "calls/s1-0.parquet", 1, "s1"), file("calls", "h5", "calls/s1-0.parquet", 1, "s1"),
		file("users", "h2", "users/s1-0.parquet", 2, "s1"), file("users", "h4", "users/s2-0.parquet", 1, "s2"),
		file("teams", "h6", "teams/s1-0.parquet", 1, "s1"))
	problems, _, err := compareLedgers(ctx, ref, bad, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"file calls/s1-0.parquet (stream calls) recorded more than once",
		"calls holds 3 rows of sync s1, the ledger recorded 2",
		"users holds 2 rows of sync s2, the ledger recorded 1",
		"calls: the crashed run's ledger recorded 2 rows, the reference 3: rows were lost",
		"users: a full-refresh stream recorded 3 rows, not a multiple of the reference's 2",
		"teams: in the crashed run's ledger (1 rows), not in the reference's",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("not found: %q", want)
		}
	}
	if len(problems) != 6 {
		t.Errorf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
	if problems, _, _ := compareLedgers(ctx, ref, mk("many.duckdb", `INSERT INTO chorus_raw.calls VALUES ('a', 's1')`,
		file("calls", "h1", "calls/a.parquet", 3, "s1"), file("calls", "h7", "calls/b.parquet", 3, "s2"), file("calls", "h8", "calls/c.parquet", 3, "s3"),
		file("users", "h2", "users/s1-0.parquet", 2, "s1")), 2); len(problems) != 1 || !strings.Contains(problems[0], "more than the reference's 3 once per attempt (2)") {
		t.Errorf("re-extraction beyond one reference per attempt: %v", problems)
	}
}

// TestCompareWarehousesFindsDifferences checks the crash test's comparison
// itself: lineage columns and float noise aside, a changed, missing or
// duplicated row, in a table or a view, is a difference.
func TestCompareWarehousesFindsDifferences(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, rows ...string) string {
		path := filepath.Join(dir, name)
		db, err := sql.Open("duckdb", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, q := range append([]string{
			`CREATE SCHEMA chorus_raw`, `CREATE SCHEMA chorus`,
			`CREATE TABLE chorus_raw.calls (call_id VARCHAR, n INTEGER, x DOUBLE, l VARCHAR[], _sync_id VARCHAR)`,
			`CREATE TABLE chorus_raw._chorus_loads (loaded_at TIMESTAMP)`,
			`INSERT INTO chorus_raw._chorus_loads VALUES (now())`,
			`CREATE VIEW chorus.big AS SELECT call_id FROM chorus_raw.calls WHERE n > 1`,
		}, rows...) {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		return path
	}
	ref := mk("ref.duckdb", `INSERT INTO chorus_raw.calls VALUES ('a', 1, 0.1 + 0.2, ['p'], 's1'), ('b', 2, 1, [], 's1'), ('c', 3, NULL, NULL, 's1')`)
	same := mk("same.duckdb", `INSERT INTO chorus_raw.calls VALUES ('c', 3, NULL, NULL, 's9'), ('a', 1, 0.3, ['p'], 's2'), ('b', 2, 1, [], 's3')`)
	bad := mk("bad.duckdb", `INSERT INTO chorus_raw.calls VALUES ('a', 1, 0.3, ['q'], 's1'), ('b', 2, 1, [], 's1'), ('b', 2, 1, [], 's1')`)
	ctx := context.Background()
	_, diffs, err := compareWarehouses(ctx, ref, same, chaosSkipCols)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		if d.Problem != "" || len(d.Missing)+len(d.Extra) > 0 {
			t.Errorf("equal warehouses differ: %+v", d)
		}
	}
	tables, diffs, err := compareWarehouses(ctx, ref, bad, chaosSkipCols)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"chorus.big", "chorus_raw.calls"}; !slices.Equal(tables, want) {
		t.Errorf("compared %v, want %v", tables, want)
	}
	got := map[string][2]int{}
	for _, d := range diffs {
		got[d.Table] = [2]int{len(d.Missing), len(d.Extra)}
	}
	// calls: a (list changed) and c missing; a' and a second b extra.
	// big: c missing, a second b extra.
	if got["chorus_raw.calls"] != [2]int{2, 2} || got["chorus.big"] != [2]int{1, 1} {
		t.Errorf("differences found: %v", got)
	}
}
