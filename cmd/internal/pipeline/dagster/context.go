package dagster

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Context is what Dagster tells the process about the step it runs
// (PipesContextData). Fields Dagster sends as null are nil.
type Context struct {
	// AssetKeys are the targeted assets in escaped user form
	// ("chorus_raw/calls"), sorted; nil when the step is not an asset step.
	AssetKeys []string `json:"asset_keys"`
	// CodeVersionByAssetKey maps each targeted asset to its code version
	// (nil when the asset has none).
	CodeVersionByAssetKey map[string]*string `json:"code_version_by_asset_key"`
	// ProvenanceByAssetKey maps each targeted asset to the provenance of
	// its latest materialization (nil when it has none).
	ProvenanceByAssetKey map[string]*DataProvenance `json:"provenance_by_asset_key"`
	// PartitionKey is the partition of a single-partition step.
	PartitionKey *string `json:"partition_key"`
	// PartitionKeyRange is the partition range of a partitioned step.
	PartitionKeyRange *PartitionKeyRange `json:"partition_key_range"`
	// PartitionTimeWindow is set for time-partitioned assets.
	PartitionTimeWindow *TimeWindow `json:"partition_time_window"`
	RunID               string      `json:"run_id"`
	JobName             *string     `json:"job_name"`
	RetryNumber         int         `json:"retry_number"`
	// Extras are the extras given to the Pipes client's run(), undecoded.
	Extras map[string]json.RawMessage `json:"extras"`
}

// DataProvenance is PipesDataProvenance.
type DataProvenance struct {
	CodeVersion       string            `json:"code_version"`
	InputDataVersions map[string]string `json:"input_data_versions"`
	IsUserProvided    bool              `json:"is_user_provided"`
}

// PartitionKeyRange is PipesPartitionKeyRange: the first and last
// partition keys, both included.
type PartitionKeyRange struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// TimeWindow is PipesTimeWindow: ISO 8601 timestamps of the window's start
// (included) and end (excluded).
type TimeWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// ParseContext decodes a PipesContextData JSON object. Unknown fields are
// ignored (a newer Dagster may send more).
func ParseContext(data []byte) (*Context, error) {
	var c Context
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if c.RunID == "" {
		return nil, fmt.Errorf("no run_id")
	}
	return &c, nil
}

// Times parses the window's start and end (see ParseTime).
func (w *TimeWindow) Times() (start, end time.Time, err error) {
	if w == nil {
		return start, end, fmt.Errorf("no partition time window (the step is not time-partitioned)")
	}
	if start, err = ParseTime(w.Start); err != nil {
		return start, end, fmt.Errorf("partition_time_window.start: %w", err)
	}
	if end, err = ParseTime(w.End); err != nil {
		return start, end, fmt.Errorf("partition_time_window.end: %w", err)
	}
	if !start.Before(end) {
		return start, end, fmt.Errorf("partition_time_window: start %s is not before end %s", w.Start, w.End)
	}
	return start, end, nil
}

// timeLayouts are the forms of Python's datetime.isoformat() for an aware
// datetime: "YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM", the offset rarely with
// seconds. (Go's parser accepts "Z" for the offset too.)
var timeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z07:00:00",
}

// ParseTime parses a timestamp as Dagster sends it in a time window:
// datetime.isoformat() of a time-zone-aware datetime, such as
// "2026-03-01T00:00:00+00:00" or "2026-03-01T00:00:00.250000-05:00". The
// offset is kept. A timestamp without an offset is refused rather than
// guessed.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return time.Time{}, fmt.Errorf("timestamp %q has no UTC offset", s)
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not an ISO 8601 date and time with a UTC offset", s)
}

// AssetKey is an asset key as a path of parts: ["chorus_raw", "calls"].
type AssetKey []string

// String returns the key in Dagster's escaped user form
// (AssetKey.to_escaped_user_string): the parts joined with "/", each "/"
// inside a part written as "\/". Like Dagster, a backslash is not escaped.
func (k AssetKey) String() string {
	parts := make([]string, len(k))
	for i, p := range k {
		parts[i] = strings.ReplaceAll(p, "/", `\/`)
	}
	return strings.Join(parts, "/")
}

// ParseAssetKey is the inverse of AssetKey.String (dagster_pipes
// to_asset_key_path): "/" separates parts, `\X` stands for X. As in Dagster
// a trailing "/" adds no empty part.
func ParseAssetKey(s string) AssetKey {
	var parts AssetKey
	var cur strings.Builder
	escape := false
	for _, r := range s {
		switch {
		case escape:
			cur.WriteRune(r)
			escape = false
		case r == '\\':
			escape = true
		case r == '/':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		parts = append(parts, cur.String())
	}
	return parts
}

// Keys returns the targeted asset keys as paths (nil when the step is not
// an asset step).
func (c *Context) Keys() []AssetKey {
	if c == nil || c.AssetKeys == nil {
		return nil
	}
	keys := make([]AssetKey, len(c.AssetKeys))
	for i, s := range c.AssetKeys {
		keys[i] = ParseAssetKey(s)
	}
	return keys
}

// Targets reports whether the step targets the asset (always false when
// it is not an asset step).
func (c *Context) Targets(key AssetKey) bool {
	if c == nil {
		return false
	}
	s := key.String()
	for _, k := range c.AssetKeys {
		if k == s {
			return true
		}
	}
	return false
}

// Extra decodes the extra named key into dst; found is false when Dagster
// did not send it.
func (c *Context) Extra(key string, dst any) (found bool, err error) {
	if c == nil {
		return false, nil
	}
	raw, ok := c.Extras[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return true, fmt.Errorf("extra %q: %w", key, err)
	}
	return true, nil
}
