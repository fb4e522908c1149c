package warehouse

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse/sqlquote"
)

// The loaders' Parquet reader (parquetColumns, arrowToDuck) names every
// column's type as DuckDB's own Parquet reader does, and counts the rows
// the file holds: every stream's schema as the extract writes it, and the
// other types a file from elsewhere may carry.
func TestParquetColumnsAsDuckDBReadsThem(t *testing.T) {
	dir := t.TempDir()
	type file struct {
		name   string
		schema *arrow.Schema
		rows   int
	}
	var files []file
	for _, st := range schemas.All() {
		files = append(files, file{st.Name, st.Arrow(), 0})
	}
	var other []arrow.Field
	for i, dt := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean,
		arrow.BinaryTypes.String, arrow.BinaryTypes.LargeString, arrow.BinaryTypes.Binary,
		arrow.FixedWidthTypes.Date32, arrow.FixedWidthTypes.Timestamp_s, arrow.FixedWidthTypes.Timestamp_ms,
		arrow.FixedWidthTypes.Timestamp_us, arrow.FixedWidthTypes.Timestamp_ns,
		&arrow.TimestampType{Unit: arrow.Millisecond}, &arrow.TimestampType{Unit: arrow.Microsecond}, &arrow.TimestampType{Unit: arrow.Nanosecond},
		arrow.ListOf(arrow.PrimitiveTypes.Int32), arrow.ListOf(arrow.BinaryTypes.String), arrow.ListOf(arrow.FixedWidthTypes.Timestamp_us),
	} {
		other = append(other, arrow.Field{Name: fmt.Sprintf("c%02d_%s", i, dt), Type: dt, Nullable: true})
	}
	files = append(files, file{"other", arrow.NewSchema(other, nil), 3})

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, f := range files {
		path := filepath.Join(dir, f.name+".parquet")
		writeArrowFile(t, path, f.schema, func(b *array.RecordBuilder) {
			for _, fb := range b.Fields() {
				for range f.rows {
					fb.AppendNull()
				}
			}
		})
		fields, rows, err := parquetColumns(path)
		if err != nil {
			t.Fatal(err)
		}
		if rows != int64(f.rows) || len(fields) != f.schema.NumFields() {
			t.Errorf("%s: %d rows and %d columns read, %d and %d written", f.name, rows, len(fields), f.rows, f.schema.NumFields())
		}
		want := map[string]string{}
		rs, err := db.Query("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(" + sqlquote.String(sqlquote.DuckDB, path) + "))")
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var n, typ string
			if err := rs.Scan(&n, &typ); err != nil {
				t.Fatal(err)
			}
			want[n] = typ
		}
		rs.Close()
		for _, fld := range fields {
			if got := arrowToDuck(fld.Type); got != want[fld.Name] {
				t.Errorf("%s.%s (Arrow %s): %s, DuckDB reads %s", f.name, fld.Name, fld.Type, got, want[fld.Name])
			}
		}
	}
}
