package transforms

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

// Signal categories a tracker can map to.
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

// WeightDoc describes every health weight (README.md has the same list).
var WeightDoc = map[string]string{
	"recency_grace_days":             "days without a call before the recency penalty starts",
	"recency_penalty_per_day":        "points lost per day without a call beyond the grace days",
	"recency_penalty_max":            "cap of the recency penalty",
	"trend_penalty_max":              "points lost when calls in the last 30 days fall to zero from the 30 before (scaled by the drop)",
	"talk_share_target":              "customer share of talk time (0–1) below which engagement is penalised",
	"talk_share_penalty_max":         "points lost at a customer talk share of 0 (scaled linearly up to the target)",
	"competitor_penalty_per_mention": "points lost per competitor mention in the last 30 days",
	"risk_penalty_per_mention":       "points lost per risk mention in the last 30 days",
	"objection_penalty_per_mention":  "points lost per objection mention in the last 30 days",
	"pricing_penalty_per_mention":    "points lost per pricing mention in the last 30 days",
	"signal_penalty_max":             "cap of the signal penalties together",
	"overdue_task_penalty":           "points lost per overdue task",
	"overdue_penalty_max":            "cap of the overdue-task penalty",
	"next_step_bonus_per_mention":    "points gained per next-step mention in the last 30 days",
	"engaging_question_bonus":        "points gained per engaging question in the last 30 days",
	"bonus_max":                      "cap of the bonuses together",
	"green_min":                      "lowest score of the green band",
	"amber_min":                      "lowest score of the amber band (below: red)",
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
			return nil, fmt.Errorf("signals %s: unknown health weight %q (known: %s)", name, k, strings.Join(sortedKeys(s.Weights), ", "))
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
