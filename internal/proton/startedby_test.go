package proton

import (
	"context"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// A deployment records the starter its creating call's context carries.
func TestANewDeploymentRecordsTheStarterOfItsContext(t *testing.T) {
	t.Parallel()
	s := &API{}
	v := &store.TemplateVersion{TemplateName: "net", Major: 1, Minor: 0}
	for _, c := range []struct {
		name      string
		ctx       context.Context
		key, by   string
		displayed string
	}{
		{"template sync", WithStartedBy(context.Background(), HadronTemplateSync), "", "hadron (template sync)", "hadron (template sync)"},
		{"service sync", WithStartedBy(context.Background(), HadronServiceSync), "", "hadron (service sync)", "hadron (service sync)"},
		{"a named key", WithStartedBy(context.Background(), Key("AKIDA", "alice")), "AKIDA", "alice", "alice (AKIDA)"},
		{"a key without a name", WithStartedBy(context.Background(), Key("AKIDB", "")), "AKIDB", "AKIDB", "AKIDB"},
		{"authentication off", WithStartedBy(context.Background(), Unauthenticated), "", "anyone (authentication off)", "anyone (authentication off)"},
		{"a context that says nothing", context.Background(), "", "unknown", "unknown"},
		{"service sync's calls", withSync(context.Background()), "", "hadron (service sync)", "hadron (service sync)"},
	} {
		d := s.newDeployment(c.ctx, "environment/web", store.ResourceEnvironment, store.OperationDeploy, v, "", provision.Plan{}, time.Now())
		if d.StartedByKeyID != c.key || d.StartedBy != c.by {
			t.Errorf("%s: recorded %q %q, want %q %q", c.name, d.StartedByKeyID, d.StartedBy, c.key, c.by)
		}
		if got := startedByOf(d).String(); got != c.displayed {
			t.Errorf("%s: shown as %q, want %q", c.name, got, c.displayed)
		}
	}
}
