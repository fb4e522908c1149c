// Package parquet writes the engine's rows as typed Parquet files, one per
// stream per commit, in a two-phase commit with the state that covers them.
package parquet

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/connector/streamrows"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// Sink writes typed Parquet, one file per stream per commit, named
// <dir>/<stream>/<sync_id>-<n>.parquet so that no run overwrites another's
// files. The records it receives are in the stream's Arrow schema
// (schemas.Stream.Arrow); pqarrow maps them to Parquet types. A file is
// written under a hidden temporary name and renamed once complete and
// synced; the state is saved (through SaveState) only after the files it
// covers are durable.
type Sink struct {
	dir       string
	syncID    string
	seq       int
	open      map[string]*streamFile
	saveState func(*state.State) error
	// BatchRows is the number of rows of a row group: the records written
	// are held until this many rows wait.
	BatchRows int
	Files     []string // committed files, in order
	Bytes     map[string]int64

	lastState *state.State
}

type streamFile struct {
	stream *schemas.Stream
	tmp    string
	final  string
	f      *os.File
	w      *pqarrow.FileWriter
	rows   int64
	// the records of the next row group, retained
	queue     []arrow.RecordBatch
	queueRows int64
}

// NewSink writes under dir; saveState persists a checkpoint's state
// (nil: no state is saved). prior is the state the run starts from: a
// commit it records but a crash interrupted is completed first, and
// temporary files of commits no state records are removed.
func NewSink(dir, syncID string, saveState func(*state.State) error, prior *state.State) (*Sink, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	if err := CompleteCommit(dir, prior); err != nil {
		return nil, err
	}
	removeStaleTemps(dir)
	return &Sink{dir: dir, syncID: syncID, open: map[string]*streamFile{}, saveState: saveState,
		BatchRows: 16384, Bytes: map[string]int64{}}, nil
}

// CompleteCommit finishes the renames of the commit a state records, if a
// crash interrupted them (see Flush); files already in place are left alone.
func CompleteCommit(dir string, st *state.State) error {
	if st == nil || st.Commit == nil {
		return nil
	}
	for _, f := range st.Commit.Files {
		tmp, final := filepath.Join(dir, filepath.FromSlash(f.Temp)), filepath.Join(dir, filepath.FromSlash(f.Final))
		if _, err := os.Stat(tmp); err != nil {
			continue
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("parquet: complete an interrupted commit: %w", err)
		}
		_ = syncDir(filepath.Dir(final))
	}
	return nil
}

// removeStaleTemps deletes temporary files a killed run left behind.
func removeStaleTemps(dir string) {
	matches, _ := filepath.Glob(filepath.Join(dir, "*", ".*.parquet.tmp"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// WriteBatch implements Sink: the record's rows are appended to the
// stream's open file. Records are held (retained) until BatchRows rows
// wait, then concatenated and written as one row group, column after
// column: a sync hands over a call's rows at a time (one calls row, a few
// participants, a couple of hundred utterances), and every record written
// costs a pass of the column writers whatever its size.
func (p *Sink) WriteBatch(_ context.Context, stream string, rec arrow.RecordBatch) error {
	sf, err := p.file(stream)
	if err != nil {
		return err
	}
	sf.rows += rec.NumRows()
	rec.Retain()
	sf.queue = append(sf.queue, rec)
	sf.queueRows += rec.NumRows()
	if len(sf.queue) >= maxQueued && sf.queueRows < p.groupRows() {
		// Many small records (a calls row, a few participants) cost more
		// memory than their rows (each buffer is allocated on its own):
		// they are held as one.
		rec, err := concat(sf.stream.Arrow(), sf.queue, sf.queueRows)
		if err != nil {
			return fmt.Errorf("parquet: %s: %w", stream, err)
		}
		releaseAll(sf.queue)
		sf.queue = append(sf.queue[:0], rec)
	}
	for sf.queueRows >= p.groupRows() {
		if err := sf.writeGroup(p.groupRows()); err != nil {
			return err
		}
	}
	return nil
}

// maxQueued is how many records a stream holds before they are
// concatenated.
const maxQueued = 64

// groupRows is the number of rows of a row group.
func (p *Sink) groupRows() int64 { return int64(max(1, p.BatchRows)) }

// flush writes every row held.
func (sf *streamFile) flush(groupRows int64) error {
	for sf.queueRows > 0 {
		if err := sf.writeGroup(min(groupRows, sf.queueRows)); err != nil {
			return err
		}
	}
	return nil
}

// writeGroup writes the first n rows queued as one row group.
func (sf *streamFile) writeGroup(n int64) error {
	var group []arrow.RecordBatch
	defer func() { releaseAll(group) }()
	for left := n; left > 0; {
		rec := sf.queue[0]
		if rec.NumRows() <= left {
			group = append(group, rec)
			sf.queue = sf.queue[1:]
			left -= rec.NumRows()
			continue
		}
		// The row group ends inside this record: its rest stays queued.
		group = append(group, rec.NewSlice(0, left))
		sf.queue[0] = rec.NewSlice(left, rec.NumRows())
		rec.Release()
		left = 0
	}
	sf.queueRows -= n
	rec, err := concat(sf.stream.Arrow(), group, n)
	if err != nil {
		return fmt.Errorf("parquet: %s: %w", sf.stream.Name, err)
	}
	defer rec.Release()
	if err := sf.w.Write(rec); err != nil {
		return fmt.Errorf("parquet: write %s: %w", sf.stream.Name, err)
	}
	return nil
}

// concat is the records as one (of rows rows).
func concat(schema *arrow.Schema, recs []arrow.RecordBatch, rows int64) (arrow.RecordBatch, error) {
	if len(recs) == 1 {
		recs[0].Retain()
		return recs[0], nil
	}
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(recs))
	for i := range cols {
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		if err != nil {
			return nil, err
		}
		cols[i] = c
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// Write writes one row given as a map (streamrows.RecordOf): for tests and
// tools; a sync writes records.
func (p *Sink) Write(ctx context.Context, stream string, row streamrows.Row) error {
	rec, err := streamrows.RecordOf(stream, row)
	if err != nil {
		return err
	}
	defer rec.Release()
	return p.WriteBatch(ctx, stream, rec)
}

func (p *Sink) file(stream string) (*streamFile, error) {
	if sf := p.open[stream]; sf != nil {
		return sf, nil
	}
	st := schemas.Get(stream)
	if st == nil {
		return nil, fmt.Errorf("parquet: unknown stream %q", stream)
	}
	dir := filepath.Join(p.dir, stream)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	name := fmt.Sprintf("%s-%04d.parquet", p.syncID, p.seq)
	sf := &streamFile{stream: st, final: filepath.Join(dir, name), tmp: filepath.Join(dir, "."+name+".tmp")}
	f, err := os.Create(sf.tmp)
	if err != nil {
		return nil, fmt.Errorf("parquet: %w", err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1))
	w, err := pqarrow.NewFileWriter(st.Arrow(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet: %s: %w", stream, err)
	}
	sf.f, sf.w = f, w
	p.open[stream] = sf
	return sf, nil
}

// Checkpoint implements Sink: it completes the open files, makes them
// durable, then saves the state (Flush). A sync checkpoints after every
// finished slice, so an interrupted back-fill loses at most the slice in
// flight — and less, since the calls it finished are in the state.
func (p *Sink) Checkpoint(_ context.Context, st *state.State) error {
	p.lastState = st.Clone()
	return p.Flush()
}

// Flush commits the open files with the last checkpoint's state, in two
// phases: the files are completed and synced under their temporary names;
// the state is saved naming them (its Commit); then they are renamed. A
// crash before the state is saved leaves only temporary files, removed at
// the next start, whose rows the next run extracts again; a crash after it
// is rolled forward at the next start (NewSink). Either way every row
// ends up in the committed files exactly once.
func (p *Sink) Flush() error {
	files, err := p.prepare()
	if err != nil {
		return err
	}
	if p.saveState != nil && p.lastState != nil {
		st := p.lastState
		st.Commit = nil
		if len(files) > 0 {
			st.Commit = &state.FileCommit{Files: files}
		}
		if err := p.saveState(st); err != nil {
			return fmt.Errorf("save state: %w", err)
		}
	}
	for _, f := range files {
		final := filepath.Join(p.dir, filepath.FromSlash(f.Final))
		if err := os.Rename(filepath.Join(p.dir, filepath.FromSlash(f.Temp)), final); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		_ = syncDir(filepath.Dir(final))
		p.Files = append(p.Files, final)
	}
	return nil
}

// prepare completes the open files and makes them durable under their
// temporary names, returning them relative to the output directory.
func (p *Sink) prepare() ([]state.CommitFile, error) {
	if len(p.open) == 0 {
		return nil, nil
	}
	var out []state.CommitFile
	for _, name := range slices.Sorted(maps.Keys(p.open)) {
		sf := p.open[name]
		if err := sf.flush(p.groupRows()); err != nil {
			return nil, err
		}
		if err := sf.w.Close(); err != nil { // also closes sf.f
			return nil, fmt.Errorf("parquet: close %s: %w", name, err)
		}
		f, err := os.Open(sf.tmp)
		if err == nil {
			err = f.Sync()
			if fi, e := f.Stat(); e == nil {
				p.Bytes[name] += fi.Size()
			}
			f.Close()
		}
		if err != nil {
			return nil, fmt.Errorf("parquet: sync %s: %w", sf.tmp, err)
		}
		_ = syncDir(filepath.Dir(sf.tmp))
		out = append(out, state.CommitFile{Temp: p.rel(sf.tmp), Final: p.rel(sf.final)})
	}
	p.open = map[string]*streamFile{}
	p.seq++
	return out, nil
}

func (p *Sink) rel(path string) string {
	r, err := filepath.Rel(p.dir, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

// Abort drops files not yet committed (after a failed run).
func (p *Sink) Abort() {
	for _, sf := range p.open {
		releaseAll(sf.queue)
		sf.w.Close()
		os.Remove(sf.tmp)
	}
	p.open = map[string]*streamFile{}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
