package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// validator checks JSON documents against the subset of JSON Schema the
// published protocol definitions use: type, required, enum, properties,
// items, minItems and $ref.
type validator struct{ defs map[string]map[string]any }

func loadValidator(t *testing.T, file string) *validator {
	t.Helper()
	b, err := os.ReadFile("../../testdata/protocol/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &validator{defs: doc.Definitions}
}

func (v *validator) check(schema map[string]any, val any, path string) error {
	if ref, ok := schema["$ref"].(string); ok {
		def := v.defs[strings.TrimPrefix(ref, "#/definitions/")]
		if def == nil {
			return fmt.Errorf("%s: unknown $ref %s", path, ref)
		}
		return v.check(def, val, path)
	}
	if typ, ok := schema["type"].(string); ok {
		if err := checkType(typ, val); err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if e == val {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", path, val, enum)
		}
	}
	if obj, ok := val.(map[string]any); ok {
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if _, ok := obj[r.(string)]; !ok {
					return fmt.Errorf("%s: required %q missing", path, r)
				}
			}
		}
		if props, ok := schema["properties"].(map[string]any); ok {
			for k, sub := range props {
				if x, ok := obj[k]; ok {
					if err := v.check(sub.(map[string]any), x, path+"."+k); err != nil {
						return err
					}
				}
			}
		}
	}
	if arr, ok := val.([]any); ok {
		if mi, ok := schema["minItems"].(float64); ok && float64(len(arr)) < mi {
			return fmt.Errorf("%s: fewer than %v items", path, mi)
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range arr {
				if err := v.check(items, x, fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkType(typ string, val any) error {
	ok := false
	switch typ {
	case "object":
		_, ok = val.(map[string]any)
	case "array":
		_, ok = val.([]any)
	case "string":
		_, ok = val.(string)
	case "boolean":
		_, ok = val.(bool)
	case "number":
		_, ok = val.(float64)
	case "integer":
		f, isNum := val.(float64)
		ok = isNum && f == float64(int64(f))
	}
	if !ok {
		return fmt.Errorf("%v is not of type %s", val, typ)
	}
	return nil
}

// messages splits protocol output into decoded JSON lines.
func messages(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var msgs []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not one JSON message per line: %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func TestAirbyteMessagesMatchProtocol(t *testing.T) {
	v := loadValidator(t, "airbyte_protocol_v1.json")
	api := serveFixtures(t)
	var out bytes.Buffer
	cfg := testkit.Config(t, "http://x", "")
	cfg.Start = time.Unix(1632400000, 0)
	sink := NewAirbyteSink(&out, SelectedList(nil))
	if _, err := engine.Sync(context.Background(), engine.Options{Config: cfg, API: api, SyncID: "s1", Now: func() time.Time { return time.Unix(1632500000, 0) }}, state.New(cfg.BaseURL), sink); err != nil {
		t.Fatal(err)
	}
	sink.Log("INFO", "hello")
	if err := AirbyteSpec(&out); err != nil {
		t.Fatal(err)
	}
	if err := WriteAirbyteCatalog(&out); err != nil {
		t.Fatal(err)
	}
	_ = AirbyteConnectionStatus(&out, nil)
	_ = AirbyteConnectionStatus(&out, &client.AuthError{Status: 401, Code: "ZI0001"})
	_ = AirbyteError(&out, &config.Error{Msg: "bad"})
	sink.Flush()

	kinds := map[string]int{}
	var lastState any
	for i, m := range messages(t, out.Bytes()) {
		if err := v.check(map[string]any{"$ref": "#/definitions/AirbyteMessage"}, m, fmt.Sprintf("message[%d]", i)); err != nil {
			t.Fatalf("%v\n%v", err, m)
		}
		kind := m["type"].(string)
		if tr, ok := m["trace"].(map[string]any); ok {
			kind += "/" + tr["type"].(string)
		}
		if st, ok := m["state"].(map[string]any); ok {
			kind += "/" + st["type"].(string)
			lastState = st
		}
		kinds[kind]++
	}
	// The state a platform hands back (a list of the last STATE messages'
	// state) is one the next run accepts.
	b, _ := json.Marshal([]any{lastState})
	if st, err := state.Parse(b, cfg.BaseURL); err != nil || st.Calls.Watermark == nil || st.Streams["users"] == nil {
		t.Fatalf("the GLOBAL state is not a resumable state: %v (%s)", err, b)
	}
	for _, k := range []string{"RECORD", "STATE/GLOBAL", "TRACE/STREAM_STATUS", "TRACE/ESTIMATE", "TRACE/ERROR", "LOG", "SPEC", "CATALOG", "CONNECTION_STATUS"} {
		if kinds[k] == 0 {
			t.Errorf("no %s message was produced (got %v)", k, kinds)
		}
	}
}

func TestSingerMessagesMatchSpec(t *testing.T) {
	v := loadValidator(t, "singer_messages.json")
	api := serveFixtures(t)
	var out bytes.Buffer
	cfg := testkit.Config(t, "http://x", "")
	cfg.Start = time.Unix(1632400000, 0)
	sel := map[string]bool{"calls": true, "utterances": true}
	sink := NewSingerSink(&out, SelectedList(sel))
	if err := sink.WriteSchemas(); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Sync(context.Background(), engine.Options{Config: cfg, API: api, Selected: sel, SyncID: "s1", Now: func() time.Time { return time.Unix(1632500000, 0) }}, state.New(cfg.BaseURL), sink); err != nil {
		t.Fatal(err)
	}
	sink.Flush()
	schemaSeen := map[string]bool{}
	var lastState map[string]any
	for i, m := range messages(t, out.Bytes()) {
		typ, _ := m["type"].(string)
		def := v.defs[typ]
		if def == nil {
			t.Fatalf("message[%d] has unknown type %q", i, typ)
		}
		if err := v.check(def, m, fmt.Sprintf("message[%d]", i)); err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "SCHEMA":
			schemaSeen[m["stream"].(string)] = true
		case "RECORD":
			if !schemaSeen[m["stream"].(string)] {
				t.Fatalf("RECORD for %s before its SCHEMA", m["stream"])
			}
			if !sel[m["stream"].(string)] {
				t.Fatalf("RECORD for unselected stream %s", m["stream"])
			}
		case "STATE":
			lastState = m
		}
	}
	if lastState == nil {
		t.Fatal("no STATE message")
	}
	// The last STATE value is a state the next run accepts.
	b, _ := json.Marshal(lastState["value"])
	st, err := state.Parse(b, cfg.BaseURL)
	if err != nil || st.Calls.Watermark == nil {
		t.Fatalf("STATE value is not a resumable state: %v", err)
	}
}

// TestStateMessagesCarryTheStateOnce: the call family's cursor appears once
// per STATE message, in Airbyte's GLOBAL shared_state and Singer's "calls"
// bookmark, so a STATE message is as large with one call stream selected as
// with all of them.
func TestStateMessagesCarryTheStateOnce(t *testing.T) {
	api := serveFixtures(t)
	cfg := testkit.Config(t, "http://x", "")
	cfg.Start = time.Unix(1632400000, 0)
	now := func() time.Time { return time.Unix(1632500000, 0) }
	lastState := func(sink interface {
		engine.Sink
		Flush() error
	}, out *bytes.Buffer, sel map[string]bool) string {
		t.Helper()
		if _, err := engine.Sync(context.Background(), engine.Options{Config: cfg, API: api, Selected: sel, SyncID: "s1", Now: now}, state.New(cfg.BaseURL), sink); err != nil {
			t.Fatal(err)
		}
		sink.Flush()
		var last string
		for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if strings.Contains(line, `"type":"STATE"`) {
				last = line
			}
		}
		if n := strings.Count(last, `"chorus_elt"`); n != 1 {
			t.Fatalf("the state appears %d times in %s", n, last)
		}
		return last
	}
	one := map[string]bool{"calls": true}
	all := map[string]bool{}
	for _, s := range []string{"calls", "participants", "utterances", "talk_segments", "trackers", "tracker_mentions", "action_items", "call_metrics"} {
		all[s] = true
	}
	for _, proto := range []string{"airbyte", "singer"} {
		sizes := map[int]bool{}
		for _, sel := range []map[string]bool{one, all} {
			var out bytes.Buffer
			var sink interface {
				engine.Sink
				Flush() error
			}
			if proto == "airbyte" {
				sink = NewAirbyteSink(&out, SelectedList(sel))
			} else {
				sink = NewSingerSink(&out, SelectedList(sel))
			}
			msg := lastState(sink, &out, sel)
			sizes[len(msg)] = true
			if proto == "singer" && !strings.Contains(msg, `"bookmarks":{"calls":{`) {
				t.Errorf("singer: no calls bookmark: %s", msg)
			}
		}
		if len(sizes) != 1 {
			t.Errorf("%s: STATE sizes %v differ between 1 and %d selected streams", proto, sizes, len(all))
		}
	}
}

// serveFixtures is the adapter on the recorded API responses.
func serveFixtures(t *testing.T) *chorusapi.V3 {
	t.Helper()
	srv := testkit.ServeFixtures(t)
	return chorusapi.NewV3(client.New(testkit.Config(t, srv.URL, ""), client.Options{Backoff: time.Millisecond}))
}

// A full refresh asked for one family of incremental streams resets that
// family's state only.
func TestFullRefreshResetsItsFamily(t *testing.T) {
	catalog := `{"streams":[
 {"stream":{"name":"calls","json_schema":{}},"sync_mode":"incremental","destination_sync_mode":"append_dedup"},
 {"stream":{"name":"scorecards","json_schema":{}},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"},
 {"stream":{"name":"users","json_schema":{}},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`
	selected, refresh, err := ParseConfiguredCatalog([]byte(catalog))
	if err != nil || len(selected) != 3 || len(refresh) != 1 || !refresh["scorecards"] {
		t.Fatalf("selected %v, refresh %v, %v", selected, refresh, err)
	}
	st := state.New("https://acme.chorus.ai")
	wm := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	st.Calls.Watermark = &wm
	st.Stream("scorecards").Cursor = &wm
	st.Stream("users").SyncedAt = &wm
	for f := range refresh {
		st.Reset(f)
	}
	if st.Calls.Watermark == nil || st.Streams["scorecards"] != nil || st.Streams["users"] == nil {
		t.Errorf("after the reset: calls %v, streams %v", st.Calls.Watermark, st.Streams)
	}
	st.Reset("calls")
	if st.Calls.Watermark != nil {
		t.Error("resetting the call family kept its watermark")
	}
}
