package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hadronhq/hadron/internal/store"
)

// TagsGet returns the tags of the record with key.
func (s *Store) TagsGet(ctx context.Context, key string) (map[string]string, error) {
	tags, err := tagsGet(ctx, s.r, key)
	if err != nil {
		return nil, fmt.Errorf("get tags of %s: %w", key, err)
	}
	return tags, nil
}

func tagsGet(ctx context.Context, q Querier, key string) (map[string]string, error) {
	return keyValues(ctx, q, `SELECT key, value FROM tags WHERE resource_key = $1`, key)
}

// TagsChange sets and deletes tags of one record in one transaction.
func (s *Store) TagsChange(ctx context.Context, p store.TagsChangeParams) (map[string]string, error) {
	var tags map[string]string
	err := s.tx(ctx, func(tx txn) error {
		for _, k := range p.Delete {
			if _, ok := p.Set[k]; ok {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_key = $1 AND key = $2`, p.Key, k); err != nil {
				return err
			}
		}
		if err := tagsSet(ctx, tx, p.Key, p.Set); err != nil {
			return err
		}
		var err error
		if tags, err = tagsGet(ctx, tx, p.Key); err != nil {
			return err
		}
		if p.Max > 0 && len(tags) > p.Max {
			return fmt.Errorf("%d tags, at most %d allowed: %w", len(tags), p.Max, store.ErrLimit)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("change tags of %s: %w", p.Key, err)
	}
	return tags, nil
}

// tagsSet sets tags of key, in sorted order so that concurrent writers lock
// rows in the same order.
func tagsSet(ctx context.Context, tx txn, key string, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (resource_key, key, value) VALUES ($1, $2, $3)
			ON CONFLICT (resource_key, key) DO UPDATE SET value = excluded.value`, key, k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

// tagsReplace gives a record just inserted the tags of its create: tags a
// TagsChange left under its key while no record had it are dropped.
func tagsReplace(ctx context.Context, tx txn, key string, tags map[string]string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_key = $1`, key); err != nil {
		return fmt.Errorf("tags of %s: %w", key, err)
	}
	if err := tagsSet(ctx, tx, key, tags); err != nil {
		return fmt.Errorf("tags of %s: %w", key, err)
	}
	return nil
}

// ResourceCounts reads the counts the triggers of migration 0008 keep.
func (s *Store) ResourceCounts(ctx context.Context) ([]store.ResourceCount, error) {
	out, err := collect(ctx, s.r, func(r Row) (store.ResourceCount, error) {
		var c store.ResourceCount
		return c, r.Scan(&c.Type, &c.TemplateName, &c.TemplateMajor, &c.TemplateMinor, &c.Status, &c.Count)
	}, `SELECT type, template_name, template_major, template_minor, status, n
		FROM resource_counts WHERE n > 0 ORDER BY type, template_name, template_major, template_minor, status`)
	if err != nil {
		return nil, fmt.Errorf("count resources: %w", err)
	}
	return out, nil
}
