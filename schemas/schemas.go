// Package schemas holds one JSON Schema per stream. They are the single source
// of truth: the Airbyte catalog, the Singer SCHEMA messages and the Arrow
// schema are derived from the Stream values parsed here; the Arrow schema
// (Stream.Arrow) is the one type system the rows are built in, and the
// Parquet, DuckDB and BigQuery types are each mapped from it.
package schemas

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

//go:embed *.json
var files embed.FS

// Type is the logical type of a column, as derived from its JSON Schema.
type Type string

// The logical types a column can have.
const (
	String    Type = "string"
	Integer   Type = "integer"
	Number    Type = "number"
	Boolean   Type = "boolean"
	Timestamp Type = "timestamp" // string + format date-time
	Date      Type = "date"      // string + format date
	JSON      Type = "json"      // string holding a JSON document (x-json)
	IntList   Type = "integer[]" // array of integers
	StrList   Type = "string[]"  // array of strings
)

// Column is one property of a stream schema, in file order.
type Column struct {
	Name        string
	Type        Type
	Nullable    bool
	Description string
}

// Stream describes one stream: its name, key, cursor and columns.
type Stream struct {
	Name        string
	Description string
	Key         []string
	Cursor      string // empty for full-refresh streams
	Columns     []Column
	// JSON is the schema document itself, for catalogs and SCHEMA messages.
	JSON json.RawMessage

	arrow *arrow.Schema
}

// Arrow is the stream's Arrow schema, derived once when the schema is
// parsed: one field per column, in column order, with the column's
// nullability (see ArrowType; a JSON column is a string field marked with
// JSONMetadata).
func (s *Stream) Arrow() *arrow.Schema { return s.arrow }

// ArrowType is the Arrow type of a logical column type. Timestamps are
// microseconds in UTC (Parquet TIMESTAMP, adjusted to UTC); dates are days
// (DATE32); JSON documents are strings.
func ArrowType(t Type) arrow.DataType {
	switch t {
	case Integer:
		return arrow.PrimitiveTypes.Int64
	case Number:
		return arrow.PrimitiveTypes.Float64
	case Boolean:
		return arrow.FixedWidthTypes.Boolean
	case Timestamp:
		return arrow.FixedWidthTypes.Timestamp_us
	case Date:
		return arrow.FixedWidthTypes.Date32
	case IntList:
		return arrow.ListOf(arrow.PrimitiveTypes.Int64)
	case StrList:
		return arrow.ListOf(arrow.BinaryTypes.String)
	default: // String, JSON
		return arrow.BinaryTypes.String
	}
}

// JSONMetadataKey marks, in an Arrow field's metadata, a string field that
// holds a JSON document (the schema's x-json): the one logical type the
// Arrow type alone does not tell. IsJSON reads it.
const JSONMetadataKey = "chorus.x-json"

// IsJSON reports whether an Arrow field of a stream schema holds JSON text.
func IsJSON(f arrow.Field) bool {
	v, ok := f.Metadata.GetValue(JSONMetadataKey)
	return ok && v == "true"
}

func arrowSchema(s *Stream) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(s.Columns))
	for _, c := range s.Columns {
		f := arrow.Field{Name: c.Name, Type: ArrowType(c.Type), Nullable: c.Nullable}
		if c.Type == JSON {
			f.Metadata = arrow.NewMetadata([]string{JSONMetadataKey}, []string{"true"})
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(fields, nil)
}

// Lineage columns every stream carries.
const (
	ExtractedAt = "_extracted_at"
	SyncID      = "_sync_id"
	Extra       = "_extra"
)

// Column returns the named column and whether it exists.
func (s *Stream) Column(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Index returns the position of the named column, or -1.
func (s *Stream) Index(name string) int {
	for i, c := range s.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Incremental reports whether the stream supports incremental sync.
func (s *Stream) Incremental() bool {
	return s.Family() == FamilyCalls || s.Family() == FamilyScorecards
}

// Family groups streams that are produced together from the same API calls.
type Family string

// Stream families.
const (
	FamilyCalls     Family = "calls"     // calls and everything read from a call's detail
	FamilyDirectory Family = "directory" // users, teams and user_teams, full refresh
	// FamilyScorecards is scorecards and their answers, incremental on
	// their own cursor (submitted_at).
	FamilyScorecards Family = "scorecards"
)

// Family returns the family the stream belongs to.
func (s *Stream) Family() Family {
	if s.Name == "users" || s.Name == "teams" || s.Name == "user_teams" {
		return FamilyDirectory
	}
	if s.Name == "scorecards" || s.Name == "scorecard_answers" {
		return FamilyScorecards
	}
	return FamilyCalls
}

// Order lists the streams in the order they are documented and emitted.
var Order = []string{
	"calls", "participants", "utterances", "talk_segments", "trackers", "tracker_mentions",
	"action_items", "call_metrics", "sales_qualifications", "engagements", "users", "teams", "user_teams",
	"scorecards", "scorecard_answers",
}

// all parses the embedded schemas on first use rather than at program
// start: every command pays for package initialisation, and `--help` or
// `transcript` never reads a schema.
var all = sync.OnceValue(mustLoad)

// All returns every stream in Order.
func All() []*Stream {
	m := all()
	out := make([]*Stream, 0, len(Order))
	for _, n := range Order {
		out = append(out, m[n])
	}
	return out
}

// Get returns the named stream, or nil.
func Get(name string) *Stream { return all()[name] }

// Names returns the stream names in Order.
func Names() []string { return append([]string(nil), Order...) }

func mustLoad() map[string]*Stream {
	out := map[string]*Stream{}
	for _, n := range Order {
		b, err := files.ReadFile(n + ".json")
		if err != nil {
			panic(fmt.Sprintf("schemas: %s.json is missing: %v", n, err))
		}
		s, err := Parse(b)
		if err != nil {
			panic(fmt.Sprintf("schemas: %s.json: %v", n, err))
		}
		if s.Name != n {
			panic(fmt.Sprintf("schemas: %s.json has title %q", n, s.Name))
		}
		out[n] = s
	}
	entries, _ := files.ReadDir(".")
	for _, e := range entries {
		if n := strings.TrimSuffix(e.Name(), ".json"); out[n] == nil {
			panic(fmt.Sprintf("schemas: %s is not listed in Order", e.Name()))
		}
	}
	return out
}

type property struct {
	Type        json.RawMessage `json:"type"`
	Format      string          `json:"format"`
	XJSON       bool            `json:"x-json"`
	Description string          `json:"description"`
	Items       *property       `json:"items"`
}

// Parse reads one stream schema document.
func Parse(doc []byte) (*Stream, error) {
	var head struct {
		Title       string   `json:"title"`
		Description string   `json:"description"`
		Key         []string `json:"x-primary-key"`
		Cursor      string   `json:"x-cursor-field"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	names, props, err := orderedProperties(doc)
	if err != nil {
		return nil, err
	}
	s := &Stream{Name: head.Title, Description: head.Description, Key: head.Key, Cursor: head.Cursor, JSON: json.RawMessage(doc)}
	for _, n := range names {
		c, err := column(n, props[n])
		if err != nil {
			return nil, err
		}
		s.Columns = append(s.Columns, c)
	}
	for _, k := range append(append([]string{}, s.Key...), s.Cursor) {
		if k != "" && s.Index(k) < 0 {
			return nil, fmt.Errorf("schema %s: key or cursor %q is not a property", s.Name, k)
		}
	}
	for _, l := range []string{ExtractedAt, SyncID, Extra} {
		if s.Index(l) < 0 {
			return nil, fmt.Errorf("schema %s: lineage column %q is missing", s.Name, l)
		}
	}
	s.arrow = arrowSchema(s)
	return s, nil
}

func column(name string, p property) (Column, error) {
	types, err := typeList(p.Type)
	if err != nil {
		return Column{}, fmt.Errorf("property %s: %w", name, err)
	}
	c := Column{Name: name, Description: p.Description}
	var base string
	for _, t := range types {
		if t == "null" {
			c.Nullable = true
			continue
		}
		base = t
	}
	switch {
	case base == "string" && p.Format == "date-time":
		c.Type = Timestamp
	case base == "string" && p.Format == "date":
		c.Type = Date
	case base == "string" && p.XJSON:
		c.Type = JSON
	case base == "string":
		c.Type = String
	case base == "integer":
		c.Type = Integer
	case base == "number":
		c.Type = Number
	case base == "boolean":
		c.Type = Boolean
	case base == "array" && p.Items != nil:
		it, _ := typeList(p.Items.Type)
		switch {
		case len(it) > 0 && it[0] == "integer":
			c.Type = IntList
		case len(it) > 0 && it[0] == "string":
			c.Type = StrList
		default:
			return Column{}, fmt.Errorf("property %s: unsupported array items %s", name, p.Items.Type)
		}
	default:
		return Column{}, fmt.Errorf("property %s: unsupported type %s", name, p.Type)
	}
	return c, nil
}

func typeList(raw json.RawMessage) ([]string, error) {
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("type must be a string or a list of strings, got %s", raw)
	}
	sort.Strings(many)
	return many, nil
}

// orderedProperties returns the property names in document order, since the
// order of columns is part of the Parquet and table layout.
func orderedProperties(doc []byte) ([]string, map[string]property, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, nil, err
	}
	raw, ok := top["properties"]
	if !ok {
		return nil, nil, fmt.Errorf("schema has no properties")
	}
	props := map[string]property{}
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, nil, fmt.Errorf("properties: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil && err != io.EOF {
			return nil, nil, err
		}
	}
	return names, props, nil
}
