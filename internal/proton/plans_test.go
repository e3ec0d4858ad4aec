package proton

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// serviceSchema reads the schema of the service template in testdata/name.
func serviceSchema(t *testing.T, name string) *bundle.Schema {
	t.Helper()
	dir := t.TempDir()
	if err := hadrontest.PutBundle(dir, "b", "k", filepath.Join("testdata", name)); err != nil {
		t.Fatal(err)
	}
	tgz, err := bundle.Read(dir, "b", "k")
	if err != nil {
		t.Fatal(err)
	}
	files, err := bundle.Unpack(tgz)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := bundle.ParseServiceTemplate(files, false)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl.Schema
}

// A pipeline's document shows each instance's environment in the account
// its infrastructure is in: the account connection's environment account
// for an environment that uses one, the server's for the others.
func TestPipelineInputsShowEachEnvironmentsAccount(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
	now := time.Now()
	resource := func(key, typ, name, service, env, settings string) *store.Resource {
		return &store.Resource{Key: key, Type: typ, Name: name, ServiceName: service, EnvironmentName: env,
			Settings: settings, Outputs: `{"vpc":"` + env + `-vpc"}`, CreatedAt: now, LastModifiedAt: now}
	}
	inserted := []*store.Resource{
		resource("environment/local", store.ResourceEnvironment, "local", "", "local", `{}`),
		resource("environment/remote", store.ResourceEnvironment, "remote", "", "remote",
			`{"environmentAccountConnectionId":"0f0e0d0c-0000-4000-8000-000000000000","environmentAccountId":"222222222222"}`),
		resource("service/api/service-instance/a", store.ResourceServiceInstance, "a", "api", "local", `{}`),
		resource("service/api/service-instance/b", store.ResourceServiceInstance, "b", "api", "remote", `{}`),
	}
	spec := "proton: ServiceSpec\npipeline:\n  stages: 2\ninstances:\n  - name: a\n    environment: local\n  - name: b\n    environment: remote\n"
	if _, err := st.ServiceChange(ctx, store.ServiceChangeParams{Name: "api", At: now, Resources: inserted,
		Create: &store.Service{Name: "api", Spec: spec, TemplateName: "web", TemplateMajor: "1", TemplateMinor: "0", Status: "ACTIVE", CreatedAt: now, LastModifiedAt: now}}); err != nil {
		t.Fatal(err)
	}
	in, err := s.pipelineInputs(ctx, "api", serviceSchema(t, "svc-pipeline"), spec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ account, env, vpc string }{
		"a": {"123456789012", "local", "local-vpc"},
		"b": {"222222222222", "remote", "remote-vpc"},
	}
	if len(in.ServiceInstances) != len(want) {
		t.Fatalf("service_instances = %+v, want a and b", in.ServiceInstances)
	}
	for _, i := range in.ServiceInstances {
		w := want[i.Name]
		if e := i.Environment; e.AccountID != w.account || e.Name != w.env || e.Outputs["vpc"] != w.vpc {
			t.Errorf("instance %s: environment %+v, want account %s, name %s, outputs vpc=%s", i.Name, e, w.account, w.env, w.vpc)
		}
	}
}
