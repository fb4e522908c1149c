package dagster_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
)

// TestMetadataWire: the JSON of each constructor, written out. Floats keep
// a decimal point (Dagster's FloatMetadataValue refuses a Python int).
func TestMetadataWire(t *testing.T) {
	cases := []struct {
		v    dagster.MetadataValue
		want string
	}{
		{dagster.Int(-7), `{"raw_value":-7,"type":"int"}`},
		{dagster.Int(math.MaxInt64), `{"raw_value":9223372036854775807,"type":"int"}`},
		{dagster.Float(3), `{"raw_value":3.0,"type":"float"}`},
		{dagster.Float(-0.125), `{"raw_value":-0.125,"type":"float"}`},
		{dagster.Float(1e21), `{"raw_value":1e+21,"type":"float"}`},
		{dagster.Float(1e-7), `{"raw_value":1e-07,"type":"float"}`},
		{dagster.Float(123456789), `{"raw_value":123456789.0,"type":"float"}`},
		{dagster.Float(0.0001), `{"raw_value":0.0001,"type":"float"}`},
		{dagster.Float(0), `{"raw_value":0.0,"type":"float"}`},
		{dagster.Timestamp(time.Unix(1772323200, 0)), `{"raw_value":1772323200.0,"type":"timestamp"}`},
		{dagster.Timestamp(time.Date(2026, 3, 1, 7, 0, 0, 250_000_000, time.FixedZone("x", 7*3600))), `{"raw_value":1772323200.25,"type":"timestamp"}`},
		{dagster.Text(`a "quoted" <b>`), `{"raw_value":"a \"quoted\" \u003cb\u003e","type":"text"}`},
		{dagster.Bool(false), `{"raw_value":false,"type":"bool"}`},
		{dagster.JSON([]int{1, 2}), `{"raw_value":[1,2],"type":"json"}`},
		{dagster.Null(), `{"raw_value":null,"type":"null"}`},
		{dagster.Notebook("n.ipynb"), `{"raw_value":"n.ipynb","type":"notebook"}`},
		{dagster.Asset(dagster.AssetKey{"chorus", "customer_calls"}), `{"raw_value":"chorus/customer_calls","type":"asset"}`},
		{dagster.TableSchema(), `{"raw_value":{"columns":[]},"type":"table_schema"}`},
		{dagster.Table(nil, nil), `{"raw_value":{"records":[],"schema":[]},"type":"table"}`},
		{dagster.TableSchema(dagster.TableColumn{Name: "c", Type: "int", Tags: map[string]string{"pii": "no"}, Constraints: &dagster.ColumnConstraints{Nullable: true, Other: []string{"> 0"}}}),
			`{"raw_value":{"columns":[{"name":"c","type":"int","tags":{"pii":"no"},"constraints":{"nullable":true,"unique":false,"other":["\u003e 0"]}}]},"type":"table_schema"}`},
		{dagster.Infer(2.5), `{"raw_value":2.5,"type":"__infer__"}`},
		{dagster.MetadataValue{Type: dagster.TypeTableColumnLineage, Raw: map[string]any{"deps_by_column": map[string]any{}}}, `{"raw_value":{"deps_by_column":{}},"type":"table_column_lineage"}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.v)
		if err != nil {
			t.Errorf("%v: %v", c.want, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("\n got %s\nwant %s", got, c.want)
		}
	}
	for _, bad := range []dagster.MetadataValue{dagster.Float(math.Inf(1)), dagster.Float(math.NaN()), {Type: "integer", Raw: 1}} {
		if _, err := json.Marshal(bad); err == nil {
			t.Errorf("%+v encoded", bad)
		}
	}
}

// TestMetadataTypesList: the list is Dagster's PipesMetadataType, in order.
func TestMetadataTypesList(t *testing.T) {
	want := []string{"__infer__", "text", "url", "path", "notebook", "json", "md", "float", "int", "bool",
		"dagster_run", "asset", "null", "table", "table_schema", "table_column_lineage", "timestamp"}
	if len(dagster.MetadataTypes) != len(want) {
		t.Fatalf("%d types, want %d", len(dagster.MetadataTypes), len(want))
	}
	for i, w := range want {
		if string(dagster.MetadataTypes[i]) != w {
			t.Errorf("type %d: %q, want %q", i, dagster.MetadataTypes[i], w)
		}
	}
}
