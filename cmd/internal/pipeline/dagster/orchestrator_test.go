package dagster_test

// An emulation of the orchestration side of Dagster Pipes: the bootstrap
// values are built the way Dagster builds them (dagster_pipes.encode_param:
// JSON, zlib, base64 — written here, independently of the package's
// decoder), a session runs, and every message read back is validated
// against Dagster's published JSON Schemas and against the exact parameter
// lists of Dagster's handlers (PipesMessageHandler in
// dagster/_core/pipes/context.py).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster"
	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster/pipestest"
)

var schemaDir = filepath.Join("..", "..", "..", "..", "testdata", "dagster-pipes")

func loadSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	return pipestest.LoadSchema(t, filepath.Join(schemaDir, name))
}

// contextData is a PipesContextData as build_external_execution_context_data
// makes it for a daily-partitioned multi-asset: asset keys in escaped user
// form, the window as isoformat() of aware datetimes.
func contextData() map[string]any {
	return map[string]any{
		"asset_keys":                []string{"chorus/customer_calls", "chorus_raw/calls"},
		"code_version_by_asset_key": map[string]any{"chorus/customer_calls": "v3", "chorus_raw/calls": nil},
		"provenance_by_asset_key": map[string]any{
			"chorus/customer_calls": map[string]any{
				"code_version":        "v2",
				"input_data_versions": map[string]string{"chorus_raw/calls": "sync-0"},
				"is_user_provided":    true,
			},
			"chorus_raw/calls": nil,
		},
		"partition_key":         "2026-03-01",
		"partition_key_range":   map[string]string{"start": "2026-03-01", "end": "2026-03-01"},
		"partition_time_window": map[string]string{"start": "2026-03-01T00:00:00+00:00", "end": "2026-03-02T00:00:00+00:00"},
		"run_id":                "5f1c9a0e-0000-4000-8000-000000000001",
		"job_name":              "__ASSET_JOB",
		"retry_number":          1,
		"extras":                map[string]any{"streams": []string{"calls"}},
	}
}

// The exact keyword parameters of each handler Dagster calls with
// **params (PipesMessageHandler._handle_*), and of "opened" and "closed".
var paramKeys = map[string][]string{
	"opened":                       {"extras"},
	"log":                          {"level", "message"},
	"report_asset_materialization": {"asset_key", "data_version", "metadata"},
	"report_asset_check":           {"asset_key", "check_name", "metadata", "passed", "severity"},
}

var exceptionKeys = []string{"cause", "context", "message", "name", "stack"}

func keysOf(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func object(t *testing.T, what string, raw json.RawMessage) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		t.Fatalf("%s is not a JSON object: %s", what, raw)
	}
	return m
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("not a string: %s", raw)
	}
	return s
}

// checkedMessage is one message line, checked and split.
type checkedMessage struct {
	method string
	params map[string]json.RawMessage // nil for "closed" without params keys
	line   string
}

// checkLines validates every line and the exact keys of each message.
func checkLines(t *testing.T, out []byte) []checkedMessage {
	t.Helper()
	msgSchema := loadSchema(t, "message.json")
	if len(out) == 0 || out[len(out)-1] != '\n' {
		t.Fatalf("messages do not end with a newline: %q", out)
	}
	var msgs []checkedMessage
	for i, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		what := fmt.Sprintf("message %d", i+1)
		pipestest.Validate(t, msgSchema, what, []byte(line))
		top := object(t, what, json.RawMessage(line))
		if got := keysOf(top); !reflect.DeepEqual(got, []string{"__dagster_pipes_version", "method", "params"}) {
			t.Errorf("%s: keys %v", what, got)
		}
		if v := str(t, top["__dagster_pipes_version"]); v != "0.1" {
			t.Errorf("%s: version %q", what, v)
		}
		m := checkedMessage{method: str(t, top["method"]), line: line}
		m.params = object(t, what+" params", top["params"])
		switch m.method {
		case "closed":
			switch got := keysOf(m.params); {
			case len(got) == 0:
			case reflect.DeepEqual(got, []string{"exception"}):
				checkException(t, what, m.params["exception"], 0)
			default:
				t.Errorf("%s: closed params keys %v, want none or exception", what, got)
			}
		default:
			want, ok := paramKeys[m.method]
			if !ok {
				t.Errorf("%s: unexpected method %q", what, m.method)
				break
			}
			if got := keysOf(m.params); !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s): params keys %v, want exactly %v", what, m.method, got, want)
			}
		}
		switch m.method {
		case "log":
			switch lvl := str(t, m.params["level"]); lvl {
			case "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL":
			default:
				t.Errorf("%s: level %q", what, lvl)
			}
		case "report_asset_check":
			if sev := str(t, m.params["severity"]); sev != "WARN" && sev != "ERROR" {
				t.Errorf("%s: severity %q", what, sev)
			}
			checkMetadata(t, what, m.params["metadata"])
		case "report_asset_materialization":
			checkMetadata(t, what, m.params["metadata"])
		case "opened":
			if e := object(t, what+" extras", m.params["extras"]); len(e) != 0 {
				t.Errorf("%s: extras %v", what, e)
			}
		}
		msgs = append(msgs, m)
	}
	return msgs
}

var metadataTypes = map[string]bool{
	"__infer__": true, "text": true, "url": true, "path": true, "notebook": true, "json": true, "md": true,
	"float": true, "int": true, "bool": true, "dagster_run": true, "asset": true, "null": true, "table": true,
	"table_schema": true, "table_column_lineage": true, "timestamp": true,
}

func checkMetadata(t *testing.T, what string, raw json.RawMessage) {
	t.Helper()
	if string(raw) == "null" {
		return
	}
	for k, v := range object(t, what+" metadata", raw) {
		entry := object(t, what+" metadata "+k, v)
		if got := keysOf(entry); !reflect.DeepEqual(got, []string{"raw_value", "type"}) {
			t.Errorf("%s metadata %s: keys %v, want raw_value and type", what, k, got)
			continue
		}
		if typ := str(t, entry["type"]); !metadataTypes[typ] {
			t.Errorf("%s metadata %s: type %q", what, k, typ)
		}
	}
}

func checkException(t *testing.T, what string, raw json.RawMessage, depth int) {
	t.Helper()
	e := object(t, what+" exception", raw)
	if got := keysOf(e); !reflect.DeepEqual(got, exceptionKeys) {
		t.Errorf("%s exception: keys %v, want exactly %v", what, got, exceptionKeys)
	}
	str(t, e["message"])
	var stack []string
	if err := json.Unmarshal(e["stack"], &stack); err != nil || stack == nil {
		t.Errorf("%s exception: stack %s is not a list of strings", what, e["stack"])
	}
	if string(e["name"]) != "null" {
		str(t, e["name"])
	}
	for _, k := range []string{"cause", "context"} {
		if string(e[k]) != "null" {
			if depth > 20 {
				t.Fatalf("%s exception: %s chain too deep", what, k)
			}
			checkException(t, what+" "+k, e[k], depth+1)
		}
	}
}

// runScript is what chorus-elt would do: log, report two materializations
// and a check, close with runErr.
func runScript(t *testing.T, s *dagster.Session, runErr error) {
	t.Helper()
	ctx := s.Context()
	if ctx.RunID != "5f1c9a0e-0000-4000-8000-000000000001" || ctx.RetryNumber != 1 || *ctx.JobName != "__ASSET_JOB" {
		t.Errorf("context: %+v", ctx)
	}
	start, end, err := ctx.PartitionTimeWindow.Times()
	if err != nil {
		t.Fatal(err)
	}
	if !start.Equal(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("window %v – %v", start, end)
	}
	if want := []dagster.AssetKey{{"chorus", "customer_calls"}, {"chorus_raw", "calls"}}; !reflect.DeepEqual(ctx.Keys(), want) {
		t.Errorf("keys %v, want %v", ctx.Keys(), want)
	}
	var streams []string
	if found, err := ctx.Extra("streams", &streams); !found || err != nil || !reflect.DeepEqual(streams, []string{"calls"}) {
		t.Errorf("extra streams: %v %v %v", streams, found, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Log(dagster.LevelInfo, "extracting 2026-03-01 – 2026-03-02 <&>"))
	must(s.ReportMaterialization(dagster.Materialization{
		AssetKey:    dagster.AssetKey{"chorus_raw", "calls"},
		DataVersion: "sync-7",
		Metadata: dagster.Metadata{
			"rows":     dagster.Int(97),
			"seconds":  dagster.Float(2),
			"rate":     dagster.Float(0.25),
			"cursor":   dagster.Timestamp(time.Date(2026, 3, 1, 12, 0, 0, 500_000_000, time.UTC)),
			"table":    dagster.Text("chorus_raw.calls"),
			"summary":  dagster.JSON(map[string]any{"requests": 101, "throttled": 0}),
			"complete": dagster.Bool(true),
			"docs":     dagster.URL("https://example.com/chorus"),
			"files":    dagster.Path("/tmp/chorus-data/calls"),
			"notes":    dagster.Markdown("**97** calls"),
			"nothing":  dagster.Null(),
			"run":      dagster.DagsterRun("5f1c9a0e-0000-4000-8000-000000000001"),
			"upstream": dagster.Asset(dagster.AssetKey{"chorus_raw", "engagements"}),
			"schema":   dagster.TableSchema(dagster.TableColumn{Name: "call_id", Type: "string", Constraints: &dagster.ColumnConstraints{Nullable: false, Unique: true}}, dagster.TableColumn{Name: "started_at", Type: "timestamp", Description: "cursor"}),
			"sample":   dagster.Table([]dagster.TableColumn{{Name: "call_id", Type: "string"}}, []map[string]any{{"call_id": "c1"}}),
			"inferred": dagster.Infer("text"),
		},
	}))
	must(s.ReportMaterialization(dagster.Materialization{
		AssetKey: dagster.AssetKey{"chorus", "customer_calls"},
		Metadata: dagster.Metadata{"rows": dagster.Int(40)},
	}))
	must(s.ReportCheck(dagster.CheckResult{
		AssetKey:  dagster.AssetKey{"chorus", "customer_calls"},
		CheckName: "every_call_matched",
		Passed:    false,
		Severity:  dagster.SeverityWarn,
		Metadata:  dagster.Metadata{"unmatched": dagster.Int(3)},
	}))
	must(s.Close(runErr))
	if err := s.Close(nil); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Log(dagster.LevelInfo, "late"); !errors.Is(err, dagster.ErrClosed) {
		t.Errorf("Log after Close: %v", err)
	}
}

// checkScript checks the values of the messages runScript sent, written
// out here as Dagster reads them.
func checkScript(t *testing.T, msgs []checkedMessage, withErr bool) {
	t.Helper()
	var methods []string
	for _, m := range msgs {
		methods = append(methods, m.method)
	}
	want := []string{"opened", "log", "report_asset_materialization", "report_asset_materialization", "report_asset_check", "closed"}
	if !reflect.DeepEqual(methods, want) {
		t.Fatalf("methods %v, want %v", methods, want)
	}
	exact := map[int]string{
		0: `{"__dagster_pipes_version":"0.1","method":"opened","params":{"extras":{}}}`,
		1: `{"__dagster_pipes_version":"0.1","method":"log","params":{"message":"extracting 2026-03-01 – 2026-03-02 <&>","level":"INFO"}}`,
		3: `{"__dagster_pipes_version":"0.1","method":"report_asset_materialization","params":{"asset_key":"chorus/customer_calls","metadata":{"rows":{"raw_value":40,"type":"int"}},"data_version":null}}`,
		4: `{"__dagster_pipes_version":"0.1","method":"report_asset_check","params":{"asset_key":"chorus/customer_calls","check_name":"every_call_matched","passed":false,"severity":"WARN","metadata":{"unmatched":{"raw_value":3,"type":"int"}}}}`,
	}
	if !withErr {
		exact[5] = `{"__dagster_pipes_version":"0.1","method":"closed","params":{}}`
	}
	for i, w := range exact {
		if msgs[i].line != w {
			t.Errorf("message %d:\n got %s\nwant %s", i+1, msgs[i].line, w)
		}
	}

	mat := msgs[2].params
	if k := str(t, mat["asset_key"]); k != "chorus_raw/calls" {
		t.Errorf("asset_key %q", k)
	}
	if v := str(t, mat["data_version"]); v != "sync-7" {
		t.Errorf("data_version %q", v)
	}
	wantMeta := map[string]string{
		"rows":     `{"raw_value":97,"type":"int"}`,
		"seconds":  `{"raw_value":2.0,"type":"float"}`,
		"rate":     `{"raw_value":0.25,"type":"float"}`,
		"cursor":   `{"raw_value":1772366400.5,"type":"timestamp"}`,
		"table":    `{"raw_value":"chorus_raw.calls","type":"text"}`,
		"summary":  `{"raw_value":{"requests":101,"throttled":0},"type":"json"}`,
		"complete": `{"raw_value":true,"type":"bool"}`,
		"docs":     `{"raw_value":"https://example.com/chorus","type":"url"}`,
		"files":    `{"raw_value":"/tmp/chorus-data/calls","type":"path"}`,
		"notes":    `{"raw_value":"**97** calls","type":"md"}`,
		"nothing":  `{"raw_value":null,"type":"null"}`,
		"run":      `{"raw_value":"5f1c9a0e-0000-4000-8000-000000000001","type":"dagster_run"}`,
		"upstream": `{"raw_value":"chorus_raw/engagements","type":"asset"}`,
		"schema":   `{"raw_value":{"columns":[{"name":"call_id","type":"string","constraints":{"nullable":false,"unique":true}},{"name":"started_at","type":"timestamp","description":"cursor"}]},"type":"table_schema"}`,
		"sample":   `{"raw_value":{"records":[{"call_id":"c1"}],"schema":[{"name":"call_id","type":"string"}]},"type":"table"}`,
		"inferred": `{"raw_value":"text","type":"__infer__"}`,
	}
	meta := object(t, "metadata", mat["metadata"])
	if got, want := keysOf(meta), sortedKeys(wantMeta); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata keys %v, want %v", got, want)
	}
	for k, w := range wantMeta {
		if string(meta[k]) != w {
			t.Errorf("metadata %s:\n got %s\nwant %s", k, meta[k], w)
		}
	}

	if withErr {
		closed := msgs[5].params
		e := object(t, "exception", closed["exception"])
		if got := str(t, e["message"]); got != "load chorus_raw.calls: open /tmp/chorus-data/calls/1.parquet: no such file or directory" {
			t.Errorf("exception message %q", got)
		}
		if got := str(t, e["name"]); got != "*fmt.wrapError" {
			t.Errorf("exception name %q", got)
		}
		if string(e["stack"]) != "[]" || string(e["context"]) != "null" {
			t.Errorf("exception stack %s context %s", e["stack"], e["context"])
		}
		c1 := object(t, "cause", e["cause"])
		if got := str(t, c1["name"]); got != "*fs.PathError" {
			t.Errorf("cause name %q", got)
		}
		c2 := object(t, "cause of cause", c1["cause"])
		if got := str(t, c2["name"]); got != "syscall.Errno" {
			t.Errorf("innermost name %q", got)
		}
		if got := str(t, c2["message"]); got != "no such file or directory" {
			t.Errorf("innermost message %q", got)
		}
		if string(c2["cause"]) != "null" {
			t.Errorf("innermost cause %s", c2["cause"])
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func runError() error {
	return fmt.Errorf("load chorus_raw.calls: %w", &fs.PathError{Op: "open", Path: "/tmp/chorus-data/calls/1.parquet", Err: syscall.ENOENT})
}

func TestOrchestratorEmulation(t *testing.T) {
	ctxSchema := loadSchema(t, "context.json")
	for _, ctxKind := range []string{"path", "data"} {
		for _, msgKind := range []string{"path", "stdout", "stderr", "buffered_stdout"} {
			for _, withErr := range []bool{false, true} {
				name := fmt.Sprintf("context=%s/messages=%s/error=%v", ctxKind, msgKind, withErr)
				t.Run(name, func(t *testing.T) {
					dir := t.TempDir()
					ctxJSON, err := json.Marshal(contextData())
					if err != nil {
						t.Fatal(err)
					}
					pipestest.Validate(t, ctxSchema, "the injected context", ctxJSON)

					var ctxParams map[string]any
					if ctxKind == "path" {
						// PipesFileContextInjector: json.dump to a file, {"path": file}.
						p := filepath.Join(dir, "context")
						if err := os.WriteFile(p, ctxJSON, 0o600); err != nil {
							t.Fatal(err)
						}
						ctxParams = map[string]any{"path": p}
					} else {
						ctxParams = map[string]any{"data": contextData()}
					}
					var msgParams map[string]any
					msgPath := filepath.Join(dir, "messages")
					switch msgKind {
					case "path":
						// PipesFileMessageReader creates the file, then passes
						// include_stdio_in_messages along with the path.
						if err := os.WriteFile(msgPath, nil, 0o600); err != nil {
							t.Fatal(err)
						}
						msgParams = map[string]any{"path": msgPath, "include_stdio_in_messages": false}
					case "stdout", "stderr":
						msgParams = map[string]any{"stdio": msgKind}
					case "buffered_stdout":
						msgParams = map[string]any{"buffered_stdio": "stdout"}
					}

					var stdout, stderr bytes.Buffer
					s, err := dagster.Open(pipestest.EncodeParam(t, ctxParams), pipestest.EncodeParam(t, msgParams), &stdout, &stderr)
					if err != nil {
						t.Fatal(err)
					}
					if msgKind == "buffered_stdout" && stdout.Len() != 0 {
						t.Errorf("buffered_stdio wrote before Close: %q", stdout.String())
					}
					var runErr error
					if withErr {
						runErr = runError()
					}
					runScript(t, s, runErr)

					var out []byte
					switch msgKind {
					case "path":
						if out, err = os.ReadFile(msgPath); err != nil {
							t.Fatal(err)
						}
						if stdout.Len()+stderr.Len() != 0 {
							t.Errorf("wrote to stdio too: %q %q", stdout.String(), stderr.String())
						}
					case "stdout", "buffered_stdout":
						out = stdout.Bytes()
						if stderr.Len() != 0 {
							t.Errorf("wrote to stderr too: %q", stderr.String())
						}
					case "stderr":
						out = stderr.Bytes()
						if stdout.Len() != 0 {
							t.Errorf("wrote to stdout too: %q", stdout.String())
						}
					}
					msgs := checkLines(t, out)
					checkScript(t, msgs, withErr)
					pythonHandlers(t, out)
				})
			}
		}
	}
}

// pythonHandlers feeds the messages to Python functions with the signatures
// of Dagster's handlers (called with **params, as handle_message does) and
// the type checks of the metadata values they build; skipped without
// python3. Dagster itself is not needed.
func pythonHandlers(t *testing.T, out []byte) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		return
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "handlers.py")
	msgs := filepath.Join(dir, "messages")
	if err := os.WriteFile(script, []byte(pythonHandlerScript), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(msgs, out, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, msgs)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("Python handler emulation failed: %v\n%s", err, res)
	}
}

const pythonHandlerScript = `
import json, sys

LEVELS = {"critical", "error", "warning", "info", "debug", "fatal", "warn"}  # coerce_valid_log_level
STR_TYPES = {"text", "url", "path", "notebook", "md", "dagster_run", "asset"}

def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)

def resolve(key, v):
    assert set(v) == {"raw_value", "type"}, (key, v)
    raw, typ = v["raw_value"], v["type"]
    if typ == "float":
        assert isinstance(raw, float), (key, "check.opt_float_param refuses", raw)
    elif typ == "int":
        assert is_int(raw), (key, raw)
    elif typ == "bool":
        assert isinstance(raw, bool), (key, raw)
    elif typ in STR_TYPES:
        assert isinstance(raw, str), (key, raw)
    elif typ == "json":
        assert isinstance(raw, (dict, list)), (key, raw)
    elif typ == "null":
        assert raw is None, (key, raw)
    elif typ == "timestamp":
        assert is_int(raw) or isinstance(raw, float), (key, raw)
        float(raw)
    elif typ == "table_schema":
        for c in raw["columns"]:
            assert isinstance(c["name"], str) and isinstance(c["type"], str), c
            c.get("description"), c.get("tags")
            if c.get("constraints"):
                dict(**c["constraints"])
    elif typ == "table":
        for r in raw["records"]:
            assert isinstance(r, dict), r
        for c in raw["schema"]:
            assert isinstance(c["name"], str) and isinstance(c["type"], str), c
    elif typ == "__infer__":
        pass
    else:
        raise AssertionError(("unknown metadata type", key, typ))

def check_metadata(m):
    assert m is None or isinstance(m, dict), m
    for k, v in (m or {}).items():
        resolve(k, v)

def report_asset_materialization(asset_key, metadata, data_version):
    assert isinstance(asset_key, str), asset_key
    assert data_version is None or isinstance(data_version, str), data_version
    check_metadata(metadata)

def report_asset_check(asset_key, check_name, passed, severity, metadata):
    assert isinstance(asset_key, str) and isinstance(check_name, str)
    assert isinstance(passed, bool), passed
    assert severity in ("WARN", "ERROR"), severity
    check_metadata(metadata)

def log(message, level="info"):
    assert isinstance(message, str), message
    assert level.lower() in LEVELS, level

def exception(e):
    # SerializableErrorInfo(message=, stack=, cls_name=, cause=, context=)
    assert isinstance(e["message"], str)
    assert isinstance(e["stack"], list) and all(isinstance(s, str) for s in e["stack"])
    assert e["name"] is None or isinstance(e["name"], str)
    for k in ("cause", "context"):
        if e[k]:
            exception(e[k])

methods = []
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        msg = json.loads(line)
        assert msg["__dagster_pipes_version"] == "0.1"
        method, params = msg["method"], msg["params"]
        methods.append(method)
        if method == "opened":
            assert set(params) == {"extras"} and params["extras"] == {}
        elif method == "closed":
            if params and "exception" in params:
                exception(params["exception"])
        elif method == "report_asset_materialization":
            report_asset_materialization(**params)
        elif method == "report_asset_check":
            report_asset_check(**params)
        elif method == "log":
            log(**params)
        else:
            raise AssertionError("Unknown message method: " + method)
assert methods[0] == "opened" and methods[-1] == "closed", methods
print("ok", len(methods))
`

// TestPythonBootstrapValue decodes values made by Python's own zlib and
// base64 (json.dumps, zlib.compress, base64.b64encode: encode_param),
// produced once with CPython 3.11 and pasted here.
func TestPythonBootstrapValue(t *testing.T) {
	const ctxParam = "eJytkMFOwzAMQH+lyhWqZR0g6A0kLlw4bDeErDQ1EGgT5KQtVdV/J84QiI7dsCJL8bOenUyiVkGJMpuE8h4DvOHo4/VB6BdHnQdSw0qrpvHiNPuqrXTng2uRYA8embgaoUfyxlmoRviWJfWBq8xs1zRHjWUm+o2YI38n16NVVuN/WBknq6JgAq+6d4lCFhe53ORyLZY4+u0zpoE+RHDYjrZeFH/PCKZFGIyt3XBMs5OyTOck5b+sxbKHh1BnwaS+86e1vlIScxkjP+N0yUn+RFr21VVgVcsPEgDX2+3tDu7ubxgRBhrBdm2FFLHkJT4CKf65aZ7nT4C5rHs="
	const msgParam = "eJyrViouScnMV7JSADFSi4qUagFBNAaS" // {"stdio": "stderr"}
	var stdout, stderr bytes.Buffer
	s, err := dagster.Open(ctxParam, msgParam, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	ctx := s.Context()
	if want := []string{"chorus_raw/calls", "chorus/customer_calls"}; !reflect.DeepEqual(ctx.AssetKeys, want) {
		t.Errorf("asset keys %v", ctx.AssetKeys)
	}
	if ctx.CodeVersionByAssetKey["chorus_raw/calls"] != nil || *ctx.CodeVersionByAssetKey["chorus/customer_calls"] != "v3" {
		t.Errorf("code versions %v", ctx.CodeVersionByAssetKey)
	}
	if *ctx.PartitionKey != "2026-03-01" || ctx.PartitionKeyRange.End != "2026-03-01" || ctx.RunID != "5f1c9a0e-0000-4000-8000-000000000001" {
		t.Errorf("context %+v", ctx)
	}
	start, end, err := ctx.PartitionTimeWindow.Times()
	if err != nil || start.Unix() != 1772323200 || end.Unix() != 1772323200+86400 {
		t.Errorf("window %v %v %v", start, end, err)
	}
	s.Close(nil)
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
	want := `{"__dagster_pipes_version":"0.1","method":"opened","params":{"extras":{}}}` + "\n" +
		`{"__dagster_pipes_version":"0.1","method":"closed","params":{}}` + "\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant\n%s", stderr.String(), want)
	}
}

// lineWriter records every Write call.
type lineWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func openStdout(t *testing.T, w *lineWriter, ctx map[string]any) *dagster.Session {
	t.Helper()
	s, err := dagster.Open(pipestest.EncodeParam(t, map[string]any{"data": ctx}), pipestest.EncodeParam(t, map[string]any{"stdio": "stdout"}), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConcurrentReportsWriteWholeLines: reports from many goroutines reach
// the stream as whole lines, one Write each, opened first and closed last.
func TestConcurrentReportsWriteWholeLines(t *testing.T) {
	ctx := contextData()
	var keys []string
	for i := 0; i < 16; i++ {
		keys = append(keys, fmt.Sprintf("chorus_raw/stream_%02d", i))
	}
	ctx["asset_keys"] = keys
	w := &lineWriter{}
	s := openStdout(t, w, ctx)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := s.Log(dagster.LevelDebug, strings.Repeat("x", 1000)+fmt.Sprint(g, i)); err != nil {
					t.Error(err)
				}
			}
			key := dagster.AssetKey{"chorus_raw", fmt.Sprintf("stream_%02d", g)}
			if err := s.ReportMaterialization(dagster.Materialization{AssetKey: key, Metadata: dagster.Metadata{"rows": dagster.Int(int64(g))}}); err != nil {
				t.Error(err)
			}
			if err := s.ReportCheck(dagster.CheckResult{AssetKey: key, CheckName: "rows_positive", Passed: g > 0}); err != nil {
				t.Error(err)
			}
		}(g)
	}
	wg.Wait()
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if len(w.writes) != 1+16*50+16*2+1 {
		t.Fatalf("%d writes", len(w.writes))
	}
	for i, wr := range w.writes {
		if strings.Count(wr, "\n") != 1 || !strings.HasSuffix(wr, "\n") {
			t.Fatalf("write %d is not one whole line: %q", i, wr)
		}
	}
	msgs := checkLines(t, []byte(strings.Join(w.writes, "")))
	if msgs[0].method != "opened" || msgs[len(msgs)-1].method != "closed" {
		t.Errorf("first %s, last %s", msgs[0].method, msgs[len(msgs)-1].method)
	}
}

// TestFileIsTailable: each message is in the file, whole, as soon as the
// report returns (Dagster tails it with readline while the process runs).
func TestFileIsTailable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "messages")
	s, err := dagster.Open(pipestest.EncodeParam(t, map[string]any{"data": contextData()}), pipestest.EncodeParam(t, map[string]any{"path": path}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Close()
	r := bufio.NewReader(tail)
	readLine := func() string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no whole line available: %q, %v", line, err)
		}
		return line
	}
	if l := readLine(); !strings.Contains(l, `"method":"opened"`) {
		t.Errorf("first line %q", l)
	}
	for i := 0; i < 3; i++ {
		if err := s.Log(dagster.LevelWarning, fmt.Sprint("step ", i)); err != nil {
			t.Fatal(err)
		}
		if l := readLine(); !strings.Contains(l, fmt.Sprintf(`"message":"step %d"`, i)) {
			t.Errorf("line %q", l)
		}
	}
	if err := s.Close(nil); err != nil {
		t.Fatal(err)
	}
	if l := readLine(); !strings.Contains(l, `"method":"closed"`) {
		t.Errorf("last line %q", l)
	}
}

// TestFileAppends: the messages file is appended to, never truncated.
func TestFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messages")
	if err := os.WriteFile(path, []byte("{\"earlier\":true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := dagster.Open(pipestest.EncodeParam(t, map[string]any{"data": contextData()}), pipestest.EncodeParam(t, map[string]any{"path": path}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close(nil)
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "{\"earlier\":true}\n{\"__dagster_pipes_version\"") || strings.Count(string(data), "\n") != 3 {
		t.Errorf("file:\n%s", data)
	}
}

// TestReportsRefused: what dagster-pipes refuses is refused before
// anything is written.
func TestReportsRefused(t *testing.T) {
	w := &lineWriter{}
	s := openStdout(t, w, contextData())
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"untargeted asset", s.ReportMaterialization(dagster.Materialization{AssetKey: dagster.AssetKey{"chorus_raw", "users"}}), `does not target asset "chorus_raw/users"`},
		{"no key, two targets", s.ReportMaterialization(dagster.Materialization{}), "targets 2 assets"},
		{"check no key", s.ReportCheck(dagster.CheckResult{CheckName: "c"}), "targets 2 assets"},
		{"check no name", s.ReportCheck(dagster.CheckResult{AssetKey: dagster.AssetKey{"chorus_raw", "calls"}}), "empty check name"},
		{"bad severity", s.ReportCheck(dagster.CheckResult{AssetKey: dagster.AssetKey{"chorus_raw", "calls"}, CheckName: "c", Severity: "INFO"}), `severity "INFO"`},
		{"bad level", s.Log("TRACE", "x"), `log level "TRACE"`},
		{"NaN", s.ReportMaterialization(dagster.Materialization{AssetKey: dagster.AssetKey{"chorus_raw", "calls"}, Metadata: dagster.Metadata{"x": dagster.Float(nanValue())}}), "not representable in JSON"},
		{"unknown type", s.ReportMaterialization(dagster.Materialization{AssetKey: dagster.AssetKey{"chorus_raw", "calls"}, Metadata: dagster.Metadata{"x": {Type: "number", Raw: 1}}}), `unknown metadata type "number"`},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, c.err, c.want)
		}
	}
	if len(w.writes) != 1 {
		t.Errorf("refused reports wrote: %q", w.writes[1:])
	}
	key := dagster.AssetKey{"chorus_raw", "calls"}
	if err := s.ReportMaterialization(dagster.Materialization{AssetKey: key}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReportMaterialization(dagster.Materialization{AssetKey: key}); err == nil || !strings.Contains(err.Error(), "already reported") {
		t.Errorf("second materialization: %v", err)
	}
	s.Close(nil)
	if err := s.ReportCheck(dagster.CheckResult{AssetKey: key, CheckName: "c"}); !errors.Is(err, dagster.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}

	// One targeted asset: an empty key means it.
	ctx := contextData()
	ctx["asset_keys"] = []string{"chorus_raw/calls"}
	w = &lineWriter{}
	s = openStdout(t, w, ctx)
	if err := s.ReportMaterialization(dagster.Materialization{}); err != nil {
		t.Fatal(err)
	}
	s.Close(nil)
	if !strings.Contains(w.writes[1], `"asset_key":"chorus_raw/calls"`) {
		t.Errorf("default key: %s", w.writes[1])
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

// TestNilSession: a nil session (not under Dagster) does nothing.
func TestNilSession(t *testing.T) {
	var s *dagster.Session
	if s.Context() != nil || s.Log(dagster.LevelInfo, "x") != nil || s.ReportMaterialization(dagster.Materialization{}) != nil ||
		s.ReportCheck(dagster.CheckResult{}) != nil || s.Close(errors.New("x")) != nil {
		t.Error("nil session did something")
	}
}

type stackErr struct{}

func (stackErr) Error() string        { return "boom" }
func (stackErr) PipesStack() []string { return []string{"main.go:10 main.run\n"} }

// TestExceptionStackAndJoin: an error's own stack is sent; a joined error's
// first error is the cause.
func TestExceptionStackAndJoin(t *testing.T) {
	w := &lineWriter{}
	s := openStdout(t, w, contextData())
	s.Close(errors.Join(nil, stackErr{}, errors.New("second")))
	msgs := checkLines(t, []byte(strings.Join(w.writes, "")))
	e := object(t, "exception", msgs[1].params["exception"])
	if got := str(t, e["name"]); got != "*errors.joinError" {
		t.Errorf("name %q", got)
	}
	if got := str(t, e["message"]); got != "boom\nsecond" {
		t.Errorf("message %q", got)
	}
	c := object(t, "cause", e["cause"])
	if got := str(t, c["name"]); got != "dagster_test.stackErr" || string(c["stack"]) != `["main.go:10 main.run\n"]` {
		t.Errorf("cause %v", c)
	}
}

// TestSchemasRejectInvalid: the schema validation above can fail.
func TestSchemasRejectInvalid(t *testing.T) {
	msg := loadSchema(t, "message.json")
	ctx := loadSchema(t, "context.json")
	for _, bad := range []string{
		`{"__dagster_pipes_version": "0.1", "params": {}}`,
		`{"__dagster_pipes_version": "0.1", "method": "log", "params": "x"}`,
		`{"__dagster_pipes_version": 0.1, "method": "log", "params": null}`,
		`[]`,
	} {
		inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if msg.Validate(inst) == nil {
			t.Errorf("message schema accepted %s", bad)
		}
	}
	for _, mutate := range []func(map[string]any){
		func(c map[string]any) { delete(c, "run_id") },
		func(c map[string]any) { c["retry_number"] = 1.5 },
		func(c map[string]any) { c["asset_keys"] = []any{"a", 1} },
		func(c map[string]any) { c["partition_time_window"] = map[string]any{"start": "x"} },
		func(c map[string]any) {
			c["provenance_by_asset_key"] = map[string]any{"a": map[string]any{"code_version": "v"}}
		},
	} {
		c := contextData()
		mutate(c)
		js, _ := json.Marshal(c)
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if ctx.Validate(inst) == nil {
			t.Errorf("context schema accepted %s", js)
		}
	}
}
