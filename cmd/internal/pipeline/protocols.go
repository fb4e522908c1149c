package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/chorus-elt/chorus-elt/connector/config"
	"github.com/chorus-elt/chorus-elt/connector/protocol"
	"github.com/chorus-elt/chorus-elt/connector/state"
)

// ProtocolOptions are one Airbyte read or Singer tap run: the streams the
// catalog file selects, from the state file, as messages on Out.
type ProtocolOptions struct {
	Config    *config.Config
	Catalog   string // catalog file ("" for Singer: every stream)
	StatePath string // "" starts afresh
	Out       io.Writer
	Logger    *slog.Logger
	Stop      <-chan struct{}
}

// readCatalog reads a catalog file; one that cannot be read is a
// *config.Error (exit 2).
func readCatalog(path string) ([]byte, error) {
	doc, err := os.ReadFile(path)
	if err != nil {
		return nil, &config.Error{Msg: fmt.Sprintf("catalog: %v", err)}
	}
	return doc, nil
}

// LoadState reads a protocol command's --state (Airbyte and Singer
// envelopes are accepted): none is a fresh state, and a path given that
// does not exist is an error, not a fresh start.
func LoadState(ctx context.Context, cfg *config.Config, path string) (*state.State, error) {
	if path == "" {
		return state.New(cfg.BaseURL), nil
	}
	return ReadState(ctx, Options{Config: cfg, StatePath: path})
}

// AirbyteRead is Airbyte's read: the configured catalog's streams (those
// it marks for a full refresh start over), from the state, as RECORD,
// STATE, TRACE and LOG messages.
func AirbyteRead(ctx context.Context, o ProtocolOptions) error {
	doc, err := readCatalog(o.Catalog)
	if err != nil {
		return err
	}
	selected, refresh, err := protocol.ParseConfiguredCatalog(doc)
	if err != nil {
		return err
	}
	st, err := LoadState(ctx, o.Config, o.StatePath)
	if err != nil {
		return err
	}
	for f := range refresh {
		st.Reset(f)
	}
	return Sync(ctx, o.Config, selected, st, protocol.NewAirbyteSink(o.Out, protocol.SelectedList(selected)), o.Logger, o.Stop)
}

// SingerDiscover prints the Singer catalog, indented.
func SingerDiscover(out io.Writer) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(protocol.SingerCatalog())
}

// SingerTap runs as a Singer tap: SCHEMA messages for the selected streams
// (no catalog: all), then RECORD and STATE messages.
func SingerTap(ctx context.Context, o ProtocolOptions) error {
	var selected map[string]bool
	if o.Catalog != "" {
		doc, err := readCatalog(o.Catalog)
		if err != nil {
			return err
		}
		if selected, err = protocol.ParseSingerCatalog(doc); err != nil {
			return err
		}
	}
	st, err := LoadState(ctx, o.Config, o.StatePath)
	if err != nil {
		return err
	}
	sink := protocol.NewSingerSink(o.Out, protocol.SelectedList(selected))
	if err := sink.WriteSchemas(); err != nil {
		return err
	}
	return Sync(ctx, o.Config, selected, st, sink, o.Logger, o.Stop)
}
