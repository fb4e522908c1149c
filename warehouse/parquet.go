package warehouse

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetColumns reads a Parquet file's schema (as Arrow, the schema the
// extract stored in the file when it has one) and row count from its
// footer. It is how both loaders learn what a file holds before loading it;
// arrowToDuck and arrowToBQ map its types.
func parquetColumns(path string) ([]arrow.Field, int64, error) {
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, 0, fmt.Errorf("warehouse: read %s: %w", path, err)
	}
	defer r.Close()
	sc, err := pqarrow.FromParquet(r.MetaData().Schema, nil, r.MetaData().KeyValueMetadata())
	if err != nil {
		return nil, 0, fmt.Errorf("warehouse: schema of %s: %w", path, err)
	}
	return sc.Fields(), r.NumRows(), nil
}

// arrowToDuck is the DuckDB type DuckDB's Parquet reader gives a column
// whose Arrow type is t (DESCRIBE SELECT * FROM read_parquet(…)): a
// timestamp with a zone is TIMESTAMP WITH TIME ZONE, one without is
// TIMESTAMP of its unit. A type the loaders never write is named as Arrow
// names it, in capitals, which a table's type never equals.
func arrowToDuck(t arrow.DataType) string {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return "VARCHAR"
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return "BLOB"
	case arrow.BOOL:
		return "BOOLEAN"
	case arrow.INT8:
		return "TINYINT"
	case arrow.INT16:
		return "SMALLINT"
	case arrow.INT32:
		return "INTEGER"
	case arrow.INT64:
		return "BIGINT"
	case arrow.UINT8:
		return "UTINYINT"
	case arrow.UINT16:
		return "USMALLINT"
	case arrow.UINT32:
		return "UINTEGER"
	case arrow.UINT64:
		return "UBIGINT"
	case arrow.FLOAT32:
		return "FLOAT"
	case arrow.FLOAT64:
		return "DOUBLE"
	case arrow.DATE32, arrow.DATE64:
		return "DATE"
	case arrow.TIMESTAMP:
		ts := t.(*arrow.TimestampType)
		switch {
		case ts.TimeZone != "":
			return "TIMESTAMP WITH TIME ZONE"
		case ts.Unit == arrow.Nanosecond:
			return "TIMESTAMP_NS"
		default:
			return "TIMESTAMP"
		}
	case arrow.LIST, arrow.LARGE_LIST, arrow.LIST_VIEW, arrow.LARGE_LIST_VIEW, arrow.FIXED_SIZE_LIST:
		return arrowToDuck(t.(arrow.ListLikeType).Elem()) + "[]"
	case arrow.EXTENSION:
		if t.(arrow.ExtensionType).ExtensionName() == "arrow.json" {
			return "JSON"
		}
	}
	return strings.ToUpper(t.String())
}
