package store_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// The store's hot paths on both backends, through store.Store only: a
// deployment started and ended (two write transactions), a resource read by
// key and a page of 100 resources.

var benchT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func benchStores(b *testing.B) map[string]func(*testing.B) store.Store {
	return map[string]func(*testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "hadron.db"))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) store.Store {
			s, err := postgres.Open(b.Context(), pgtest.Schema(b))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
}

// benchSetup opens a store holding n environments, each with one ended deployment.
func benchSetup(b *testing.B, open func(*testing.B) store.Store, n int) store.Store {
	s := open(b)
	b.Cleanup(func() { s.Close() })
	for i := range n {
		name := fmt.Sprintf("env-%04d", i)
		r := &store.Resource{Key: "environment/" + name, Type: store.ResourceEnvironment, Name: name,
			EnvironmentName: name, CreatedAt: benchT0, LastModifiedAt: benchT0}
		d := &store.Deployment{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), TargetKey: r.Key, TargetType: r.Type,
			EnvironmentName: name, Operation: store.OperationDeploy, Status: store.StatusInProgress,
			CreatedAt: benchT0, LastModifiedAt: benchT0}
		if _, err := s.DeploymentStart(b.Context(), store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.DeploymentFinish(b.Context(), store.DeploymentFinishParams{ID: d.ID,
			From: []string{store.StatusInProgress}, To: store.StatusSucceeded}, benchT0); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkStore(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		open := benchStores(b)[backend]
		b.Run(backend+"/StartFinish", func(b *testing.B) {
			s := benchSetup(b, open, 1)
			i := 0
			for b.Loop() {
				i++
				d := &store.Deployment{ID: fmt.Sprintf("10000000-0000-4000-8000-%012d", i), TargetKey: "environment/env-0000",
					TargetType: store.ResourceEnvironment, EnvironmentName: "env-0000", Operation: store.OperationDeploy,
					Status: store.StatusInProgress, CreatedAt: benchT0, LastModifiedAt: benchT0}
				if _, err := s.DeploymentStart(b.Context(), store.DeploymentStartParams{Deployment: d}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.DeploymentFinish(b.Context(), store.DeploymentFinishParams{ID: d.ID,
					From: []string{store.StatusInProgress}, To: store.StatusFailed, Message: "x"}, benchT0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(backend+"/ResourceGet", func(b *testing.B) {
			s := benchSetup(b, open, 200)
			for b.Loop() {
				if _, err := s.ResourceGet(b.Context(), "environment/env-0100"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(backend+"/ResourceList100", func(b *testing.B) {
			s := benchSetup(b, open, 200)
			for b.Loop() {
				if _, err := s.ResourceList(b.Context(), store.ResourceFilter{Type: store.ResourceEnvironment}, store.Page{Limit: 100}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
