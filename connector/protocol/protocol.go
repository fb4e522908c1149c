// Package protocol writes the engine's output as Airbyte and Singer
// messages, and reads the catalogs those platforms hand the connector.
package protocol

import (
	"bufio"
	"context"
	_ "embed" // for the go:embed of the catalog
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/chorus-elt/chorus-elt/connector"
	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// lines writes one JSON document per line, safely from several goroutines.
type lines struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newLines(w io.Writer) *lines { return &lines{w: bufio.NewWriterSize(w, 1<<16)} }

func (l *lines) put(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(b); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := l.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	return nil
}

func (l *lines) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

// ---- Airbyte ----

// AirbyteSink writes Airbyte protocol messages.
type AirbyteSink struct {
	out      *lines
	selected map[string]bool // streams read, for STATE messages
	now      func() time.Time
	running  map[string]bool
}

// NewAirbyteSink writes to w; selected lists the streams read.
func NewAirbyteSink(w io.Writer, selected []string) *AirbyteSink {
	sel := map[string]bool{}
	for _, n := range selected {
		sel[n] = true
	}
	return &AirbyteSink{out: newLines(w), selected: sel, now: time.Now, running: map[string]bool{}}
}

type abRecord struct {
	Stream    string         `json:"stream"`
	Data      streamrows.Row `json:"data"`
	EmittedAt int64          `json:"emitted_at"`
}

type abDescriptor struct {
	Name string `json:"name"`
}

// WriteBatch implements Sink: one RECORD per row, every column present
// (null when it has no value). A stream's first record is preceded by its
// RUNNING status.
func (a *AirbyteSink) WriteBatch(_ context.Context, stream string, rec arrow.RecordBatch) error {
	if !a.running[stream] {
		a.running[stream] = true
		a.StreamStatus(stream, "RUNNING")
	}
	for _, row := range streamrows.RowsOf(rec) {
		if err := a.out.put(map[string]any{"type": "RECORD", "record": abRecord{Stream: stream, Data: row, EmittedAt: millis(a.now())}}); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint implements Sink: one GLOBAL STATE message. Its shared_state
// carries the call family's cursor once ({"chorus_elt": …}); stream_states
// carry the streams synced on their own (users, teams) that were read. Its
// size does not grow with the number of streams selected.
func (a *AirbyteSink) Checkpoint(_ context.Context, st *state.State) error {
	states := []map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(st.Streams)) {
		if a.selected[name] {
			states = append(states, map[string]any{"stream_descriptor": abDescriptor{Name: name}, "stream_state": st.Streams[name]})
		}
	}
	msg := map[string]any{"type": "STATE", "state": map[string]any{
		"type": "GLOBAL",
		"global": map[string]any{
			"shared_state":  map[string]any{"chorus_elt": st.Shared()},
			"stream_states": states,
		},
	}}
	if err := a.out.put(msg); err != nil {
		return err
	}
	return a.out.flush()
}

// StreamStatus implements StatusSink.
func (a *AirbyteSink) StreamStatus(stream, status string) {
	_ = a.out.put(map[string]any{"type": "TRACE", "trace": map[string]any{
		"type": "STREAM_STATUS", "emitted_at": float64(millis(a.now())),
		"stream_status": map[string]any{"stream_descriptor": abDescriptor{Name: stream}, "status": status},
	}})
}

// Estimate implements StatusSink.
func (a *AirbyteSink) Estimate(stream string, rows int64) {
	_ = a.out.put(map[string]any{"type": "TRACE", "trace": map[string]any{
		"type": "ESTIMATE", "emitted_at": float64(millis(a.now())),
		"estimate": map[string]any{"name": stream, "type": "STREAM", "row_estimate": rows},
	}})
}

// Log implements StatusSink.
func (a *AirbyteSink) Log(level, msg string) { _ = WriteAirbyteLog(a.out, level, msg) }

// Flush writes buffered messages.
func (a *AirbyteSink) Flush() error { return a.out.flush() }

// WriteAirbyteLog writes a LOG message.
func WriteAirbyteLog(l *lines, level, msg string) error {
	return l.put(map[string]any{"type": "LOG", "log": map[string]any{"level": level, "message": msg}})
}

// AirbyteError writes a TRACE ERROR message for err to w. failure_type is
// config_error for problems the user must fix, transient_error for ones a
// retry may cure, system_error otherwise.
func AirbyteError(w io.Writer, err error) error {
	ft := "system_error"
	switch {
	case connector.IsUsage(err):
		ft = "config_error"
	case connector.IsTransient(err):
		ft = "transient_error"
	}
	l := newLines(w)
	if e := l.put(map[string]any{"type": "TRACE", "trace": map[string]any{
		"type": "ERROR", "emitted_at": float64(millis(time.Now())),
		"error": map[string]any{"message": err.Error(), "internal_message": ft + ": " + err.Error(), "failure_type": ft},
	}}); e != nil {
		return e
	}
	return l.flush()
}

// AirbyteSpec writes the SPEC message.
func AirbyteSpec(w io.Writer) error {
	l := newLines(w)
	var cs map[string]any
	if err := json.Unmarshal(config.SpecJSON, &cs); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if err := l.put(map[string]any{"type": "SPEC", "spec": map[string]any{
		"documentationUrl":                 "https://github.com/chorus-elt/chorus-elt#configuration",
		"connectionSpecification":          cs,
		"supportsIncremental":              true,
		"supported_destination_sync_modes": []string{"append", "append_dedup", "overwrite"},
	}}); err != nil {
		return err
	}
	return l.flush()
}

// AirbyteConnectionStatus writes a CONNECTION_STATUS message.
func AirbyteConnectionStatus(w io.Writer, err error) error {
	l := newLines(w)
	st := map[string]any{"status": "SUCCEEDED"}
	if err != nil {
		st = map[string]any{"status": "FAILED", "message": err.Error()}
	}
	if e := l.put(map[string]any{"type": "CONNECTION_STATUS", "connectionStatus": st}); e != nil {
		return e
	}
	return l.flush()
}

// AirbyteCatalog returns the catalog of every stream.
func AirbyteCatalog() map[string]any {
	var streams []map[string]any
	for _, s := range schemas.All() {
		modes := []string{"full_refresh"}
		if s.Incremental() {
			modes = append(modes, "incremental")
		}
		key := make([][]string, 0, len(s.Key))
		for _, k := range s.Key {
			key = append(key, []string{k})
		}
		m := map[string]any{
			"name":                       s.Name,
			"json_schema":                s.JSON,
			"supported_sync_modes":       modes,
			"source_defined_primary_key": key,
		}
		if s.Incremental() {
			m["source_defined_cursor"] = true
			if s.Cursor != "" {
				m["default_cursor_field"] = []string{s.Cursor}
			}
		}
		streams = append(streams, m)
	}
	return map[string]any{"streams": streams}
}

// WriteAirbyteCatalog writes the CATALOG message.
func WriteAirbyteCatalog(w io.Writer) error {
	l := newLines(w)
	if err := l.put(map[string]any{"type": "CATALOG", "catalog": AirbyteCatalog()}); err != nil {
		return err
	}
	return l.flush()
}

// ConfiguredCatalog is the part of Airbyte's configured catalog we use.
type ConfiguredCatalog struct {
	Streams []struct {
		Stream struct {
			Name string `json:"name"`
		} `json:"stream"`
		SyncMode            string `json:"sync_mode"`
		DestinationSyncMode string `json:"destination_sync_mode"`
	} `json:"streams"`
}

// ParseConfiguredCatalog validates an Airbyte configured catalog and returns
// the selected streams and the families of incremental streams it asks to
// read in full (sync_mode full_refresh): their state is to be reset.
func ParseConfiguredCatalog(doc []byte) (selected map[string]bool, refresh map[schemas.Family]bool, err error) {
	var c ConfiguredCatalog
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, nil, &config.Error{Msg: fmt.Sprintf("catalog: not a configured catalog: %v", err)}
	}
	if len(c.Streams) == 0 {
		return nil, nil, &config.Error{Msg: "catalog: no streams are selected"}
	}
	selected, refresh = map[string]bool{}, map[schemas.Family]bool{}
	for _, s := range c.Streams {
		st := schemas.Get(s.Stream.Name)
		if st == nil {
			return nil, nil, &config.Error{Msg: fmt.Sprintf("catalog: unknown stream %q (streams: %v)", s.Stream.Name, schemas.Names())}
		}
		switch s.SyncMode {
		case "full_refresh":
			if st.Incremental() {
				refresh[st.Family()] = true
			}
		case "incremental":
			if !st.Incremental() {
				return nil, nil, &config.Error{Msg: fmt.Sprintf("catalog: stream %q supports full_refresh only", s.Stream.Name)}
			}
		default:
			return nil, nil, &config.Error{Msg: fmt.Sprintf("catalog: stream %q has sync_mode %q; use full_refresh or incremental", s.Stream.Name, s.SyncMode)}
		}
		selected[s.Stream.Name] = true
	}
	return selected, refresh, nil
}

// ---- Singer ----

// SingerSink writes Singer messages: SCHEMA before RECORDs, STATE with
// bookmarks.
type SingerSink struct {
	out        *lines
	streams    []string
	schemaSent map[string]bool
	now        func() time.Time
}

// NewSingerSink writes to w; selected lists the streams read.
func NewSingerSink(w io.Writer, selected []string) *SingerSink {
	return &SingerSink{out: newLines(w), streams: selected, schemaSent: map[string]bool{}, now: time.Now}
}

// WriteSchemas sends the SCHEMA message of every selected stream up front.
func (s *SingerSink) WriteSchemas() error {
	for _, n := range s.streams {
		if err := s.schema(n); err != nil {
			return err
		}
	}
	return nil
}

func (s *SingerSink) schema(stream string) error {
	if s.schemaSent[stream] {
		return nil
	}
	s.schemaSent[stream] = true
	st := schemas.Get(stream)
	msg := map[string]any{"type": "SCHEMA", "stream": stream, "schema": st.JSON, "key_properties": st.Key}
	if st.Cursor != "" {
		msg["bookmark_properties"] = []string{st.Cursor}
	}
	return s.out.put(msg)
}

// WriteBatch implements Sink: one RECORD per row, every column present
// (null when it has no value).
func (s *SingerSink) WriteBatch(_ context.Context, stream string, rec arrow.RecordBatch) error {
	if err := s.schema(stream); err != nil {
		return err
	}
	for _, row := range streamrows.RowsOf(rec) {
		if err := s.out.put(map[string]any{"type": "RECORD", "stream": stream, "record": row,
			"time_extracted": s.now().UTC().Format(time.RFC3339Nano)}); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint implements Sink: one STATE whose bookmarks hold one bookmark
// for the call family ("calls": its cursor started_at and the connector's
// state, once) and one per stream synced on its own (users, teams).
func (s *SingerSink) Checkpoint(_ context.Context, st *state.State) error {
	calls := map[string]any{"chorus_elt": st.Shared()}
	if st.Calls.Watermark != nil {
		calls["started_at"] = st.Calls.Watermark.Format(time.RFC3339)
	}
	bm := map[string]any{"calls": calls}
	for name, ss := range st.Streams {
		if slices.Contains(s.streams, name) {
			bm[name] = ss
		}
	}
	if err := s.out.put(map[string]any{"type": "STATE", "value": map[string]any{"bookmarks": bm}}); err != nil {
		return err
	}
	return s.out.flush()
}

// Flush writes buffered messages.
func (s *SingerSink) Flush() error { return s.out.flush() }

// SingerCatalog returns the discovery catalog in Singer's form.
func SingerCatalog() map[string]any {
	var streams []map[string]any
	for _, s := range schemas.All() {
		top := map[string]any{"selected": true, "inclusion": "available", "table-key-properties": s.Key}
		if s.Cursor != "" {
			top["valid-replication-keys"] = []string{s.Cursor}
			top["forced-replication-method"] = "INCREMENTAL"
		} else {
			top["forced-replication-method"] = "FULL_TABLE"
		}
		md := []map[string]any{{"breadcrumb": []string{}, "metadata": top}}
		for _, c := range s.Columns {
			inc := "available"
			for _, k := range s.Key {
				if k == c.Name {
					inc = "automatic"
				}
			}
			md = append(md, map[string]any{"breadcrumb": []string{"properties", c.Name}, "metadata": map[string]any{"inclusion": inc}})
		}
		streams = append(streams, map[string]any{"tap_stream_id": s.Name, "stream": s.Name, "schema": s.JSON,
			"key_properties": s.Key, "metadata": md})
	}
	return map[string]any{"streams": streams}
}

// ParseSingerCatalog returns the streams marked selected in a Singer catalog.
func ParseSingerCatalog(doc []byte) (map[string]bool, error) {
	var c struct {
		Streams []struct {
			ID       string `json:"tap_stream_id"`
			Stream   string `json:"stream"`
			Metadata []struct {
				Breadcrumb []string       `json:"breadcrumb"`
				Metadata   map[string]any `json:"metadata"`
			} `json:"metadata"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		return nil, &config.Error{Msg: fmt.Sprintf("catalog: not a Singer catalog: %v", err)}
	}
	sel := map[string]bool{}
	for _, s := range c.Streams {
		name := s.ID
		if name == "" {
			name = s.Stream
		}
		if schemas.Get(name) == nil {
			return nil, &config.Error{Msg: fmt.Sprintf("catalog: unknown stream %q", name)}
		}
		for _, m := range s.Metadata {
			if len(m.Breadcrumb) == 0 && m.Metadata["selected"] == true {
				sel[name] = true
			}
		}
	}
	if len(sel) == 0 {
		return nil, &config.Error{Msg: "catalog: no stream has \"selected\": true in its top-level metadata"}
	}
	return sel, nil
}

// SelectedList returns the selected stream names in schema order (all when
// sel is nil).
func SelectedList(sel map[string]bool) []string {
	var out []string
	for _, n := range schemas.Names() {
		if sel == nil || sel[n] {
			out = append(out, n)
		}
	}
	return out
}
