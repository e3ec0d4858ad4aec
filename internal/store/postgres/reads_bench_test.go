package postgres_test

import (
	"cmp"
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkReadsAgainstDirectPgx measures the store's reads beside the same
// statements run directly on a pgxpool, as the PostgreSQL store did before
// the stores shared their SQL: a point read and a page of 100 resources.
// cpu-ns/op is this process's CPU (user and system) per read, which the
// database's own work and the machine's load disturb less than wall time.
//
//	go test -run '^$' -bench ReadsAgainstDirectPgx -benchmem -count 5 ./internal/store/postgres/
func BenchmarkReadsAgainstDirectPgx(b *testing.B) {
	url := pgtest.Schema(b)
	ctx := context.Background()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := range 150 {
		name := fmt.Sprintf("env-%04d", i)
		r := &store.Resource{Key: "environment/" + name, Type: store.ResourceEnvironment, Name: name, EnvironmentName: name}
		d := &store.Deployment{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), TargetKey: r.Key, TargetType: r.Type,
			EnvironmentName: name, Operation: store.OperationDeploy, Status: store.StatusInProgress}
		if _, err := s.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	cfg.MaxConns = postgres.DefaultMaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	// The store's statements (sqlstore's resourceGet and ResourceList).
	const columns = `key, type, name, service_name, environment_name, description, template_name,
		template_major, template_minor, spec, settings, outputs, deployment_status, deployment_status_message,
		last_attempted_deployment_id, last_succeeded_deployment_id, last_deployment_attempted_at,
		last_deployment_succeeded_at, last_client_request_token, last_client_request, coalesce(repository_key, ''),
		created_at, last_modified_at`
	const get = `SELECT ` + columns + ` FROM resources WHERE key = $1`
	const list = `SELECT ` + columns + ` FROM resources WHERE key > $1 AND type = $2 ORDER BY key LIMIT $3`
	scan := func(row pgx.Row) error {
		var r store.Resource
		var attempted, succeeded, created, modified int64
		return row.Scan(&r.Key, &r.Type, &r.Name, &r.ServiceName, &r.EnvironmentName, &r.Description, &r.TemplateName,
			&r.TemplateMajor, &r.TemplateMinor, &r.Spec, &r.Settings, &r.Outputs, &r.DeploymentStatus,
			&r.DeploymentStatusMessage, &r.LastAttemptedDeploymentID, &r.LastSucceededDeploymentID, &attempted,
			&succeeded, &r.LastClientRequestToken, &r.LastClientRequest, &r.Repository, &created, &modified)
	}
	const key = "environment/env-0100"

	for _, bm := range []struct {
		name string
		read func() error
	}{
		{"get/store", func() error { _, err := s.ResourceGet(ctx, key); return err }},
		{"get/pgx", func() error { return scan(pool.QueryRow(ctx, get, key)) }},
		{"list100/store", func() error {
			out, err := s.ResourceList(ctx, store.ResourceFilter{Type: store.ResourceEnvironment}, store.Page{Limit: 100})
			if err == nil && len(out) != 100 {
				err = fmt.Errorf("read %d resources, want 100", len(out))
			}
			return err
		}},
		{"list100/pgx", func() error {
			rows, err := pool.Query(ctx, list, "", store.ResourceEnvironment, 100)
			if err != nil {
				return err
			}
			defer rows.Close()
			n := 0
			for ; rows.Next(); n++ {
				if err := scan(rows); err != nil {
					return err
				}
			}
			if err == nil && n != 100 {
				err = fmt.Errorf("read %d resources, want 100", n)
			}
			return cmp.Or(err, rows.Err())
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			start := processCPU()
			for b.Loop() {
				if err := bm.read(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
