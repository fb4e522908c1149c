package dagster_test

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster/pipestest"
)

// zlibBase64 compresses raw bytes (not necessarily JSON) the way
// encode_param does, for malformed values.
func zlibBase64(t *testing.T, raw string) string {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return base64.StdEncoding.EncodeToString(z.Bytes())
}

// TestMalformedBootstrap: every kind of unusable value gives an error that
// names the value (context or messages) and what was wrong with it.
func TestMalformedBootstrap(t *testing.T) {
	dir := t.TempDir()
	notJSONFile := filepath.Join(dir, "context-not-json")
	if err := os.WriteFile(notJSONFile, []byte("run_id: x"), 0o600); err != nil {
		t.Fatal(err)
	}
	noRunIDFile := filepath.Join(dir, "context-no-run-id")
	if err := os.WriteFile(noRunIDFile, []byte(`{"asset_keys": null}`), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no-such-file")

	var zlibBytes bytes.Buffer
	zw := zlib.NewWriter(&zlibBytes)
	if _, err := zw.Write([]byte(`{"data": {"run_id": "r"}}`)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	truncated := base64.StdEncoding.EncodeToString(zlibBytes.Bytes()[:zlibBytes.Len()-6])

	goodCtx := pipestest.EncodeParam(t, map[string]any{"data": contextData()})
	goodMsg := pipestest.EncodeParam(t, map[string]any{"stdio": "stdout"})
	const ctxName = "DAGSTER_PIPES_CONTEXT (--dagster-pipes-context)"
	const msgName = "DAGSTER_PIPES_MESSAGES (--dagster-pipes-messages)"

	cases := []struct {
		name     string
		ctx, msg string
		want     []string // all must appear in the error
	}{
		{"context empty", "", goodMsg, []string{ctxName, "empty"}},
		{"context not base64", "%%% not base64 %%%", goodMsg, []string{ctxName, "not base64", "illegal base64 data"}},
		{"context not zlib", base64.StdEncoding.EncodeToString([]byte(`{"data": {}}`)), goodMsg, []string{ctxName, "not zlib-compressed data"}},
		{"context truncated zlib", truncated, goodMsg, []string{ctxName, "not zlib-compressed data"}},
		{"context not JSON", zlibBase64(t, `{"data": {`), goodMsg, []string{ctxName, "not JSON"}},
		{"context not an object", zlibBase64(t, `["path", "/tmp/x"]`), goodMsg, []string{ctxName, "not a JSON object (got an array)"}},
		{"context null", zlibBase64(t, `null`), goodMsg, []string{ctxName, "not a JSON object (got null)"}},
		{"context unknown loader", pipestest.EncodeParam(t, map[string]any{"bucket": "b", "key": "k"}), goodMsg, []string{ctxName, `unknown context loader: expected key "path" or "data", got keys "bucket", "key"`}},
		{"context no keys", pipestest.EncodeParam(t, map[string]any{}), goodMsg, []string{ctxName, "got no keys"}},
		{"context path not a string", pipestest.EncodeParam(t, map[string]any{"path": 3}), goodMsg, []string{ctxName, `"path" must be a string, got 3`}},
		{"context path null", pipestest.EncodeParam(t, map[string]any{"path": nil, "data": contextData()}), goodMsg, []string{ctxName, `"path" must be a string, got null`}},
		{"context data not an object", pipestest.EncodeParam(t, map[string]any{"data": "x"}), goodMsg, []string{ctxName, `"data" must be a JSON object`}},
		{"context file missing", pipestest.EncodeParam(t, map[string]any{"path": missing}), goodMsg, []string{ctxName, "reading the context file " + missing, "no such file"}},
		{"context file not JSON", pipestest.EncodeParam(t, map[string]any{"path": notJSONFile}), goodMsg, []string{ctxName, "bad context"}},
		{"context without run_id", pipestest.EncodeParam(t, map[string]any{"path": noRunIDFile}), goodMsg, []string{ctxName, "no run_id"}},
		{"context wrong field type", pipestest.EncodeParam(t, map[string]any{"data": map[string]any{"run_id": "r", "retry_number": "one"}}), goodMsg, []string{ctxName, "bad context", "retry_number"}},
		{"messages empty", goodCtx, "", []string{msgName, "empty"}},
		{"messages not base64", goodCtx, "stdout", []string{msgName, "not base64"}},
		{"messages not zlib", goodCtx, base64.StdEncoding.EncodeToString([]byte("plain text")), []string{msgName, "not zlib-compressed data"}},
		{"messages not JSON", goodCtx, zlibBase64(t, "stdio=stdout"), []string{msgName, "not JSON"}},
		{"messages not an object", goodCtx, zlibBase64(t, `"stdout"`), []string{msgName, "not a JSON object (got a string)"}},
		{"messages unknown writer", goodCtx, pipestest.EncodeParam(t, map[string]any{"bucket": "b", "key_prefix": "p"}), []string{msgName, `unknown message writer: expected key "path", "stdio" or "buffered_stdio", got keys "bucket", "key_prefix"`}},
		{"messages bad stream", goodCtx, pipestest.EncodeParam(t, map[string]any{"stdio": "stdlog"}), []string{msgName, `"stdio" must be "stdout" or "stderr", got "stdlog"`}},
		{"messages bad buffered stream", goodCtx, pipestest.EncodeParam(t, map[string]any{"buffered_stdio": 1}), []string{msgName, `"buffered_stdio" must be a string, got 1`}},
		{"messages path not a string", goodCtx, pipestest.EncodeParam(t, map[string]any{"path": []string{"a"}}), []string{msgName, `"path" must be a string`}},
		{"messages file cannot be opened", goodCtx, pipestest.EncodeParam(t, map[string]any{"path": filepath.Join(missing, "messages")}), []string{msgName, "opening the messages file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout bytes.Buffer
			s, err := dagster.Open(c.ctx, c.msg, &stdout, &stdout)
			if err == nil {
				s.Close(nil)
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			var be *dagster.BootstrapError
			if !errors.As(err, &be) {
				t.Errorf("error %T is not a *BootstrapError", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("wrote %q", stdout.String())
			}
		})
	}
}

// TestBootstrapPrecedence: "path" wins over "data" and over "stdio" (as in
// PipesDefaultContextLoader and PipesDefaultMessageWriter), other keys are
// ignored, surrounding white space is tolerated.
func TestBootstrapPrecedence(t *testing.T) {
	dir := t.TempDir()
	ctxFile := filepath.Join(dir, "context")
	fromFile := contextData()
	fromFile["run_id"] = "from-file"
	js := encodeJSON(t, fromFile)
	if err := os.WriteFile(ctxFile, js, 0o600); err != nil {
		t.Fatal(err)
	}
	msgFile := filepath.Join(dir, "messages")

	ctxParam := " " + pipestest.EncodeParam(t, map[string]any{"data": contextData(), "path": ctxFile, "future_key": 1}) + "\n"
	msgParam := pipestest.EncodeParam(t, map[string]any{"stdio": "stdout", "path": msgFile, "include_stdio_in_messages": true, "log_writer": map[string]any{}})
	var stdout bytes.Buffer
	s, err := dagster.Open(ctxParam, msgParam, &stdout, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if s.Context().RunID != "from-file" {
		t.Errorf("run id %q: path did not win", s.Context().RunID)
	}
	s.Close(nil)
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	data, _ := os.ReadFile(msgFile)
	if strings.Count(string(data), "\n") != 2 {
		t.Errorf("messages file: %q", data)
	}

	d, err := dagster.ParseMessagesParam(pipestest.EncodeParam(t, map[string]any{"stdio": "stderr", "buffered_stdio": "stdout"}))
	if err != nil || d.Kind != "stdio" || d.Stream != "stderr" || d.Buffered {
		t.Errorf("stdio over buffered_stdio: %+v %v", d, err)
	}
}

// TestReadFileOption: the context file is read through the given function.
func TestReadFileOption(t *testing.T) {
	var asked string
	opt := dagster.Options{
		Stdout: &bytes.Buffer{},
		ReadFile: func(p string) ([]byte, error) {
			asked = p
			return encodeJSON(t, contextData()), nil
		},
	}
	s, err := dagster.OpenWith(pipestest.EncodeParam(t, map[string]any{"path": "/virtual/context"}), pipestest.EncodeParam(t, map[string]any{"stdio": "stdout"}), opt)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil)
	if asked != "/virtual/context" {
		t.Errorf("read %q", asked)
	}
}
