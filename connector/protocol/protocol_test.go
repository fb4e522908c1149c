package protocol

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"

	"github.com/chorus-elt/chorus-elt/connector/chorusapi"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/connector/client"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// protocolSchema compiles definition def of a protocol definitions file
// in testdata/protocol (JSON, or YAML as Airbyte publishes it).
func protocolSchema(t *testing.T, file, def string) *jsonschema.Schema {
	t.Helper()
	b, err := os.ReadFile("../../testdata/protocol/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".yaml") {
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if b, err = json.Marshal(doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	return compileSchema(t, "file:///"+file, b, "#/definitions/"+def)
}

// compileSchema compiles the JSON Schema doc (at url) or a fragment of it,
// with format assertions on (date-time values must be RFC 3339).
func compileSchema(t *testing.T, url string, doc []byte, fragment string) *jsonschema.Schema {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(url, v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	sch, err := c.Compile(url + fragment)
	if err != nil {
		t.Fatalf("%s%s: %v", url, fragment, err)
	}
	return sch
}

// validate checks one decoded JSON value (re-read with the schema
// library's number handling) against sch.
func validate(sch *jsonschema.Schema, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
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
	msgSchema := protocolSchema(t, "airbyte_protocol.yaml", "AirbyteMessage")
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

	msgs := messages(t, out.Bytes())
	// Every RECORD's data against its stream's json_schema in the CATALOG.
	streamSchemas := map[string]*jsonschema.Schema{}
	for _, m := range msgs {
		if cat, ok := m["catalog"].(map[string]any); ok {
			for _, s := range cat["streams"].([]any) {
				st := s.(map[string]any)
				name := st["name"].(string)
				doc, _ := json.Marshal(st["json_schema"])
				streamSchemas[name] = compileSchema(t, "file:///catalog/"+name+".json", doc, "")
			}
		}
	}
	kinds := map[string]int{}
	var lastState any
	for i, m := range msgs {
		if err := validate(msgSchema, m); err != nil {
			t.Fatalf("message[%d] is not an AirbyteMessage: %v\n%v", i, err, m)
		}
		if rec, ok := m["record"].(map[string]any); ok {
			sch := streamSchemas[rec["stream"].(string)]
			if sch == nil {
				t.Fatalf("RECORD of stream %v, which the CATALOG does not list", rec["stream"])
			}
			if err := validate(sch, rec["data"]); err != nil {
				t.Fatalf("message[%d]: the %s RECORD does not match its json_schema: %v", i, rec["stream"], err)
			}
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
	envelopes := map[string]*jsonschema.Schema{}
	for _, typ := range []string{"SCHEMA", "RECORD", "STATE"} {
		envelopes[typ] = protocolSchema(t, "singer_messages.json", typ)
	}
	recordSchemas := map[string]*jsonschema.Schema{}
	var lastState map[string]any
	for i, m := range messages(t, out.Bytes()) {
		typ, _ := m["type"].(string)
		env := envelopes[typ]
		if env == nil {
			t.Fatalf("message[%d] has unknown type %q", i, typ)
		}
		if err := validate(env, m); err != nil {
			t.Fatalf("message[%d] is not a Singer %s message: %v", i, typ, err)
		}
		switch typ {
		case "SCHEMA":
			doc, _ := json.Marshal(m["schema"])
			name := m["stream"].(string)
			recordSchemas[name] = compileSchema(t, "file:///singer/"+name+".json", doc, "")
		case "RECORD":
			sch := recordSchemas[m["stream"].(string)]
			if sch == nil {
				t.Fatalf("RECORD for %s before its SCHEMA", m["stream"])
			}
			if err := validate(sch, m["record"]); err != nil {
				t.Fatalf("message[%d]: the %s RECORD does not match its SCHEMA: %v", i, m["stream"], err)
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

// TestProtocolSchemasRejectBadMessages: the published definitions, as the
// tests above compile them, refuse what a source must not emit — so that
// their passing means something.
func TestProtocolSchemasRejectBadMessages(t *testing.T) {
	msg := protocolSchema(t, "airbyte_protocol.yaml", "AirbyteMessage")
	var catalog bytes.Buffer
	if err := WriteAirbyteCatalog(&catalog); err != nil {
		t.Fatal(err)
	}
	var calls []byte
	for _, m := range messages(t, catalog.Bytes()) {
		for _, s := range m["catalog"].(map[string]any)["streams"].([]any) {
			if st := s.(map[string]any); st["name"] == "calls" {
				calls, _ = json.Marshal(st["json_schema"])
			}
		}
	}
	callsSchema := compileSchema(t, "file:///catalog/calls.json", calls, "")
	for _, tc := range []struct {
		name   string
		schema *jsonschema.Schema
		doc    string
	}{
		{"unknown message type", msg, `{"type":"RECORDS"}`},
		{"RECORD without stream", msg, `{"type":"RECORD","record":{"data":{},"emitted_at":1}}`},
		{"RECORD with emitted_at as text", msg, `{"type":"RECORD","record":{"stream":"calls","data":{},"emitted_at":"now"}}`},
		{"STATE of an unknown type", msg, `{"type":"STATE","state":{"type":"SHARED"}}`},
		{"GLOBAL state whose stream_states is not a list", msg, `{"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":{}}}}`},
		{"STREAM_STATUS with an unknown status", msg, `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"calls"},"status":"DONE"}}}`},
		{"LOG with an unknown level", msg, `{"type":"LOG","log":{"level":"NOTICE","message":"x"}}`},
		{"calls record without call_id", callsSchema, `{"title":"x"}`},
		{"calls record with a date that is not RFC 3339", callsSchema, `{"call_id":"C1","started_at":"yesterday"}`},
		{"calls record with a number for a string", callsSchema, `{"call_id":7}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
				t.Fatal(err)
			}
			if err := validate(tc.schema, v); err == nil {
				t.Errorf("%s is accepted", tc.doc)
			}
		})
	}
}
