package config

import (
	"errors"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		wantErr string // substring; "" = valid
		check   func(t *testing.T, c *Config)
	}{
		{"defaults", `{"api_token":"tok"}`, "", func(t *testing.T, c *Config) {
			if c.BaseURL != DefaultBaseURL || c.AuthScheme != "raw" || c.LookbackHours != 24 || c.MaxConcurrency != DefaultMaxConcurrency {
				t.Errorf("defaults not applied: %+v", c)
			}
			if want := now.Add(-30 * 24 * time.Hour); !c.Start.Equal(want) {
				t.Errorf("start = %s, want %s", c.Start, want)
			}
			if c.Timeout.D != DefaultTimeout {
				t.Errorf("timeout = %s", c.Timeout.D)
			}
		}},
		{"date only", `{"api_token":"tok","start_date":"2026-01-02"}`, "", func(t *testing.T, c *Config) {
			if !c.Start.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("start = %s", c.Start)
			}
		}},
		{"rfc3339 with offset", `{"api_token":"tok","start_date":"2026-01-02T10:00:00+02:00"}`, "", func(t *testing.T, c *Config) {
			if !c.Start.Equal(time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)) {
				t.Errorf("start = %s", c.Start)
			}
		}},
		{"timeout as seconds", `{"api_token":"tok","timeout":5}`, "", func(t *testing.T, c *Config) {
			if c.Timeout.D != 5*time.Second {
				t.Errorf("timeout = %s", c.Timeout.D)
			}
		}},
		{"bearer and trailing slash", `{"api_token":"tok","auth_scheme":"bearer","base_url":"https://eu.chorus.ai/"}`, "", func(t *testing.T, c *Config) {
			if c.BaseURL != "https://eu.chorus.ai" || c.AuthScheme != "bearer" {
				t.Errorf("got %s %s", c.BaseURL, c.AuthScheme)
			}
		}},
		{"missing token", `{}`, `"api_token" is required`, nil},
		{"unknown key", `{"api_token":"tok","lookback_hour":3}`, `unknown key "lookback_hour"`, nil},
		{"bad url", `{"api_token":"tok","base_url":"chorus.ai"}`, `"base_url"`, nil},
		{"url with credentials", `{"api_token":"tok","base_url":"https://u:p@chorus.ai"}`, `"base_url"`, nil},
		{"bad scheme", `{"api_token":"tok","auth_scheme":"basic"}`, `"auth_scheme"`, nil},
		{"bad date", `{"api_token":"tok","start_date":"03/01/2026"}`, `"start_date"`, nil},
		{"future date", `{"api_token":"tok","start_date":"2027-01-01"}`, `in the future`, nil},
		{"negative rate", `{"api_token":"tok","requests_per_second":-1}`, `"requests_per_second" must be positive`, nil},
		{"negative concurrency", `{"api_token":"tok","max_concurrency":-2}`, `"max_concurrency" must be positive`, nil},
		{"huge concurrency", `{"api_token":"tok","max_concurrency":10000}`, `"max_concurrency"`, nil},
		{"wrong type", `{"api_token":"tok","lookback_days":"ten"}`, `"lookback_days" must be a number`, nil},
		{"bad timeout", `{"api_token":"tok","timeout":"soon"}`, `timeout`, nil},
		{"not json", `api_token=tok`, `not a valid JSON object`, nil},
		{"trailing data", `{"api_token":"tok"} {}`, `trailing data`, nil},
		{"bad state store", `{"api_token":"tok","state_store":"s3"}`, `"state_store"`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.doc), now, "")
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("want error containing %q, got config %+v", tc.wantErr, c)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				var ce *Error
				if !errors.As(err, &ce) {
					t.Errorf("config error %v is a %T, not a *config.Error (exit 2)", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func TestConfigTokenSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]byte(`{"api_token_file":"`+file+`"}`), now, "from-env")
	if err != nil || string(c.APIToken) != "from-file" {
		t.Fatalf("token file: %v %q", err, c.APIToken)
	}
	c, err = Parse([]byte(`{}`), now, "from-env")
	if err != nil || string(c.APIToken) != "from-env" {
		t.Fatalf("token env: %v", err)
	}
	if _, err := Parse([]byte(`{"api_token_file":"`+file+`.missing"}`), now, "from-env"); err == nil || !strings.Contains(err.Error(), "api_token_file") {
		t.Fatalf("missing token file: %v", err)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	c, err := Parse([]byte(`{"api_token":"s3cr3t-token-value"}`), now, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(c)
	for _, s := range []string{string(b), c.APIToken.String(), c.APIToken.GoString()} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("token leaked: %s", s)
		}
	}
}

// Every config key is documented in the spec and every spec key is a
// config key.
func TestSpecMatchesConfig(t *testing.T) {
	var spec struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(SpecJSON, &spec); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, _ := json.Marshal(Config{})
	_ = json.Unmarshal(b, &cfg)
	for k := range cfg {
		if _, ok := spec.Properties[k]; !ok {
			t.Errorf("config key %q is not in spec.json", k)
		}
	}
	for k := range spec.Properties {
		if _, ok := cfg[k]; !ok {
			t.Errorf("spec.json key %q is not a config key", k)
		}
	}
}
