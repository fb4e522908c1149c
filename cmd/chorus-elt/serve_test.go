package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/serve"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

// TestServeCommand runs `chorus-elt serve` over a synced DuckDB file: bad
// command lines are refused, and the server answers with the tokens from
// the file, refuses requests without one and webhooks with a wrong secret,
// and stops cleanly when its context ends.
func TestServeCommand(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 3, Calls: 30, Token: cliToken, ProcessingDelay: -1})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := "duckdb:" + filepath.Join(dir, "w.duckdb")
	if code, _, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", db); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	const token = "serve-cli-token-0123456789"
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(tokens, []byte("# tokens of the API\n"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(serveTokenEnv, "")
	for _, c := range []struct {
		name string
		env  string
		args []string
		code int
		says string
	}{
		{"no warehouse", token, []string{"serve"}, exitUsage, "--warehouse URL is required"},
		{"no token", "", []string{"serve", "--warehouse", db}, exitUsage, "no API token"},
		{"short token", "too-short", []string{"serve", "--warehouse", db}, exitFailure, "at least 16"},
		{"missing token file", token, []string{"serve", "--warehouse", db, "--token-file", cfg + ".missing"}, exitUsage, "token file"},
		{"sync without config", token, []string{"serve", "--warehouse", db, "--sync-every", "1m"}, exitFailure, "--sync-every needs --config"},
		{"bad warehouse", token, []string{"serve", "--warehouse", "postgres:x"}, exitUsage, "duckdb:PATH"},
	} {
		t.Setenv(serveTokenEnv, c.env)
		if code, _, stderr := runCLI(t, cliOpts{}, c.args...); code != c.code || !strings.Contains(stderr, c.says) {
			t.Errorf("%s: exit %d, want %d saying %q:\n%s", c.name, code, c.code, c.says, stderr)
		}
	}
	t.Setenv(serveTokenEnv, "")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("TEST_WEBHOOK_SECRET", "cli-webhook-secret-0123456789")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr string
	go func() {
		var code int
		code, _, stderr = runCLI(t, cliOpts{ctx: ctx}, "serve", "--warehouse", db, "--addr", addr, "--config", cfg,
			"--token-file", tokens, "--webhook-secret-env", "TEST_WEBHOOK_SECRET")
		done <- code
	}()
	get := func(method, path, header, value, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get("GET", "/healthz", "", "", ""); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("serve does not answer on %s:\n%s", addr, stderr)
		}
	}
	var page struct {
		Meetings []json.RawMessage `json:"meetings"`
	}
	code, body := get("GET", "/api/chorus/meetings", "Authorization", "Bearer "+token, "")
	if err := json.Unmarshal([]byte(body), &page); code != http.StatusOK || err != nil || len(page.Meetings) == 0 {
		t.Errorf("GET /api/chorus/meetings with the token: %d %.200s", code, body)
	}
	if code, _ := get("GET", "/api/chorus/meetings", "Authorization", "Bearer not-the-token-0123456789", ""); code != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d", code)
	}
	hook := `{"engagement_id":"` + tenant.RecordedCalls()[0].ID + `"}`
	if code, body := get("POST", "/api/chorus/webhook", serve.WebhookSecretHeader, "wrong-secret-0123456789", hook); code != http.StatusUnauthorized {
		t.Errorf("webhook, wrong secret: %d %s", code, body)
	}
	if code, body := get("POST", "/api/chorus/webhook", serve.WebhookSecretHeader, "cli-webhook-secret-0123456789", hook); code != http.StatusAccepted {
		t.Errorf("webhook: %d %s", code, body)
	}
	time.Sleep(time.Second) // the sync starts (serve.DefaultSyncGather)
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve stopped with exit %d:\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of its context's end")
	}
	if strings.Contains(stderr, token) {
		t.Error("the serve token is in the logs")
	}
}
