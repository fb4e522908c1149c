package main

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// TestInterruptKeepsProgress sends SIGTERM (what Airflow and Kubernetes
// send) to an `extract` and SIGINT (Ctrl-C) to a `run`, each a separate
// process in the middle of a back-fill: within a few seconds it checkpoints
// and exits non-zero, and the next run resumes where it stopped — no call is
// fetched twice beyond the calls of one slice.
func TestInterruptKeepsProgress(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		cmd  []string
	}{
		{"extract/SIGTERM", syscall.SIGTERM, []string{"extract"}},
		{"run/SIGINT", syscall.SIGINT, []string{"run", "--warehouse", "duckdb:{dir}/w.duckdb"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant := chorustest.New(chorustest.Options{Seed: 17, Calls: 240, Token: cliToken, Latency: 25 * time.Millisecond})
			srv := httptest.NewServer(tenant)
			defer srv.Close()
			dir := t.TempDir()
			cfg := writeConfig(t, dir, srv.URL, cliToken, `,"slice_hours":24,"requests_per_second":40,"max_concurrency":2`)
			out := filepath.Join(dir, "out")
			args := []string{"--log-format", "json"}
			for _, a := range tc.cmd {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			args = append(args, "--config", cfg, "--out", out)

			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, args...)
			cmd.Env = append(os.Environ(), cliEnv+"=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Let it work through a few slices, then signal.
			deadline := time.Now().Add(20 * time.Second)
			for tenant.Stats().DetailRequests < 60 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			signalled := time.Now()
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			took := time.Since(signalled)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("after %v the process exited with %v; want a non-zero exit\n%s", tc.sig, err, stderr.String())
			}
			if took > 5*time.Second {
				t.Errorf("it took %v to stop after %v", took, tc.sig)
			}
			noToken(t, "the stderr of the interrupted process", stderr.String())
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say it was interrupted:\n%s", lastLines(stderr.String(), 5))
			}
			first := tenant.Stats().DetailByID
			total := 0
			for _, e := range tenant.RecordedCalls() {
				if !e.NoShow && !e.StartedAt.After(tenant.Now()) {
					total++
				}
			}
			if len(first) == 0 || len(first) >= total {
				t.Fatalf("fixture: the first run read %d of %d calls before it was stopped", len(first), total)
			}
			t.Logf("%v after %d of %d calls: exited in %v", tc.sig, len(first), total, took.Round(time.Millisecond))

			// The next run finishes the back-fill.
			tenant.ResetStats()
			if code, _, stderr := runCLI(t, cliOpts{}, append(tc.cmd[:1:1], args[3:]...)...); code != exitOK {
				t.Fatalf("second run: exit %d\n%s", code, stderr)
			}
			second := tenant.Stats().DetailByID
			again := 0
			for id := range second {
				if first[id] > 0 {
					again++
				}
			}
			// At most the calls of one slice (a day) are read twice.
			perDay := map[string]int{}
			for _, e := range tenant.RecordedCalls() {
				perDay[e.StartedAt.Format("2006-01-02")]++
			}
			maxDay := 0
			for _, n := range perDay {
				maxDay = max(maxDay, n)
			}
			if again > maxDay {
				t.Errorf("the second run read %d calls the first had read; at most one slice's (%d) may be", again, maxDay)
			}
			if len(first)+len(second)-again < total {
				t.Errorf("calls read: %d + %d - %d twice, of %d", len(first), len(second), again, total)
			}
			st, err := state.Load(filepath.Join(out, "state.json"), srv.URL)
			if err != nil || st.Calls.Watermark == nil {
				t.Fatalf("state after the second run: %v", err)
			}
			t.Logf("second run: %d calls, %d of them read before", len(second), again)
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
