package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

const token = "tok-PLANTED-7f3a9c1e5b"

// harness is a simulated tenant plus the files of the runs made against it.
type harness struct {
	t      *testing.T
	srv    *httptest.Server
	tenant *chorustest.Tenant
	dir    string
	cfg    *config.Config
	logs   bytes.Buffer
}

func newHarness(t *testing.T, opts chorustest.Options, extraConfig string) *harness {
	t.Helper()
	opts.Token = token
	srv, tenant := testkit.NewServer(t, opts)
	h := &harness{t: t, srv: srv, tenant: tenant, dir: t.TempDir()}
	start := tenant.Now().Add(-32 * 24 * time.Hour).Format(time.RFC3339)
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q,"requests_per_second":2000,"max_concurrency":8,"timeout":"5s"%s}`,
		token, srv.URL, start, extraConfig)
	cfg, err := config.Parse([]byte(doc), tenant.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	h.cfg = cfg
	return h
}

func (h *harness) statePath() string { return filepath.Join(h.dir, "state.json") }

// extract runs one extract like the CLI does: state from and to the file.
func (h *harness) extract(ctx context.Context, mod func(*connector.ExtractOptions)) (*connector.ExtractResult, error) {
	h.t.Helper()
	st, err := state.Load(h.statePath(), h.cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	opt := connector.ExtractOptions{
		Config: h.cfg, OutDir: h.dir, State: st, Now: h.tenant.Now, Backoff: time.Millisecond,
		Logger:    slog.New(slog.NewJSONHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		SaveState: func(s *state.State) error { return state.Save(h.statePath(), s) },
	}
	if mod != nil {
		mod(&opt)
	}
	return connector.Extract(ctx, opt)
}

func (h *harness) mustExtract() *connector.ExtractResult {
	h.t.Helper()
	res, err := h.extract(context.Background(), nil)
	if err != nil {
		h.t.Fatalf("extract: %v", err)
	}
	return res
}

// checkAgainstTruth asserts that the files hold every visible recorded call
// exactly once in a final state, with the tenant's utterances exactly once.
func (h *harness) checkAgainstTruth() (calls, utterances int) {
	t := h.t
	t.Helper()
	final := map[string]string{}
	for _, r := range readStream(t, h.dir, "calls") {
		id, status := r["call_id"].(string), r["transcript_status"].(string)
		if status == engine.StatusPending {
			continue
		}
		if prev, dup := final[id]; dup {
			t.Fatalf("call %s emitted twice in a final state (%s, %s)", id, prev, status)
		}
		final[id] = status
	}
	utt := map[string]map[float64]bool{}
	for _, r := range readStream(t, h.dir, "utterances") {
		id := r["call_id"].(string)
		if utt[id] == nil {
			utt[id] = map[float64]bool{}
		}
		idx := r["utterance_index"].(float64)
		if utt[id][idx] {
			t.Fatalf("utterance %s/%v emitted twice", id, idx)
		}
		utt[id][idx] = true
		utterances++
	}
	now := h.tenant.Now()
	for _, e := range h.tenant.Engagements() {
		if e.StartedAt.After(now) {
			continue
		}
		status, ok := final[e.ID]
		if !e.IsCall() {
			if ok {
				t.Errorf("non-call engagement %s (%s) is in calls", e.ID, e.Type)
			}
			continue
		}
		want := engine.StatusComplete
		switch {
		case e.NoShow:
			want = engine.StatusNoShow
		case e.NotFound:
			want = engine.StatusNotFound
		}
		if status != want {
			t.Errorf("call %s: transcript_status %q, want %q", e.ID, status, want)
			continue
		}
		calls++
		if n := len(h.tenant.Utterances(e.ID)); want == engine.StatusComplete && len(utt[e.ID]) != n {
			t.Errorf("call %s: %d utterances, truth has %d", e.ID, len(utt[e.ID]), n)
		}
	}
	if len(final) != calls {
		t.Errorf("%d calls in files, %d in the tenant", len(final), calls)
	}
	return calls, utterances
}

func TestIncrementalSyncAgainstTenant(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 3, Calls: 120, ProcessingDelay: 12 * time.Hour, Faults: chorustest.Faults{Seed: 3, DuplicateAcrossPages: 0.3}}, "")
	first := h.mustExtract()
	if first.Pending == 0 {
		t.Fatalf("expected recent calls to be pending after the first run: %+v", first.Summary)
	}
	for _, e := range h.tenant.Engagements() {
		if !e.IsCall() && h.tenant.Stats().DetailByID[e.ID] > 0 {
			t.Fatalf("a detail request was made for %s engagement %s", e.Type, e.ID)
		}
	}

	// Transcripts finish; new calls arrive; the next poll overlaps the last.
	h.tenant.Advance(14 * time.Hour)
	second := h.mustExtract()
	if second.Pending != 0 {
		t.Fatalf("pending transcripts were not picked up: %d left", second.Pending)
	}
	calls, utts := h.checkAgainstTruth()
	t.Logf("figures: %d calls, %d utterances; run 1: %d requests (%d list, %d detail); run 2: %d requests (%d list, %d detail)",
		calls, utts, first.Requests, first.ListRequests, first.DetailRequests, second.Requests, second.ListRequests, second.DetailRequests)
	for id, n := range h.tenant.Stats().DetailByID {
		if n > 1 {
			t.Errorf("call %s was fetched %d times; a complete call is never fetched again", id, n)
		}
	}

	// Nothing new: list calls only.
	h.tenant.ResetStats()
	third := h.mustExtract()
	st := h.tenant.Stats()
	if st.DetailRequests != 0 || third.DetailRequests != 0 {
		t.Fatalf("a run with nothing new made %d detail requests", st.DetailRequests)
	}
	if st.ListRequests == 0 {
		t.Fatalf("a run must still list")
	}
	t.Logf("figures: idle run: %d requests, all list calls", st.Requests)
}

func TestFaultsAreRetried(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 5, Calls: 80, Faults: chorustest.Faults{
		Seed: 5, Status429: 0.05, Status429NoRetry: 0.02, Status500: 0.1, Status504: 0.05, Truncate: 0.02, DuplicateAcrossPages: 0.1,
	}}, `,"max_retries":10`)
	h.tenant.Advance(6 * time.Hour) // everything processed
	res := h.mustExtract()
	st := h.tenant.Stats()
	if res.Retries == 0 || st.Status[429] == 0 || st.Status[500] == 0 {
		t.Fatalf("faults were not exercised: retries=%d statuses=%v", res.Retries, st.Status)
	}
	h.checkAgainstTruth()
	t.Logf("figures: %d requests, %d retries, statuses %v, windows narrowed %d", res.Requests, res.Retries, st.Status, res.Narrowed)
}

func TestPendingGivenUpAfterBound(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 7, Calls: 40, ProcessingDelay: 48 * time.Hour}, `,"pending_max_hours":2`)
	first := h.mustExtract()
	if first.Pending == 0 {
		t.Fatal("expected pending calls")
	}
	var st state.State
	b, _ := os.ReadFile(h.statePath())
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	h.tenant.Advance(3 * time.Hour)
	second := h.mustExtract()
	abandoned := map[string]bool{}
	for _, r := range readStream(t, h.dir, "calls") {
		if r["transcript_status"] == engine.StatusAbandoned {
			abandoned[r["call_id"].(string)] = true
		}
	}
	if len(abandoned) != len(second.Abandoned) {
		t.Fatalf("%d abandoned rows, summary says %d", len(abandoned), len(second.Abandoned))
	}
	for id := range st.Calls.Pending {
		if !abandoned[id] {
			t.Errorf("call %s pending for 3h (bound 2h) was not given up", id)
		}
	}
}

func TestWindowRunLeavesWatermark(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 9, Calls: 40}, "")
	h.mustExtract()
	before, _ := os.ReadFile(h.statePath())
	var st state.State
	if err := json.Unmarshal(before, &st); err != nil {
		t.Fatal(err)
	}
	// Within the reach of the seen set (look-back + a day), a re-run window
	// costs list calls only; older windows are re-read in full (idempotent).
	to := h.tenant.Now().Add(-20 * time.Hour)
	res, err := h.extract(context.Background(), func(o *connector.ExtractOptions) {
		o.From, o.To = to.Add(-20*time.Hour), to
		o.State, _ = state.Load(h.statePath(), h.cfg.BaseURL)
	})
	if err != nil {
		t.Fatal(err)
	}
	var after state.State
	b, _ := os.ReadFile(h.statePath())
	if err := json.Unmarshal(b, &after); err != nil {
		t.Fatal(err)
	}
	if !after.Calls.Watermark.Equal(*st.Calls.Watermark) {
		t.Fatalf("a window run moved the watermark from %s to %s", st.Calls.Watermark, after.Calls.Watermark)
	}
	if res.DetailRequests != 0 {
		t.Fatalf("re-running an already synced window fetched %d details", res.DetailRequests)
	}
}

func TestUnauthorized(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 1, Calls: 5}, "")
	h.cfg.APIToken = "wrong-token"
	_, err := h.extract(context.Background(), nil)
	var ae *client.AuthError
	if !errors.As(err, &ae) || !connector.IsUsage(err) || !strings.Contains(err.Error(), "ZI0001") {
		t.Fatalf("want an auth error (exit 2) naming ZI0001, got %v", err)
	}
	if _, err := os.Stat(h.statePath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed run wrote state")
	}
	if strings.Contains(err.Error(), "wrong-token") {
		t.Fatal("token in the error")
	}
}

func TestTokenNeverLeaks(t *testing.T) {
	h := newHarness(t, chorustest.Options{Seed: 11, Calls: 30, Faults: chorustest.Faults{Seed: 1, Status500: 0.1, Truncate: 0.05}}, "")
	h.mustExtract()
	if strings.Contains(h.logs.String(), token) {
		t.Fatal("token in the debug logs")
	}
	if hits := treeContains(t, h.dir, token); len(hits) > 0 {
		t.Fatalf("token in files: %v", hits)
	}
	for _, s := range []string{"calls", "participants", "utterances", "action_items", "users", "teams"} {
		b, _ := json.Marshal(readStream(t, h.dir, s))
		if strings.Contains(string(b), token) {
			t.Fatalf("token in the %s Parquet values", s)
		}
	}
}

// TestKilledRunResumes kills a real extract process with SIGKILL after some
// detail requests, then reruns: nothing is lost and nothing duplicated.
func TestKilledRunResumes(t *testing.T) {
	if os.Getenv("CHORUS_ELT_CHILD") != "" {
		t.Skip("child process")
	}
	h := newHarness(t, chorustest.Options{Seed: 13, Calls: 150, Latency: 5 * time.Millisecond}, `,"max_concurrency":2,"slice_hours":48`)
	h.tenant.Advance(6 * time.Hour)
	killed := 0
	for kill := 0; kill < 3; kill++ {
		before := h.tenant.Stats().DetailRequests
		cmd := exec.Command(os.Args[0], "-test.run=^TestChildExtract$")
		cfgJSON, _ := json.Marshal(map[string]any{"base_url": h.cfg.BaseURL, "start_date": h.cfg.Start.Format(time.RFC3339),
			"requests_per_second": 2000, "max_concurrency": 2, "slice_hours": 48})
		cmd.Env = append(os.Environ(), "CHORUS_ELT_CHILD=1", "CHILD_CONFIG="+string(cfgJSON), "CHILD_DIR="+h.dir,
			"CHILD_NOW="+h.tenant.Now().Format(time.RFC3339), config.TokenEnv+"="+token)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for h.tenant.Stats().DetailRequests < before+25 && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the child was not killed mid-run (%v): %s", kill, err, out.String())
		}
		killed++
		if strings.Contains(out.String(), token) {
			t.Fatal("token in the child's output")
		}
	}
	h.mustExtract()
	calls, utts := h.checkAgainstTruth()
	if calls == 0 {
		t.Fatal("no calls")
	}
	t.Logf("%d SIGKILLs, then a full run: %d calls and %d utterances, each exactly once", killed, calls, utts)
}

// TestChildExtract is the body of the process TestKilledRunResumes kills.
func TestChildExtract(t *testing.T) {
	if os.Getenv("CHORUS_ELT_CHILD") == "" {
		t.Skip("only runs as a child of TestKilledRunResumes")
	}
	now, _ := time.Parse(time.RFC3339, os.Getenv("CHILD_NOW"))
	cfg, err := config.Parse([]byte(os.Getenv("CHILD_CONFIG")), now, os.Getenv(config.TokenEnv))
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("CHILD_DIR")
	statePath := filepath.Join(dir, "state.json")
	st, err := state.Load(statePath, cfg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = connector.Extract(context.Background(), connector.ExtractOptions{
		Config: cfg, OutDir: dir, State: st, Now: func() time.Time { return now },
		SaveState: func(s *state.State) error { return state.Save(statePath, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
}
