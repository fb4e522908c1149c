package serve

import (
	"context"
	"log/slog"

	"github.com/chorus-elt/chorus-elt/cmd/internal/pipeline"
)

// PipelineSyncer is the Syncer of `chorus-elt serve`: each sync is a
// pipeline run — extract from Chorus (only the calls named, when ids are
// given: listed by engagement_id, then their detail), load, and rebuild
// the models. It is idempotent: a call the state has complete is skipped
// by the extract (one listing request, no rows), files already loaded are
// skipped by the ledger, and the models are rebuilt from the raw tables.
type PipelineSyncer struct {
	// Run is every run's setup: Config, Warehouse (and Opened for a DuckDB
	// file the server reads), Out, StatePath, Transform. EngagementIDs is
	// set per sync.
	Run pipeline.Options
	Log *slog.Logger
}

// Sync implements Syncer.
func (p *PipelineSyncer) Sync(ctx context.Context, ids []string) error {
	o := p.Run
	o.EngagementIDs = ids
	sum, err := pipeline.Run(ctx, o)
	if err != nil {
		return err
	}
	if p.Log != nil {
		p.Log.Info("sync run", "sync_id", sum.SyncID, "asked", len(ids), "new_calls", sum.Calls, "requests", sum.Requests,
			"files", sum.Load.FilesLoaded, "seconds", sum.Seconds)
	}
	return nil
}
