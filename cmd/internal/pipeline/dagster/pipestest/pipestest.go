// Package pipestest plays the orchestrator's side of Dagster Pipes in
// tests: it encodes bootstrap values the way Dagster's encode_param does
// and validates what a session writes against Dagster's published JSON
// schemas. It imports testing and is never linked into the binary.
package pipestest

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// EncodeParam is dagster_pipes.encode_param: base64(zlib(json(v))).
func EncodeParam(t testing.TB, v any) string {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(js); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

// LoadSchema compiles the JSON schema in the file at path.
func LoadSchema(t testing.TB, path string) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sch
}

// Validate reports an error when doc, named what in the message, is not
// JSON or does not match sch.
func Validate(t testing.TB, sch *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, doc)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s does not match the published schema: %v\n%s", what, err, doc)
	}
}
