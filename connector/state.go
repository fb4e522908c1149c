package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"
)

// StateVersion is the layout version of State; a state of another version
// is refused rather than misread.
const StateVersion = 1

// State is what the connector remembers between runs.
type State struct {
	Version int        `json:"version"`
	Tenant  string     `json:"tenant"` // host of base_url: a state is only valid for its tenant
	Calls   CallsState `json:"calls"`
	// DirectorySyncedAt is when users and teams were last read.
	DirectorySyncedAt *time.Time `json:"directory_synced_at,omitempty"`
	// Commit names the Parquet files this state covers that were still
	// being renamed into place when it was saved (see ParquetSink.Flush).
	Commit *FileCommit `json:"commit,omitempty"`
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
	// either complete, final, or in Pending.
	Watermark *time.Time `json:"watermark,omitempty"`
	// Seen holds calls already in a final state (complete, no-show, not
	// found, abandoned) within the look-back reach, so that re-listing them
	// costs no detail request.
	Seen map[string]SeenCall `json:"seen,omitempty"`
	// Pending holds calls listed before their transcript was ready.
	Pending map[string]PendingCall `json:"pending,omitempty"`
}

// SeenCall is a call that will not be fetched again.
type SeenCall struct {
	StartedAt time.Time `json:"started_at"`
	Status    string    `json:"status"`
}

// PendingCall is a call whose transcript is not ready yet.
type PendingCall struct {
	FirstSeen  time.Time  `json:"first_seen"`
	Attempts   int        `json:"attempts"`
	Engagement Engagement `json:"engagement"`
}

// NewState returns an empty state for the tenant at baseURL.
func NewState(baseURL string) *State {
	return &State{Version: StateVersion, Tenant: tenantOf(baseURL)}
}

func tenantOf(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return baseURL
	}
	return u.Host
}

// StateError is a state document that cannot be used; the CLI exits 2.
type StateError struct{ Msg string }

func (e *StateError) Error() string { return e.Msg }

// ParseState reads a state document for the tenant at baseURL. Empty input
// is a fresh state. Airbyte's and Singer's envelopes around it are accepted.
func ParseState(doc []byte, baseURL string) (*State, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || string(doc) == "{}" || string(doc) == "null" || string(doc) == "[]" {
		return NewState(baseURL), nil
	}
	inner, err := unwrapState(doc)
	if err != nil {
		return nil, &StateError{Msg: "state: " + err.Error()}
	}
	if inner == nil {
		return NewState(baseURL), nil
	}
	var s State
	dec := json.NewDecoder(bytes.NewReader(inner))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &StateError{Msg: fmt.Sprintf("state: not a chorus-elt state document: %v", err)}
	}
	if s.Version != StateVersion {
		return nil, &StateError{Msg: fmt.Sprintf("state: version %d is not supported (this build reads version %d); start from an empty state or use the matching chorus-elt", s.Version, StateVersion)}
	}
	if want := tenantOf(baseURL); s.Tenant != want {
		return nil, &StateError{Msg: fmt.Sprintf("state: it belongs to tenant %q, but base_url points at %q; use that tenant's state file", s.Tenant, want)}
	}
	return &s, nil
}

// unwrapState finds the chorus-elt state inside the envelopes the platforms
// hand back: Airbyte's per-stream list, Singer's {"bookmarks": …}, or the
// plain document. It returns nil when the envelope holds no state yet.
func unwrapState(doc []byte) ([]byte, error) {
	if doc[0] == '[' { // Airbyte: [{"type":"STREAM","stream":{"stream_descriptor":…,"stream_state":…}}]
		var msgs []struct {
			Type   string `json:"type"`
			Stream struct {
				State json.RawMessage `json:"stream_state"`
			} `json:"stream"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(doc, &msgs); err != nil {
			return nil, fmt.Errorf("not valid JSON: %v", err)
		}
		for _, m := range msgs {
			for _, cand := range []json.RawMessage{m.Stream.State, m.Data} {
				if inner, ok := embeddedState(cand); ok {
					return inner, nil
				}
			}
		}
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if _, ok := obj["version"]; ok {
		return doc, nil
	}
	if inner, ok := embeddedState(doc); ok {
		return inner, nil
	}
	if b, ok := obj["bookmarks"]; ok { // Singer
		var bm map[string]json.RawMessage
		if err := json.Unmarshal(b, &bm); err != nil {
			return nil, fmt.Errorf("bookmarks is not an object")
		}
		for _, v := range bm {
			if inner, ok := embeddedState(v); ok {
				return inner, nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("not a chorus-elt state document (no \"version\" key)")
}

// embeddedState finds {"chorus_elt": <state>} inside a stream state.
func embeddedState(raw json.RawMessage) ([]byte, bool) {
	var w struct {
		State json.RawMessage `json:"chorus_elt"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &w) != nil || len(w.State) == 0 || string(w.State) == "null" {
		return nil, false
	}
	return w.State, true
}

// LoadState reads a state file; a missing file is a fresh state.
func LoadState(path, baseURL string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return NewState(baseURL), nil
	}
	if err != nil {
		return nil, &StateError{Msg: fmt.Sprintf("state: cannot read %s: %v", path, err)}
	}
	s, err := ParseState(b, baseURL)
	if err != nil {
		return nil, &StateError{Msg: fmt.Sprintf("%s (file %s)", err, path)}
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

// SaveState writes the state atomically: a temporary file in the same
// directory, synced, then renamed over the old one.
func SaveState(path string, s *State) error {
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
