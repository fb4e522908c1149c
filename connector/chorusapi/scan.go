package chorusapi

import (
	"bytes"
	stdjson "encoding/json"
	"strings"
)

// A scanner over JSON the client has already validated (encoding/json's
// Valid, on every response body): it finds the members of an object and the
// elements of an array in place, without decoding them into maps or copying
// them, so that a response is walked once rather than decoded again at every
// level. Anything it does not expect — a key with an escape or beyond ASCII,
// a duplicate key, bytes that are not JSON — makes it give up, and the
// callers fall back to decoding with goccy/go-json as before, which gives the
// same result.

// member is one member of an object: its key (plain: no escapes) and its
// value, both slices of the object's bytes.
type member struct {
	key []byte
	val []byte
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanString returns the end (after the closing quote) of the string that
// starts at b[i] == '"', and whether it has escapes.
func scanString(b []byte, i int) (end int, escaped, ok bool) {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return 0, false, false
		}
		q := j + k
		bs := bytes.IndexByte(b[j:q], '\\')
		if bs < 0 {
			return q + 1, escaped, true
		}
		escaped = true
		j += bs + 2 // past the escaped character (\uXXXX's digits are plain)
	}
	return 0, false, false
}

// skipValue returns the end of the value that starts at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		end, _, ok := scanString(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				end, _, ok := scanString(b, j)
				if !ok {
					return 0, false
				}
				j = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
			j++
		}
		return 0, false
	default: // a number, true, false or null
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				break
			}
			j++
		}
		return j, j > i
	}
}

// appendMembers appends the members of the object raw to ms. It reports
// false when raw is not an object, or has a key with an escape or a byte
// beyond ASCII, or a key twice (a map keeps the last of them, and a walk
// that saw both would differ).
func appendMembers(ms []member, raw []byte) ([]member, bool) {
	ms, end, ok := membersAt(ms, raw, skipSpace(raw, 0))
	return ms, ok && skipSpace(raw, end) == len(raw)
}

// membersAt is appendMembers for the object that starts at raw[i]; it also
// returns the object's end.
func membersAt(ms []member, raw []byte, i int) (_ []member, end int, ok bool) {
	if i >= len(raw) || raw[i] != '{' {
		return ms, 0, false
	}
	first := len(ms)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return ms, i + 1, true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return ms, 0, false
		}
		end, escaped, ok := scanString(raw, i)
		if !ok || escaped {
			return ms, 0, false
		}
		key := raw[i+1 : end-1]
		for _, c := range key {
			if c >= 0x80 {
				return ms, 0, false
			}
		}
		for _, m := range ms[first:] {
			if string(m.key) == string(key) {
				return ms, 0, false
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return ms, 0, false
		}
		i = skipSpace(raw, i+1)
		vend, ok := skipValue(raw, i)
		if !ok {
			return ms, 0, false
		}
		ms = append(ms, member{key: key, val: raw[i:vend]})
		i = skipSpace(raw, vend)
		if i >= len(raw) {
			return ms, 0, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			return ms, i + 1, true
		default:
			return ms, 0, false
		}
	}
}

// objectElements calls f with each element of the array raw, in order, and
// for an element that is an object, its members (scanned, true) — one pass
// over the array. It reports false when raw is not an array or ends
// unexpectedly; f may then have been called for the elements before.
func objectElements(raw []byte, f func(elem []byte, ms []member, scanned bool)) bool {
	var buf [16]member
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for {
		ms, end, scanned := membersAt(buf[:0], raw, i)
		if !scanned {
			var ok bool
			if end, ok = skipValue(raw, i); !ok {
				return false
			}
		}
		f(raw[i:end], ms, scanned)
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return false
		}
		if raw[i] == ']' {
			return skipSpace(raw, i+1) == len(raw)
		}
		if raw[i] != ',' {
			return false
		}
		i = skipSpace(raw, i+1)
	}
}

// internKey is a key as a string, without allocating for the keys every
// utterance of the contract carries beyond the modelled ones.
func internKey(key []byte) string {
	switch string(key) {
	case "participant":
		return "participant"
	case "expired":
		return "expired"
	}
	return string(key)
}

// elements calls f with each element of the array raw, in order. It
// reports false when raw is not an array (f has then not been called) or
// ends unexpectedly.
func elements(raw []byte, f func(elem []byte)) bool {
	var spans [][2]int
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return skipSpace(raw, i+1) == len(raw)
	}
	for {
		end, ok := skipValue(raw, i)
		if !ok {
			return false
		}
		spans = append(spans, [2]int{i, end})
		i = skipSpace(raw, end)
		if i >= len(raw) {
			return false
		}
		if raw[i] == ']' {
			if skipSpace(raw, i+1) != len(raw) {
				return false
			}
			break
		}
		if raw[i] != ',' {
			return false
		}
		i = skipSpace(raw, i+1)
	}
	for _, s := range spans {
		f(raw[s[0]:s[1]])
	}
	return true
}

// plainString returns the text of a JSON string without escapes (as goccy
// decodes it: the bytes between the quotes), and false for anything else.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') >= 0 || bytes.IndexByte(s, '"') >= 0 {
		return "", false
	}
	return string(s), true
}

// keepRaw is a value kept in an Extra: a copy (the scanned bytes belong to
// the response), or, when it is not valid JSON, its text as a JSON string.
func keepRaw(v []byte) []byte {
	if !stdjson.Valid(v) { // goccy does not validate skipped values: keep malformed ones as a string
		b, _ := stdjson.Marshal(string(v))
		return b
	}
	return append([]byte(nil), v...)
}

// knownFold reports whether key differs from every known key but matches
// one of them case-insensitively: goccy's struct decoding would take it for
// that field (and the map of leftovers keep it too). folded holds the known
// keys in lower case.
func knownFold(key []byte, folded map[string]bool) bool {
	var buf [64]byte
	if len(key) > len(buf) {
		return false // no known key is this long
	}
	lower := buf[:len(key)]
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return folded[string(lower)]
}

// foldSet is keys in lower case, for knownFold.
func foldSet(keys map[string]bool) map[string]bool {
	out := make(map[string]bool, len(keys))
	for k := range keys {
		out[strings.ToLower(k)] = true
	}
	return out
}
