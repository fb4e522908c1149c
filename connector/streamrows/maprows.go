package streamrows

import (
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/chorus-elt/chorus-elt/schemas"
)

// Rows as maps: the sync builds records (Batch); tests, the protocol
// messages and tools see a row as a Row. RowsOf reads a record's rows as
// maps, RecordOf builds a record from maps.

// Row is one record of a stream as a map: column name → value. Values are
// string, int64, float64, bool, time.Time (UTC), []int64, []string or nil.
type Row map[string]any

// RowsOf returns the rows of a record of a stream schema as maps: every
// column is a key, null columns hold nil; timestamps and dates are UTC
// times, lists are []int64 or []string (never nil).
func RowsOf(rec arrow.RecordBatch) []Row {
	n := int(rec.NumRows())
	out := make([]Row, n)
	for i := range out {
		out[i] = make(Row, rec.NumCols())
	}
	for j, col := range rec.Columns() {
		name := rec.Schema().Field(j).Name
		for i := 0; i < n; i++ {
			out[i][name] = Value(col, i)
		}
	}
	return out
}

// Value is the value of row i of an array of a stream schema, as RowsOf
// gives it.
func Value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch x := a.(type) {
	case *array.String:
		return x.Value(i)
	case *array.Int64:
		return x.Value(i)
	case *array.Float64:
		return x.Value(i)
	case *array.Boolean:
		return x.Value(i)
	case *array.Timestamp:
		return time.UnixMicro(int64(x.Value(i))).UTC()
	case *array.Date32:
		return x.Value(i).ToTime().UTC()
	case *array.List:
		start, end := x.ValueOffsets(i)
		switch v := x.ListValues().(type) {
		case *array.Int64:
			out := make([]int64, 0, end-start)
			for k := start; k < end; k++ {
				out = append(out, v.Value(int(k)))
			}
			return out
		case *array.String:
			out := make([]string, 0, end-start)
			for k := start; k < end; k++ {
				out = append(out, v.Value(int(k)))
			}
			return out
		}
	}
	panic(fmt.Sprintf("streamrows: no row value for %s", a.DataType()))
}

// RecordOf builds a record of stream from rows given as maps, lineage
// columns included as given. A key that is not a column, a required column
// missing or a value of the wrong Go type is an error, not a silent null.
func RecordOf(stream string, rows ...Row) (arrow.RecordBatch, error) {
	st := schemas.Get(stream)
	if st == nil {
		return nil, fmt.Errorf("unknown stream %q", stream)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, st.Arrow())
	defer b.Release()
	for _, row := range rows {
		if err := appendRow(b, st, row); err != nil {
			return nil, fmt.Errorf("%s: %w", stream, err)
		}
	}
	return b.NewRecordBatch(), nil
}

// appendRow appends one row to the builder, column by column in schema
// order.
func appendRow(b *array.RecordBuilder, st *schemas.Stream, row Row) error {
	for k := range row {
		if st.Index(k) < 0 {
			return fmt.Errorf("column %s is not in schemas/%s.json", k, st.Name)
		}
	}
	for i, c := range st.Columns {
		v, ok := row[c.Name]
		fb := b.Field(i)
		if !ok || v == nil {
			if !c.Nullable {
				return fmt.Errorf("column %s is required but missing", c.Name)
			}
			fb.AppendNull()
			continue
		}
		if err := appendValue(fb, c, v); err != nil {
			return err
		}
	}
	return nil
}

func appendValue(fb array.Builder, c schemas.Column, v any) error {
	bad := func() error { return fmt.Errorf("column %s (%s) got %T", c.Name, c.Type, v) }
	switch c.Type {
	case schemas.String, schemas.JSON:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		fb.(*array.StringBuilder).Append(strings.ToValidUTF8(s, "\uFFFD"))
	case schemas.Integer:
		switch x := v.(type) {
		case int64:
			fb.(*array.Int64Builder).Append(x)
		case int:
			fb.(*array.Int64Builder).Append(int64(x))
		default:
			return bad()
		}
	case schemas.Number:
		switch x := v.(type) {
		case float64:
			fb.(*array.Float64Builder).Append(x)
		case int64:
			fb.(*array.Float64Builder).Append(float64(x))
		default:
			return bad()
		}
	case schemas.Boolean:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		fb.(*array.BooleanBuilder).Append(x)
	case schemas.Timestamp:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		fb.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
	case schemas.Date:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		fb.(*array.Date32Builder).Append(arrow.Date32FromTime(x))
	case schemas.IntList:
		x, ok := v.([]int64)
		if !ok {
			return bad()
		}
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues(x, nil)
	case schemas.StrList:
		x, ok := v.([]string)
		if !ok {
			return bad()
		}
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, e := range x {
			vb.Append(e)
		}
	default:
		return bad()
	}
	return nil
}
