package schemas

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestArrowSchema: every stream's Arrow schema has one field per column, in
// column order, of the column's type and nullability; JSON columns are
// marked; the schema is derived once.
func TestArrowSchema(t *testing.T) {
	want := map[Type]arrow.Type{String: arrow.STRING, JSON: arrow.STRING, Integer: arrow.INT64, Number: arrow.FLOAT64,
		Boolean: arrow.BOOL, Timestamp: arrow.TIMESTAMP, Date: arrow.DATE32, IntList: arrow.LIST, StrList: arrow.LIST}
	for _, s := range All() {
		a := s.Arrow()
		if a == nil || a != s.Arrow() {
			t.Fatalf("%s: the Arrow schema is not derived once", s.Name)
		}
		if a.NumFields() != len(s.Columns) {
			t.Fatalf("%s: %d fields for %d columns", s.Name, a.NumFields(), len(s.Columns))
		}
		for i, c := range s.Columns {
			f := a.Field(i)
			if f.Name != c.Name || f.Nullable != c.Nullable || f.Type.ID() != want[c.Type] || IsJSON(f) != (c.Type == JSON) {
				t.Errorf("%s.%s: field %v (json %v) for %s nullable %v", s.Name, c.Name, f, IsJSON(f), c.Type, c.Nullable)
			}
			switch c.Type {
			case Timestamp:
				if ts := f.Type.(*arrow.TimestampType); ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
					t.Errorf("%s.%s: %v, want microseconds in UTC", s.Name, c.Name, ts)
				}
			case IntList, StrList:
				elem := f.Type.(*arrow.ListType).Elem().ID()
				if (c.Type == IntList) != (elem == arrow.INT64) || (c.Type == StrList) != (elem == arrow.STRING) {
					t.Errorf("%s.%s: list of %v", s.Name, c.Name, elem)
				}
			}
		}
	}
}
