package chorusapi

import (
	stdjson "encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
)

// The scanner stands in for goccy/go-json's decoding of a validated body:
// wherever it takes an input, object, takeList and the utterances must
// come out exactly as the decoding it replaces makes them.

// checkScan compares, for one JSON document, the scanner's walk with the
// decoding it replaces.
func checkScan(t *testing.T, doc []byte) {
	t.Helper()
	if !stdjson.Valid(doc) {
		return // the client refuses invalid bodies before any decoding
	}
	// object: the keys taken and those left.
	walk := func(f func(json []byte, take func(string, []byte) bool) (Extra, bool)) (map[string]string, Extra, bool) {
		taken := map[string]string{}
		left, ok := f(doc, func(k string, v []byte) bool {
			if len(k)%2 == 0 {
				taken[k] = string(v)
				return true
			}
			return false
		})
		return taken, left, ok
	}
	var buf [4]member
	if _, ok := appendMembers(buf[:0], doc); ok {
		t1, l1, ok1 := walk(func(j []byte, take func(string, []byte) bool) (Extra, bool) {
			return object(j, func(k string, v stdjson.RawMessage) bool { return take(k, v) })
		})
		t2, l2, ok2 := walk(func(j []byte, take func(string, []byte) bool) (Extra, bool) {
			return objectMap(j, func(k string, v stdjson.RawMessage) bool { return take(k, v) })
		})
		if ok1 != ok2 || !reflect.DeepEqual(t1, t2) || !reflect.DeepEqual(l1, l2) {
			t.Fatalf("object %q:\nscan   %v %q %q\ndecode %v %q %q", doc, ok1, t1, l1, ok2, t2, l2)
		}
	}
	// takeList: the elements, in order.
	var e1, e2 []string
	if elements(doc, func(e []byte) { e1 = append(e1, string(e)) }) {
		ok := listDecoded(doc, func(e stdjson.RawMessage) bool { e2 = append(e2, string(e)); return true })
		if !ok || !reflect.DeepEqual(e1, e2) {
			t.Fatalf("list %q:\nscan   %q\ndecode %q (%v)", doc, e1, e2, ok)
		}
	}
	// The take functions, on any single value: as through json.Unmarshal.
	{
		var s1 string
		ok1 := takeStr(doc, &s1)
		var f flexString
		_ = json.Unmarshal(doc, &f)
		var s string
		ok2 := f != "" || isNull(doc) || json.Unmarshal(doc, &s) == nil
		var i1 *int64
		var fi flexInt
		_ = json.Unmarshal(doc, &fi)
		var f1 *float64
		var ff flexFloat
		_ = json.Unmarshal(doc, &ff)
		var b1 *bool
		var fb flexBool
		_ = json.Unmarshal(doc, &fb)
		var t1 *time.Time
		var ft flexTime
		_ = json.Unmarshal(doc, &ft)
		takeInt(doc, &i1)
		takeFloat(doc, &f1)
		takeBool(doc, &b1)
		takeTime(doc, &t1)
		if s1 != string(f) || ok1 != ok2 || !reflect.DeepEqual(i1, fi.V) || !reflect.DeepEqual(f1, ff.V) ||
			!reflect.DeepEqual(b1, fb.V) || !reflect.DeepEqual(t1, ft.T) {
			t.Fatalf("take %q: %q %v %v %v %v %v; decoded %q %v %v %v %v %v", doc, s1, ok1, i1, f1, b1, t1, f, ok2, fi.V, ff.V, fb.V, ft.T)
		}
	}
	// A resource's head.
	var r1 resourceDoc
	if r1.scan(doc) {
		var r2 resourceDoc
		if err := json.Unmarshal(doc, &r2); err != nil {
			t.Fatalf("resource %q: the scanner took what goccy refuses: %v", doc, err)
		}
		if r1.Type != r2.Type || r1.ID != r2.ID || string(r1.Attributes) != string(r2.Attributes) {
			t.Fatalf("resource %q:\nscan   %+v\ndecode %+v", doc, r1, r2)
		}
	}
	// A list of utterances, in one pass: as element by element.
	{
		var u1, u2 []Utterance
		ok1 := takeUtterances(doc, &u1)
		ok2 := listDecoded(doc, func(r stdjson.RawMessage) bool {
			u, ok := decodeUtteranceFrom(r, nil, false, len(u2))
			if ok {
				u2 = append(u2, u)
			}
			return ok
		}) || isNull(doc)
		if ok1 != ok2 || !reflect.DeepEqual(u1, u2) {
			t.Fatalf("utterances %q:\nscan   %v %+v\ndecode %v %+v", doc, ok1, u1, ok2, u2)
		}
	}
	// An utterance: the fields and the leftovers.
	var u1 utteranceJSON
	if x1, ok := scanUtterance(doc, &u1); ok {
		var u2 utteranceJSON
		if err := json.Unmarshal(doc, &u2); err != nil {
			t.Fatalf("utterance %q: the scanner took what goccy refuses: %v", doc, err)
		}
		x2 := extraFields(doc, utteranceKeys)
		if !reflect.DeepEqual(u1, u2) || !reflect.DeepEqual(x1, x2) {
			t.Fatalf("utterance %q:\nscan   %+v %q\ndecode %+v %q", doc, u1, x1, u2, x2)
		}
	}
}

var scanSeeds = []string{
	`{}`, `[]`, ` { } `, `[ ]`, `null`, `"x"`, `12`,
	`{"id":"u1","index":0,"date_time":"2026-03-01T10:00:17Z","snippet_time":12.3,"snippet_length":4.1,"snippet_word_count":6,"snippet":"What does it cost?","participant":7,"speaker_id":7,"speaker_name":"Pat","speaker_type":"cust","engaging":false,"expired":false}`,
	`{"id":7,"index":"3","snippet_time":"16.5","snippet":"I'll send \"it\" by Friday \u00e9\n","engaging":"true","sentiment":{"score":0.3, "x": [1, 2 ,{"a":"]}"}]}}`,
	`{"SNIPPET":"upper","snippet":"lower"}`,
	`{"Index":4}`,
	`{"snippet":"a","snippet":"b"}`,
	`{"snip\u0070et":"escaped key"}`,
	`{"snippet":"caf\u00e9 \ud83d\ude00"}`,
	"{\"snippet\":\"bad \xff utf-8\",\"k\xc3\xa9\":1}",
	`{"speaker_id":null,"participant":"12","index":1e2,"snippet_word_count":3.0,"date_time":1772362920}`,
	`{"snippet":{"nested":true},"speaker_name":["a"],"engaging":1,"id":true}`,
	`[{"a":1},{"b":[1,2,3]}, "s", 1.5e3, true, null, [[]]]`,
	`{ "a" : 1 , "bb" : [ "x" , { "y" : "}" } ] , "ccc" : "\\\"" }`,
	`{"type":"recording","id":7,"attributes":{"name":"x"}}`,
	`{"type":null,"ID":"x","attributes":null}`,
	`{"type":5,"id":"x","attributes":{}}`,
	`{"Type":"r","id":"x","attributes":[]}`,
	`[{"id":"u1","snippet":"a","participant":3},{"Snippet":"b"},7,null,{"index":9,"speaker_id":null,"participant":"4","expired":true}]`,
	`""`, `" 12 "`, `"2026-03-01T10:00:00+02:00"`, `"1772362920"`, `1772362920123`, `"yes"`, `0`, `-1.5e3`, `"a\"b"`, `"\u0000"`, `[1]`,
}

func TestScanMatchesDecoding(t *testing.T) {
	for _, s := range scanSeeds {
		checkScan(t, []byte(s))
	}
	b, err := os.ReadFile(testkit.Testdata(t, "api", "conversation.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkScan(t, b)
	var doc struct {
		Data struct {
			Attributes struct {
				Recording struct {
					Utterances []stdjson.RawMessage `json:"utterances"`
				} `json:"recording"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := stdjson.Unmarshal(b, &doc); err != nil || len(doc.Data.Attributes.Recording.Utterances) == 0 {
		t.Fatalf("fixture: %v", err)
	}
	for _, u := range doc.Data.Attributes.Recording.Utterances {
		var x utteranceJSON
		if _, ok := scanUtterance(u, &x); !ok {
			t.Errorf("the scanner does not take the fixture's utterance %s", u)
		}
		checkScan(t, u)
	}
}

// FuzzScan: go test ./connector/chorusapi -run '^$' -fuzz '^FuzzScan$' -fuzztime 30s
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkScan(t, doc) })
}
