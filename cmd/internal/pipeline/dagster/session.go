package dagster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Level is the level of a log message: the Python logging level names
// Dagster's log manager accepts (coerce_valid_log_level), as dagster-pipes
// sends them (record.levelname).
type Level string

// The log levels.
const (
	LevelDebug    Level = "DEBUG"
	LevelInfo     Level = "INFO"
	LevelWarning  Level = "WARNING"
	LevelError    Level = "ERROR"
	LevelCritical Level = "CRITICAL"
)

// Severity is the severity of a failed asset check (AssetCheckSeverity).
type Severity string

// The check severities.
const (
	SeverityWarn  Severity = "WARN"
	SeverityError Severity = "ERROR"
)

// Materialization is what ReportMaterialization sends.
type Materialization struct {
	// AssetKey is the materialized asset; empty means the step's only
	// asset.
	AssetKey AssetKey
	Metadata Metadata
	// DataVersion is sent as null when empty.
	DataVersion string
}

// CheckResult is what ReportCheck sends.
type CheckResult struct {
	// AssetKey is the checked asset; empty means the step's only asset.
	AssetKey  AssetKey
	CheckName string
	Passed    bool
	// Severity defaults to SeverityError (as in dagster-pipes).
	Severity Severity
	Metadata Metadata
}

// Options configure OpenWith. Zero fields take the defaults of Open.
type Options struct {
	Stdout io.Writer // for {"stdio": "stdout"}; default os.Stdout
	Stderr io.Writer // for {"stdio": "stderr"}; default os.Stderr
	// ReadFile reads the context file of {"path": FILE}; default os.ReadFile.
	ReadFile ReadFileFunc
	// OpenAppend opens the messages file of {"path": FILE} for appending;
	// default os.OpenFile with O_WRONLY|O_APPEND|O_CREATE. Close syncs the
	// file when it has a Sync() error method.
	OpenAppend func(path string) (io.WriteCloser, error)
}

// Session is an open Pipes connection. All methods are safe for concurrent
// use, and they do nothing on a nil *Session (the process is not under
// Dagster).
type Session struct {
	ctx *Context

	mu           sync.Mutex
	w            io.Writer
	closer       io.Closer // the messages file, closed by Close
	buffered     *bytes.Buffer
	closed       bool
	materialized map[string]bool
}

// Open starts a session from the two raw bootstrap values (from the
// environment or the command line) and sends "opened". Messages for
// {"stdio": …} go to stdout or stderr; files are read and written with the
// os package.
func Open(contextParam, messagesParam string, stdout, stderr io.Writer) (*Session, error) {
	return OpenWith(contextParam, messagesParam, Options{Stdout: stdout, Stderr: stderr})
}

// OpenWith is Open with options.
func OpenWith(contextParam, messagesParam string, opt Options) (*Session, error) {
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Stderr == nil {
		opt.Stderr = os.Stderr
	}
	if opt.ReadFile == nil {
		opt.ReadFile = os.ReadFile
	}
	if opt.OpenAppend == nil {
		opt.OpenAppend = func(path string) (io.WriteCloser, error) {
			return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
		}
	}
	ctx, err := LoadContext(contextParam, opt.ReadFile)
	if err != nil {
		return nil, err
	}
	dest, err := ParseMessagesParam(messagesParam)
	if err != nil {
		return nil, err
	}
	s := &Session{ctx: ctx, materialized: map[string]bool{}}
	switch dest.Kind {
	case "path":
		f, err := opt.OpenAppend(dest.Path)
		if err != nil {
			return nil, &BootstrapError{Param: paramName(MessagesEnv, MessagesFlag), Reason: "opening the messages file " + dest.Path, Err: err}
		}
		s.w, s.closer = f, f
	default:
		s.w = opt.Stdout
		if dest.Stream == "stderr" {
			s.w = opt.Stderr
		}
		if dest.Buffered {
			s.buffered = &bytes.Buffer{}
		}
	}
	if err := send(s, "opened", openedParams{Extras: map[string]any{}}); err != nil {
		if s.closer != nil {
			s.closer.Close()
		}
		return nil, err
	}
	return s, nil
}

// Context returns what Dagster said about the step (nil on a nil Session).
func (s *Session) Context() *Context {
	if s == nil {
		return nil
	}
	return s.ctx
}

// The params of each method, with exactly the keys Dagster's handlers take.

type message[P any] struct {
	Version string `json:"__dagster_pipes_version"`
	Method  string `json:"method"`
	Params  P      `json:"params"`
}

type openedParams struct {
	Extras map[string]any `json:"extras"`
}

type logParams struct {
	Message string `json:"message"`
	Level   Level  `json:"level"`
}

type materializationParams struct {
	AssetKey    string   `json:"asset_key"`
	Metadata    Metadata `json:"metadata"`
	DataVersion *string  `json:"data_version"`
}

type checkParams struct {
	AssetKey  string   `json:"asset_key"`
	CheckName string   `json:"check_name"`
	Passed    bool     `json:"passed"`
	Severity  Severity `json:"severity"`
	Metadata  Metadata `json:"metadata"`
}

type closedParams struct{}

type closedWithException struct {
	Exception *pipesException `json:"exception"`
}

// pipesException is PipesException: every key always present.
type pipesException struct {
	Message string          `json:"message"`
	Stack   []string        `json:"stack"`
	Name    *string         `json:"name"`
	Cause   *pipesException `json:"cause"`
	Context *pipesException `json:"context"`
}

// encode renders one message line, newline included.
func encode[P any](method string, params P) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // Encode appends the newline
	enc.SetEscapeHTML(false)
	if err := enc.Encode(message[P]{Version: ProtocolVersion, Method: method, Params: params}); err != nil {
		return nil, fmt.Errorf("dagster pipes: encoding %s: %w", method, err)
	}
	return buf.Bytes(), nil
}

// send encodes and writes one message; the caller must not hold s.mu.
func send[P any](s *Session, method string, params P) error {
	line, err := encode(method, params)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.writeLocked(method, line)
}

// writeLocked writes one whole line with one Write call.
func (s *Session) writeLocked(method string, line []byte) error {
	if s.buffered != nil {
		s.buffered.Write(line)
		return nil
	}
	n, err := s.w.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("dagster pipes: writing %s: %w", method, err)
	}
	return nil
}

// Log sends a log message that Dagster shows in the run's event log.
func (s *Session) Log(level Level, message string) error {
	if s == nil {
		return nil
	}
	switch level {
	case LevelDebug, LevelInfo, LevelWarning, LevelError, LevelCritical:
	default:
		return fmt.Errorf("dagster pipes: log level %q is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL", level)
	}
	return send(s, "log", logParams{Message: message, Level: level})
}

// resolveKey checks an asset key against the step's assets, as
// dagster_pipes._resolve_optionally_passed_asset_key does.
func (s *Session) resolveKey(key AssetKey, method string) (string, error) {
	targeted := s.ctx.AssetKeys
	if len(key) == 0 {
		if len(targeted) == 1 {
			return targeted[0], nil
		}
		if len(targeted) == 0 {
			return "", fmt.Errorf("dagster pipes: %s without an asset key: the step targets no asset", method)
		}
		return "", fmt.Errorf("dagster pipes: %s without an asset key: the step targets %d assets", method, len(targeted))
	}
	k := key.String()
	if len(targeted) > 0 && !s.ctx.Targets(key) {
		return "", fmt.Errorf("dagster pipes: %s: the step does not target asset %q (it targets %s)", method, k, strings.Join(targeted, ", "))
	}
	return k, nil
}

func nonNil(m Metadata) Metadata {
	if m == nil {
		return Metadata{}
	}
	return m
}

// ReportMaterialization tells Dagster an asset was materialized. Each asset
// can be reported once per session.
func (s *Session) ReportMaterialization(m Materialization) error {
	if s == nil {
		return nil
	}
	const method = "report_asset_materialization"
	key, err := s.resolveKey(m.AssetKey, method)
	if err != nil {
		return err
	}
	p := materializationParams{AssetKey: key, Metadata: nonNil(m.Metadata)}
	if m.DataVersion != "" {
		v := m.DataVersion
		p.DataVersion = &v
	}
	line, err := encode(method, p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.materialized[key] {
		return fmt.Errorf("dagster pipes: %s: asset %q was already reported materialized", method, key)
	}
	if err := s.writeLocked(method, line); err != nil {
		return err
	}
	s.materialized[key] = true
	return nil
}

// ReportCheck tells Dagster the result of an asset check. The check must
// be declared on the Dagster side (check_specs).
func (s *Session) ReportCheck(c CheckResult) error {
	if s == nil {
		return nil
	}
	const method = "report_asset_check"
	key, err := s.resolveKey(c.AssetKey, method)
	if err != nil {
		return err
	}
	if c.CheckName == "" {
		return fmt.Errorf("dagster pipes: %s: empty check name", method)
	}
	sev := c.Severity
	if sev == "" {
		sev = SeverityError
	}
	if sev != SeverityWarn && sev != SeverityError {
		return fmt.Errorf("dagster pipes: %s: severity %q is not WARN or ERROR", method, sev)
	}
	return send(s, method, checkParams{AssetKey: key, CheckName: c.CheckName, Passed: c.Passed, Severity: sev, Metadata: nonNil(c.Metadata)})
}

// Close sends "closed" — with the error as the exception when err is not
// nil — then flushes buffered messages and syncs and closes the messages
// file. Later calls do nothing and return nil.
func (s *Session) Close(err error) error {
	if s == nil {
		return nil
	}
	var line []byte
	var encErr error
	if err == nil {
		line, encErr = encode("closed", closedParams{})
	} else {
		line, encErr = encode("closed", closedWithException{Exception: exceptionOf(err, 0)})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if encErr != nil {
		errs = append(errs, encErr)
	} else if werr := s.writeLocked("closed", line); werr != nil {
		errs = append(errs, werr)
	}
	if s.buffered != nil {
		if _, werr := s.w.Write(s.buffered.Bytes()); werr != nil {
			errs = append(errs, fmt.Errorf("dagster pipes: writing buffered messages: %w", werr))
		}
		s.buffered = nil
	}
	if s.closer != nil {
		if syncer, ok := s.closer.(interface{ Sync() error }); ok {
			if serr := syncer.Sync(); serr != nil {
				errs = append(errs, fmt.Errorf("dagster pipes: syncing the messages file: %w", serr))
			}
		}
		if cerr := s.closer.Close(); cerr != nil {
			errs = append(errs, fmt.Errorf("dagster pipes: closing the messages file: %w", cerr))
		}
	}
	return errors.Join(errs...)
}

// maxCauseDepth bounds the cause chain sent for a Close error.
const maxCauseDepth = 16

// exceptionOf converts a Go error to a PipesException: the error's text,
// its Go type as the name, what it wraps as the cause.
func exceptionOf(err error, depth int) *pipesException {
	name := fmt.Sprintf("%T", err)
	e := &pipesException{Message: err.Error(), Stack: []string{}, Name: &name}
	if st, ok := err.(interface{ PipesStack() []string }); ok {
		if lines := st.PipesStack(); lines != nil {
			e.Stack = lines
		}
	}
	if depth+1 >= maxCauseDepth {
		return e
	}
	var cause error
	switch u := err.(type) { //nolint:errorlint // one level of the chain at a time, by design
	case interface{ Unwrap() error }:
		cause = u.Unwrap()
	case interface{ Unwrap() []error }:
		for _, c := range u.Unwrap() {
			if c != nil {
				cause = c
				break
			}
		}
	}
	if cause != nil {
		e.Cause = exceptionOf(cause, depth+1)
	}
	return e
}
