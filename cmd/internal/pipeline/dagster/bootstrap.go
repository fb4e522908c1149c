package dagster

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// The names under which Dagster passes the two bootstrap values
// (DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR and the
// CLI arguments derived from them in dagster_pipes).
const (
	ContextEnv   = "DAGSTER_PIPES_CONTEXT"
	MessagesEnv  = "DAGSTER_PIPES_MESSAGES"
	ContextFlag  = "dagster-pipes-context"
	MessagesFlag = "dagster-pipes-messages"
)

// ProtocolVersion is the Pipes protocol version this package speaks
// (PIPES_PROTOCOL_VERSION); every message carries it.
const ProtocolVersion = "0.1"

// maxDecoded bounds what one bootstrap value may inflate to: a context is a
// few kilobytes; this only stops a corrupt or hostile value from
// exhausting memory.
const maxDecoded = 64 << 20

// paramName says which bootstrap value an error is about.
func paramName(env, flag string) string {
	return fmt.Sprintf("Dagster Pipes bootstrap value %s (--%s)", env, flag)
}

// BootstrapError is returned for a bootstrap value that cannot be used:
// Param names the value, Reason says what was wrong.
type BootstrapError struct {
	Param  string // e.g. "Dagster Pipes bootstrap value DAGSTER_PIPES_CONTEXT (--dagster-pipes-context)"
	Reason string
	Err    error // the underlying error, if any
}

func (e *BootstrapError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Param, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Param, e.Reason)
}

func (e *BootstrapError) Unwrap() error { return e.Err }

// DecodeParam decodes one bootstrap value the way dagster_pipes.decode_param
// does: base64, then zlib, then JSON. The result must be a JSON object
// (every Pipes params value is one). name is used in errors only.
func DecodeParam(name, value string) (map[string]json.RawMessage, error) {
	fail := func(reason string, err error) (map[string]json.RawMessage, error) {
		return nil, &BootstrapError{Param: name, Reason: reason, Err: err}
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return fail("empty", nil)
	}
	compressed, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return fail("not base64", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return fail("not zlib-compressed data", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if err == nil && len(raw) > maxDecoded {
		err = fmt.Errorf("inflates to more than %d bytes", maxDecoded)
	}
	if err != nil {
		return fail("not zlib-compressed data", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		var v any
		if json.Unmarshal(raw, &v) == nil {
			return fail(fmt.Sprintf("not a JSON object (got %s)", jsonKind(v)), nil)
		}
		return fail("not JSON", err)
	}
	if obj == nil { // the JSON value null
		return fail("not a JSON object (got null)", nil)
	}
	return obj, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	default:
		return "an object"
	}
}

func keyList(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "no keys"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return "keys " + strings.Join(keys, ", ")
}

// stringParam reads params[key] as a string (_assert_env_param_type).
func stringParam(name string, params map[string]json.RawMessage, key string) (string, error) {
	var s string
	if firstByte(params[key]) != '"' || json.Unmarshal(params[key], &s) != nil { // null unmarshals into a string as ""
		return "", &BootstrapError{Param: name, Reason: fmt.Sprintf("%q must be a string, got %s", key, string(params[key]))}
	}
	return s, nil
}

// ReadFileFunc reads a whole file, like os.ReadFile.
type ReadFileFunc func(path string) ([]byte, error)

// LoadContext decodes the context bootstrap value and loads the context it
// points to, like PipesDefaultContextLoader: {"path": FILE} first (FILE
// read with readFile), else {"data": {...}}. Other keys are ignored.
func LoadContext(contextParam string, readFile ReadFileFunc) (*Context, error) {
	name := paramName(ContextEnv, ContextFlag)
	params, err := DecodeParam(name, contextParam)
	if err != nil {
		return nil, err
	}
	var data []byte
	switch {
	case params["path"] != nil:
		path, err := stringParam(name, params, "path")
		if err != nil {
			return nil, err
		}
		if readFile == nil {
			return nil, &BootstrapError{Param: name, Reason: "context file " + path + " given, but no way to read files"}
		}
		data, err = readFile(path)
		if err != nil {
			return nil, &BootstrapError{Param: name, Reason: "reading the context file " + path, Err: err}
		}
	case params["data"] != nil:
		data = params["data"]
		if t := firstByte(data); t != '{' {
			return nil, &BootstrapError{Param: name, Reason: fmt.Sprintf(`"data" must be a JSON object, got %s`, string(data))}
		}
	default:
		return nil, &BootstrapError{Param: name, Reason: fmt.Sprintf(`unknown context loader: expected key "path" or "data", got %s`, keyList(params))}
	}
	ctx, err := ParseContext(data)
	if err != nil {
		return nil, &BootstrapError{Param: name, Reason: "bad context", Err: err}
	}
	return ctx, nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// Destination is where messages go, as the messages bootstrap value says.
type Destination struct {
	Kind     string // "path", "stdio" or "buffered_stdio"
	Path     string // for "path"
	Stream   string // "stdout" or "stderr", for the two others
	Buffered bool   // "buffered_stdio": written all at Close
}

// ParseMessagesParam decodes the messages bootstrap value, like
// PipesDefaultMessageWriter.open: {"path": FILE}, else {"stdio": STREAM},
// else {"buffered_stdio": STREAM}, STREAM being "stdout" or "stderr".
// Other keys are ignored.
func ParseMessagesParam(messagesParam string) (Destination, error) {
	name := paramName(MessagesEnv, MessagesFlag)
	params, err := DecodeParam(name, messagesParam)
	if err != nil {
		return Destination{}, err
	}
	switch {
	case params["path"] != nil:
		path, err := stringParam(name, params, "path")
		if err != nil {
			return Destination{}, err
		}
		if path == "" {
			return Destination{}, &BootstrapError{Param: name, Reason: `"path" is empty`}
		}
		return Destination{Kind: "path", Path: path}, nil
	case params["stdio"] != nil, params["buffered_stdio"] != nil:
		key := "stdio"
		if params["stdio"] == nil {
			key = "buffered_stdio"
		}
		stream, err := stringParam(name, params, key)
		if err != nil {
			return Destination{}, err
		}
		if stream != "stdout" && stream != "stderr" {
			return Destination{}, &BootstrapError{Param: name, Reason: fmt.Sprintf(`%q must be "stdout" or "stderr", got %q`, key, stream)}
		}
		return Destination{Kind: key, Stream: stream, Buffered: key == "buffered_stdio"}, nil
	default:
		return Destination{}, &BootstrapError{Param: name, Reason: fmt.Sprintf(`unknown message writer: expected key "path", "stdio" or "buffered_stdio", got %s`, keyList(params))}
	}
}

// ErrClosed is returned by a report made after Close.
var ErrClosed = errors.New("dagster pipes: session is closed")
