package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

func writeConfig(t *testing.T, dir, baseURL, tok string, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "config.json")
	doc := fmt.Sprintf(`{"api_token":%q,"base_url":%q,"start_date":%q,"requests_per_second":1000,"max_concurrency":8%s}`,
		tok, baseURL, time.Now().Add(-31*24*time.Hour).Format("2006-01-02"), extra)
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHelpOnEveryCommand(t *testing.T) {
	if code, stdout, _ := runCLI(t, cliOpts{}, "--help"); code != exitOK || !strings.Contains(stdout, "extract") {
		t.Fatalf("--help: %d %s", code, stdout)
	}
	for _, c := range commands(&env{}) {
		code, stdout, _ := runCLI(t, cliOpts{}, c.Name, "--help")
		if code != exitOK || !strings.Contains(stdout, c.Name) {
			t.Errorf("%s --help: exit %d, %q", c.Name, code, stdout)
		}
	}
}

func TestExitCodes(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 1, Calls: 10, Token: cliToken})
	dir := t.TempDir()
	good := writeConfig(t, dir, srv.URL, cliToken, "")
	badTokDir := t.TempDir()
	badTok := writeConfig(t, badTokDir, srv.URL, "not-the-token", "")
	unknownKey := filepath.Join(dir, "unknown.json")
	writeFile(t, unknownKey, []byte(`{"api_token":"x","speed":3}`), 0o600)
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{"unknown flag", []string{"extract", "--nope"}, exitUsage, "flag provided but not defined"},
		{"unknown command", []string{"explode"}, exitUsage, ""},
		{"missing config", []string{"extract", "--out", dir}, exitUsage, "--config FILE is required"},
		{"unknown config key", []string{"extract", "--config", unknownKey, "--out", dir}, exitUsage, `unknown key "speed"`},
		{"bad start", []string{"extract", "--config", good, "--out", dir, "--start", "yesterday"}, exitUsage, "--start"},
		{"bad stream", []string{"extract", "--config", good, "--out", dir, "--streams", "calls,emails"}, exitUsage, `unknown stream "emails"`},
		{"401", []string{"extract", "--config", badTok, "--out", badTokDir}, exitUsage, "ZI0001"},
		{"check 401", []string{"check", "--config", badTok}, exitUsage, ""},
		{"check ok", []string{"check", "--config", good}, exitOK, ""},
		{"extract ok", []string{"extract", "--config", good, "--out", dir}, exitOK, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, cliOpts{}, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.stderrHas != "" && !strings.Contains(stderr, tc.stderrHas) {
				t.Fatalf("stderr does not say %q:\n%s", tc.stderrHas, stderr)
			}
			if code == exitOK && tc.args[0] == "extract" {
				var sum map[string]any
				if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
					t.Fatalf("stdout must be the one-line JSON summary, got %q", stdout)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(badTokDir, "state.json")); err == nil {
		t.Error("a rejected run wrote a state file")
	}
}

func TestAirbyteReadHonoursCatalog(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 2, Calls: 15, Token: cliToken})
	tenant.Advance(6 * time.Hour)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	catalog := filepath.Join(dir, "catalog.json")
	writeFile(t, catalog, []byte(`{"streams":[
	  {"stream":{"name":"calls","json_schema":{},"supported_sync_modes":["incremental"]},"sync_mode":"incremental","destination_sync_mode":"append_dedup"},
	  {"stream":{"name":"teams","json_schema":{},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`), 0o600)
	code, stdout, stderr := runCLI(t, cliOpts{}, "read", "--config", cfg, "--catalog", catalog)
	if code != exitOK {
		t.Fatalf("read: %d %s", code, stderr)
	}
	streams := map[string]int{}
	var lastState json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m struct {
			Type   string `json:"type"`
			Record struct {
				Stream string `json:"stream"`
			} `json:"record"`
			State json.RawMessage `json:"state"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not a message: %q", line)
		}
		if m.Type == "RECORD" {
			streams[m.Record.Stream]++
		}
		if m.Type == "STATE" {
			lastState = m.State
		}
	}
	if streams["calls"] == 0 || streams["teams"] == 0 || len(streams) != 2 {
		t.Fatalf("records by stream: %v (want calls and teams only)", streams)
	}
	// Feed the last state back as Airbyte does: the second read lists only.
	statePath := filepath.Join(dir, "state.json")
	writeFile(t, statePath, []byte("["+string(lastState)+"]"), 0o600)
	tenant.ResetStats()
	if code, _, stderr := runCLI(t, cliOpts{}, "read", "--config", cfg, "--catalog", catalog, "--state", statePath); code != exitOK {
		t.Fatalf("second read: %s", stderr)
	}
	if n := tenant.Stats().DetailRequests; n != 0 {
		t.Fatalf("second read with state fetched %d details", n)
	}
}

func TestSingerTap(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 4, Calls: 10, Token: cliToken})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, `,"auth_scheme":"bearer"`)
	code, stdout, _ := runCLI(t, cliOpts{}, "singer", "--config", cfg, "--discover")
	if code != exitOK || !strings.Contains(stdout, `"tap_stream_id"`) {
		t.Fatalf("discover: %d", code)
	}
	var catalog map[string]any
	if err := json.Unmarshal([]byte(stdout), &catalog); err != nil {
		t.Fatalf("discover output: %v", err)
	}
	// Select only utterances.
	for _, s := range catalog["streams"].([]any) {
		sm := s.(map[string]any)
		md := sm["metadata"].([]any)[0].(map[string]any)["metadata"].(map[string]any)
		md["selected"] = sm["stream"] == "utterances"
	}
	b, _ := json.Marshal(catalog)
	catPath := filepath.Join(dir, "catalog.json")
	writeFile(t, catPath, b, 0o600)
	code, stdout, stderr := runCLI(t, cliOpts{}, "singer", "--config", cfg, "--catalog", catPath)
	if code != exitOK {
		t.Fatalf("singer: %s", stderr)
	}
	first := strings.SplitN(stdout, "\n", 2)[0]
	if !strings.Contains(first, `"type":"SCHEMA"`) || !strings.Contains(first, `"stream":"utterances"`) {
		t.Fatalf("first message must be the SCHEMA of utterances: %s", first)
	}
	if strings.Contains(stdout, `"stream":"calls"`) {
		t.Fatal("unselected stream emitted")
	}
}
