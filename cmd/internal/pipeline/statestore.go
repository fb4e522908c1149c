package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/state"
	"github.com/chorus-elt/chorus-elt/warehouse"
)

// StatePath resolves run's --state: "warehouse" keeps the state in the
// warehouse (returned as ""), a path is a state file, and no flag follows
// the config's state_store — the warehouse, or the file OUT/state.json.
func StatePath(flag, store, out string) string {
	switch {
	case flag == "warehouse" || (flag == "" && store == "warehouse"):
		return ""
	case flag == "":
		return filepath.Join(out, "state.json")
	}
	return flag
}

// ReadState reads the state a run with these options starts from (the
// file opt.StatePath, or the warehouse's when it is "").
func ReadState(ctx context.Context, opt Options) (*state.State, error) {
	if opt.StatePath != "" {
		if _, err := os.Stat(opt.StatePath); err != nil {
			return nil, &state.Error{Msg: fmt.Sprintf("state: cannot read %s: %v", opt.StatePath, err)}
		}
		return state.Load(opt.StatePath, opt.Config.BaseURL)
	}
	w, err := openWarehouse(ctx, opt, true)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	doc, err := w.State(ctx)
	if err != nil {
		return nil, err
	}
	return state.Parse(doc, opt.Config.BaseURL)
}

// WriteState replaces the state a run with these options starts from,
// atomically: a file is replaced by rename, the warehouse's row in one
// transaction. It refuses while a run or extract holds opt.Out, and while
// opt.Out holds the checkpoint of an interrupted run (which the next run
// would store over it).
func WriteState(ctx context.Context, opt Options, st *state.State) error {
	unlock, err := LockDir(opt.Out)
	if err != nil {
		return err
	}
	defer unlock()
	if opt.StatePath != "" {
		return state.Save(opt.StatePath, st)
	}
	pending := filepath.Join(opt.Out, PendingStateFile)
	if _, err := os.Stat(pending); !errors.Is(err, fs.ErrNotExist) {
		return &state.Error{Msg: fmt.Sprintf("state: %s holds the checkpoint of an interrupted run; finish it with `chorus-elt run` first", pending)}
	}
	w, err := openWarehouse(ctx, opt, false)
	if err != nil {
		return err
	}
	defer w.Close()
	// A load of no file stores the state alone, in the load's transaction.
	empty, err := os.MkdirTemp("", "chorus-elt-state-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(empty)
	_, err = w.Load(ctx, empty, st.Marshal())
	return err
}

// openWarehouse opens opt.Warehouse; readOnly opens a DuckDB file that
// must exist, without creating anything.
func openWarehouse(ctx context.Context, opt Options, readOnly bool) (warehouse.Warehouse, error) {
	if opt.Opened != nil {
		return borrowed{opt.Opened}, nil
	}
	wopt := opt.WarehouseOptions
	wopt.ReadOnly = readOnly
	if wopt.Logger == nil {
		wopt.Logger = opt.Logger
	}
	return warehouse.Open(ctx, opt.Warehouse, wopt)
}

// borrowed is a warehouse the caller opened (Options.Opened): Run uses it
// and leaves it open.
type borrowed struct{ warehouse.Warehouse }

// Close leaves the warehouse open for its owner.
func (borrowed) Close() error { return nil }

// checkLoaded refuses a file state that remembers loaded data when the
// warehouse has never been loaded: the DuckDB file was deleted or replaced
// since, and a run from that state would leave the warehouse empty.
func checkLoaded(ctx context.Context, opt *Options, w warehouse.Warehouse, st *state.State) error {
	if opt.StatePath == "" || st.Empty() || opt.FullRefresh {
		return nil
	}
	table := w.RawSchema() + "." + warehouse.LedgerTable
	if w.Dialect() == "bigquery" {
		table = "`" + table + "`"
	}
	rows, err := w.Query(ctx, "SELECT count(*) AS n FROM "+table)
	if err != nil {
		return fmt.Errorf("read the load ledger %s: %w", table, err)
	}
	if len(rows) == 1 && fmt.Sprint(rows[0]["n"]) != "0" {
		return nil
	}
	what := "the streams it lists"
	if st.Calls.Watermark != nil {
		what = "calls up to " + st.Calls.Watermark.Format("2006-01-02T15:04:05Z")
	}
	return &state.Error{Msg: fmt.Sprintf("state file %s says %s were extracted, but %s has never been loaded (%s is empty): "+
		"was the warehouse deleted or replaced? Run again with --full-refresh to extract everything from start_date, "+
		"or give the state that belongs to this warehouse", opt.StatePath, what, opt.Warehouse, table)}
}

// OpenState reads the state a run with these options starts from (as
// ReadState) and says where it is, for the state commands.
func OpenState(ctx context.Context, opt Options) (*state.State, string, error) {
	where := opt.StatePath
	if where == "" {
		where = "the warehouse " + opt.Warehouse
	}
	st, err := ReadState(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	return st, where, nil
}

// Locate completes the options of run and the state commands from their
// flags: the warehouse URL must be given and valid, Out defaults to
// DefaultOutDir, and the state is where StatePath puts --state (stateFlag)
// and the config's state_store. Its errors are *config.Error (exit 2).
func (o *Options) Locate(stateFlag string) error {
	if o.Warehouse == "" {
		return &config.Error{Msg: "--warehouse URL is required (duckdb:PATH or bigquery:PROJECT.DATASET)"}
	}
	if _, err := warehouse.ParseURL(o.Warehouse); err != nil {
		return &config.Error{Msg: err.Error()}
	}
	if o.Out == "" {
		o.Out = DefaultOutDir(o.Warehouse)
	}
	o.StatePath = StatePath(stateFlag, o.Config.StateStore, o.Out)
	return nil
}
