package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/config"
)

// scripted answers each request with the next step of a script, then with
// a final 200.
type scripted struct {
	steps []func(w http.ResponseWriter)
	n     atomic.Int32
	auth  atomic.Value
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.auth.Store(r.Header.Get("Authorization"))
	i := int(s.n.Add(1)) - 1
	if i < len(s.steps) {
		s.steps[i](w)
		return
	}
	w.Write([]byte(`{"engagements":[],"continuation_key":null}`))
}

func status(code int, headers ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		w.Write([]byte(`{"errors":[{"code":"X1","status":"` + strconv.Itoa(code) + `","title":"t"}]}`))
	}
}

func truncated(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "100")
	w.Write([]byte(`{"engagements":[{"engagement_id":`))
}

func testConfig(t *testing.T, base string, extra string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(`{"api_token":"tok-123456","base_url":"`+base+`","requests_per_second":1000,"max_retries":4`+extra+`}`), time.Now(), "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientRetries(t *testing.T) {
	tests := []struct {
		name        string
		steps       []func(w http.ResponseWriter)
		wantErr     string
		wantReqs    int32
		minDuration time.Duration
	}{
		{"ok", nil, "", 1, 0},
		{"429 with Retry-After seconds", []func(http.ResponseWriter){status(429, "Retry-After", "1")}, "", 2, 900 * time.Millisecond},
		{"429 with Retry-After date", []func(http.ResponseWriter){func(w http.ResponseWriter) {
			status(429, "Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))(w)
		}}, "", 2, 900 * time.Millisecond},
		{"429 without Retry-After", []func(http.ResponseWriter){status(429)}, "", 2, 0},
		{"500 then 502 then ok", []func(http.ResponseWriter){status(500), status(502)}, "", 3, 0},
		{"truncated body", []func(http.ResponseWriter){truncated}, "", 2, 0},
		{"html error page", []func(http.ResponseWriter){func(w http.ResponseWriter) { w.Write([]byte("<html>maintenance</html>")) }}, "", 2, 0},
		{"gives up", []func(http.ResponseWriter){status(500), status(500), status(500), status(500), status(500), status(500)}, "gave up after 5 attempts", 5, 0},
		{"401 is final", []func(http.ResponseWriter){status(401)}, "rejected the API token (HTTP 401 X1", 1, 0},
		{"404 is final", []func(http.ResponseWriter){status(404)}, "not found", 1, 0},
		{"400 is final", []func(http.ResponseWriter){status(400)}, "HTTP 400", 1, 0},
		{"504 on a list narrows instead of retrying", []func(http.ResponseWriter){status(504)}, "504 gateway timeout", 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{steps: tc.steps}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := New(testConfig(t, srv.URL, ""), Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})
			start := time.Now()
			var out map[string]any
			err := c.GetJSON(context.Background(), Request{Path: "/v3/engagements", NoRetry504: true}, &out)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := s.n.Load(); got != tc.wantReqs {
				t.Errorf("requests = %d, want %d", got, tc.wantReqs)
			}
			if d := time.Since(start); d < tc.minDuration {
				t.Errorf("retried after %s, before Retry-After (%s)", d, tc.minDuration)
			}
			if err != nil && strings.Contains(err.Error(), "tok-123456") {
				t.Errorf("token in error: %v", err)
			}
			if got := s.auth.Load(); got != "tok-123456" {
				t.Errorf("Authorization = %q, want the raw token", got)
			}
		})
	}
}

func TestClientErrorKinds(t *testing.T) {
	s := &scripted{steps: []func(http.ResponseWriter){status(401)}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := New(testConfig(t, srv.URL, `,"auth_scheme":"bearer"`), Options{})
	var out map[string]any
	err := c.GetJSON(context.Background(), Request{Path: "/api/v1/conversations/ABC"}, &out)
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("want AuthError mapped to exit 2, got %T %v", err, err)
	}
	if s.auth.Load() != "Bearer tok-123456" {
		t.Errorf("bearer scheme not used: %q", s.auth.Load())
	}
}

func TestRateBudget(t *testing.T) {
	s := &scripted{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	cfg := testConfig(t, srv.URL, "")
	cfg.RequestsPerSecond = 20
	c := New(cfg, Options{})
	start := time.Now()
	for i := 0; i < 11; i++ {
		var out map[string]any
		if err := c.GetJSON(context.Background(), Request{Path: "/v3/engagements"}, &out); err != nil {
			t.Fatal(err)
		}
	}
	// 11 requests at 20/s with a burst of one need at least 10 intervals.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("11 requests took %s; the 20/s budget was not applied", d)
	}
}

func TestRetryAfter(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"0.5", 500 * time.Millisecond}, {"-4", 0}, {"soon", 0},
		{base.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second},
		{base.Add(-7 * time.Second).Format(http.TimeFormat), 0},
		{"100000", 5 * time.Minute},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.h, base); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.h, got, tc.want)
		}
	}
}
