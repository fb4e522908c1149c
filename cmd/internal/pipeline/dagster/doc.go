// Package dagster lets a chorus-elt process that Dagster launched (through
// PipesSubprocessClient, or any Pipes client using the default context
// loader and message writer) speak the Dagster Pipes protocol: read the
// context Dagster injected (asset keys, partition window, run id, extras)
// and report logs, asset materializations and asset checks back to it.
//
// It is a Go port of the external-process half of Dagster's reference
// implementation, the dagster-pipes Python package
// (python_modules/dagster-pipes/dagster_pipes/__init__.py in
// dagster-io/dagster), limited to what a local subprocess needs: the
// default context loader, the default message writer and protocol version
// "0.1". It imports nothing outside the standard library, and it reads no
// environment variable: the caller (cmd/) does.
//
// # Bootstrap
//
// Dagster passes two values, each base64 (standard alphabet, padded) of
// zlib-compressed JSON (dagster_pipes.encode_param / decode_param, formerly
// encode_env_var / decode_env_var):
//
//	DAGSTER_PIPES_CONTEXT   environment variable, or the --dagster-pipes-context flag
//	DAGSTER_PIPES_MESSAGES  environment variable, or the --dagster-pipes-messages flag
//
// PipesSubprocessClient sets the environment variables; a client using
// PipesSession.get_bootstrap_cli_arguments passes the flags instead. The
// process is under Dagster when the context value is set (Dagster's own
// test, PipesMappingParamsLoader.is_dagster_pipes_process). A CLI wires it
// like this:
//
//	ctxParam := c.String("dagster-pipes-context")
//	if ctxParam == "" {
//		ctxParam = os.Getenv(dagster.ContextEnv)
//	}
//	msgParam := c.String("dagster-pipes-messages")
//	if msgParam == "" {
//		msgParam = os.Getenv(dagster.MessagesEnv)
//	}
//	var pipes *dagster.Session // nil: not under Dagster; every method is then a no-op
//	if ctxParam != "" {
//		pipes, err = dagster.Open(ctxParam, msgParam, os.Stdout, os.Stderr)
//		if err != nil {
//			return err // the message names the value and what was wrong with it
//		}
//	}
//	defer func() { pipes.Close(runErr) }()
//
// The decoded context value is a JSON object read like
// PipesDefaultContextLoader: {"path": FILE} (a JSON file; what
// PipesSubprocessClient uses by default) is checked first, then
// {"data": {...}} (the context inline; PipesEnvContextInjector). The
// decoded messages value is read like PipesDefaultMessageWriter:
// {"path": FILE} appends one JSON object per line to FILE (the default of
// PipesSubprocessClient), {"stdio": "stdout"|"stderr"} writes the lines to
// that stream, {"buffered_stdio": "stdout"|"stderr"} keeps them and writes
// them all at Close. Other keys are ignored, as Dagster does (for example
// include_stdio_in_messages: this package does not capture the process's
// own stdout and stderr into log_external_stream messages; the subprocess
// client shows them in the compute logs anyway). A value that is not
// base64, not zlib, not JSON, not an object, or names none of the kinds
// above is an error that says which of the two values it was and what was
// wrong.
//
// # Context
//
// [Context] has the fields of Dagster's PipesContextData (the published
// schema python_modules/dagster-pipes/json_schema/context.json). Asset keys
// are strings in Dagster's escaped user form: the parts joined with "/", a
// "/" inside a part written "\/" (AssetKey.to_escaped_user_string);
// [AssetKey] converts both ways, so ["chorus_raw", "calls"] is
// "chorus_raw/calls". The partition time window comes as two
// datetime.isoformat() strings of time-zone-aware datetimes
// ("2026-03-01T00:00:00+00:00"; build_external_execution_context_data in
// dagster/_core/pipes/context.py); [TimeWindow.Times] parses them.
//
// # Messages
//
// Every message is one line of JSON:
//
//	{"__dagster_pipes_version": "0.1", "method": M, "params": P}
//
// Dagster's handler (PipesMessageHandler.handle_message) calls a Python
// function with P as keyword arguments, so P must carry exactly the keys
// below, no more and no fewer; they are encoded from fixed structs:
//
//	opened                        {"extras": {}}                                  first
//	log                           {"message", "level"}                            level DEBUG, INFO, WARNING, ERROR or CRITICAL
//	report_asset_materialization  {"asset_key", "metadata", "data_version"}       data_version null unless set
//	report_asset_check            {"asset_key", "check_name", "passed", "severity", "metadata"}  severity WARN or ERROR
//	closed                        {} or {"exception": E}                          last
//
// E is {"message", "stack", "name", "cause", "context"}, all five always
// present: message is err.Error(), stack a list of strings (empty unless
// the error has a PipesStack() []string method), name the Go type of the
// error ("*fs.PathError"), cause the same object for the error it wraps
// (errors.Unwrap; the first one of an errors.Join) or null, context null
// (Go has no "exception raised while handling another").
//
// A metadata value is {"raw_value": V, "type": T}; the constructors ([Int],
// [Float], [Text], [JSON], [Bool], [URL], [Path], [Notebook], [Markdown],
// [Null], [Timestamp], [DagsterRun], [Asset], [TableSchema], [Table],
// [Infer]) produce the raw value each type needs on the Dagster side
// (PipesMessageHandler._resolve_metadata_value). Two details matter there:
// a float is always written with a decimal point (Dagster rejects 3 where
// it expects a float), and a timestamp is seconds since the epoch as a
// float. timestamp, table, table_schema and table_column_lineage are known
// to recent Dagster versions only; older ones fail the run on them.
//
// # Writing
//
// Every message is encoded whole before anything is written, then written
// with one Write call ending in a newline, under a mutex: Dagster tails the
// file with readline and must never see half a line. A Session is safe for
// concurrent use. Files are opened once with O_APPEND and are unbuffered,
// so each line reaches the reader as soon as it is reported; the file is
// synced and closed by Close. Report* after Close is an error; Close is
// idempotent. When messages go to stdout, nothing else may write partial
// lines to stdout at the same time.
//
// As in dagster-pipes, a report that names an asset the step does not
// target, or materializes an asset a second time, is refused before
// anything is written ([Context.Targets] tells which assets the step
// targets), and an empty asset key means the step's only asset. A check
// must also be declared on the Dagster side (check_specs of the asset),
// or Dagster fails the step when it receives the result.
//
// # Example Dagster definitions
//
// example/definitions.py declares one asset per raw table
// (["chorus_raw", stream]) and per model (["chorus", model]), all produced
// by one `chorus-elt run` per daily partition through PipesSubprocessClient,
// and the asset checks chorus-elt reports (package cmd/internal/orchestrator, which
// turns what a command did into these messages; cmd/chorus-elt wires it).
// An asset of the step that is not reported is still recorded as
// materialized, without metadata (get_results adds implicit
// materializations).
package dagster
