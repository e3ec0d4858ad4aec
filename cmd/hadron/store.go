package main

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// openStore opens the PostgreSQL database at databaseURL, shared with other
// nodes (its notifier carries wake-ups and cancels between them), or, when
// databaseURL is empty, the SQLite file in dataDir, owned by this process.
func openStore(ctx context.Context, dataDir, databaseURL string, logger *slog.Logger) (store.Store, engine.Notifier, error) {
	if databaseURL != "" {
		pg, err := postgres.Open(ctx, databaseURL)
		if err != nil {
			return nil, nil, err
		}
		return pg, pg.Notifier(logger), nil
	}
	lite, err := sqlite.Open(ctx, filepath.Join(dataDir, server.DatabaseFile))
	if err != nil {
		return nil, nil, err
	}
	return lite, nil, nil
}
