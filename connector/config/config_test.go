package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

var update = flag.Bool("update", false, "rewrite the README's configuration table")

// TestDefaultsAreTheDocumented: the default each key's tag documents (and
// the spec and README show) is the value Parse applies.
func TestDefaultsAreTheDocumented(t *testing.T) {
	c, err := Parse([]byte(`{}`), now, "tok")
	if err != nil {
		t.Fatal(err)
	}
	got := reflect.ValueOf(*c)
	for _, k := range keys() {
		if k.def == nil {
			continue
		}
		want := reflect.New(k.field.Type)
		if err := json.Unmarshal(k.def, want.Interface()); err != nil {
			t.Fatalf("%s: default %s: %v", k.name, k.def, err)
		}
		if v := got.FieldByIndex(k.field.Index); !reflect.DeepEqual(v.Interface(), want.Elem().Interface()) {
			t.Errorf("%s: Parse applies %v, the tag documents %s", k.name, v.Interface(), k.def)
		}
	}
}

// TestSpecAgreesWithParse: the spec, as a JSON Schema, accepts the
// documents Parse accepts and refuses the ones it refuses.
func TestSpecAgreesWithParse(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SpecJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("spec.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("spec.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []string{
		`{"api_token":"t"}`,
		`{"api_token":"t","auth_scheme":"bearer","max_concurrency":256,"timeout":"30s","settle_hours":0}`,
		`{"api_token":"t","timeout":12.5,"state_store":"warehouse","start_date":"2026-01-01","sync_sales_qualifications":true}`,
		`{"api_token":"t","auth_scheme":"basic"}`,
		`{"api_token":"t","max_concurrency":257}`,
		`{"api_token":"t","requests_per_second":-1}`,
		`{"api_token":"t","settle_hours":-2}`,
		`{"api_token":"t","state_store":"s3"}`,
		`{"api_token":"t","lookback_days":"7"}`,
		`{"api_token":"t","unknown_key":1}`,
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tc))
		if err != nil {
			t.Fatal(err)
		}
		specErr := sch.Validate(inst)
		_, parseErr := Parse([]byte(tc), now, "")
		if (specErr == nil) != (parseErr == nil) {
			t.Errorf("%s: the spec says %v, Parse says %v", tc, specErr, parseErr)
		}
	}
}

// TestREADMEConfigTable: the README's configuration table is
// MarkdownTable (go test ./connector/config -run README -update rewrites
// it).
func TestREADMEConfigTable(t *testing.T) {
	const begin, end = "<!-- config table: generated from connector/config (go test ./connector/config -run README -update) -->\n", "<!-- end of config table -->"
	path := filepath.Join("..", "..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	want := MarkdownTable()
	if got := readme[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's configuration table is not the one Config documents; run go test ./connector/config -run README -update\n--- README\n%s--- Config\n%s", got, want)
	}
}
