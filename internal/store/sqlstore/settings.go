package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hadronhq/hadron/internal/store"
)

// SettingsGet reads every setting.
func (s *Store) SettingsGet(ctx context.Context) (map[string]string, error) {
	out, err := settingsAll(ctx, s.r)
	if err != nil {
		return nil, fmt.Errorf("get settings: %w", err)
	}
	return out, nil
}

// SettingsUpdate sets and deletes settings in one transaction; a
// repository SettingPipelineRepository names must exist, and is locked as
// RepositoryDelete locks it. Keys are
// written in sorted order, so that two nodes updating several keys at once
// lock them in the same order and cannot deadlock.
func (s *Store) SettingsUpdate(ctx context.Context, p store.SettingsUpdateParams) (map[string]string, error) {
	var out map[string]string
	err := s.tx(ctx, func(tx txn) error {
		if repo, ok := p.Set[store.SettingPipelineRepository]; ok {
			if err := s.lockRepository(ctx, tx, repo); err != nil {
				return err
			}
		}
		for _, key := range slices.Sorted(maps.Keys(p.Set)) {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, last_modified_at) VALUES ($1, $2, $3)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value, last_modified_at = excluded.last_modified_at`,
				key, p.Set[key], ms(p.At))
			if err != nil {
				return err
			}
		}
		for _, key := range p.Delete {
			if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key = $1`, key); err != nil {
				return err
			}
		}
		var err error
		out, err = settingsAll(ctx, tx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update settings: %w", err)
	}
	return out, nil
}

func settingsAll(ctx context.Context, q Querier) (map[string]string, error) {
	return keyValues(ctx, q, `SELECT key, value FROM settings`)
}
