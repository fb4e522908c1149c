package transforms

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Categories are the signal categories a tracker can map to.
var Categories = []string{"competitor", "pricing", "objection", "next_step", "risk", "feature_request"}

// SignalRule maps trackers to a category: a tracker matches when its name
// matches TrackerName or its type matches TrackerType (RE2, case-insensitive;
// an empty pattern never matches). Rules are tried in order and the first
// that matches wins, so each tracker has at most one category.
type SignalRule struct {
	Category    string `json:"category"`
	TrackerName string `json:"tracker_name,omitempty"`
	TrackerType string `json:"tracker_type,omitempty"`
}

// Signals is the signal mapping and the health-score weights: the shipped
// defaults, or those of a --signals file.
type Signals struct {
	Rules   []SignalRule       `json:"signals"`
	Weights map[string]float64 `json:"health_weights"`
}

//go:embed signals_default.json
var defaultSignalsJSON []byte

//go:embed freemail.txt
var freeMailTxt string

// DefaultSignals returns the shipped signal mapping and weights.
func DefaultSignals() *Signals {
	var s Signals
	if err := json.Unmarshal(defaultSignalsJSON, &s); err != nil {
		panic("transforms: signals_default.json: " + err.Error()) // a build defect, caught by the tests
	}
	return &s
}

// WeightDoc describes every health weight (README.md, "Health score", has
// the same list with the formulas).
var WeightDoc = map[string]string{
	"decay_half_life_days":   "calendar days after which a call counts half as much in every rate (recency weighting)",
	"portfolio_share":        "part (0–1) of each graded component, but recency, that comes from the customer's rank among the customers of the same week; the rest from the absolute grade",
	"recency_points":         "points lost at most for the days since the last call",
	"recency_grace_days":     "days since the last call before the recency penalty starts",
	"recency_half_days":      "days past the grace days at which half the recency points are lost",
	"cadence_points":         "points lost at most for few calls in the last 30 days",
	"cadence_target_per_30d": "calls in the last 30 days at and above which the absolute cadence grade is 0",
	"talk_share_points":      "points lost at most for a low customer share of talk time",
	"talk_share_target":      "customer share of talk time (0–1) at and above which the absolute grade is 0",
	"competitor_points":      "points lost at most for competitors named (share of calls)",
	"competitor_share_ref":   "share of calls naming a competitor at which the absolute grade is 1/2",
	"risk_points":            "points lost at most for risk or objection mentions (share of calls)",
	"risk_share_ref":         "share of calls with a risk or objection at which the absolute grade is 1/2",
	"overdue_points":         "points lost at most for overdue actionable tasks",
	"overdue_tasks_ref":      "overdue tasks at which the absolute grade is 1/2",
	"next_step_points":       "points gained at most for next steps agreed (share of calls)",
	"next_step_share_ref":    "share of calls with a next step at which the absolute grade is 1/2",
	"green_min":              "lowest score of the green band",
	"amber_min":              "lowest score of the amber band (below: red)",
	"task_stale_days":        "calendar days after its call when a task not followed up becomes stale (customer_tasks.status; no longer counted as actionable)",
}

// ReadSignalsFile reads a signals JSON file over the defaults: "signals",
// when present, replaces the default rules; "health_weights" entries replace
// the default weights one by one.
func ReadSignalsFile(path string) (*Signals, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signals: %w", err)
	}
	return ParseSignals(b, path)
}

// ParseSignals parses a signals document over the defaults and validates it;
// name is used in messages.
func ParseSignals(b []byte, name string) (*Signals, error) {
	var over struct {
		Rules   *[]SignalRule      `json:"signals"`
		Weights map[string]float64 `json:"health_weights"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&over); err != nil {
		return nil, fmt.Errorf("signals %s: %w (want {\"signals\": [{\"category\", \"tracker_name\", \"tracker_type\"}…], \"health_weights\": {…}})", name, err)
	}
	s := DefaultSignals()
	if over.Rules != nil {
		s.Rules = *over.Rules
	}
	for k, v := range over.Weights {
		if _, ok := s.Weights[k]; !ok {
			return nil, fmt.Errorf("signals %s: unknown health weight %q (known: %s)", name, k, strings.Join(slices.Sorted(maps.Keys(s.Weights)), ", "))
		}
		s.Weights[k] = v
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("signals %s: %w", name, err)
	}
	return s, nil
}

// Validate checks categories and patterns.
func (s *Signals) Validate() error {
	known := map[string]bool{}
	for _, c := range Categories {
		known[c] = true
	}
	for i, r := range s.Rules {
		if !known[r.Category] {
			return fmt.Errorf("signals[%d]: unknown category %q (want one of %s)", i, r.Category, strings.Join(Categories, ", "))
		}
		if r.TrackerName == "" && r.TrackerType == "" {
			return fmt.Errorf("signals[%d] (%s): give tracker_name or tracker_type", i, r.Category)
		}
		for _, p := range []string{r.TrackerName, r.TrackerType} {
			if _, err := regexp.Compile("(?i)" + p); err != nil {
				return fmt.Errorf("signals[%d] (%s): pattern %q: %w", i, r.Category, p, err)
			}
			if strings.ContainsAny(p, "'\n") {
				return fmt.Errorf("signals[%d] (%s): pattern %q: write a quote as \\x27", i, r.Category, p)
			}
		}
	}
	for _, k := range []string{"decay_half_life_days", "recency_half_days", "cadence_target_per_30d", "talk_share_target",
		"competitor_share_ref", "risk_share_ref", "overdue_tasks_ref", "next_step_share_ref"} {
		if v, ok := s.Weights[k]; ok && !(v > 0) {
			return fmt.Errorf("health_weights: %s must be above 0 (it divides), got %g", k, v)
		}
	}
	if v := s.Weights["portfolio_share"]; v < 0 || v > 1 {
		return fmt.Errorf("health_weights: portfolio_share must be between 0 and 1, got %g", v)
	}
	if v := s.Weights["task_stale_days"]; v < 0 {
		return fmt.Errorf("health_weights: task_stale_days must not be negative, got %g", v)
	}
	if s.Weights["amber_min"] > s.Weights["green_min"] {
		return fmt.Errorf("health_weights: amber_min (%g) is above green_min (%g)", s.Weights["amber_min"], s.Weights["green_min"])
	}
	return nil
}

// freeMailDomains is the shipped free-mail list.
func freeMailDomains() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(freeMailTxt))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.ToLower(l))
		}
	}
	return out
}
