package dagster

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MetadataType is the "type" of a metadata value (dagster_pipes
// PipesMetadataType).
type MetadataType string

// The metadata types of dagster_pipes.PipesMetadataType.
const (
	TypeInfer              MetadataType = "__infer__" // Dagster infers it from the raw value
	TypeText               MetadataType = "text"
	TypeURL                MetadataType = "url"
	TypePath               MetadataType = "path"
	TypeNotebook           MetadataType = "notebook"
	TypeJSON               MetadataType = "json"
	TypeMarkdown           MetadataType = "md"
	TypeFloat              MetadataType = "float"
	TypeInt                MetadataType = "int"
	TypeBool               MetadataType = "bool"
	TypeDagsterRun         MetadataType = "dagster_run"
	TypeAsset              MetadataType = "asset"
	TypeNull               MetadataType = "null"
	TypeTable              MetadataType = "table"
	TypeTableSchema        MetadataType = "table_schema"
	TypeTableColumnLineage MetadataType = "table_column_lineage"
	TypeTimestamp          MetadataType = "timestamp"
)

// MetadataTypes lists every type Dagster accepts, in its order.
var MetadataTypes = []MetadataType{
	TypeInfer, TypeText, TypeURL, TypePath, TypeNotebook, TypeJSON, TypeMarkdown, TypeFloat, TypeInt,
	TypeBool, TypeDagsterRun, TypeAsset, TypeNull, TypeTable, TypeTableSchema, TypeTableColumnLineage,
	TypeTimestamp,
}

// MetadataValue is one metadata entry: {"raw_value": Raw, "type": Type}.
// Build it with the constructors below; Raw must encode to what Dagster's
// handler for Type expects.
type MetadataValue struct {
	Type MetadataType
	Raw  any
}

// Metadata maps a metadata key (shown in Dagster's UI) to its value.
type Metadata map[string]MetadataValue

type wireMetadataValue struct {
	RawValue any          `json:"raw_value"`
	Type     MetadataType `json:"type"`
}

// MarshalJSON encodes {"raw_value": …, "type": …}, refusing a type Dagster
// does not know.
func (v MetadataValue) MarshalJSON() ([]byte, error) {
	known := false
	for _, t := range MetadataTypes {
		if v.Type == t {
			known = true
			break
		}
	}
	if !known {
		return nil, fmt.Errorf("unknown metadata type %q", v.Type)
	}
	return json.Marshal(wireMetadataValue{RawValue: v.Raw, Type: v.Type})
}

// pyFloat is a float64 that always encodes as a JSON number with a
// fraction or exponent ("3.0", not "3"), so that Python's json reads a
// float: Dagster's FloatMetadataValue refuses an int. NaN and infinities
// are not JSON and are refused.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil, fmt.Errorf("float metadata value %v is not representable in JSON", v)
	}
	format := byte('f') // plain digits where they stay short, as Python's repr does
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		format = 'g'
	}
	s := strconv.FormatFloat(v, format, -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return []byte(s), nil
}

// Int is an integer ("int").
func Int(v int64) MetadataValue { return MetadataValue{Type: TypeInt, Raw: v} }

// Float is a floating-point number ("float"), always sent with a decimal
// point. NaN and infinities make the report fail (they are not JSON).
func Float(v float64) MetadataValue { return MetadataValue{Type: TypeFloat, Raw: pyFloat(v)} }

// Text is a string ("text").
func Text(s string) MetadataValue { return MetadataValue{Type: TypeText, Raw: s} }

// URL is a link ("url").
func URL(u string) MetadataValue { return MetadataValue{Type: TypeURL, Raw: u} }

// Path is a file system path ("path").
func Path(p string) MetadataValue { return MetadataValue{Type: TypePath, Raw: p} }

// Notebook is the path of a notebook ("notebook").
func Notebook(p string) MetadataValue { return MetadataValue{Type: TypeNotebook, Raw: p} }

// Markdown is Markdown text ("md").
func Markdown(md string) MetadataValue { return MetadataValue{Type: TypeMarkdown, Raw: md} }

// Bool is a boolean ("bool").
func Bool(b bool) MetadataValue { return MetadataValue{Type: TypeBool, Raw: b} }

// JSON is a JSON document ("json"): v is encoded with encoding/json and
// should be an object or an array (Dagster's JsonMetadataValue holds a
// mapping or a sequence).
func JSON(v any) MetadataValue { return MetadataValue{Type: TypeJSON, Raw: v} }

// Null is an empty value ("null").
func Null() MetadataValue { return MetadataValue{Type: TypeNull, Raw: nil} }

// Timestamp is a point in time ("timestamp"), sent as seconds since the
// Unix epoch with a fraction. Needs a Dagster that knows the type.
func Timestamp(t time.Time) MetadataValue {
	secs := float64(t.Unix()) + float64(t.Nanosecond())/1e9
	return MetadataValue{Type: TypeTimestamp, Raw: pyFloat(secs)}
}

// DagsterRun is the id of a Dagster run ("dagster_run").
func DagsterRun(runID string) MetadataValue { return MetadataValue{Type: TypeDagsterRun, Raw: runID} }

// Asset is a reference to another asset ("asset"). Dagster reads it with
// AssetKey.from_user_string, which splits on every "/": a part containing
// "/" cannot be expressed.
func Asset(key AssetKey) MetadataValue {
	return MetadataValue{Type: TypeAsset, Raw: strings.Join(key, "/")}
}

// Infer lets Dagster infer the type from the raw value ("__infer__"), as
// dagster-pipes does for a bare value: a string becomes text, a number int
// or float (as the JSON reads: 3.0 encoded by Go is "3", an int), a bool
// bool, an object or array json, null null.
func Infer(v any) MetadataValue { return MetadataValue{Type: TypeInfer, Raw: v} }

// TableColumn describes a column for TableSchema and Table (Dagster's
// TableColumn: name, type, description, tags, constraints).
type TableColumn struct {
	Name        string             `json:"name"`
	Type        string             `json:"type"`
	Description string             `json:"description,omitempty"`
	Tags        map[string]string  `json:"tags,omitempty"`
	Constraints *ColumnConstraints `json:"constraints,omitempty"`
}

// ColumnConstraints is Dagster's TableColumnConstraints.
type ColumnConstraints struct {
	Nullable bool     `json:"nullable"`
	Unique   bool     `json:"unique"`
	Other    []string `json:"other,omitempty"`
}

type tableSchemaRaw struct {
	Columns []TableColumn `json:"columns"`
}

type tableRaw struct {
	Records []map[string]any `json:"records"`
	Schema  []TableColumn    `json:"schema"`
}

// TableSchema is the schema of a table ("table_schema"): raw value
// {"columns": [{"name", "type", …}, …]}. Needs a Dagster that knows the type.
func TableSchema(columns ...TableColumn) MetadataValue {
	if columns == nil {
		columns = []TableColumn{}
	}
	return MetadataValue{Type: TypeTableSchema, Raw: tableSchemaRaw{Columns: columns}}
}

// Table is a small table ("table"): raw value {"records": [...], "schema":
// [columns]}. Record values should be strings, numbers, bools or nil.
func Table(columns []TableColumn, records []map[string]any) MetadataValue {
	if columns == nil {
		columns = []TableColumn{}
	}
	if records == nil {
		records = []map[string]any{}
	}
	return MetadataValue{Type: TypeTable, Raw: tableRaw{Records: records, Schema: columns}}
}
