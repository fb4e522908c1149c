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
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/chorus-elt/chorus-elt/connector/engine"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/schemas"
)

// ArrowSchema derives a stream's Arrow schema from its JSON Schema.
// Timestamps are microseconds in UTC (Parquet TIMESTAMP, adjusted to UTC).
func ArrowSchema(s *schemas.Stream) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(s.Columns))
	for _, c := range s.Columns {
		fields = append(fields, arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: c.Nullable})
	}
	return arrow.NewSchema(fields, nil)
}

func arrowType(t schemas.Type) arrow.DataType {
	switch t {
	case schemas.Integer:
		return arrow.PrimitiveTypes.Int64
	case schemas.Number:
		return arrow.PrimitiveTypes.Float64
	case schemas.Boolean:
		return arrow.FixedWidthTypes.Boolean
	case schemas.Timestamp:
		return arrow.FixedWidthTypes.Timestamp_us
	case schemas.Date:
		return arrow.FixedWidthTypes.Date32
	case schemas.IntList:
		return arrow.ListOf(arrow.PrimitiveTypes.Int64)
	case schemas.StrList:
		return arrow.ListOf(arrow.BinaryTypes.String)
	default:
		return arrow.BinaryTypes.String
	}
}

// Sink writes typed Parquet, one file per stream per commit, named
// <dir>/<stream>/<sync_id>-<n>.parquet so that no run overwrites another's
// files. A file is written under a hidden temporary name and renamed once
// complete and synced; the state is saved (through SaveState) only after the
// files it covers are durable.
type Sink struct {
	dir       string
	syncID    string
	seq       int
	open      map[string]*streamFile
	saveState func(*state.State) error
	// BatchRows is how many rows are buffered per stream before a row group
	// is written.
	BatchRows int
	Files     []string // committed files, in order
	Bytes     map[string]int64

	lastState *state.State
}

type streamFile struct {
	stream  *schemas.Stream
	tmp     string
	final   string
	f       *os.File
	w       *pqarrow.FileWriter
	b       *array.RecordBuilder
	pending int
	rows    int64
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

// Write implements Sink.
func (p *Sink) Write(_ context.Context, stream string, row engine.Row) error {
	sf, err := p.file(stream)
	if err != nil {
		return err
	}
	if err := appendRow(sf.b, sf.stream, row); err != nil {
		return fmt.Errorf("%s: %w", stream, err)
	}
	sf.pending++
	sf.rows++
	if sf.pending >= p.BatchRows {
		return sf.flush()
	}
	return nil
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
	schema := ArrowSchema(st)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1))
	w, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("parquet: %s: %w", stream, err)
	}
	sf.f, sf.w = f, w
	sf.b = array.NewRecordBuilder(memory.DefaultAllocator, schema)
	p.open[stream] = sf
	return sf, nil
}

func (sf *streamFile) flush() error {
	if sf.pending == 0 {
		return nil
	}
	rec := sf.b.NewRecordBatch()
	defer rec.Release()
	sf.pending = 0
	if err := sf.w.Write(rec); err != nil {
		return fmt.Errorf("parquet: write %s: %w", sf.stream.Name, err)
	}
	return nil
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
		if err := sf.flush(); err != nil {
			return nil, err
		}
		if err := sf.w.Close(); err != nil { // also closes sf.f
			return nil, fmt.Errorf("parquet: close %s: %w", name, err)
		}
		sf.b.Release()
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
		sf.w.Close()
		sf.b.Release()
		os.Remove(sf.tmp)
	}
	p.open = map[string]*streamFile{}
}

// appendRow appends one row to the builder, column by column in schema
// order. A value of the wrong Go type is an error, not a silent null.
func appendRow(b *array.RecordBuilder, st *schemas.Stream, row engine.Row) error {
	for i, c := range st.Columns {
		v, ok := row[c.Name]
		fb := b.Field(i)
		if !ok || v == nil {
			if !c.Nullable {
				return fmt.Errorf("column %s is required but missing", c.Name)
			}
			fb.AppendNull()
			continue
		}
		if err := appendValue(fb, c, v); err != nil {
			return err
		}
	}
	if len(row) > len(st.Columns) {
		for k := range row {
			if st.Index(k) < 0 {
				return fmt.Errorf("column %s is not in schemas/%s.json", k, st.Name)
			}
		}
	}
	return nil
}

func appendValue(fb array.Builder, c schemas.Column, v any) error {
	bad := func() error { return fmt.Errorf("column %s (%s) got %T", c.Name, c.Type, v) }
	switch c.Type {
	case schemas.String, schemas.JSON:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		fb.(*array.StringBuilder).Append(strings.ToValidUTF8(s, "\uFFFD"))
	case schemas.Integer:
		switch x := v.(type) {
		case int64:
			fb.(*array.Int64Builder).Append(x)
		case int:
			fb.(*array.Int64Builder).Append(int64(x))
		default:
			return bad()
		}
	case schemas.Number:
		switch x := v.(type) {
		case float64:
			fb.(*array.Float64Builder).Append(x)
		case int64:
			fb.(*array.Float64Builder).Append(float64(x))
		default:
			return bad()
		}
	case schemas.Boolean:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		fb.(*array.BooleanBuilder).Append(x)
	case schemas.Timestamp:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		fb.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
	case schemas.Date:
		x, ok := v.(time.Time)
		if !ok {
			return bad()
		}
		fb.(*array.Date32Builder).Append(arrow.Date32FromTime(x))
	case schemas.IntList:
		x, ok := v.([]int64)
		if !ok {
			return bad()
		}
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.Int64Builder)
		for _, e := range x {
			vb.Append(e)
		}
	case schemas.StrList:
		x, ok := v.([]string)
		if !ok {
			return bad()
		}
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, e := range x {
			vb.Append(e)
		}
	default:
		return bad()
	}
	return nil
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
