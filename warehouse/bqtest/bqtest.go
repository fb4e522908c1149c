// Package bqtest runs a real BigQuery emulator
// (github.com/goccy/bigquery-emulator, pinned by warehouse/bqemulator/go.mod)
// for tests: it finds the binary built once per machine by `make bqemulator`,
// starts it on free loopback ports and stops it when the test ends. Only
// tests import it.
//
// Without a binary a test skips, unless CHORUS_ELT_REQUIRE_BQ_EMULATOR=1
// (then it fails: CI sets it). CHORUS_ELT_BQ_EMULATOR names another binary.
package bqtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment of the emulator tests.
const (
	BinaryEnv   = "CHORUS_ELT_BQ_EMULATOR"          // path of the binary
	RequireEnv  = "CHORUS_ELT_REQUIRE_BQ_EMULATOR"  // 1: fail instead of skip without it
	DatabaseEnv = "CHORUS_ELT_BQ_EMULATOR_DATABASE" // keep the emulator's data in this SQLite file (debugging)
)

// moduleDir is warehouse/bqemulator, the emulator's own Go module.
func moduleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "bqemulator")
}

// BuildScript is the path of warehouse/bqemulator/build.sh.
func BuildScript() string { return filepath.Join(moduleDir(), "build.sh") }

// CachePath is where build.sh puts the binary:
// ${XDG_CACHE_HOME:-$HOME/.cache}/chorus-elt/bigquery-emulator/<first 16
// hex digits of sha256(go.sum)>-GOOS-GOARCH/bigquery-emulator.
func CachePath() (string, error) {
	b, err := os.ReadFile(filepath.Join(moduleDir(), "go.sum"))
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	key := hex.EncodeToString(sum[:])[:16] + "-" + runtime.GOOS + "-" + runtime.GOARCH
	return filepath.Join(base, "chorus-elt", "bigquery-emulator", key, "bigquery-emulator"), nil
}

// Binary finds the emulator, or skips the test (fails it when required).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", BinaryEnv, p, err)
		}
		return p
	}
	p, err := CachePath()
	if err != nil {
		t.Fatalf("bigquery-emulator cache path: %v", err)
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("bigquery-emulator is not built (%s is missing): run `make bqemulator` (about 5 minutes and ~6 GB of RAM, once per machine) or set %s to a bigquery-emulator binary", p, BinaryEnv)
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s (%s=1)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	return p
}

// Emulator is a running bigquery-emulator process.
type Emulator struct {
	Project  string
	HTTPAddr string        // host:port of the REST API: what BIGQUERY_EMULATOR_HOST holds
	GRPCAddr string        // host:port of its Storage API (gRPC; the project does not use it)
	Startup  time.Duration // from exec to the first answer
	cmd      *exec.Cmd
	out      *syncBuffer
}

// Output is what the emulator printed so far.
func (e *Emulator) Output() string { return e.out.String() }

// RSS returns the process's resident set and its peak, in MiB.
func (e *Emulator) RSS() (cur, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid))
	if err != nil {
		return -1, -1
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return cur, peak
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts an emulator holding project, empty, waits until it answers
// and stops it when the test ends. A fresh emulator per test: it slows
// down as jobs accumulate. It skips when the binary is missing (see
// Binary).
func Start(t testing.TB, project string) *Emulator {
	t.Helper()
	bin := Binary(t)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before the emulator binds it
		e, err := start(t, bin, project)
		if err == nil {
			return e
		}
		lastErr = err
	}
	t.Fatal(lastErr)
	return nil
}

func start(t testing.TB, bin, project string) (*Emulator, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	grpcPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if grpcPort == httpPort {
		return nil, fmt.Errorf("the same free port twice")
	}
	e := &Emulator{Project: project, out: &syncBuffer{},
		HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), GRPCAddr: fmt.Sprintf("127.0.0.1:%d", grpcPort)}
	args := []string{"--project=" + project, "--host=127.0.0.1", "--port=" + strconv.Itoa(httpPort),
		"--grpc-port=" + strconv.Itoa(grpcPort), "--log-level=warn"}
	if db := os.Getenv(DatabaseEnv); db != "" {
		args = append(args, "--database="+db)
	}
	e.cmd = exec.Command(bin, args...)
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	begin := time.Now()
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- e.cmd.Wait() }()
	stop := func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited: //nolint:errcheck // we stopped it: how it exited does not matter
		case <-time.After(10 * time.Second):
			_ = e.cmd.Process.Kill()
			<-exited //nolint:errcheck // killed: how it exited does not matter
		}
	}
	probe := "http://" + e.HTTPAddr + "/projects/" + project + "/datasets"
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("bigquery-emulator exited before answering (%w):\n%s", err, e.out.String())
		default:
		}
		if resp, err := client.Get(probe); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("bigquery-emulator did not answer %s within 60s:\n%s", probe, e.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.Startup = time.Since(begin)
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("bigquery-emulator output:\n%s", e.out.String())
		}
	})
	return e, nil
}
