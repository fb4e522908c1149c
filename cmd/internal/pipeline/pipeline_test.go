package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// tenantRun is a simulated tenant and the run options of a sync from it
// into a DuckDB file in a temporary directory.
func tenantRun(t *testing.T, seed int64, calls int, statePath func(dir string) string) (*chorustest.Tenant, Options) {
	t.Helper()
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: seed, Calls: calls, Token: "tok-123456", ProcessingDelay: -1})
	cfg := testkit.Config(t, srv.URL, fmt.Sprintf(`,"start_date":%q,"max_concurrency":4`, time.Now().Add(-31*24*time.Hour).Format("2006-01-02")))
	dir := t.TempDir()
	topt, err := ReadTransformInputs(TransformInputs{DefaultDueDays: 7}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tenant, Options{Config: cfg, Warehouse: "duckdb:" + filepath.Join(dir, "w.duckdb"), Out: filepath.Join(dir, "out"),
		StatePath: statePath(dir), Transform: topt}
}

// count is one COUNT(*) of the warehouse the options name.
func count(t *testing.T, opt Options, q string) int64 {
	t.Helper()
	w, err := warehouse.Open(context.Background(), opt.Warehouse, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows, err := w.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return rows[0]["n"].(int64)
}

// Run against the simulated tenant loads what the tenant holds, once, and
// a second run loads nothing new; the state lands where the options say.
func TestRunLoadsTenantOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		statePath func(dir string) string
	}{
		{"state file", func(dir string) string { return filepath.Join(dir, "state.json") }},
		{"state in the warehouse", func(string) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant, opt := tenantRun(t, 3, 25, tc.statePath)
			ctx := context.Background()
			sum, err := Run(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			// Ground truth: the tenant's recorded calls up to its clock, and
			// the utterances of those whose transcript is ready.
			wantCalls, wantUtts := 0, 0
			for _, e := range tenant.RecordedCalls() {
				if e.StartedAt.After(tenant.Now()) {
					continue
				}
				wantCalls++
				if !tenant.Processing(e.ID) {
					wantUtts += len(tenant.Utterances(e.ID))
				}
			}
			if wantCalls == 0 || wantUtts == 0 {
				t.Fatalf("the tenant has %d calls and %d utterances: nothing to test", wantCalls, wantUtts)
			}
			if n := count(t, opt, "SELECT count(*) AS n FROM chorus_raw.calls"); n != int64(wantCalls) {
				t.Errorf("calls: %d rows, the tenant has %d", n, wantCalls)
			}
			if n := count(t, opt, "SELECT count(DISTINCT call_id) AS n FROM chorus_raw.calls"); n != int64(wantCalls) {
				t.Errorf("calls: %d distinct ids, the tenant has %d", n, wantCalls)
			}
			if n := count(t, opt, "SELECT count(*) AS n FROM chorus_raw.utterances"); n != int64(wantUtts) {
				t.Errorf("utterances: %d rows, the tenant has %d", n, wantUtts)
			}
			if sum.Load == nil || sum.Transform == nil || sum.Transform.Models == 0 {
				t.Errorf("summary lacks the load or the models: %+v", sum)
			}

			// Where the state is: the file, or the warehouse's row (and no
			// file, not even the default one).
			file := opt.StatePath
			if file == "" {
				file = filepath.Join(opt.Out, "state.json")
			}
			if _, err := os.Stat(file); (err == nil) != (opt.StatePath != "") {
				t.Errorf("state file %s: %v, want it to exist: %v", file, err, opt.StatePath != "")
			}
			st, where, err := OpenState(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			if st.Empty() || st.Calls.Watermark == nil {
				t.Errorf("the state in %s is empty after a run", where)
			}
			if want := map[bool]string{true: opt.StatePath, false: "the warehouse " + opt.Warehouse}[opt.StatePath != ""]; where != want {
				t.Errorf("state is in %q, want %q", where, want)
			}

			again, err := Run(ctx, opt)
			if err != nil {
				t.Fatal(err)
			}
			for name, s := range again.Load.Streams {
				if s.Inserted+s.Deleted != 0 {
					t.Errorf("second run: %s inserted %d and deleted %d rows", name, s.Inserted, s.Deleted)
				}
			}
			if !NothingNew(again) {
				t.Errorf("second run found something new: %+v", again)
			}
			if n := count(t, opt, "SELECT count(*) AS n FROM chorus_raw.calls"); n != int64(wantCalls) {
				t.Errorf("after the second run: %d calls, the tenant has %d", n, wantCalls)
			}
		})
	}
}

// A state file that remembers loaded calls, with a warehouse never loaded,
// is refused (naming --full-refresh); --full-refresh loads everything.
func TestRunRefusesStateOfAnotherWarehouse(t *testing.T) {
	_, opt := tenantRun(t, 4, 12, func(dir string) string { return filepath.Join(dir, "state.json") })
	ctx := context.Background()
	if _, err := Run(ctx, opt); err != nil {
		t.Fatal(err)
	}
	want := count(t, opt, "SELECT count(*) AS n FROM chorus_raw.calls")
	opt.Warehouse = "duckdb:" + filepath.Join(t.TempDir(), "new.duckdb")
	_, err := Run(ctx, opt)
	var se *state.Error
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "--full-refresh") || !strings.Contains(err.Error(), opt.StatePath) {
		t.Fatalf("run from a state file into an empty warehouse: %v, want a state error naming the file and --full-refresh", err)
	}
	opt.FullRefresh = true
	if _, err := Run(ctx, opt); err != nil {
		t.Fatal(err)
	}
	if n := count(t, opt, "SELECT count(*) AS n FROM chorus_raw.calls"); n != want {
		t.Errorf("full refresh into the new warehouse: %d calls, the first had %d", n, want)
	}
}

func TestStatePath(t *testing.T) {
	for _, tc := range []struct{ flag, store, want string }{
		{"", "", filepath.Join("out", "state.json")},
		{"", "file", filepath.Join("out", "state.json")},
		{"", "warehouse", ""},
		{"warehouse", "", ""},
		{"warehouse", "file", ""},
		{"s.json", "warehouse", "s.json"},
		{"s.json", "", "s.json"},
	} {
		if got := StatePath(tc.flag, tc.store, "out"); got != tc.want {
			t.Errorf("StatePath(%q, %q) = %q, want %q", tc.flag, tc.store, got, tc.want)
		}
	}
}

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestLockDir(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string // the lock file found; "" none
		taken   bool
	}{
		{"free", "", true},
		{"held by a live process", strconv.Itoa(os.Getpid()) + "\n", false},
		{"left by a dead process", strconv.Itoa(deadPID(t)) + "\n", true},
		{"half written", "12ab", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			path := filepath.Join(dir, LockFile)
			if tc.content != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			unlock, err := LockDir(dir)
			if !tc.taken {
				var le *LockedError
				if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
					t.Fatalf("LockDir over a live holder: %v, want a *LockedError naming pid %d", err, os.Getpid())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
				t.Errorf("lock file holds %q, want this pid %d", b, os.Getpid())
			}
			// A second holder is refused while the first holds it.
			if _, err := LockDir(dir); !errors.As(err, new(*LockedError)) {
				t.Errorf("second LockDir: %v, want a *LockedError", err)
			}
			unlock()
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("unlock left the lock file: %v", err)
			}
			unlock2, err := LockDir(dir)
			if err != nil {
				t.Fatalf("LockDir after unlock: %v", err)
			}
			unlock2()
		})
	}
}

func TestParseWindow(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		start, end, streams string
		from, to            time.Time
		selected            []string
		err                 string // part of the error; "" none
	}{
		{},
		{start: "2026-03-01", from: day(1)},
		{start: "2026-03-01", end: "2026-03-02", from: day(1), to: day(2)},
		{start: "2026-03-01T12:30:00Z", end: "2026-03-02", from: day(1).Add(12*time.Hour + 30*time.Minute), to: day(2)},
		{streams: "calls, utterances", selected: []string{"calls", "utterances"}},
		{end: "2026-03-02", err: "--end needs --start"},
		{start: "2026-03-02", end: "2026-03-02", err: "--start must be before --end"},
		{start: "2026-03-03", end: "2026-03-02", err: "--start must be before --end"},
		{start: "March 1", err: "--start:"},
		{start: "2026-03-01", end: "soon", err: "--end:"},
		{streams: "calls,nope", err: `unknown stream "nope"`},
	} {
		name := tc.start + "|" + tc.end + "|" + tc.streams
		w, err := ParseWindow(tc.start, tc.end, tc.streams)
		if tc.err != "" {
			var ce *config.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want a *config.Error with %q", name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !w.From.Equal(tc.from) || !w.To.Equal(tc.to) {
			t.Errorf("%s: window %v–%v, want %v–%v", name, w.From, w.To, tc.from, tc.to)
		}
		if len(w.Selected) != len(tc.selected) {
			t.Errorf("%s: selected %v, want %v", name, w.Selected, tc.selected)
		}
		for _, s := range tc.selected {
			if !w.Selected[s] {
				t.Errorf("%s: %s not selected (%v)", name, s, w.Selected)
			}
		}
	}
}

// transform --dry-run (PlanTarget) and the default --out (DefaultOutDir)
// read the warehouse URL with the parser Open uses: what one refuses, all do.
func TestPlanTargetAndOutDirUseParseURL(t *testing.T) {
	for _, tc := range []struct {
		url, dialect, out string // dialect "": refused
	}{
		{"duckdb:/data/w.duckdb", "duckdb", "/data/chorus-data"},
		{"duckdb:w.duckdb", "duckdb", "chorus-data"},
		{"bigquery:p.ds", "bigquery", "chorus-data"},
		{"duckdb:", "", "chorus-data"},
		{"bigquery:p.bad-name", "", "chorus-data"},
		{"bigquery:p", "", "chorus-data"},
		{"sqlite:x.db", "", "chorus-data"},
	} {
		plan, err := PlanTarget(tc.url)
		_, perr := warehouse.ParseURL(tc.url)
		var ue *warehouse.URLError
		switch {
		case tc.dialect == "" && (!errors.As(err, &ue) || perr == nil):
			t.Errorf("PlanTarget(%q): %v (ParseURL: %v), want a *URLError from both", tc.url, err, perr)
		case tc.dialect != "" && (err != nil || plan.DialectName != tc.dialect):
			t.Errorf("PlanTarget(%q) = %+v, %v; want dialect %s", tc.url, plan, err, tc.dialect)
		}
		if got := DefaultOutDir(tc.url); got != filepath.FromSlash(tc.out) {
			t.Errorf("DefaultOutDir(%q) = %q, want %q", tc.url, got, tc.out)
		}
	}
}
