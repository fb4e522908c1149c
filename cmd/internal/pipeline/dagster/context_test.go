package dagster_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
)

func encodeJSON(t *testing.T, v any) []byte {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestParseTime: the forms of Python's datetime.isoformat() for aware
// datetimes; the expected instants are written as Unix seconds.
func TestParseTime(t *testing.T) {
	cases := []struct {
		in       string
		unixNano int64
		offset   int // seconds east of UTC
	}{
		{"2026-03-01T00:00:00+00:00", 1772323200e9, 0},
		{"2026-03-01T00:00:00-05:00", 1772323200e9 + 5*3600e9, -5 * 3600},
		{"2026-03-01T00:00:00.250000+00:00", 1772323200e9 + 250e6, 0},
		{"2026-03-01T05:30:00+05:30", 1772323200e9, 5*3600 + 1800},
		{"2026-03-01T00:00:00Z", 1772323200e9, 0},
		{"1900-01-01T00:00:00+00:17:30", -2208988800e9 - (17*60+30)*1e9, 17*60 + 30},
	}
	for _, c := range cases {
		got, err := dagster.ParseTime(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got.UnixNano() != c.unixNano {
			t.Errorf("%s: %d, want %d", c.in, got.UnixNano(), c.unixNano)
		}
		if _, off := got.Zone(); off != c.offset {
			t.Errorf("%s: offset %d, want %d", c.in, off, c.offset)
		}
	}
	for in, want := range map[string]string{
		"2026-03-01T00:00:00": "no UTC offset",
		"2026-03-01":          "not an ISO 8601 date and time",
		"yesterday":           "not an ISO 8601 date and time",
	} {
		if _, err := dagster.ParseTime(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
}

func TestTimeWindowTimes(t *testing.T) {
	var none *dagster.TimeWindow
	if _, _, err := none.Times(); err == nil || !strings.Contains(err.Error(), "not time-partitioned") {
		t.Errorf("nil window: %v", err)
	}
	w := &dagster.TimeWindow{Start: "2026-03-02T00:00:00+00:00", End: "2026-03-01T00:00:00+00:00"}
	if _, _, err := w.Times(); err == nil || !strings.Contains(err.Error(), "not before") {
		t.Errorf("reversed window: %v", err)
	}
	w = &dagster.TimeWindow{Start: "2026-03-01T00:00:00+00:00", End: "soon"}
	if _, _, err := w.Times(); err == nil || !strings.Contains(err.Error(), "partition_time_window.end") {
		t.Errorf("bad end: %v", err)
	}
	w = &dagster.TimeWindow{Start: "2026-03-01T00:00:00-08:00", End: "2026-03-02T00:00:00-08:00"}
	start, end, err := w.Times()
	if err != nil || end.Sub(start) != 24*time.Hour || start.UTC().Hour() != 8 {
		t.Errorf("%v %v %v", start, end, err)
	}
}

// TestAssetKeyForms: Dagster's to_escaped_user_string and
// to_asset_key_path, written out.
func TestAssetKeyForms(t *testing.T) {
	cases := []struct {
		key dagster.AssetKey
		s   string
	}{
		{dagster.AssetKey{"chorus_raw", "calls"}, "chorus_raw/calls"},
		{dagster.AssetKey{"chorus", "customer_calls"}, "chorus/customer_calls"},
		{dagster.AssetKey{"single"}, "single"},
		{dagster.AssetKey{"a/b", "c"}, `a\/b/c`},
	}
	for _, c := range cases {
		if got := c.key.String(); got != c.s {
			t.Errorf("%v: %q, want %q", c.key, got, c.s)
		}
		if got := dagster.ParseAssetKey(c.s); !reflect.DeepEqual(got, c.key) {
			t.Errorf("%q: %v, want %v", c.s, got, c.key)
		}
	}
	for s, want := range map[string]dagster.AssetKey{
		`a\\b/c`: {`a\b`, "c"},
		"a/":     {"a"},
		"/a":     {"", "a"},
		"":       nil,
	} {
		if got := dagster.ParseAssetKey(s); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %#v, want %#v", s, got, want)
		}
	}
}

func TestContextHelpers(t *testing.T) {
	c, err := dagster.ParseContext(encodeJSON(t, map[string]any{
		"asset_keys": nil, "code_version_by_asset_key": nil, "provenance_by_asset_key": nil,
		"partition_key": nil, "partition_key_range": nil, "partition_time_window": nil,
		"run_id": "r1", "job_name": nil, "retry_number": 0, "extras": map[string]any{"limit": 5},
		"a_field_from_a_newer_dagster": true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Keys() != nil || c.Targets(dagster.AssetKey{"x"}) || c.PartitionTimeWindow != nil || c.JobName != nil {
		t.Errorf("%+v", c)
	}
	var limit int
	if found, err := c.Extra("limit", &limit); !found || err != nil || limit != 5 {
		t.Errorf("limit %d %v %v", limit, found, err)
	}
	if found, _ := c.Extra("absent", &limit); found {
		t.Error("absent extra found")
	}
	var s string
	if _, err := c.Extra("limit", &s); err == nil || !strings.Contains(err.Error(), `extra "limit"`) {
		t.Errorf("wrong type: %v", err)
	}
}
