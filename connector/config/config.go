// Package config is the connector's configuration: the JSON document a user
// writes (and Airbyte's connectionSpecification), its defaults, bounds and
// validation.
package config

import (
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
//
// Each key is described once, here, in its field's tags: doc (for the
// README's table and the spec's description; {x} is code, `x` in the
// README, and [text](#anchor) a README link), default (a JSON
// value, which finish applies: a test checks they agree), show (the default
// as the README shows it, when not the JSON value) and the spec's
// constraints (min, max, gt for an exclusive minimum, enum, examples,
// secret). Spec and MarkdownTable are built from these tags.
type Config struct {
	BaseURL           string   `json:"base_url" default:"\"https://chorus.ai\"" doc:"tenant host; regional and self-hosted tenants differ"`
	APIToken          Secret   `json:"api_token" secret:"true" doc:"the Chorus API token (Personal Settings → API Access); or {api_token_file}, or the {CHORUS_API_TOKEN} environment variable"`
	APITokenFile      string   `json:"api_token_file" doc:"a file holding the token (used when {api_token} is empty)"`
	AuthScheme        string   `json:"auth_scheme" default:"\"raw\"" enum:"raw,bearer" doc:"{raw} sends {Authorization: <token>} (the official example); {bearer} sends {Bearer <token>}"`
	StartDate         string   `json:"start_date" show:"now − {lookback_days}" examples:"2026-01-01,2026-01-01T00:00:00Z" doc:"first-run back-fill start: RFC 3339 or {YYYY-MM-DD}"`
	LookbackDays      int      `json:"lookback_days" default:"30" min:"1" doc:"back-fill depth when {start_date} is empty, in days"`
	LookbackHours     float64  `json:"lookback_hours" default:"24" gt:"0" doc:"window re-read before the watermark on every run (Chorus has no exactly-once iterator)"`
	RequestsPerSecond float64  `json:"requests_per_second" default:"3" gt:"0" doc:"the starting and maximum rate of the budget shared by every request (burst 1); it comes down when the tenant answers 429 (see [adaptive rate budget](#how-incremental-sync-works))"`
	MaxConcurrency    int      `json:"max_concurrency" default:"4" min:"1" max:"256" doc:"detail requests in flight"`
	Timeout           Duration `json:"timeout" default:"\"60s\"" show:"{60s}" doc:"per request; a duration such as {30s} or a number of seconds"`
	MaxRetries        int      `json:"max_retries" default:"6" min:"1" doc:"retries after 429, 5xx, network errors, truncated or unreadable bodies"`
	SliceHours        float64  `json:"slice_hours" default:"168" gt:"0" doc:"listing window per checkpoint: a back-fill lists a week at a time and saves the state after each"`
	PendingMaxHours   float64  `json:"pending_max_hours" default:"72" gt:"0" doc:"how long a call whose transcript is not ready is retried before it is recorded as {abandoned}"`
	SettleHours       *float64 `json:"settle_hours" default:"72" min:"0" doc:"how long after it started a complete call is still re-read in the listing, because Chorus writes the AI summary, action items and CRM links hours later; a call whose listing changes in that time is fetched again and its rows replaced; {0} turns it off (see [settling calls](#how-incremental-sync-works))"`
	// SyncSalesQualifications reads each newly complete call's sales
	// qualification analysis: one more request per call.
	SyncSalesQualifications bool `json:"sync_sales_qualifications" default:"false" doc:"also read each complete call's sales qualification analysis (MEDDIC, BANT, …) into {sales_qualifications}: one more request per call"`
	// ScorecardsLookbackHours: how far before its cursor the scorecards
	// listing starts again on every run.
	ScorecardsLookbackHours float64 `json:"scorecards_lookback_hours" default:"24" gt:"0" doc:"how far before the newest {submitted} time already listed the scorecards listing starts again on every run; scorecards listed again unchanged are not emitted again"`
	MaxUtteranceBytes       int     `json:"max_utterance_bytes" default:"65536" min:"1" doc:"longer utterance texts are cut; the row says so ({text_truncated}, {_extra.truncation})"`
	MaxTranscriptByte       int     `json:"max_transcript_bytes" default:"16777216" min:"1" show:"16 MiB" doc:"utterances beyond this much text per call are dropped; the calls row says so"`
	StateStore              string  `json:"state_store" default:"\"file\"" enum:"file,warehouse" doc:"where {run} keeps the state: {file}, or {warehouse} (a table next to the data)"`
	CustomersTable          string  `json:"customers_table" doc:"an existing warehouse table with the customer list (for the transforms), instead of {--customers FILE}"`

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

// Load reads and validates a config file.
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
	case "":
		c.StateStore = "file"
	case "file", "warehouse":
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
		_, _ = io.WriteString(f, s.GoString()) // fmt.State has no error to report to
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
	_, _ = io.WriteString(f, s) // fmt.State has no error to report to
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
// connectionSpecification), built from Config's tags (see Spec).
var SpecJSON = mustJSON(Spec())
