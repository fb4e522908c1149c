package chorusapi

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// Tolerant JSON types. The published Chorus spec is incomplete and in places
// wrong, so values are accepted in every form integrators have seen: dates as
// epoch seconds (number or string) or ISO-8601, numbers as strings, ids as
// numbers. A value of an unexpected kind decodes to "absent" rather than
// failing the whole response; the raw value is kept in the row's _extra.

// flexTime is a time given as epoch seconds or an ISO-8601 string.
type flexTime struct{ T *time.Time }

func (f *flexTime) UnmarshalJSON(b []byte) error {
	f.T = nil
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] == '"' {
		s, ok := plainString(b)
		if !ok && json.Unmarshal(b, &s) != nil {
			return nil //nolint:nilerr // lenient by design: a string that does not decode is no time
		}
		if t, ok := parseAPITime(s); ok {
			f.T = &t
		}
		return nil
	}
	if v, err := strconv.ParseFloat(string(b), 64); err == nil && v > minEpoch && v < maxEpoch {
		t := epoch(v)
		f.T = &t
	}
	return nil
}

// Epoch values outside (minEpoch, maxEpoch) — and NaN, ±Inf — are not times
// (the bounds are years 68 and ~5100, in seconds or milliseconds): they would
// overflow Parquet timestamps and make the state unmarshalable.
const minEpoch, maxEpoch = -6e10, 1e14

func epoch(v float64) time.Time {
	if v > 1e11 { // milliseconds
		v /= 1000
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func parseAPITime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	// (No number has a colon or a space: an ISO time is not tried as one,
	// which would cost a failed parse and its error.)
	if !strings.ContainsAny(s, ": ") {
		if v, err := strconv.ParseFloat(s, 64); err == nil && v > minEpoch && v < maxEpoch {
			return epoch(v), true
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// flexFloat is a number, possibly sent as a string.
type flexFloat struct{ V *float64 }

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	f.V = nil
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		return nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
		f.V = &v
	}
	return nil
}

// flexInt is an integer, possibly sent as a string or a float.
type flexInt struct{ V *int64 }

func (f *flexInt) UnmarshalJSON(b []byte) error {
	f.V = nil
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		f.V = &v
		return nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		i := int64(v)
		f.V = &i
	}
	return nil
}

// flexString is a string, possibly sent as a number or a boolean.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		if s, ok := plainString(b); ok {
			*f = flexString(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			*f = ""
			return nil //nolint:nilerr // lenient by design: a string that does not decode is empty
		}
		*f = flexString(s)
	case b[0] == '{' || b[0] == '[':
		*f = ""
	default:
		*f = flexString(b)
	}
	return nil
}

// flexBool is a boolean, possibly sent as a string or 0/1.
type flexBool struct{ V *bool }

func (f *flexBool) UnmarshalJSON(b []byte) error {
	f.V = nil
	s := strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	var v bool
	switch s {
	case "true", "1", "yes":
		v = true
	case "false", "0", "no":
		v = false
	default:
		return nil
	}
	f.V = &v
	return nil
}

// textList is a list of strings; elements may be objects with a text field.
type textList []string

func (l *textList) UnmarshalJSON(b []byte) error {
	*l = nil
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var one string
		if json.Unmarshal(b, &one) == nil && strings.TrimSpace(one) != "" {
			*l = textList{one}
		}
		return nil
	}
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			if s = strings.TrimSpace(s); s != "" {
				*l = append(*l, s)
			}
			continue
		}
		var o struct {
			Text        string `json:"text"`
			Description string `json:"description"`
		}
		if json.Unmarshal(r, &o) == nil {
			if t := strings.TrimSpace(o.Text + o.Description); t != "" {
				*l = append(*l, t)
			}
		}
	}
	return nil
}

// extraFields decodes obj into a map and returns the keys not in known.
// It returns nil when there are none (or obj is not an object).
func extraFields(obj json.RawMessage, known map[string]bool) Extra {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(obj, &all); err != nil {
		return nil
	}
	var out Extra
	for k, v := range all {
		if known[k] {
			continue
		}
		if !stdjson.Valid(v) { // goccy does not validate skipped values: keep malformed ones as a string
			v, _ = stdjson.Marshal(string(v))
		}
		if out == nil {
			out = Extra{}
		}
		out[k] = v
	}
	return out
}

// keySet lists the JSON keys a struct type decodes, for extraFields.
func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// NormalizeSpeakerType maps the API's speaker and participant types onto
// rep | customer | unknown.
func NormalizeSpeakerType(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "rep", "seller", "internal", "host", "user":
		return "rep"
	case "customer", "cust", "prospect", "external", "client", "buyer", "contact", "lead":
		return "customer"
	default:
		return "unknown"
	}
}

// NormalizeParticipantType applies the API's rule: "rep" is the seller side
// and any other stated type is external; no type at all is unknown.
func NormalizeParticipantType(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "":
		return "unknown"
	case NormalizeSpeakerType(s) == "rep":
		return "rep"
	default:
		return "customer"
	}
}

// Walking objects. The adapter reads each JSON object key by key: a key it
// models is offered to a take function, which stores the value and reports
// whether it used it; every key not used — unknown, or of a shape that could
// not be read — is kept, so that it lands in the row's _extra.

// object walks the JSON object raw: take is offered each key and value, and
// the keys it did not use are returned. ok is false when raw is not an
// object.
func object(raw json.RawMessage, take func(key string, val json.RawMessage) bool) (left Extra, ok bool) {
	var buf [24]member
	if ms, ok := appendMembers(buf[:0], raw); ok {
		for _, m := range ms {
			k := string(m.key)
			if take(k, m.val) {
				continue
			}
			if left == nil {
				left = Extra{}
			}
			left[k] = keepRaw(m.val)
		}
		return left, true
	}
	return objectMap(raw, take)
}

// objectMap is object through a map decoded by goccy: for what the scanner
// does not take.
func objectMap(raw json.RawMessage, take func(key string, val json.RawMessage) bool) (left Extra, ok bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false
	}
	for k, v := range m {
		if take(k, v) {
			continue
		}
		if !stdjson.Valid(v) { // goccy does not validate skipped values: keep malformed ones as a string
			v, _ = stdjson.Marshal(string(v))
		}
		if left == nil {
			left = Extra{}
		}
		left[k] = v
	}
	return left, true
}

// sub walks a known sub-object with take and keeps its unused keys in
// nested under key. A value that is not an object is not used (so it is kept
// whole); null is used.
func sub(nested Extra, key string, v json.RawMessage, take func(key string, val json.RawMessage) bool) bool {
	if isNull(v) {
		return true
	}
	left, ok := object(v, take)
	if !ok {
		return false
	}
	if len(left) > 0 {
		nested[key] = mustRaw(left)
	}
	return true
}

// takeList offers each element of the array v to take; it reports whether
// every element was used (else the whole array is kept in _extra as well).
// null is an empty list.
func takeList(v json.RawMessage, take func(json.RawMessage) bool) bool {
	if isNull(v) {
		return true
	}
	all := true
	if elements(v, func(it []byte) {
		if !take(it) {
			all = false
		}
	}) {
		return all
	}
	return listDecoded(v, take)
}

// listDecoded is takeList through the elements decoded by goccy: for what
// the scanner does not take.
func listDecoded(v json.RawMessage, take func(json.RawMessage) bool) bool {
	all := true
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		return false
	}
	for _, it := range items {
		if !take(it) {
			all = false
		}
	}
	return all
}

func isNull(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) == 0 || string(v) == "null"
}

// The take functions read one value of a body the client validated (the
// values handed to a take function are always single, valid JSON values), so
// they call the tolerant decoders directly rather than through
// json.Unmarshal, which would copy and scan the value first to the same
// effect.

// takeStr reads a string (numbers and booleans are taken as their text).
func takeStr(v json.RawMessage, dst *string) bool {
	var f flexString
	_ = f.UnmarshalJSON(v)
	*dst = string(f)
	if f != "" || isNull(v) {
		return true
	}
	if _, ok := plainString(bytes.TrimSpace(v)); ok {
		return true // the empty string
	}
	var s string
	return json.Unmarshal(v, &s) == nil // the empty string, escaped
}

func takeInt(v json.RawMessage, dst **int64) bool {
	var f flexInt
	_ = f.UnmarshalJSON(v)
	*dst = f.V
	return f.V != nil || isNull(v)
}

func takeFloat(v json.RawMessage, dst **float64) bool {
	var f flexFloat
	_ = f.UnmarshalJSON(v)
	*dst = f.V
	return f.V != nil || isNull(v)
}

func takeBool(v json.RawMessage, dst **bool) bool {
	var f flexBool
	_ = f.UnmarshalJSON(v)
	*dst = f.V
	return f.V != nil || isNull(v)
}

func takeTime(v json.RawMessage, dst **time.Time) bool {
	var f flexTime
	_ = f.UnmarshalJSON(v)
	*dst = f.T
	return f.T != nil || isNull(v)
}

// takeTexts reads a list of strings (or of objects with a text).
func takeTexts(v json.RawMessage, dst *[]string) bool {
	var l textList
	_ = json.Unmarshal(v, &l)
	*dst = l
	return isNull(v) || len(l) > 0 || string(bytes.TrimSpace(v)) == "[]"
}

// takeInts reads a list of integers; one element that is not an integer
// keeps the whole list in _extra.
func takeInts(v json.RawMessage, dst *[]int64) bool {
	var out []int64
	ok := takeList(v, func(r json.RawMessage) bool {
		var n *int64
		if takeInt(r, &n) && n != nil {
			out = append(out, *n)
			return true
		}
		return false
	})
	*dst = out
	return ok
}

func mustRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal: %v", err))
	}
	return b
}
