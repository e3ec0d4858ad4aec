package proton

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// A preview of a service instance (hadron render --kind service) renders
// against the outputs its environment really has in the store, as its
// deployment would, unless the caller gives outputs of its own; an
// environment that does not exist has none.
func TestPreviewOfAnInstanceUsesItsEnvironmentsStoredOutputs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
	now := time.Now()

	tgz, err := hadrontest.TarGz(filepath.Join("testdata", "svc-pipeline"))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.TemplateCreate(ctx, &store.Template{Kind: kindSvc, Name: "web", CreatedAt: now, LastModifiedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.TemplateVersionCreate(ctx, &store.TemplateVersion{Kind: kindSvc, TemplateName: "web", Major: -1,
		Status: "PUBLISHED", Bundle: tgz, CreatedAt: now, LastModifiedAt: now}); err != nil {
		t.Fatal(err)
	}
	// The environment "prod", deployed with its outputs (inserted beside a
	// service of its own, the store's way of making resources directly).
	prod := &store.Resource{Key: environmentKey("prod"), Type: store.ResourceEnvironment, Name: "prod", EnvironmentName: "prod",
		Settings: `{}`, Outputs: `{"ClusterName":"prod-cluster"}`, CreatedAt: now, LastModifiedAt: now}
	if _, err := st.ServiceChange(ctx, store.ServiceChangeParams{Name: "other", At: now, Resources: []*store.Resource{prod},
		Create: &store.Service{Name: "other", Spec: "proton: ServiceSpec\n", TemplateName: "web", TemplateMajor: "1", TemplateMinor: "0",
			Status: "ACTIVE", CreatedAt: now, LastModifiedAt: now}}); err != nil {
		t.Fatal(err)
	}
	spec := "proton: ServiceSpec\npipeline:\n  stages: 2\ninstances:\n  - name: a\n    environment: prod\n  - name: b\n    environment: nowhere\n"
	preview := func(req PreviewRequest) *provision.Inputs {
		t.Helper()
		req.Service, req.Template, req.Major, req.Minor, req.Spec = true, "web", 1, 0, spec
		p, err := s.Preview(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return p.Inputs
	}

	for _, tc := range []struct {
		name string
		req  PreviewRequest
		want map[string]string
	}{
		{"stored environment", PreviewRequest{Instance: "a"}, map[string]string{"ClusterName": "prod-cluster"}},
		{"outputs given win", PreviewRequest{Instance: "a", EnvironmentOutputs: map[string]string{"ClusterName": "given"}}, map[string]string{"ClusterName": "given"}},
		{"environment named instead", PreviewRequest{Instance: "b", EnvironmentName: "prod"}, map[string]string{"ClusterName": "prod-cluster"}},
		{"environment that does not exist", PreviewRequest{Instance: "b"}, map[string]string{}},
	} {
		e := preview(tc.req).Environment
		if e == nil || len(e.Outputs) != len(tc.want) || e.Outputs["ClusterName"] != tc.want["ClusterName"] || e.AccountID != "123456789012" {
			t.Errorf("%s: environment part %+v, want outputs %v in account 123456789012", tc.name, e, tc.want)
		}
	}

	// The pipeline's service_instances see each instance's environment the same way.
	in := preview(PreviewRequest{Pipeline: true})
	got := map[string]string{}
	for _, i := range in.ServiceInstances {
		got[i.Name] = i.Environment.Outputs["ClusterName"]
	}
	if len(got) != 2 || got["a"] != "prod-cluster" || got["b"] != "" {
		t.Errorf("pipeline preview: service_instances' ClusterName = %v, want a: prod-cluster, b: none", got)
	}
}
