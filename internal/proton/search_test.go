package proton

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// searchAPI is an API over a real SQLite store holding the given resources,
// each with one IN_PROGRESS deployment.
func searchAPI(t *testing.T, resources ...*store.Resource) *API {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, r := range resources {
		r.Settings, r.Outputs, r.CreatedAt, r.LastModifiedAt = "{}", "{}", at, at
		d := &store.Deployment{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), TargetKey: r.Key, TargetType: r.Type,
			EnvironmentName: r.EnvironmentName, ComponentName: r.Name, Operation: store.OperationDeploy, Status: store.StatusInProgress,
			Plan: "{}", Outputs: "{}", Resources: "[]", CreatedAt: at, LastModifiedAt: at}
		if r.Type != store.ResourceComponent {
			d.ComponentName = ""
		}
		if _, err := st.DeploymentStart(context.Background(), store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
			t.Fatal(err)
		}
	}
	return New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
}

func TestSearchComponentsPagesByNameInTheStore(t *testing.T) {
	t.Parallel()
	var rs []*store.Resource
	for _, n := range []string{"db-a", "web-a", "web-b", "web-c"} {
		rs = append(rs, &store.Resource{Key: "component/" + n, Type: store.ResourceComponent, Name: n, EnvironmentName: "prod", Spec: "{}"})
	}
	rs = append(rs, &store.Resource{Key: "environment/web-env", Type: store.ResourceEnvironment, Name: "web-env", EnvironmentName: "web-env"})
	s := searchAPI(t, rs...)
	ctx := context.Background()
	var got []string
	token := ""
	for range 3 {
		out, err := s.SearchComponents(ctx, Search{NameContains: "WEB", Statuses: []string{store.StatusInProgress}, NextToken: token, MaxResults: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out.Components {
			got = append(got, c.Name)
			if c.EnvironmentName != "prod" || c.DeploymentStatus != store.StatusInProgress {
				t.Errorf("component %+v", c)
			}
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[web-a web-b web-c]" {
		t.Errorf("components = %v, want web-a, web-b, web-c (components only, in two pages)", got)
	}
	out, err := s.SearchComponents(ctx, Search{Statuses: []string{store.StatusFailed}})
	if err != nil || len(out.Components) != 0 {
		t.Errorf("FAILED components = %v, %v; want none", out, err)
	}
	if _, err := s.SearchComponents(ctx, Search{NextToken: encodeToken("environments", "x")}); err == nil {
		t.Errorf("an environments token was accepted")
	}
}
