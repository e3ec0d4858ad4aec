package proton

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// svcTmplService returns an API over a fresh SQLite store holding service
// template "web" with published versions 1.0, 2.0 and 3.0.
func svcTmplService(t *testing.T) (*API, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"})
	now := time.Now()
	if err := st.TemplateCreate(t.Context(), &store.Template{Kind: kindSvc, Name: "web", CreatedAt: now, LastModifiedAt: now}); err != nil {
		t.Fatal(err)
	}
	extra := `{"compatibleEnvironmentTemplates":[{"templateName":"net","majorVersion":"1"}],"supportedComponentSources":["DIRECTLY_DEFINED"]}`
	for range 3 {
		v := &store.TemplateVersion{Kind: kindSvc, TemplateName: "web", Major: -1, Status: api.TemplateVersionStatusDraft,
			Extra: extra, CreatedAt: now, LastModifiedAt: now}
		if err := st.TemplateVersionCreate(t.Context(), v); err != nil {
			t.Fatal(err)
		}
		_, err := st.TemplateVersionSetStatus(t.Context(), store.TemplateVersionStatusParams{Kind: kindSvc, Template: "web",
			Major: v.Major, Minor: v.Minor, From: []string{api.TemplateVersionStatusDraft}, To: api.TemplateVersionStatusPublished, At: now})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s, st
}

// svcTmplStart starts a deployment of a resource of type typ on web major.0,
// creating the resource when create is set.
func svcTmplStart(t *testing.T, st store.Store, typ, key, major string, create bool) {
	t.Helper()
	now := time.Now()
	d := &store.Deployment{ID: newDeploymentID(), TargetKey: key, TargetType: typ, ServiceName: "api", Operation: store.OperationDeploy,
		Status: store.StatusInProgress, Plan: `{}`, TargetTemplate: "web", TargetMajor: major, TargetMinor: "0",
		CreatedAt: now, LastModifiedAt: now}
	p := store.DeploymentStartParams{Deployment: d}
	if create {
		p.Create = &store.Resource{Key: key, Type: typ, Name: "one", ServiceName: "api", EnvironmentName: "dev",
			TemplateName: "web", TemplateMajor: major, TemplateMinor: "0", Settings: `{}`, Outputs: `{}`, CreatedAt: now, LastModifiedAt: now}
		if typ == store.ResourceServiceInstance {
			d.ServiceInstance = "one"
		}
	}
	if _, err := st.DeploymentStart(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

func TestServiceTemplateVersionInUseByAnInstanceOrAPipelineIsNotDeleted(t *testing.T) {
	t.Parallel()
	s, st := svcTmplService(t)
	// 1.0 runs an instance; a pipeline on 3.0 is being updated to 2.0.
	svcTmplStart(t, st, store.ResourceServiceInstance, "service/api/service-instance/one", "1", true)
	svcTmplStart(t, st, store.ResourceServicePipeline, "service/api/pipeline", "3", true)
	if _, err := st.DeploymentFinish(t.Context(), store.DeploymentFinishParams{ID: mustLastAttempt(t, st, "service/api/pipeline"),
		From: []string{store.StatusInProgress}, To: store.StatusSucceeded, Outputs: `{}`}, time.Now()); err != nil {
		t.Fatal(err)
	}
	svcTmplStart(t, st, store.ResourceServicePipeline, "service/api/pipeline", "2", false)

	for _, major := range []string{"1", "2", "3"} {
		_, err := s.DeleteServiceTemplateVersion(t.Context(), &api.DeleteServiceTemplateVersionInput{TemplateName: "web", MajorVersion: major, MinorVersion: "0"})
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != KindConflict || !strings.Contains(pe.Message, "service instances or pipelines") {
			t.Errorf("delete of %s.0: err = %v, want a conflict naming instances and pipelines", major, err)
		}
	}
	if _, err := st.TemplateVersionGet(t.Context(), kindSvc, "web", 2, 0); err != nil {
		t.Errorf("version 2.0 after the refused delete: %v", err)
	}
}

func mustLastAttempt(t *testing.T, st store.Store, key string) string {
	t.Helper()
	r, err := st.ResourceGet(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	return r.LastAttemptedDeploymentID
}

func TestServiceVersionExtraReadsWhatAVersionKeeps(t *testing.T) {
	t.Parallel()
	s, st := svcTmplService(t)
	v, err := st.TemplateVersionGet(t.Context(), kindSvc, "web", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	e, err := serviceVersionExtra(v)
	if err != nil {
		t.Fatal(err)
	}
	if !e.compatibleWith("net", "1") || e.compatibleWith("net", "2") || e.compatibleWith("edge", "1") {
		t.Errorf("compatibleWith: %+v", e)
	}
	if !e.supportsComponentSource(api.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined) {
		t.Errorf("supportsComponentSource: %+v", e)
	}
	compatible, err := compatibleEnvironmentTemplates(v)
	if err != nil || len(compatible) != 1 || compatible[0].TemplateName != "net" {
		t.Errorf("compatibleEnvironmentTemplates = %v, %v", compatible, err)
	}

	// A version without Extra has no compatible templates, and shows an empty list, never null.
	e, err = serviceVersionExtra(&store.TemplateVersion{})
	if err != nil || e.CompatibleEnvironmentTemplates == nil || len(e.CompatibleEnvironmentTemplates) != 0 {
		t.Errorf("empty extra = %+v, %v", e, err)
	}
	if _, err := serviceVersionExtra(&store.TemplateVersion{Extra: "{"}); err == nil {
		t.Error("broken extra read without an error")
	}
	out, err := s.svcVersion(v)
	if err != nil || out.Arn != "arn:aws:proton:us-east-1:123456789012:service-template/web:1.0" || len(out.SupportedComponentSources) != 1 {
		t.Errorf("svcVersion = %+v, %v", out, err)
	}
}

func TestAccountSettingsAccessorSeesUpdates(t *testing.T) {
	t.Parallel()
	s, _ := svcTmplService(t)
	role := "arn:aws:iam::123456789012:role/builder"
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/p", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateAccountSettings(t.Context(), &api.UpdateAccountSettingsInput{
		PipelineCodebuildRoleArn:       &role,
		PipelineProvisioningRepository: &api.RepositoryBranchInput{Provider: "GITHUB", Name: "acme/p", Branch: "main"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.accountSettings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.PipelineCodebuildRoleArn != role || got.PipelineServiceRoleArn != "" || got.PipelineProvisioningRepository == nil ||
		*got.PipelineProvisioningRepository != (repoBranch{Provider: "GITHUB", Name: "acme/p", Branch: "main"}) {
		t.Errorf("accountSettings = %+v", got)
	}
}
