// Package config is the connector's configuration: the JSON document a user
// writes (and Airbyte's connectionSpecification), its defaults, bounds and
// validation.
package config

import (
	_ "embed"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config is the connector configuration: a JSON file, and the Airbyte spec.
type Config struct {
	BaseURL           string   `json:"base_url"`
	APIToken          Secret   `json:"api_token"`
	APITokenFile      string   `json:"api_token_file"`
	AuthScheme        string   `json:"auth_scheme"`
	StartDate         string   `json:"start_date"`
	LookbackDays      int      `json:"lookback_days"`
	LookbackHours     float64  `json:"lookback_hours"`
	RequestsPerSecond float64  `json:"requests_per_second"`
	MaxConcurrency    int      `json:"max_concurrency"`
	Timeout           Duration `json:"timeout"`
	MaxRetries        int      `json:"max_retries"`
	SliceHours        float64  `json:"slice_hours"`
	PendingMaxHours   float64  `json:"pending_max_hours"`
	SettleHours       *float64 `json:"settle_hours"`
	// SyncSalesQualifications reads each newly complete call's sales
	// qualification analysis: one more request per call.
	SyncSalesQualifications bool   `json:"sync_sales_qualifications"`
	MaxUtteranceBytes       int    `json:"max_utterance_bytes"`
	MaxTranscriptByte       int    `json:"max_transcript_bytes"`
	StateStore              string `json:"state_store"`
	CustomersTable          string `json:"customers_table"`
	// ScorecardsLookbackHours: how far before its cursor the scorecards
	// listing starts again on every run.
	ScorecardsLookbackHours float64 `json:"scorecards_lookback_hours"`

	// Start is StartDate parsed (or now - LookbackDays).
	Start time.Time `json:"-"`
}

// Defaults, documented in the README's configuration table.
const (
	DefaultBaseURL           = "https://chorus.ai"
	DefaultLookbackDays      = 30
	DefaultLookbackHours     = 24
	DefaultRequestsPerSecond = 3 // Gong publishes 3/s; Chorus publishes nothing
	DefaultMaxConcurrency    = 4
	DefaultTimeout           = 60 * time.Second
	DefaultMaxRetries        = 6
	DefaultSliceHours        = 168 // a week: few list calls on a back-fill, a checkpoint per week of calls
	DefaultPendingMaxHours   = 72
	DefaultSettleHours       = 72 // Chorus writes AI output and CRM links hours after a call
	DefaultMaxUtteranceBytes = 64 << 10
	DefaultMaxTranscriptByte = 16 << 20
)

// DefaultScorecardsLookbackHours is the scorecards listing's default look-back.
const DefaultScorecardsLookbackHours = 24

// TokenEnv is the environment variable the CLI reads when the config has
// no token.
const TokenEnv = "CHORUS_API_TOKEN"

// Error is a problem with the configuration or the command line; the
// CLI exits 2 for it.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func configErr(format string, a ...any) error {
	return &Error{Msg: "config: " + fmt.Sprintf(format, a...)}
}

// LoadConfig reads and validates a config file.
func Load(path string, envToken string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, configErr("cannot read %s: %v", path, err)
	}
	return Parse(b, time.Now(), envToken)
}

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// Parse decodes a config document, applies defaults and validates it.
// now anchors the default start date; envToken is the token the caller
// found in the environment (TokenEnv), used when the document has none.
func Parse(doc []byte, now time.Time, envToken string) (*Config, error) {
	var c Config
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case unknownField.MatchString(err.Error()):
			return nil, configErr("unknown key %q (see `chorus-elt spec` for the accepted keys)", unknownField.FindStringSubmatch(err.Error())[1])
		case errors.As(err, &te) && te.Field == "":
			return nil, configErr("the file must hold a JSON object, not a JSON %s", te.Value)
		case errors.As(err, &te):
			return nil, configErr("key %q must be a %s, not a JSON %s", te.Field, jsonKind(te.Type.String()), te.Value)
		case strings.Contains(err.Error(), "timeout"):
			return nil, configErr("key \"timeout\" must be a duration such as \"30s\" or a number of seconds (%v)", err)
		default:
			return nil, configErr("not a valid JSON object: %v", err)
		}
	}
	if dec.More() {
		return nil, configErr("trailing data after the JSON object")
	}
	if err := c.finish(now, envToken); err != nil {
		return nil, err
	}
	return &c, nil
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool":
		return "boolean"
	default:
		return "string"
	}
}

func (c *Config) finish(now time.Time, envToken string) error {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return configErr("key \"base_url\": %q is not an http(s) URL such as https://chorus.ai", c.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" {
		return configErr("key \"base_url\": must not carry credentials or a query string")
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")

	switch c.AuthScheme {
	case "":
		c.AuthScheme = "raw"
	case "raw", "bearer":
	default:
		return configErr("key \"auth_scheme\": %q is not one of raw, bearer", c.AuthScheme)
	}
	if c.APIToken == "" && c.APITokenFile != "" {
		b, err := os.ReadFile(c.APITokenFile)
		if err != nil {
			return configErr("key \"api_token_file\": cannot read %s: %v", c.APITokenFile, errors.Unwrap(err))
		}
		c.APIToken = Secret(strings.TrimSpace(string(b)))
	}
	if c.APIToken == "" {
		c.APIToken = Secret(strings.TrimSpace(envToken))
	}
	if c.APIToken == "" {
		return configErr("key \"api_token\" is required (or api_token_file, or the %s environment variable)", TokenEnv)
	}
	if strings.ContainsAny(string(c.APIToken), " \t\r\n") && !strings.HasPrefix(string(c.APIToken), "Bearer ") {
		return configErr("key \"api_token\" contains white space; paste the token alone")
	}

	if c.LookbackDays == 0 {
		c.LookbackDays = DefaultLookbackDays
	}
	if c.LookbackDays < 0 {
		return configErr("key \"lookback_days\" must be positive, got %d", c.LookbackDays)
	}
	if c.StartDate != "" {
		t, err := ParseDate(c.StartDate)
		if err != nil {
			return configErr("key \"start_date\": %v", err)
		}
		if t.After(now) {
			return configErr("key \"start_date\": %s is in the future", c.StartDate)
		}
		c.Start = t
	} else {
		c.Start = now.UTC().Add(-time.Duration(c.LookbackDays) * 24 * time.Hour).Truncate(time.Second)
	}

	positive := []struct {
		key string
		v   *float64
		def float64
	}{
		{"lookback_hours", &c.LookbackHours, DefaultLookbackHours},
		{"requests_per_second", &c.RequestsPerSecond, DefaultRequestsPerSecond},
		{"slice_hours", &c.SliceHours, DefaultSliceHours},
		{"pending_max_hours", &c.PendingMaxHours, DefaultPendingMaxHours},
		{"scorecards_lookback_hours", &c.ScorecardsLookbackHours, DefaultScorecardsLookbackHours},
	}
	for _, p := range positive {
		if *p.v < 0 {
			return configErr("key %q must be positive, got %v", p.key, *p.v)
		}
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	ints := []struct {
		key string
		v   *int
		def int
	}{
		{"max_concurrency", &c.MaxConcurrency, DefaultMaxConcurrency},
		{"max_retries", &c.MaxRetries, DefaultMaxRetries},
		{"max_utterance_bytes", &c.MaxUtteranceBytes, DefaultMaxUtteranceBytes},
		{"max_transcript_bytes", &c.MaxTranscriptByte, DefaultMaxTranscriptByte},
	}
	for _, p := range ints {
		if *p.v < 0 {
			return configErr("key %q must be positive, got %d", p.key, *p.v)
		}
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	switch {
	case c.SettleHours == nil:
		v := float64(DefaultSettleHours)
		c.SettleHours = &v
	case *c.SettleHours < 0:
		return configErr("key \"settle_hours\" must be 0 (no settling) or positive, got %v", *c.SettleHours)
	}
	if c.MaxConcurrency > 256 {
		return configErr("key \"max_concurrency\" is %d; at most 256 is allowed", c.MaxConcurrency)
	}
	if c.Timeout.D < 0 {
		return configErr("key \"timeout\" must be positive, got %s", c.Timeout.D)
	}
	if c.Timeout.D == 0 {
		c.Timeout.D = DefaultTimeout
	}
	switch c.StateStore {
	case "", "file", "warehouse":
	default:
		return configErr("key \"state_store\": %q is not one of file, warehouse", c.StateStore)
	}
	return nil
}

// Settle is how long after its start a complete call is re-read when its
// listing changes (settle_hours).
func (c *Config) Settle() time.Duration {
	if c.SettleHours == nil {
		return DefaultSettleHours * time.Hour
	}
	return time.Duration(*c.SettleHours * float64(time.Hour))
}

// ParseDate accepts RFC 3339 timestamps and YYYY-MM-DD dates (midnight UTC).
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date: use RFC 3339 (2026-03-01T00:00:00Z) or YYYY-MM-DD", s)
}

// Secret holds the API token. It never prints or marshals its value.
type Secret string

// String redacts the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString redacts the secret in %#v.
func (s Secret) GoString() string { return s.String() }

// Format redacts the secret whatever the verb: without it, a verb that does
// not call String (%d, say) makes fmt print the string itself.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// Format prints the config with its token redacted, whatever the verb. The
// token field's own methods are not enough: a verb fmt cannot apply to a
// value (%s of a struct holding a *Config, %d of a Config) makes it print
// that value field by field with every method turned off, the token's
// String included; the value is then printed here, before fmt gives up on
// the verb, with the token already replaced.
func (c Config) Format(f fmt.State, verb rune) {
	type config Config // the same fields, without this method
	p := config(c)
	if p.APIToken != "" {
		p.APIToken = "[redacted]"
	}
	s := fmt.Sprintf(fmt.FormatString(f, verb), p)
	if verb == 'v' && f.Flag('#') {
		s = strings.Replace(s, "config.config{", "config.Config{", 1)
	}
	io.WriteString(f, s)
}

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Duration is a time.Duration read from "30s" or a number of seconds.
type Duration struct{ D time.Duration }

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			if secs, err2 := strconv.ParseFloat(s, 64); err2 == nil {
				d.D = time.Duration(secs * float64(time.Second))
				return nil
			}
			return fmt.Errorf("timeout: %q is not a duration such as \"30s\"", s)
		}
		d.D = v
		return nil
	}
	var secs float64
	if err := json.Unmarshal(b, &secs); err != nil {
		return fmt.Errorf("timeout: not a string or number")
	}
	d.D = time.Duration(secs * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.D.String()) }

// SpecJSON is the connector's configuration schema (Airbyte
// connectionSpecification); every key of Config appears in it.
//
//go:embed spec.json
var SpecJSON []byte
