package warehouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chorus-elt/chorus-elt/connector/streamrows"
)

// A DuckDB load appends the rows of new keys straight from the files and
// sends only the others (keys the table holds, keys the files repeat)
// through staging and MERGE. The tables and the counts must be exactly
// those of staging every row.
func TestAppendMatchesStaging(t *testing.T) {
	ctx := context.Background()
	s1, s2, s3 := "20260301T100000Z-aaaaaa", "20260302T100000Z-bbbbbb", "20260303T100000Z-cccccc"
	e1, e2, e3 := t0, t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	// Each sync is its own commit, loaded in its own transaction.
	syncs := []struct {
		id    string
		write func(dir string)
	}{
		{s1, func(dir string) {
			writeStream(t, dir, s1, "calls", []streamrows.Row{callRow("c1", t0, "one", e1, s1), callRow("c2", t0, "two", e1, s1)})
			writeStream(t, dir, s1, "utterances", append(uttRows("c1", 20, "first", e1, s1), uttRows("c2", 10, "first", e1, s1)...))
		}},
		{s2, func(dir string) {
			// c2 read again (more utterances: existing keys and new keys of
			// a known call), c3 new but written twice in the file (the
			// later row of a tie wins), c4 new and plain.
			rows := uttRows("c2", 14, "second", e2, s2)
			rows = append(rows, uttRows("c3", 5, "dup early", e2, s2)...)
			rows = append(rows, uttRows("c3", 5, "dup late", e2, s2)...)
			rows = append(rows, uttRows("c4", 7, "second", e2, s2)...)
			// An older version of c1's first utterance: the table keeps its own.
			old := uttRows("c1", 1, "stale", e1.Add(-time.Hour), s2)
			rows = append(rows, old...)
			writeStream(t, dir, s2, "utterances", rows)
			writeStream(t, dir, s2, "calls", []streamrows.Row{callRow("c3", t0, "three", e2, s2), callRow("c4", t0, "four", e2, s2)})
		}},
		{s3, func(dir string) {
			// Only new calls, one of them with an utterance repeated with a
			// newer _extracted_at earlier in the file.
			rows := uttRows("c5", 3, "third", e3, s3)
			newer := uttRows("c5", 1, "third newer", e3.Add(time.Minute), s3)
			rows = append(newer, rows...)
			rows = append(rows, uttRows("c6", 4, "third", e3, s3)...)
			writeStream(t, dir, s3, "utterances", rows)
			writeStream(t, dir, s3, "calls", []streamrows.Row{callRow("c5", t0, "five", e3, s3), callRow("c6", t0, "six", e3, s3)})
		}},
	}
	type outcome struct {
		dump   string
		counts []string
	}
	load := func(stageAll bool, oneLoad bool) outcome {
		dir := t.TempDir()
		w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{stageAll: stageAll})
		defer w.Close()
		var out outcome
		for i, s := range syncs {
			s.write(dir)
			if oneLoad && i < len(syncs)-1 {
				continue
			}
			res, err := w.Load(ctx, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"calls", "utterances"} {
				r := res.Streams[name]
				if r == nil {
					continue
				}
				out.counts = append(out.counts, fmt.Sprintf("%s %s: read %d inserted %d updated %d", s.id, name, r.RowsRead, r.Inserted, r.Updated))
			}
		}
		out.dump = dump(t, w)
		return out
	}
	for _, oneLoad := range []bool{false, true} {
		t.Run(fmt.Sprintf("one load %v", oneLoad), func(t *testing.T) {
			want, got := load(true, oneLoad), load(false, oneLoad)
			if got.dump != want.dump {
				t.Errorf("tables differ from staging every row:\n%s", diffLines(want.dump, got.dump))
			}
			if g, w := strings.Join(got.counts, "\n"), strings.Join(want.counts, "\n"); g != w {
				t.Errorf("counts:\n%s\nwant (staging every row):\n%s", g, w)
			}
			for _, must := range []string{"text=stale", "text=dup early", "text=third c5 #0"} {
				if strings.Contains(got.dump, must) {
					t.Errorf("the table keeps a losing version (%s)", must)
				}
			}
			for _, must := range []string{"text=dup late c3 #4", "text=third newer c5 #0", "text=second c2 #13", "text=first c1 #0"} {
				if !strings.Contains(got.dump, must) {
					t.Errorf("the table lacks %s", must)
				}
			}
		})
	}
}

// A commit's rows of new calls never reach the staging table: a back-fill's
// commit is appended from its files.
func TestAppendSkipsStaging(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := "20260301T100000Z-aaaaaa"
	writeStream(t, dir, s1, "calls", []streamrows.Row{callRow("c1", t0, "one", t0, s1)})
	writeStream(t, dir, s1, "utterances", uttRows("c1", 30, "hello", t0, s1))
	var staged []string
	w := openDuck(t, filepath.Join(t.TempDir(), "w.duckdb"), Options{failpoint: func(p string) error {
		staged = append(staged, p)
		return nil
	}})
	defer w.Close()
	res, err := w.Load(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Streams["utterances"]; r.Inserted != 30 || r.Updated != 0 {
		t.Fatalf("utterances: %+v", r)
	}
	if n := count(t, w, "SELECT count(*) FROM chorus_raw.utterances"); n != 30 {
		t.Fatalf("%d utterances", n)
	}
	if !strings.Contains(strings.Join(staged, " "), "staged:utterances") {
		t.Fatalf("failpoints %v: the append must pass the staged point too (crash tests rely on it)", staged)
	}
	// The temporary tables are gone with the transaction's end.
	rows, err := w.Query(ctx, "SELECT table_name FROM duckdb_tables() WHERE temporary")
	if err != nil || len(rows) != 0 {
		t.Fatalf("temporary tables left: %v %v", rows, err)
	}
}

// A file opened read-only is neither created nor written, and two readers
// may hold it at once.
func TestReadOnlyOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.duckdb")
	if _, err := Open(ctx, "duckdb:"+path, Options{ReadOnly: true}); err == nil {
		t.Fatal("a missing file opened read-only")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a read-only open created the file")
	}
	dir := t.TempDir()
	fixture(t, dir)
	w := openDuck(t, path, Options{})
	if _, err := w.Load(ctx, dir, nil); err != nil {
		t.Fatal(err)
	}
	want := dump(t, w)
	w.Close()
	r1 := openDuck(t, path, Options{ReadOnly: true})
	defer r1.Close()
	r2 := openDuck(t, path, Options{ReadOnly: true})
	defer r2.Close()
	if got := dump(t, r2); got != want {
		t.Fatalf("read-only view differs:\n%s", diffLines(want, got))
	}
	if err := r1.Exec(ctx, "CREATE TABLE chorus_raw.x (a INT)"); err == nil {
		t.Fatal("a read-only warehouse ran DDL")
	}
	if _, err := r1.Load(ctx, dir, nil); err == nil {
		t.Fatal("a read-only warehouse loaded")
	}
}

// diffLines shows the lines of got that want lacks, and the reverse.
func diffLines(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}
