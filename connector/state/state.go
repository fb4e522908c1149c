// Package state is what the connector remembers between runs: the
// versioned, private state document (ids, times, statuses and hashes only),
// how the platforms' envelopes around it are read, how version 1 migrates,
// and how it is written atomically.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// The state document. It is versioned, uses explicit field names and holds
// only ids, times, statuses and hashes: no names, emails or subjects.
//
//	{
//	  "format": "chorus-elt-state",
//	  "version": 2,
//	  "tenant": "chorus.ai",
//	  "calls": {
//	    "watermark": "2026-03-01T00:00:00Z",
//	    "known":   {"<engagement id>": {"started_at": "…", "status": "complete", "listing": "<hash>", "content": "<hash>",
//	                                    "ai_pending": true, "recheck_at": "…", "rechecks": 1}},
//	    "pending": {"<engagement id>": {"started_at": "…", "first_seen": "…", "attempts": 2}}
//	  },
//	  "streams": {"users": {"synced_at": "…"}, "teams": {"synced_at": "…"},
//	              "scorecards": {"synced_at": "…", "cursor": "…", "known": {"<scorecard id>": "<hash>"}}},
//	  "commit": {"files": [{"temp": "…", "final": "…"}]}
//	}
//
// "calls" is the shared cursor of the call family of streams (calls and
// everything read from a call's detail); "streams" holds the state of the
// streams synced on their own. The scorecard family (scorecards and
// scorecard_answers) keeps its cursor (the newest submitted time listed) and
// the hashes of the scorecards its look-back lists again under "scorecards"
// ("scorecard_answers" when only that stream is read). Version 1 documents
// (which kept pending engagements whole, names and emails included) are
// migrated when read.
const (
	StateFormat  = "chorus-elt-state"
	StateVersion = 2
)

// State is what the connector remembers between runs.
type State struct {
	Format  string                  `json:"format"`
	Version int                     `json:"version"`
	Tenant  string                  `json:"tenant"` // host of base_url: a state is only valid for its tenant
	Calls   CallsState              `json:"calls"`
	Streams map[string]*StreamState `json:"streams,omitempty"`
	// Commit names the Parquet files this state covers that were still
	// being renamed into place when it was saved (see ParquetSink.Flush).
	Commit *FileCommit `json:"commit,omitempty"`
}

// StreamState is the state of a stream synced on its own.
type StreamState struct {
	SyncedAt *time.Time `json:"synced_at,omitempty"`
	// Cursor: every scorecard submitted before it has been listed (the
	// newest submitted time seen; scorecard family only).
	Cursor *time.Time `json:"cursor,omitempty"`
	// Known maps the scorecards the next run's look-back lists again to a
	// hash of their content, so that only changed ones are emitted again.
	Known map[string]string `json:"known,omitempty"`
}

// FileCommit is the set of files of one Parquet commit.
type FileCommit struct {
	Files []CommitFile `json:"files"`
}

// CommitFile is one file of a commit: its temporary and final names,
// relative to the output directory.
type CommitFile struct {
	Temp  string `json:"temp"`
	Final string `json:"final"`
}

// CallsState is the incremental state of the call family of streams.
type CallsState struct {
	// Watermark: every call that started before it has been listed, and is
	// either known (in a final state) or in Pending.
	Watermark *time.Time `json:"watermark,omitempty"`
	// Known holds calls in a final state (complete, no-show, not found,
	// abandoned) that a later run may list again — within the look-back
	// reach, or still settling — so that re-listing them costs no detail
	// request unless they changed.
	Known map[string]KnownCall `json:"known,omitempty"`
	// Pending holds calls listed before their transcript was ready.
	Pending map[string]PendingCall `json:"pending,omitempty"`
}

// KnownCall is a call in a final state. Listing and Content are hashes of
// what the listing and the detail said (Engagement.Fingerprint,
// Conversation.Fingerprint): a settling call whose listing hash changes is
// read again, and its rows are emitted again only when its content changed.
type KnownCall struct {
	StartedAt time.Time `json:"started_at"`
	Status    string    `json:"status"`
	Listing   string    `json:"listing,omitempty"`
	Content   string    `json:"content,omitempty"`
	// AIPending: the detail said the AI output was not written yet (or
	// failed); the call is read again at RecheckAt while it settles.
	AIPending bool       `json:"ai_pending,omitempty"`
	RecheckAt *time.Time `json:"recheck_at,omitempty"`
	Rechecks  int        `json:"rechecks,omitempty"`
}

// PendingCall is a call whose transcript is not ready yet.
type PendingCall struct {
	StartedAt time.Time `json:"started_at"`
	FirstSeen time.Time `json:"first_seen"`
	Attempts  int       `json:"attempts"`
}

// New returns an empty state for the tenant at baseURL.
func New(baseURL string) *State {
	return &State{Format: StateFormat, Version: StateVersion, Tenant: tenantOf(baseURL)}
}

func tenantOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return baseURL
	}
	return u.Host
}

// Stream returns the state of a stream synced on its own, creating it.
func (s *State) Stream(name string) *StreamState {
	if s.Streams == nil {
		s.Streams = map[string]*StreamState{}
	}
	if s.Streams[name] == nil {
		s.Streams[name] = &StreamState{}
	}
	return s.Streams[name]
}

// Reset forgets the state of a family of streams, so that the next sync
// reads it from the start date again.
func (s *State) Reset(f schemas.Family) {
	if f == schemas.FamilyCalls {
		s.Calls = CallsState{}
		return
	}
	for _, st := range schemas.All() {
		if st.Family() == f {
			delete(s.Streams, st.Name)
		}
	}
}

// Shared returns the state without the streams synced on their own: the
// part that protocol messages carry once, as the call family's cursor.
func (s *State) Shared() *State {
	c := *s
	c.Streams = nil
	return &c
}

// Error is a state document that cannot be used; the CLI exits 2.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Parse reads a state document for the tenant at baseURL. Empty input
// is a fresh state. The envelopes Airbyte and Singer hand back are
// accepted: Airbyte's GLOBAL state (and the per-stream states of earlier
// versions), Singer's bookmarks.
func Parse(doc []byte, baseURL string) (*State, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "{}" || string(doc) == "null" || string(doc) == "[]" {
		return New(baseURL), nil
	}
	inner, streams, err := unwrapState(doc)
	if err != nil {
		return nil, &Error{Msg: "state: " + err.Error()}
	}
	if inner == nil {
		s := New(baseURL)
		s.mergeStreams(streams)
		return s, nil
	}
	var head struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(inner, &head); err != nil {
		return nil, &Error{Msg: fmt.Sprintf("state: not a chorus-elt state document: %v", err)}
	}
	var s *State
	switch {
	case head.Version == 1 && head.Format == "":
		s, err = migrateV1(inner)
	case head.Version == StateVersion && head.Format == StateFormat:
		s = &State{}
		dec := json.NewDecoder(bytes.NewReader(inner))
		dec.DisallowUnknownFields()
		err = dec.Decode(s)
	case head.Version > StateVersion:
		return nil, &Error{Msg: fmt.Sprintf("state: version %d was written by a newer chorus-elt (this build reads versions 1 and %d); use that version, or start from an empty state", head.Version, StateVersion)}
	default:
		return nil, &Error{Msg: fmt.Sprintf("state: not a chorus-elt state document (format %q, version %d)", head.Format, head.Version)}
	}
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("state: not a chorus-elt state document: %v", err)}
	}
	if err := s.validate(); err != nil {
		return nil, &Error{Msg: "state: " + err.Error()}
	}
	if want := tenantOf(baseURL); s.Tenant != want {
		return nil, &Error{Msg: fmt.Sprintf("state: it belongs to tenant %q, but base_url points at %q; use that tenant's state file", s.Tenant, want)}
	}
	s.mergeStreams(streams)
	return s, nil
}

// validate rejects values a run cannot start from.
func (s *State) validate() error {
	for id, k := range s.Calls.Known {
		if id == "" || k.StartedAt.IsZero() || k.Status == "" {
			return fmt.Errorf("calls.known[%q] needs an id, started_at and status", id)
		}
	}
	for id, p := range s.Calls.Pending {
		if id == "" || p.StartedAt.IsZero() || p.FirstSeen.IsZero() {
			return fmt.Errorf("calls.pending[%q] needs an id, started_at and first_seen", id)
		}
	}
	return nil
}

// mergeStreams sets the per-stream states a platform handed back apart from
// the shared state (Airbyte's stream_states, Singer's other bookmarks).
func (s *State) mergeStreams(streams map[string]json.RawMessage) {
	for name, raw := range streams {
		var ss StreamState
		if json.Unmarshal(raw, &ss) == nil && (ss.SyncedAt != nil || ss.Cursor != nil) {
			*s.Stream(name) = ss
		}
	}
}

// migrateV1 reads a version 1 document: seen calls become known calls
// (without hashes, so a settling one is read once more), pending calls keep
// their times and attempts and lose the engagement they carried.
func migrateV1(doc []byte) (*State, error) {
	var v1 struct {
		Version int    `json:"version"`
		Tenant  string `json:"tenant"`
		Calls   struct {
			Watermark *time.Time `json:"watermark"`
			Seen      map[string]struct {
				StartedAt time.Time `json:"started_at"`
				Status    string    `json:"status"`
			} `json:"seen"`
			Pending map[string]struct {
				FirstSeen  time.Time       `json:"first_seen"`
				Attempts   int             `json:"attempts"`
				Engagement json.RawMessage `json:"engagement"` // Go field names, personal data: dropped
			} `json:"pending"`
		} `json:"calls"`
		DirectorySyncedAt *time.Time  `json:"directory_synced_at"`
		Commit            *FileCommit `json:"commit"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v1); err != nil {
		return nil, fmt.Errorf("version 1: %w", err)
	}
	s := &State{Format: StateFormat, Version: StateVersion, Tenant: v1.Tenant, Commit: v1.Commit}
	s.Calls.Watermark = v1.Calls.Watermark
	for id, c := range v1.Calls.Seen {
		if s.Calls.Known == nil {
			s.Calls.Known = map[string]KnownCall{}
		}
		s.Calls.Known[id] = KnownCall{StartedAt: c.StartedAt, Status: c.Status}
	}
	for id, p := range v1.Calls.Pending {
		if s.Calls.Pending == nil {
			s.Calls.Pending = map[string]PendingCall{}
		}
		var eng struct {
			StartedAt time.Time `json:"StartedAt"`
		}
		_ = json.Unmarshal(p.Engagement, &eng)
		started := eng.StartedAt
		if started.IsZero() {
			started = p.FirstSeen
		}
		s.Calls.Pending[id] = PendingCall{StartedAt: started, FirstSeen: p.FirstSeen, Attempts: p.Attempts}
	}
	if v1.DirectorySyncedAt != nil {
		for _, n := range []string{"users", "teams"} {
			t := *v1.DirectorySyncedAt
			s.Stream(n).SyncedAt = &t
		}
	}
	return s, nil
}

// unwrapState finds the chorus-elt state inside the envelopes the platforms
// hand back. It returns the shared document (nil when the envelope holds
// none yet) and the per-stream states kept beside it.
func unwrapState(doc []byte) (inner []byte, streams map[string]json.RawMessage, err error) {
	streams = map[string]json.RawMessage{}
	if doc[0] == '[' { // Airbyte: a list of state messages
		var msgs []struct {
			Type   string `json:"type"`
			Global struct {
				Shared json.RawMessage `json:"shared_state"`
				States []abStreamState `json:"stream_states"`
			} `json:"global"`
			Stream abStreamState   `json:"stream"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(doc, &msgs); err != nil {
			return nil, nil, fmt.Errorf("not valid JSON: %w", err)
		}
		for _, m := range msgs {
			switch m.Type {
			case "GLOBAL":
				for _, ss := range m.Global.States {
					streams[ss.Descriptor.Name] = ss.State
				}
				if in, ok := embeddedState(m.Global.Shared); ok {
					inner = in
				}
			default: // STREAM, or LEGACY with data: earlier versions put the whole state in each
				for _, cand := range []json.RawMessage{m.Stream.State, m.Data} {
					if in, ok := embeddedState(cand); ok && inner == nil {
						inner = in
					}
				}
			}
		}
		return inner, streams, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return nil, nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, ok := obj["version"]; ok {
		return doc, streams, nil
	}
	if in, ok := embeddedState(doc); ok {
		return in, streams, nil
	}
	if b, ok := obj["bookmarks"]; ok { // Singer
		var bm map[string]json.RawMessage
		if err := json.Unmarshal(b, &bm); err != nil {
			return nil, nil, fmt.Errorf("bookmarks is not an object")
		}
		for _, name := range slices.Sorted(maps.Keys(bm)) {
			if in, ok := embeddedState(bm[name]); ok {
				if inner == nil {
					inner = in
				}
				continue
			}
			streams[name] = bm[name]
		}
		return inner, streams, nil
	}
	return nil, nil, fmt.Errorf("not a chorus-elt state document (no \"version\" key)")
}

// abStreamState is Airbyte's AirbyteStreamState.
type abStreamState struct {
	Descriptor struct {
		Name string `json:"name"`
	} `json:"stream_descriptor"`
	State json.RawMessage `json:"stream_state,omitempty"`
}

// embeddedState finds {"chorus_elt": <state>} inside a platform's state.
func embeddedState(raw json.RawMessage) ([]byte, bool) {
	var w struct {
		State json.RawMessage `json:"chorus_elt"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &w) != nil || len(w.State) == 0 || string(w.State) == "null" {
		return nil, false
	}
	return w.State, true
}

// Load reads a state file; a missing file is a fresh state.
func Load(path, baseURL string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(baseURL), nil
	}
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("state: cannot read %s: %v", path, err)}
	}
	s, err := Parse(b, baseURL)
	if err != nil {
		return nil, &Error{Msg: fmt.Sprintf("%s (file %s)", err, path)}
	}
	return s, nil
}

// Marshal returns the state as indented JSON.
func (s *State) Marshal() []byte {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("state: marshal: %v", err))
	}
	return append(b, '\n')
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	var c State
	if err := json.Unmarshal(s.Marshal(), &c); err != nil {
		panic(fmt.Sprintf("state: clone: %v", err))
	}
	return &c
}

// Save writes the state atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func Save(path string, s *State) error {
	return WriteFileAtomic(path, s.Marshal())
}

// WriteFileAtomic writes data to path so that a crash leaves either the old
// or the new content, never a mix.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	_ = d.Sync()
	return nil
}
