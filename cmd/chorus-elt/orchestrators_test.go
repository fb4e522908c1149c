package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline/dagster/pipestest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest"
	"github.com/chorus-elt/chorus-elt/connector/chorustest/testkit"
	"github.com/chorus-elt/chorus-elt/schemas"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// The orchestrator side of Dagster Pipes, as PipesSubprocessClient plays
// it: the context in a file, the messages to a file, both bootstrap values
// base64 of zlib-compressed JSON in the environment (written here, not with
// the package under test); every message read back is validated against
// Dagster's published schemas (testdata/dagster-pipes) and the exact
// keyword parameters of Dagster's handlers.

func pipesSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	return pipestest.LoadSchema(t, filepath.Join("..", "..", "testdata", "dagster-pipes", name))
}

// pipesMessage is one message line, decoded.
type pipesMessage struct {
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
}

// The keyword parameters of Dagster's handlers (PipesMessageHandler).
var pipesParams = map[string][]string{
	"opened":                       {"extras"},
	"log":                          {"level", "message"},
	"report_asset_materialization": {"asset_key", "data_version", "metadata"},
	"report_asset_check":           {"asset_key", "check_name", "metadata", "passed", "severity"},
}

// readPipesMessages reads the messages file, validates every line and
// returns the messages: opened first, closed last, each once.
func readPipesMessages(t *testing.T, path string) []pipesMessage {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	noToken(t, "the Pipes messages", string(data))
	sch := pipesSchema(t, "message.json")
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var msgs []pipesMessage
	for i, line := range lines {
		pipestest.Validate(t, sch, "message "+line, []byte(line))
		var m pipesMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		keys := sortedKeys(m.Params)
		switch want, ok := pipesParams[m.Method]; {
		case m.Method == "closed":
			if i != len(lines)-1 || (len(keys) != 0 && !reflect.DeepEqual(keys, []string{"exception"})) {
				t.Errorf("closed at %d of %d with params %v", i+1, len(lines), keys)
			}
		case !ok:
			t.Errorf("unknown method %q", m.Method)
		case !reflect.DeepEqual(keys, want):
			t.Errorf("%s params %v, want exactly %v", m.Method, keys, want)
		}
		if (i == 0) != (m.Method == "opened") {
			t.Errorf("message %d is %s", i+1, m.Method)
		}
		msgs = append(msgs, m)
	}
	if last := msgs[len(msgs)-1].Method; last != "closed" {
		t.Errorf("last message %s, want closed", last)
	}
	return msgs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pipesContext is PipesContextData for a daily partition of the example's
// multi-asset: every raw table and every model (the files of sql/).
func pipesContext(t *testing.T, start, end time.Time) map[string]any {
	t.Helper()
	keys := everyAsset(t)
	versions := map[string]any{}
	for _, k := range keys {
		versions[k] = nil
	}
	return map[string]any{
		"asset_keys": keys, "code_version_by_asset_key": versions, "provenance_by_asset_key": versions,
		"partition_key": start.Format(time.DateOnly), "partition_key_range": map[string]string{"start": start.Format(time.DateOnly), "end": start.Format(time.DateOnly)},
		"partition_time_window": map[string]string{"start": start.Format("2006-01-02T15:04:05-07:00"), "end": end.Format("2006-01-02T15:04:05-07:00")},
		"run_id":                "0d4a1b52-0000-4000-8000-00000000000c", "job_name": "__ASSET_JOB", "retry_number": 0, "extras": map[string]any{},
	}
}

// everyAsset is the asset key of every raw table (schemas/) and every
// model (sql/), sorted.
func everyAsset(t *testing.T) []string {
	t.Helper()
	var keys []string
	for _, s := range schemas.Names() {
		keys = append(keys, "chorus_raw/"+s)
	}
	for _, m := range sqlModels(t) {
		keys = append(keys, "chorus/"+m)
	}
	sort.Strings(keys)
	return keys
}

func sqlModels(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "sql", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sql/*.sql: %v", err)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".sql"))
	}
	return names
}

// startPipes writes the context file and sets the two bootstrap variables
// as PipesSubprocessClient does; it returns the messages file.
func startPipes(t *testing.T, dir string, ctxData map[string]any) string {
	t.Helper()
	ctxFile, msgFile := filepath.Join(dir, "pipes-context.json"), filepath.Join(dir, "pipes-messages.jsonl")
	js, _ := json.Marshal(ctxData)
	pipestest.Validate(t, pipesSchema(t, "context.json"), "the context", js)
	if err := os.WriteFile(ctxFile, js, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DAGSTER_PIPES_CONTEXT", pipestest.EncodeParam(t, map[string]any{"path": ctxFile}))
	t.Setenv("DAGSTER_PIPES_MESSAGES", pipestest.EncodeParam(t, map[string]any{"path": msgFile, "include_stdio_in_messages": false}))
	return msgFile
}

// TestDagsterPipesRun: `run` under Dagster syncs the partition window the
// context gives, and reports one materialization per raw table and model
// whose row count is the warehouse's, the data checks, logs, and closed.
func TestDagsterPipesRun(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 12, Calls: 40, Token: cliToken, ProcessingDelay: 4 * 24 * time.Hour})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := filepath.Join(dir, "w.duckdb")
	end := tenant.Now().Truncate(24 * time.Hour)
	start := end.Add(-20 * 24 * time.Hour)
	msgFile := startPipes(t, dir, pipesContext(t, start, end))

	code, stdout, stderr := runCLI(t, cliOpts{}, "run", "--config", cfg, "--warehouse", "duckdb:"+db, "--out", filepath.Join(dir, "data"))
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	msgs := readPipesMessages(t, msgFile)
	if closed := msgs[len(msgs)-1]; len(closed.Params) != 0 {
		t.Errorf("closed with %s", closed.Params["exception"])
	}

	w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	countOf := func(table string) int64 {
		rows, err := w.Query(context.Background(), "SELECT COUNT(*) AS n FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		return rows[0]["n"].(int64)
	}

	// The window: the calls the tenant recorded in it, no other.
	inWindow, pending := 0, 0
	for _, e := range tenant.RecordedCalls() {
		if !e.StartedAt.Before(start) && e.StartedAt.Before(end) {
			inWindow++
			if tenant.Processing(e.ID) {
				pending++
			}
		}
	}
	if n := countOf("chorus_raw.calls"); n != int64(inWindow) || n == 0 {
		t.Errorf("chorus_raw.calls has %d rows; the tenant recorded %d calls in the window", n, inWindow)
	}

	materialized := map[string]int64{}
	checks := map[string]map[string]json.RawMessage{}
	logs := 0
	for _, m := range msgs {
		var key string
		if raw, ok := m.Params["asset_key"]; ok {
			mustDecode(t, raw, &key)
		}
		switch m.Method {
		case "log":
			logs++
		case "report_asset_materialization":
			var md map[string]struct {
				Raw  json.RawMessage `json:"raw_value"`
				Type string          `json:"type"`
			}
			if err := json.Unmarshal(m.Params["metadata"], &md); err != nil {
				t.Fatal(err)
			}
			rc, tn := md["dagster/row_count"], md["dagster/table_name"]
			var n int64
			var table string
			if rc.Type != "int" || json.Unmarshal(rc.Raw, &n) != nil || tn.Type != "text" || json.Unmarshal(tn.Raw, &table) != nil {
				t.Errorf("%s: row count %s, table name %s", key, rc.Raw, tn.Raw)
			}
			if want := strings.Replace(key, "/", ".", 1); table != want {
				t.Errorf("%s: table name %q, want %q", key, table, want)
			}
			if _, dup := materialized[key]; dup {
				t.Errorf("%s materialized twice", key)
			}
			materialized[key] = n
			if strings.HasPrefix(key, "chorus_raw/") {
				for k, v := range map[string]string{"window_start": start.Format(time.RFC3339), "window_end": end.Format(time.RFC3339)} {
					if got := string(md[k].Raw); got != `"`+v+`"` {
						t.Errorf("%s: %s %s, want the partition window's %s", key, k, got, v)
					}
				}
				for _, k := range []string{"rows_inserted", "rows_updated", "rows_extracted"} {
					if md[k].Type != "int" {
						t.Errorf("%s: no %s in %s", key, k, m.Params["metadata"])
					}
				}
			}
		case "report_asset_check":
			var name string
			mustDecode(t, m.Params["check_name"], &name)
			checks[key+" "+name] = m.Params
		}
	}
	if logs == 0 {
		t.Error("no log message")
	}
	if got, want := sortedKeys(materialized), everyAsset(t); !reflect.DeepEqual(got, want) {
		t.Errorf("materialized:\n %v\nwant every raw table and model:\n %v", got, want)
	}
	for key, n := range materialized {
		if c := countOf(strings.Replace(key, "/", ".", 1)); c != n {
			t.Errorf("%s: dagster/row_count %d, COUNT(*) %d", key, n, c)
		}
	}

	// The checks: no duplicate key in any keyed raw table; the pending
	// calls are the tenant's calls of the window still processing.
	for _, st := range schemas.All() {
		c := checks["chorus_raw/"+st.Name+" no_duplicate_keys"]
		if len(st.Key) > 0 && (c == nil || string(c["passed"]) != "true" || string(c["severity"]) != `"ERROR"`) {
			t.Errorf("%s no_duplicate_keys: %v", st.Name, c)
		}
	}
	pc := checks["chorus_raw/calls no_pending_calls"]
	if pending == 0 || pc == nil || string(pc["passed"]) != "false" || string(pc["severity"]) != `"WARN"` ||
		!strings.Contains(string(pc["metadata"]), `"pending_calls":{"raw_value":`+itoa(pending)+`,"type":"int"}`) {
		t.Errorf("no_pending_calls (tenant: %d processing): %v", pending, pc)
	}
	if ac := checks["chorus_raw/calls no_abandoned_calls"]; ac == nil || string(ac["passed"]) != "true" {
		t.Errorf("no_abandoned_calls: %v", ac)
	}
	if !json.Valid([]byte(lastLine(stdout))) {
		t.Errorf("stdout's last line is not the summary: %q", lastLine(stdout))
	}
}

func mustDecode(t *testing.T, raw json.RawMessage, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// runMerged runs the CLI with stdout and stderr merged into one stream, as
// Airflow's BashOperator reads them.
func runMerged(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var s cliStream
	code := run(context.Background(), nil, append([]string{"chorus-elt", "--log-format", "json", "--log-level", "debug"}, args...), &s, &s)
	if s.replaced > 0 {
		t.Errorf("the token filter removed the token %d times", s.replaced)
	}
	noToken(t, "the merged output", s.raw.String())
	return code, s.filtered.String()
}

// summaryLine decodes the last line of out: the summary of command, not a
// log record.
func summaryLine(t *testing.T, command, out string) map[string]any {
	t.Helper()
	var sum map[string]any
	last := lastLine(out)
	if err := json.Unmarshal([]byte(last), &sum); err != nil || sum["command"] != command || sum["msg"] != nil || sum["level"] != nil {
		t.Fatalf("%s: the last line is not its summary: %q (%v)\n%s", command, last, err, out)
	}
	return sum
}

// TestSummaryIsLastLine: for every command with a summary, the JSON
// summary is the last line of stdout and stderr merged, after every log
// line (debug included) — what BashOperator pushes to XCom.
func TestSummaryIsLastLine(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 5, Calls: 15, Token: cliToken})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	out, db := filepath.Join(dir, "x"), "duckdb:"+filepath.Join(dir, "w.duckdb")
	for _, c := range []struct {
		command string
		args    []string
	}{
		{"extract", []string{"--config", cfg, "--out", out}},
		{"load", []string{"--warehouse", db, "--from", out}},
		{"transform", []string{"--warehouse", db}},
		{"run", []string{"--config", cfg, "--warehouse", db, "--out", filepath.Join(dir, "r")}},
	} {
		code, merged := runMerged(t, append([]string{c.command}, c.args...)...)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s", c.command, code, merged)
		}
		if strings.Count(merged, "\n") < 2 {
			t.Errorf("%s: %d lines; want log lines before the summary", c.command, strings.Count(merged, "\n"))
		}
		summaryLine(t, c.command, merged)
	}
}

// TestSummaryFile: --summary-file holds the summary printed last on
// success, and the error on failure (the command still fails).
func TestSummaryFile(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 6, Calls: 10, Token: cliToken})
	dir := t.TempDir()
	file := filepath.Join(dir, "xcom", "return.json")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	db := "duckdb:" + filepath.Join(dir, "w.duckdb")

	code, merged := runMerged(t, "run", "--config", writeConfig(t, dir, srv.URL, cliToken, ""), "--warehouse", db, "--summary-file", file)
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, merged)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != lastLine(merged)+"\n" {
		t.Errorf("summary file:\n%s\nlast line:\n%s", got, lastLine(merged))
	}
	summaryLine(t, "run", string(got))

	// A failure: the tenant refuses the token.
	badDir := t.TempDir()
	code, merged = runMerged(t, "run", "--config", writeConfig(t, badDir, srv.URL, "wrong-token-123", ""), "--warehouse", db, "--summary-file", file)
	if code == exitOK {
		t.Fatalf("run with a refused token: exit 0\n%s", merged)
	}
	got, _ = os.ReadFile(file)
	var sum map[string]any
	if err := json.Unmarshal(got, &sum); err != nil || sum["command"] != "run" || !strings.Contains(sum["error"].(string), "401") {
		t.Errorf("summary file after the failure: %s (%v)\noutput:\n%s", got, err, merged)
	}
	if strings.Contains(string(got), "wrong-token-123") {
		t.Errorf("the token is in the summary file: %s", got)
	}
}

// TestSkipExitCode: with --skip-exit-code N, a run that finds nothing new
// exits N; without the flag it exits 0; a run with new data exits 0.
func TestSkipExitCode(t *testing.T) {
	srv, tenant := testkit.NewServer(t, chorustest.Options{Seed: 7, Calls: 20, Token: cliToken, ProcessingDelay: 4 * 24 * time.Hour})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	db := filepath.Join(dir, "w.duckdb")
	args := []string{"run", "--config", cfg, "--warehouse", "duckdb:" + db}
	var rows int64
	skip := append(append([]string{}, args...), "--skip-exit-code", "99")
	for i, c := range []struct {
		args    []string
		advance time.Duration // tenant clock moved before the run
		want    int
	}{
		{skip, 0, exitOK},                  // first run: everything is new
		{skip, 0, 99},                      // nothing new
		{args, 0, exitOK},                  // nothing new, no flag
		{skip, 5 * 24 * time.Hour, exitOK}, // the pending transcripts are ready
	} {
		if c.advance > 0 {
			tenant.Advance(c.advance)
		}
		code, merged := runMerged(t, c.args...)
		if code != c.want {
			t.Fatalf("run %d: exit %d, want %d\n%s", i+1, code, c.want, merged)
		}
		summaryLine(t, "run", merged)
		// The ground truth: did the raw tables gain or lose rows?
		n := rawRows(t, db)
		if changed := n != rows; changed != (i == 0 || c.advance > 0) {
			t.Errorf("run %d: raw rows %d, before %d", i+1, n, rows)
		}
		rows = n
	}
}

// rawRows is the number of rows of every raw table of a DuckDB file.
func rawRows(t *testing.T, db string) int64 {
	t.Helper()
	w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var total int64
	for _, s := range schemas.Names() {
		r, err := w.Query(context.Background(), "SELECT COUNT(*) AS n FROM chorus_raw."+s)
		if err != nil {
			t.Fatal(err)
		}
		total += r[0]["n"].(int64)
	}
	return total
}

// materializations returns the row count each materialization reports, by
// asset key.
func materializations(t *testing.T, msgs []pipesMessage) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, m := range msgs {
		if m.Method != "report_asset_materialization" {
			continue
		}
		var p struct {
			Key      string `json:"asset_key"`
			Metadata map[string]struct {
				Raw json.RawMessage `json:"raw_value"`
			} `json:"metadata"`
		}
		js, _ := json.Marshal(m.Params)
		if err := json.Unmarshal(js, &p); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := json.Unmarshal(p.Metadata["dagster/row_count"].Raw, &n); err != nil {
			t.Errorf("%s: dagster/row_count %s", p.Key, p.Metadata["dagster/row_count"].Raw)
		}
		out[p.Key] = n
	}
	return out
}

func methods(msgs []pipesMessage) map[string]int {
	n := map[string]int{}
	for _, m := range msgs {
		n[m.Method]++
	}
	return n
}

// TestDagsterPipesCommands: extract, load and transform under Dagster
// (messages to a file, or to stderr as {"stdio": "stderr"} asks) report
// what each did; a failing run closes with the exception.
func TestDagsterPipesCommands(t *testing.T) {
	srv, _ := testkit.NewServer(t, chorustest.Options{Seed: 9, Calls: 15, Token: cliToken})
	dir := t.TempDir()
	cfg := writeConfig(t, dir, srv.URL, cliToken, "")
	out, db := filepath.Join(dir, "x"), filepath.Join(dir, "w.duckdb")
	ctxData := pipesContext(t, time.Now(), time.Now())
	ctxData["partition_time_window"], ctxData["partition_key"], ctxData["partition_key_range"] = nil, nil, nil
	msgFile := startPipes(t, dir, ctxData)
	raw := map[string]bool{}
	for _, k := range everyAsset(t) {
		raw[k] = strings.HasPrefix(k, "chorus_raw/")
	}

	// extract, messages on stderr: no table is loaded; the calls checks.
	t.Setenv("DAGSTER_PIPES_MESSAGES", pipestest.EncodeParam(t, map[string]any{"stdio": "stderr"}))
	code, merged := runMerged(t, "extract", "--config", cfg, "--out", out)
	if code != exitOK {
		t.Fatalf("extract: exit %d\n%s", code, merged)
	}
	summaryLine(t, "extract", merged)
	var pipesLines []string
	for _, l := range strings.Split(merged, "\n") {
		if strings.HasPrefix(l, `{"__dagster_pipes_version"`) {
			pipesLines = append(pipesLines, l)
		}
	}
	stderrFile := filepath.Join(dir, "stderr-messages")
	if err := os.WriteFile(stderrFile, []byte(strings.Join(pipesLines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := methods(readPipesMessages(t, stderrFile)); n["report_asset_materialization"] != 0 || n["report_asset_check"] != 2 || n["log"] == 0 {
		t.Errorf("extract sent %v", n)
	}

	// load and transform, messages to the file.
	t.Setenv("DAGSTER_PIPES_MESSAGES", pipestest.EncodeParam(t, map[string]any{"path": msgFile}))
	w := func() warehouse.Warehouse {
		w, err := warehouse.Open(context.Background(), "duckdb:"+db, warehouse.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for _, c := range []struct {
		args []string
		raw  bool // which assets it materializes: raw tables or models
	}{
		{[]string{"load", "--warehouse", "duckdb:" + db, "--from", out}, true},
		{[]string{"transform", "--warehouse", "duckdb:" + db}, false},
	} {
		os.Remove(msgFile)
		if code, _, stderr := runCLI(t, cliOpts{}, c.args...); code != exitOK {
			t.Fatalf("%s: exit %d\n%s", c.args[0], code, stderr)
		}
		got := materializations(t, readPipesMessages(t, msgFile))
		wh := w()
		for k, isRaw := range raw {
			n, ok := got[k]
			if ok != (isRaw == c.raw) {
				t.Errorf("%s: materialized %s: %v", c.args[0], k, ok)
				continue
			}
			if !ok {
				continue
			}
			rows, err := wh.Query(context.Background(), "SELECT COUNT(*) AS n FROM "+strings.Replace(k, "/", ".", 1))
			if err != nil {
				t.Fatal(err)
			}
			if c := rows[0]["n"].(int64); c != n {
				t.Errorf("%s: dagster/row_count %d, COUNT(*) %d", k, n, c)
			}
		}
		wh.Close()
	}

	// A failing run: closed carries the exception, all five keys.
	os.Remove(msgFile)
	bad := writeConfig(t, t.TempDir(), srv.URL, "refused-token-1", "")
	if code, _, _ := runCLI(t, cliOpts{}, "run", "--config", bad, "--warehouse", "duckdb:"+db, "--out", out); code == exitOK {
		t.Fatal("run with a refused token: exit 0")
	}
	msgs := readPipesMessages(t, msgFile)
	var exc map[string]json.RawMessage
	mustDecode(t, msgs[len(msgs)-1].Params["exception"], &exc)
	if keys := sortedKeys(exc); !reflect.DeepEqual(keys, []string{"cause", "context", "message", "name", "stack"}) || !strings.Contains(string(exc["message"]), "401") {
		t.Errorf("closed: %s", msgs[len(msgs)-1].Params)
	}
	if strings.Contains(string(exc["message"]), "refused-token-1") {
		t.Errorf("the token is in the exception: %s", exc["message"])
	}
}
