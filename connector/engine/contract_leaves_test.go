package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// The "nothing is lost" test: responses built from the vendor's contract
// with every documented property set — each leaf a value found nowhere
// else — go through the real client, adapter and sync, and every leaf must
// be found in the emitted rows, in a typed column or in _extra. Booleans and
// enum values cannot be told apart by value, so for them the test changes
// the leaf and requires the rows to change.

const contractPath = "../../testdata/contract/chorus-openapi-full.json"

// leaf is one scalar of a generated document.
type leaf struct {
	path  []any // keys and indexes from the document root
	kind  string
	value any
	alt   any // for "bool" and "enum": another value the leaf can take
}

func (l leaf) String() string { return fmt.Sprint(l.path...) }

// gen builds maximal instances of contract schemas.
type gen struct {
	schemas map[string]any // components/schemas
	n       int
	leaves  []leaf
}

var isoExample = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T`)

func (g *gen) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = g.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
	}
}

// instance returns a value of schema s with every property set.
func (g *gen) instance(s map[string]any, path []any) any {
	s = g.resolve(s)
	g.n++
	n := g.n
	at := slices.Clone(path)
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		l := leaf{path: at, kind: "enum", value: enum[0]}
		if len(enum) > 1 {
			l.alt = enum[1]
		}
		g.leaves = append(g.leaves, l)
		return enum[0]
	}
	switch s["type"] {
	case "object":
		props, _ := s["properties"].(map[string]any)
		out := map[string]any{}
		for _, k := range slices.Sorted(mapsKeys(props)) {
			out[k] = g.instance(props[k].(map[string]any), append(path, k))
		}
		return out
	case "array":
		return []any{g.instance(s["items"].(map[string]any), append(path, 0))}
	case "integer":
		v := int64(7100000 + 13*n)
		g.leaves = append(g.leaves, leaf{path: at, kind: "int", value: v})
		return v
	case "number":
		v := 810000.25 + float64(n)
		g.leaves = append(g.leaves, leaf{path: at, kind: "float", value: v})
		return v
	case "boolean":
		g.leaves = append(g.leaves, leaf{path: at, kind: "bool", value: true, alt: false})
		return true
	case "string":
		if ex, _ := s["example"].(string); isoExample.MatchString(ex) {
			v := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Hour)
			g.leaves = append(g.leaves, leaf{path: at, kind: "time", value: v})
			return v.Format(time.RFC3339)
		}
	}
	// Strings, and AnyValue (no type): a string found nowhere else.
	v := fmt.Sprintf("s%05dx", n)
	g.leaves = append(g.leaves, leaf{path: at, kind: "string", value: v})
	return v
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// set replaces the value at path in doc.
func set(doc any, path []any, v any) {
	for i, p := range path {
		last := i == len(path)-1
		switch c := doc.(type) {
		case map[string]any:
			if last {
				c[p.(string)] = v
				return
			}
			doc = c[p.(string)]
		case []any:
			if last {
				c[p.(int)] = v
				return
			}
			doc = c[p.(int)]
		}
	}
}

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// leafTenant serves one engagement, its detail, one user, one team and one
// scorecard.
type leafTenant struct {
	engagement, recording, user, team, scorecard, qualification any
}

const leafCallID = "EEAA00000000000000000000000000AA"

func (lt *leafTenant) serve(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body any
		switch {
		case r.URL.Path == "/v3/engagements":
			body = map[string]any{"continuation_key": " ", "engagements": []any{lt.engagement}}
		case strings.HasPrefix(r.URL.Path, "/api/v1/conversations/"):
			body = map[string]any{"data": lt.recording}
		case r.URL.Path == "/v3/users":
			body = map[string]any{"users": []any{lt.user}}
		case r.URL.Path == "/api/v1/teams":
			body = map[string]any{"data": []any{lt.team}}
		case r.URL.Path == "/api/v1/scorecards":
			body = map[string]any{"data": []any{lt.scorecard}}
		case strings.HasPrefix(r.URL.Path, "/api/v1/sales-qualifications/"):
			body = map[string]any{"data": lt.qualification}
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rows runs one sync against lt and returns every row, lineage columns
// removed.
func (lt *leafTenant) rows(t *testing.T) map[string][]streamrows.Row {
	t.Helper()
	srv := lt.serve(t)
	cfg := testkit.Config(t, srv.URL, `,"start_date":"2026-02-01T00:00:00Z","sync_sales_qualifications":true`)
	sink := &memSink{rows: map[string][]streamrows.Row{}}
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	_, err := Sync(context.Background(), Options{Config: cfg, API: chorusapi.NewV3(client.New(cfg, client.Options{})), SyncID: "s", Now: func() time.Time { return now }},
		state.New(cfg.BaseURL), sink)
	if err != nil {
		t.Fatalf("sync: %v", err)
	}
	for _, rs := range sink.rows {
		for _, r := range rs {
			delete(r, "_extracted_at")
			delete(r, "_sync_id")
		}
	}
	return sink.rows
}

// found reports whether the leaf's value is in some row.
func found(rows map[string][]streamrows.Row, l leaf) bool {
	num := regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(fmt.Sprint(l.value)) + `($|[^0-9.])`)
	for _, rs := range rows {
		for _, r := range rs {
			for col, v := range r {
				switch x := v.(type) {
				case string:
					if col == "_extra" {
						if (l.kind == "string" && strings.Contains(x, `"`+l.value.(string)+`"`)) ||
							(l.kind == "time" && strings.Contains(x, l.value.(time.Time).Format(time.RFC3339))) ||
							((l.kind == "int" || l.kind == "float") && num.MatchString(x)) {
							return true
						}
					} else if (l.kind == "string" && x == l.value) || (l.kind == "int" && x == fmt.Sprint(l.value)) {
						return true // an integer id may be kept as its text
					}
				case int64:
					if l.kind == "int" && x == l.value {
						return true
					}
				case float64:
					if l.kind == "float" && x == l.value {
						return true
					}
				case time.Time:
					if l.kind == "time" && x.Equal(l.value.(time.Time)) {
						return true
					}
				case []int64:
					if l.kind == "int" && slices.Contains(x, l.value.(int64)) {
						return true
					}
				case []string:
					if l.kind == "string" && slices.Contains(x, l.value.(string)) {
						return true
					}
				}
			}
		}
	}
	return false
}

// notCarried are leaves that carry no information of their own, with why.
var notCarried = map[string]string{
	"recording type":     "the JSON:API resource type, always \"recording\"",
	"team type":          "the JSON:API resource type, always \"team\"",
	"scorecard type":     "the JSON:API resource type, always \"scorecard\"",
	"qualification type": "the JSON:API resource type, always \"sales_qualification_analysis\"",
}

func TestEveryContractLeafIsKept(t *testing.T) {
	b, err := os.ReadFile(contractPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
		Paths map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	g := &gen{schemas: doc.Components.Schemas}
	lt := &leafTenant{}
	var leaves []leaf
	add := func(name string, v any, set func(any)) {
		for i := range g.leaves {
			g.leaves[i].path = append([]any{name}, g.leaves[i].path...)
		}
		leaves = append(leaves, g.leaves...)
		g.leaves = nil
		set(v)
	}

	// The listing: the contract gives only an example, so every key of the
	// example (and the AI fields chorus-api.md documents) gets a value of
	// its example's type.
	get := doc.Paths["/v3/engagements"].(map[string]any)["get"].(map[string]any)
	example := get["responses"].(map[string]any)["200"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["example"].(map[string]any)
	eng := example["engagements"].([]any)[0].(map[string]any)
	eng["meeting_summary"], eng["action_items"] = "", []any{""}
	engSchema := schemaOf(eng)
	add("listing", g.instance(engSchema, nil), func(v any) {
		e := v.(map[string]any)
		// What the sync needs to take it for a complete recorded call.
		e["engagement_id"], e["engagement_type"], e["date_time"], e["processing_state"], e["no_show"] = leafCallID, "meeting", 1772280000, "done", false
		lt.engagement = e
	})
	add("recording", g.instance(map[string]any{"$ref": "#/components/schemas/Recording"}, nil), func(v any) {
		r := v.(map[string]any)
		r["id"] = leafCallID
		a := r["attributes"].(map[string]any)
		a["status"] = "done"
		lt.recording = r
	})
	add("user", g.instance(map[string]any{"$ref": "#/components/schemas/User"}, nil), func(v any) {
		v.(map[string]any)["id"] = "7399999" // a user id is a number, sent as a string
		lt.user = v
	})
	add("team", g.instance(map[string]any{"$ref": "#/components/schemas/Team"}, nil), func(v any) { lt.team = v })
	add("scorecard", g.instance(map[string]any{"$ref": "#/components/schemas/Scorecard"}, nil), func(v any) { lt.scorecard = v })
	add("qualification", g.instance(map[string]any{"$ref": "#/components/schemas/SalesQualificationAnalysis"}, nil), func(v any) {
		lt.qualification = v
	})
	fixed := map[string]bool{"listing engagement_id": true, "listing engagement_type": true, "listing date_time": true,
		"listing processing_state": true, "listing no_show": true, "recording id": true, "recording attributes status": true, "user id": true}

	rows := lt.rows(t)
	if len(rows["calls"]) != 1 || len(rows["utterances"]) != 1 || len(rows["users"]) != 1 || len(rows["teams"]) != 1 {
		t.Fatalf("rows: %d calls, %d utterances, %d users, %d teams", len(rows["calls"]), len(rows["utterances"]), len(rows["users"]), len(rows["teams"]))
	}
	if len(rows["scorecards"]) != 1 || len(rows["scorecard_answers"]) != 1 || len(rows["sales_qualifications"]) != 3 {
		t.Fatalf("rows: %d scorecards, %d scorecard answers, %d sales qualification fields", len(rows["scorecards"]), len(rows["scorecard_answers"]),
			len(rows["sales_qualifications"]))
	}
	checked := 0
	for _, l := range leaves {
		name := strings.Join(strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(fmt.Sprintln(l.path...))), " ")
		if fixed[name] || notCarried[name] != "" {
			continue
		}
		checked++
		switch l.kind {
		case "bool", "enum":
			if l.alt == nil {
				continue
			}
			// Change the leaf: the rows must change.
			alt := &leafTenant{engagement: clone(lt.engagement), recording: clone(lt.recording), user: clone(lt.user), team: clone(lt.team),
				scorecard: clone(lt.scorecard), qualification: clone(lt.qualification)}
			root := map[string]any{"listing": alt.engagement, "recording": alt.recording, "user": alt.user, "team": alt.team,
				"scorecard": alt.scorecard, "qualification": alt.qualification}
			set(root[l.path[0].(string)], l.path[1:], l.alt)
			if reflect.DeepEqual(alt.rows(t), rows) {
				t.Errorf("%s: changing it from %v to %v changes no row: it is lost", name, l.value, l.alt)
			}
		default:
			if !found(rows, l) {
				t.Errorf("%s = %v is in no column and not in _extra", name, l.value)
			}
		}
	}
	t.Logf("%d leaves of the listing, RecordingDoc, chorusapi.User, chorusapi.Team, chorusapi.Scorecard and SalesQualificationAnalysis checked", checked)
	if checked < 150 {
		t.Errorf("only %d leaves: the generator missed part of the contract", checked)
	}
}

// schemaOf describes an example value as a schema, for documents the
// contract gives only by example.
func schemaOf(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		props := map[string]any{}
		for k, sub := range x {
			props[k] = schemaOf(sub)
		}
		return map[string]any{"type": "object", "properties": props}
	case []any:
		items := map[string]any{"type": "string"}
		if len(x) > 0 {
			items = schemaOf(x[0])
		}
		return map[string]any{"type": "array", "items": items}
	case bool:
		return map[string]any{"type": "boolean"}
	case float64:
		if x == float64(int64(x)) {
			return map[string]any{"type": "integer"}
		}
		return map[string]any{"type": "number"}
	default:
		return map[string]any{"type": "string"}
	}
}
