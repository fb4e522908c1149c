package dagster_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/chorus-elt/chorus-elt/cmd/internal/orchestrator"
)

const definitions = "example/definitions.py"

// airflowDAG is the README's Airflow DAG.
var airflowDAG = filepath.Join("..", "..", "..", "..", "testdata", "orchestrators", "airflow_dag.py")

// requirePythonEnv, set (CI sets it), makes a missing python3 a failure
// instead of a skip.
const requirePythonEnv = "CHORUS_ELT_REQUIRE_PYTHON"

func python(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv(requirePythonEnv) != "" {
			t.Fatalf("python3 not found, and %s is set", requirePythonEnv)
		}
		t.Skipf("python3 not found: the example Dagster definitions and Airflow DAG are not syntax-checked (%s=1 makes this a failure)", requirePythonEnv)
	}
	return py
}

// TestExampleDefinitionsCompile: the Dagster example and the Airflow DAG
// are valid Python (neither Dagster nor Airflow is installed here; only the
// syntax is checked). The byte code goes to a temporary directory, not next
// to the files.
func TestExampleDefinitionsCompile(t *testing.T) {
	py := python(t)
	for _, file := range []string{definitions, airflowDAG} {
		cmd := exec.Command(py, "-m", "py_compile", file)
		cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("python3 -m py_compile %s: %v\n%s", file, err, out)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(file), "__pycache__")); err == nil {
			t.Errorf("py_compile left %s/__pycache__ behind", filepath.Dir(file))
		}
	}
}

// TestExampleDeclaresTheChecks: Dagster fails a step that reports an
// undeclared check, so the example declares every check chorus-elt sends.
func TestExampleDeclaresTheChecks(t *testing.T) {
	src, err := os.ReadFile(definitions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{orchestrator.CheckNoDuplicateKeys, orchestrator.CheckNoPendingCalls, orchestrator.CheckNoAbandoned} {
		if !strings.Contains(string(src), `AssetCheckSpec("`+name+`"`) {
			t.Errorf("%s declares no AssetCheckSpec(%q, …)", definitions, name)
		}
	}
}

// TestExampleDefinitionsListEveryTable: the example's asset lists are the
// project's streams (schemas/<stream>.json) and models (sql/<model>.sql),
// so its asset keys are the ones chorus-elt reports.
func TestExampleDefinitionsListEveryTable(t *testing.T) {
	py := python(t)
	// Read the literal lists from the module's syntax tree, without importing it.
	const script = `
import ast, json, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
out = {}
for node in tree.body:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        if node.targets[0].id in ("RAW_STREAMS", "MODELS", "STAGING_SOURCES"):
            out[node.targets[0].id] = ast.literal_eval(node.value)
print(json.dumps(out))
`
	cmd := exec.Command(py, "-c", script, definitions)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var lists struct {
		RawStreams     []string            `json:"RAW_STREAMS"`
		Models         []string            `json:"MODELS"`
		StagingSources map[string][]string `json:"STAGING_SOURCES"`
	}
	if err := json.Unmarshal(out, &lists); err != nil {
		t.Fatal(err)
	}
	names := func(glob, ext string) []string {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: %v", glob, err)
		}
		var n []string
		for _, f := range files {
			n = append(n, strings.TrimSuffix(filepath.Base(f), ext))
		}
		sort.Strings(n)
		return n
	}
	sorted := func(s []string) []string {
		c := append([]string(nil), s...)
		sort.Strings(c)
		return c
	}
	if want := names(filepath.Join("..", "..", "..", "..", "schemas", "*.json"), ".json"); !reflect.DeepEqual(sorted(lists.RawStreams), want) {
		t.Errorf("RAW_STREAMS in %s:\n %v\nschemas/:\n %v", definitions, sorted(lists.RawStreams), want)
	}
	if want := names(filepath.Join("..", "..", "..", "..", "sql", "*.sql"), ".sql"); !reflect.DeepEqual(sorted(lists.Models), want) {
		t.Errorf("MODELS in %s:\n %v\nsql/:\n %v", definitions, sorted(lists.Models), want)
	}
	streams := map[string]bool{}
	for _, s := range lists.RawStreams {
		streams[s] = true
	}
	models := map[string]bool{}
	for _, m := range lists.Models {
		models[m] = true
	}
	for m, srcs := range lists.StagingSources {
		if !models[m] {
			t.Errorf("STAGING_SOURCES: %s is not a model", m)
		}
		for _, s := range srcs {
			if !streams[s] {
				t.Errorf("STAGING_SOURCES[%s]: %s is not a stream", m, s)
			}
		}
	}
}
