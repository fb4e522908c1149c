// Package streamrows builds the rows of every stream from what the Chorus
// API returns: a Batch writes them straight into Arrow builders typed by the
// stream schemas (calls, participants, utterances, ..., scorecards), and Row,
// RowsOf and RecordOf give a record's rows as maps, for the protocol writers,
// the sinks and tests.
package streamrows

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// Rows are written straight into Arrow builders, typed by the stream's
// schema (schemas.Stream.Arrow): a Batch holds one RowBuilder per stream it
// has rows of, and a RowBuilder appends one row's values column by column
// through column handles resolved once, at start-up, from the schema
// (columns.go) — never a lookup by name per value. A Batch is used by one
// goroutine: each detail fetch builds its call's rows in a Batch of its own
// (in parallel with the others) and hands the consumer the records, one per
// stream in the order the streams were first written, which it passes to
// the Sink in order.
//
//	r := b.row(sUtterances) // nil when the stream is not selected
//	r.Str(colUtt.CallID, id)
//	r.IntP(colUtt.SpeakerID, u.SpeakerID) // nil pointer: null
//	r.End()                                // unset nullable columns: null; lineage columns filled

// streamID is a stream's position in schemas.Order.
type streamID int

// The streams, in schemas.Order (checked at start-up).
const (
	sCalls streamID = iota
	sParticipants
	sUtterances
	sTalkSegments
	sTrackers
	sTrackerMentions
	sActionItems
	sCallMetrics
	sSalesQualifications
	sEngagements
	sUsers
	sTeams
	sUserTeams
	sScorecards
	sScorecardAnswers
	numStreams
)

// streamSchemas are the schemas by streamID.
var streamSchemas = func() [numStreams]*schemas.Stream {
	var out [numStreams]*schemas.Stream
	if len(schemas.Order) != int(numStreams) {
		panic(fmt.Sprintf("streamrows: %d streams in schemas.Order, %d known here", len(schemas.Order), numStreams))
	}
	for i, n := range schemas.Order {
		out[i] = schemas.Get(n)
	}
	return out
}()

func streamByName(name string) (streamID, bool) {
	for i, st := range streamSchemas {
		if st.Name == name {
			return streamID(i), true
		}
	}
	return 0, false
}

// Column handles: a column's index in its stream's schema, typed by what
// the column holds, so that a value of the wrong type does not compile and a
// handle of the wrong kind fails at start-up (bindColumns).
type (
	// StrCol is a string or JSON (x-json) column.
	strCol int
	// IntCol is an integer column.
	intCol int
	// FloatCol is a number column.
	floatCol int
	// BoolCol is a boolean column.
	boolCol int
	// TimeCol is a timestamp (date-time) column.
	timeCol int
	// DateCol is a date column.
	dateCol int
	// IntsCol is an integer[] column.
	intsCol int
	// StrsCol is a string[] column.
	strsCol int
)

var colKinds = map[reflect.Type][]schemas.Type{
	reflect.TypeFor[strCol]():   {schemas.String, schemas.JSON},
	reflect.TypeFor[intCol]():   {schemas.Integer},
	reflect.TypeFor[floatCol](): {schemas.Number},
	reflect.TypeFor[boolCol]():  {schemas.Boolean},
	reflect.TypeFor[timeCol]():  {schemas.Timestamp},
	reflect.TypeFor[dateCol]():  {schemas.Date},
	reflect.TypeFor[intsCol]():  {schemas.IntList},
	reflect.TypeFor[strsCol]():  {schemas.StrList},
}

// bindColumns resolves a table of column handles — a struct whose fields
// are handles tagged `col:"name"` — against a stream's schema. It panics
// (at start-up) when a name is not a column, a handle's kind does not match
// the column's type, or a column of the stream has no handle.
func bindColumns(stream streamID, table any) {
	st := streamSchemas[stream]
	v := reflect.ValueOf(table).Elem()
	bound := map[string]bool{schemas.ExtractedAt: true, schemas.SyncID: true} // filled by End
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		name := f.Tag.Get("col")
		c, ok := st.Column(name)
		if !ok {
			panic(fmt.Sprintf("streamrows: %s.%s is not a column of schemas/%s.json", st.Name, name, st.Name))
		}
		kinds, ok := colKinds[f.Type]
		if !ok || !contains(kinds, c.Type) {
			panic(fmt.Sprintf("streamrows: %s.%s is %s, bound as %s", st.Name, name, c.Type, f.Type.Name()))
		}
		v.Field(i).SetInt(int64(st.Index(name)))
		bound[name] = true
	}
	for _, c := range st.Columns {
		if !bound[c.Name] {
			panic(fmt.Sprintf("streamrows: column %s.%s has no handle", st.Name, c.Name))
		}
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// StreamRecord is one stream's rows of a batch.
type StreamRecord struct {
	Stream string
	Rec    arrow.RecordBatch
}

// ReleaseAll releases records not handed on.
func ReleaseAll(recs []StreamRecord) {
	for _, r := range recs {
		r.Rec.Release()
	}
}

// Batch collects rows of several streams in Arrow builders. Its rows carry
// one _extracted_at, taken when its first row starts, and the run's
// _sync_id.
type Batch struct {
	selected [numStreams]bool
	rows     [numStreams]*rowBuilder
	touched  []streamID // streams with rows, in the order first written
	syncID   string
	now      func() time.Time
	at       arrow.Timestamp
	atSet    bool
	// rowTime takes _extracted_at for each row rather than once per batch,
	// for a batch that collects rows over time (the consumer's own).
	rowTime bool
	err     error
	mem     memory.Allocator
}

// NewBatch returns a batch writing the streams selected (nil: all).
func NewBatch(selected func(string) bool, syncID string, now func() time.Time) *Batch {
	b := &Batch{syncID: syncID, now: now, mem: memory.DefaultAllocator}
	for i, st := range streamSchemas {
		b.selected[i] = selected == nil || selected(st.Name)
	}
	return b
}

// row returns the builder of stream for the next rows, or nil when the
// stream is not selected (its rows are not built).
func (b *Batch) row(s streamID) *rowBuilder {
	if !b.selected[s] {
		return nil
	}
	r := b.rows[s]
	if r == nil {
		r = newRowBuilder(b, s)
		b.rows[s] = r
	}
	if !r.touched {
		r.touched = true
		b.touched = append(b.touched, s)
	}
	if !b.atSet {
		b.at, b.atSet = arrow.Timestamp(b.now().UTC().UnixMicro()), true
	}
	return r
}

// Streams names the streams the batch holds rows of, in the order they
// were first written.
func (b *Batch) Streams() []string {
	out := make([]string, len(b.touched))
	for i, s := range b.touched {
		out[i] = streamSchemas[s].Name
	}
	return out
}

// StreamLen is the number of rows the batch holds of stream.
func (b *Batch) StreamLen(stream string) int {
	s, ok := streamByName(stream)
	if !ok || b.rows[s] == nil || !b.rows[s].touched {
		return 0
	}
	return b.rows[s].rows
}

// StampEachRow makes the batch take _extracted_at for each row rather than
// once, for a batch that collects rows over time.
func (b *Batch) StampEachRow() { b.rowTime = true }

// Len is the number of rows the batch holds.
func (b *Batch) Len() int {
	n := 0
	for _, s := range b.touched {
		n += b.rows[s].rows
	}
	return n
}

func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Records ends the batch: one record per stream written, in the order the
// streams were first written; the builders are ready for the next batch.
// The caller owns (and releases) the records. A row that broke its schema
// (a required column missing, a column set twice) fails the whole batch.
func (b *Batch) Records() ([]StreamRecord, error) {
	out := make([]StreamRecord, 0, len(b.touched))
	for _, s := range b.touched {
		if rec := b.rows[s].take(); rec != nil {
			out = append(out, StreamRecord{Stream: streamSchemas[s].Name, Rec: rec})
		}
	}
	b.touched, b.atSet = b.touched[:0], false
	if err := b.err; err != nil {
		b.err = nil
		ReleaseAll(out)
		return nil, err
	}
	return out, nil
}

// Take ends the rows of one stream: its record (nil when it has none),
// which the caller owns. An error a row of the batch broke is returned (and
// cleared) here too.
func (b *Batch) Take(stream string) (arrow.RecordBatch, error) {
	s, _ := streamByName(stream)
	return b.take(s)
}

func (b *Batch) take(s streamID) (arrow.RecordBatch, error) {
	r := b.rows[s]
	if r == nil || !r.touched {
		if err := b.err; err != nil {
			b.err = nil
			return nil, err
		}
		return nil, nil
	}
	rec := r.take()
	for i, t := range b.touched {
		if t == s {
			b.touched = append(b.touched[:i], b.touched[i+1:]...)
			break
		}
	}
	if len(b.touched) == 0 {
		b.atSet = false
	}
	if err := b.err; err != nil {
		b.err = nil
		if rec != nil {
			rec.Release()
		}
		return nil, err
	}
	return rec, nil
}

// rowBuilder appends rows of one stream. Each value method sets one column
// of the current row; End completes it.
type rowBuilder struct {
	b       *Batch
	st      *schemas.Stream
	rb      *array.RecordBuilder
	cols    []array.Builder
	str     []*array.StringBuilder
	i64     []*array.Int64Builder
	f64     []*array.Float64Builder
	bools   []*array.BooleanBuilder
	ts      []*array.TimestampBuilder
	d32     []*array.Date32Builder
	lists   []*array.ListBuilder
	null    []bool // nullable, by column
	rows    int
	touched bool
	// broken is set when the builders' lengths no longer agree (a column
	// set twice): the rows are dropped, the batch fails.
	broken          bool
	extracted, sync int
}

func newRowBuilder(b *Batch, s streamID) *rowBuilder {
	st := streamSchemas[s]
	r := &rowBuilder{b: b, st: st, extracted: st.Index(schemas.ExtractedAt), sync: st.Index(schemas.SyncID)}
	r.reset()
	return r
}

func (r *rowBuilder) reset() {
	if r.rb != nil {
		r.rb.Release()
	}
	st := r.st
	r.rb = array.NewRecordBuilder(r.b.mem, st.Arrow())
	n := len(st.Columns)
	r.cols = r.rb.Fields()
	r.str, r.i64, r.f64 = make([]*array.StringBuilder, n), make([]*array.Int64Builder, n), make([]*array.Float64Builder, n)
	r.bools, r.ts, r.d32 = make([]*array.BooleanBuilder, n), make([]*array.TimestampBuilder, n), make([]*array.Date32Builder, n)
	r.lists, r.null = make([]*array.ListBuilder, n), make([]bool, n)
	for i, c := range st.Columns {
		r.null[i] = c.Nullable
		switch fb := r.cols[i].(type) {
		case *array.StringBuilder:
			r.str[i] = fb
		case *array.Int64Builder:
			r.i64[i] = fb
		case *array.Float64Builder:
			r.f64[i] = fb
		case *array.BooleanBuilder:
			r.bools[i] = fb
		case *array.TimestampBuilder:
			r.ts[i] = fb
		case *array.Date32Builder:
			r.d32[i] = fb
		case *array.ListBuilder:
			r.lists[i] = fb
		}
	}
	r.rows, r.broken = 0, false
}

// take ends the builder's rows as a record (nil when there are none).
func (r *rowBuilder) take() arrow.RecordBatch {
	r.touched = false
	if r.broken {
		r.reset()
		return nil
	}
	if r.rows == 0 {
		return nil
	}
	r.rows = 0
	return r.rb.NewRecordBatch()
}

// Reserve makes room for n more rows in every column, so that a call's
// rows do not grow the builders value by value.
func (r *rowBuilder) Reserve(n int) {
	r.rb.Reserve(n)
	r.str[r.sync].ReserveData(n * len(r.b.syncID))
}

// ReserveData makes room for n more bytes of string data in column c.
func (r *rowBuilder) ReserveData(c strCol, n int) { r.str[c].ReserveData(n) }

// validUTF8 replaces invalid UTF-8 sequences, as Parquet strings must be
// UTF-8.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Str sets a string (or JSON) column.
func (r *rowBuilder) Str(c strCol, v string) { r.str[c].Append(validUTF8(v)) }

// NullStr sets a string column, null when v is empty.
func (r *rowBuilder) NullStr(c strCol, v string) {
	if v != "" {
		r.str[c].Append(validUTF8(v))
	}
}

// StrP sets a string column, null when v is nil.
func (r *rowBuilder) StrP(c strCol, v *string) {
	if v != nil {
		r.str[c].Append(validUTF8(*v))
	}
}

// Int sets an integer column.
func (r *rowBuilder) Int(c intCol, v int64) { r.i64[c].Append(v) }

// IntP sets an integer column, null when v is nil.
func (r *rowBuilder) IntP(c intCol, v *int64) {
	if v != nil {
		r.i64[c].Append(*v)
	}
}

// Float sets a number column.
func (r *rowBuilder) Float(c floatCol, v float64) { r.f64[c].Append(v) }

// FloatP sets a number column, null when v is nil.
func (r *rowBuilder) FloatP(c floatCol, v *float64) {
	if v != nil {
		r.f64[c].Append(*v)
	}
}

// FloatAny sets a number column from a float64 or int64, null for nil
// (another type fails the batch).
func (r *rowBuilder) FloatAny(c floatCol, v any) {
	switch x := v.(type) {
	case nil:
	case float64:
		r.f64[c].Append(x)
	case int64:
		r.f64[c].Append(float64(x))
	default:
		r.b.fail(fmt.Errorf("%s: column %s got %T", r.st.Name, r.st.Columns[c].Name, v))
	}
}

// Bool sets a boolean column.
func (r *rowBuilder) Bool(c boolCol, v bool) { r.bools[c].Append(v) }

// BoolP sets a boolean column, null when v is nil.
func (r *rowBuilder) BoolP(c boolCol, v *bool) {
	if v != nil {
		r.bools[c].Append(*v)
	}
}

// Time sets a timestamp column (microseconds, UTC).
func (r *rowBuilder) Time(c timeCol, t time.Time) { r.ts[c].Append(arrow.Timestamp(t.UnixMicro())) }

// TimeP sets a timestamp column, null when t is nil.
func (r *rowBuilder) TimeP(c timeCol, t *time.Time) {
	if t != nil {
		r.ts[c].Append(arrow.Timestamp(t.UnixMicro()))
	}
}

// DateP sets a date column, null when t is nil.
func (r *rowBuilder) DateP(c dateCol, t *time.Time) {
	if t != nil {
		r.d32[c].Append(arrow.Date32FromTime(*t))
	}
}

// Ints sets an integer list column (nil is an empty list).
func (r *rowBuilder) Ints(c intsCol, v []int64) {
	lb := r.lists[c]
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.Int64Builder)
	vb.AppendValues(v, nil)
}

// Strs sets a string list column (nil is an empty list).
func (r *rowBuilder) Strs(c strsCol, v []string) {
	lb := r.lists[c]
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for _, s := range v {
		vb.Append(s)
	}
}

// End completes the row: the lineage columns are filled, the nullable
// columns not set are null. A required column not set, or a column set
// twice, fails the batch.
func (r *rowBuilder) End() {
	if r.b.rowTime {
		r.b.at = arrow.Timestamp(r.b.now().UTC().UnixMicro())
	}
	r.ts[r.extracted].Append(r.b.at)
	r.str[r.sync].Append(r.b.syncID)
	n := r.rows + 1
	for i, fb := range r.cols {
		switch l := fb.Len(); l {
		case n:
		case n - 1:
			if !r.null[i] {
				r.b.fail(fmt.Errorf("%s: column %s is required but missing", r.st.Name, r.st.Columns[i].Name))
			}
			fb.AppendNull()
		default:
			r.b.fail(fmt.Errorf("%s: column %s was set %d times in one row", r.st.Name, r.st.Columns[i].Name, l-r.rows))
			r.broken = true
		}
	}
	r.rows = n
}
