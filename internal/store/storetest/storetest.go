// Package storetest is the conformance suite every store.Store implementation
// must pass. SQLite runs it always and PostgreSQL when a database URL is given;
// both must behave the same, so the suite pins the contract written in the doc
// comments of package store and in DESIGN.md section 2, not an implementation.
//
// Each test opens its own fresh store and runs in parallel with the others.
// Times come from a fixed clock (whole seconds, which every backend can hold
// exactly) so that timestamps can be compared for equality.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for
// the test it is given, a database or schema of its own, because the tests run
// in parallel. Run closes the store when the test ends; open may register
// cleanups that need the store closed first (they run after Run's Close).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	groups := []struct {
		name  string
		tests []test
	}{
		{"Template", templateTests()},
		{"TemplateVersion", templateVersionTests()},
		{"TemplateVersionExtra", templateVersionExtraTests()},
		{"Settings", settingsTests()},
		{"Resource", resourceTests()},
		{"Deployment", deploymentTests()},
		{"DeploymentNotify", notifyTests()},
		{"DeploymentWait", waitTests()},
		{"Service", serviceTests()},
		{"Tags", tagTests()},
		{"Counts", countTests()},
		{"ClientRequest", clientRequestTests()},
		{"Connection", connectionTests()},
		{"Repository", repositoryTests()},
		{"ConsoleSession", consoleSessionTests()},
		{"StartedBy", startedByTests()},
		{"ServiceSearch", serviceSearchTests()},
		{"ServiceSync", serviceSyncTests()},
		{"Sync", syncTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, setup(t, open))
				})
			}
		})
	}
}

// test is one behaviour of the contract, run against a fresh store.
type test struct {
	name string
	fn   func(t *testing.T, h *harness)
}

// harness is what a test needs: the store under test, the test's context and
// builders that fail the test when a step that is not under test goes wrong.
// Its methods call t.Fatal, so they must not be used from other goroutines.
type harness struct {
	t   *testing.T
	ctx context.Context
	s   store.Store
}

func setup(t *testing.T, open func(t *testing.T) store.Store) *harness {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return &harness{t: t, ctx: t.Context(), s: s}
}

// epoch is the fixed clock's zero; at(n) is n seconds after it.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return epoch.Add(time.Duration(sec) * time.Second) }

// newID returns a random lowercase UUID (version 4), the form of deployment
// ids the Proton model requires.
func newID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Template version statuses (the model's TemplateVersionStatus enum); package
// store leaves them to its callers, but the stores know PUBLISHED and
// REGISTRATION_IN_PROGRESS.
const (
	versionRegistering        = "REGISTRATION_IN_PROGRESS"
	versionRegistrationFailed = "REGISTRATION_FAILED"
	versionDraft              = "DRAFT"
	versionPublished          = "PUBLISHED"
)

// Template names the fixtures deploy from.
const (
	envTemplate = "env-tmpl"
	svcTemplate = "svc-tmpl"
)

// target is the state a deployment aims at.
type target struct{ template, major, minor, spec string }

// v1 and v2 are the two states the deployment tests move resources between.
var (
	v1 = target{envTemplate, "1", "0", "spec: one"}
	v2 = target{envTemplate, "2", "0", "spec: two"}
)

// environment builds a new environment resource on v1.
func environment(name string) *store.Resource {
	return &store.Resource{
		Key: "environment/" + name, Type: store.ResourceEnvironment, Name: name, EnvironmentName: name,
		Description: "environment " + name, TemplateName: v1.template, TemplateMajor: v1.major, TemplateMinor: v1.minor,
		Spec: v1.spec, Settings: `{"role":"arn:aws:iam::000000000000:role/p"}`, Outputs: `{}`,
		CreatedAt: at(0), LastModifiedAt: at(0),
	}
}

// serviceInstance builds a new instance of service in environment env.
func serviceInstance(service, name, env string, tg target) *store.Resource {
	return &store.Resource{
		Key: "service/" + service + "/service-instance/" + name, Type: store.ResourceServiceInstance, Name: name,
		ServiceName: service, EnvironmentName: env, TemplateName: tg.template, TemplateMajor: tg.major,
		TemplateMinor: tg.minor, Spec: tg.spec, Settings: `{}`, Outputs: `{}`, CreatedAt: at(0), LastModifiedAt: at(0),
	}
}

// pipeline builds the pipeline of service.
func pipeline(service string, tg target) *store.Resource {
	return &store.Resource{
		Key: "service/" + service + "/pipeline", Type: store.ResourceServicePipeline, Name: service, ServiceName: service,
		TemplateName: tg.template, TemplateMajor: tg.major, TemplateMinor: tg.minor, Spec: tg.spec,
		Settings: `{}`, Outputs: `{}`, CreatedAt: at(0), LastModifiedAt: at(0),
	}
}

// component builds a directly defined component in environment env.
func component(name, env string) *store.Resource {
	return &store.Resource{
		Key: "component/" + name, Type: store.ResourceComponent, Name: name, EnvironmentName: env,
		Spec: "manifest", Settings: `{}`, Outputs: `{}`, CreatedAt: at(0), LastModifiedAt: at(0),
	}
}

func targetOf(r *store.Resource) target {
	return target{r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec}
}

// deploymentOf builds a deployment of r in status (IN_PROGRESS or
// DELETE_IN_PROGRESS) toward tg, created at created.
func deploymentOf(r *store.Resource, status string, tg target, created time.Time) *store.Deployment {
	op := store.OperationDeploy
	if status == store.StatusDeleteInProgress {
		op = store.OperationDelete
	}
	d := &store.Deployment{
		ID: newID(), TargetKey: r.Key, TargetType: r.Type, EnvironmentName: r.EnvironmentName,
		ServiceName: r.ServiceName, Operation: op, Status: status,
		InitialState: `{"spec":` + strconv.Quote(r.Spec) + `}`, TargetState: `{"spec":` + strconv.Quote(tg.spec) + `}`,
		Plan: `{"engine":"codebuild"}`, Outputs: `{}`, Resources: `[]`,
		TargetTemplate: tg.template, TargetMajor: tg.major, TargetMinor: tg.minor, TargetSpec: tg.spec,
		CreatedAt: created, LastModifiedAt: created, StartedByKeyID: "AKIDFIXTURE", StartedBy: "fixture key",
	}
	switch r.Type {
	case store.ResourceServiceInstance:
		d.ServiceInstance = r.Name
	case store.ResourceComponent:
		d.ComponentName = r.Name
	}
	return d
}

// create creates r with its first deployment, left IN_PROGRESS and unclaimed.
func (h *harness) create(r *store.Resource) *store.Deployment {
	h.t.Helper()
	d := deploymentOf(r, store.StatusInProgress, targetOf(r), r.CreatedAt)
	if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
		h.t.Fatalf("create %s: %v", r.Key, err)
	}
	return d
}

// start starts a deployment of the existing resource r (an update toward tg, or
// a delete when status is DELETE_IN_PROGRESS), left unclaimed.
func (h *harness) start(r *store.Resource, status string, tg target, created time.Time) *store.Deployment {
	h.t.Helper()
	d := deploymentOf(r, status, tg, created)
	if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d}); err != nil {
		h.t.Fatalf("start deployment of %s: %v", r.Key, err)
	}
	return d
}

// claim claims the next deployment for owner and fails unless it is want.
func (h *harness) claim(owner string, want *store.Deployment) *store.Deployment {
	h.t.Helper()
	d, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: owner, Expires: at(3600)})
	if err != nil {
		h.t.Fatalf("claim: %v", err)
	}
	if d == nil || d.ID != want.ID {
		h.t.Fatalf("claim = %v, want deployment %s", d, want.ID)
	}
	return d
}

// finish ends deployment id from its current status.
func (h *harness) finish(id, to, outputs string, when time.Time) *store.Deployment {
	h.t.Helper()
	cur := h.deployment(id)
	d, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{
		ID: id, From: []string{cur.Status}, To: to, Message: "finished " + to, Outputs: outputs,
	}, when)
	if err != nil {
		h.t.Fatalf("finish %s as %s: %v", id, to, err)
	}
	return d
}

// newEnvironment creates environment name and lets its first deployment
// succeed with outputs {"v":"1"}, leaving it idle on v1.
func (h *harness) newEnvironment(name string) *store.Resource {
	h.t.Helper()
	r := environment(name)
	d := h.create(r)
	h.claim("setup", d)
	h.finish(d.ID, store.StatusSucceeded, `{"v":"1"}`, at(1))
	return h.resource(r.Key)
}

// deploymentIn returns a deployment of a fresh environment brought into
// status by the path the engine would take; its owner, when claimed, is "w1".
func (h *harness) deploymentIn(env, status string) *store.Deployment {
	h.t.Helper()
	var d *store.Deployment
	switch status {
	case store.StatusInProgress, store.StatusSucceeded, store.StatusFailed, store.StatusCancelled, store.StatusCancelling:
		d = h.create(environment(env))
	case store.StatusDeleteInProgress, store.StatusDeleteFailed, store.StatusDeleteComplete:
		r := h.newEnvironment(env)
		d = h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
	default:
		h.t.Fatalf("deploymentIn: unknown status %s", status)
	}
	switch status {
	case store.StatusCancelled:
		if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(20)}); err != nil {
			h.t.Fatalf("cancel: %v", err)
		}
	case store.StatusInProgress, store.StatusDeleteInProgress:
	default:
		h.claim("w1", d)
		switch status {
		case store.StatusCancelling:
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(20)}); err != nil {
				h.t.Fatalf("cancel: %v", err)
			}
		default:
			h.finish(d.ID, status, `{}`, at(20))
		}
	}
	got := h.deployment(d.ID)
	if got.Status != status {
		h.t.Fatalf("deploymentIn(%s): deployment is %s", status, got.Status)
	}
	return got
}

func (h *harness) resource(key string) *store.Resource {
	h.t.Helper()
	r, err := h.s.ResourceGet(h.ctx, key)
	if err != nil {
		h.t.Fatalf("get resource %s: %v", key, err)
	}
	return r
}

func (h *harness) deployment(id string) *store.Deployment {
	h.t.Helper()
	d, err := h.s.DeploymentGet(h.ctx, id)
	if err != nil {
		h.t.Fatalf("get deployment %s: %v", id, err)
	}
	return d
}

// template creates a template of kind.
func (h *harness) template(kind, name string) *store.Template {
	h.t.Helper()
	tm := &store.Template{Kind: kind, Name: name, DisplayName: "Template " + name, CreatedAt: at(0), LastModifiedAt: at(0)}
	if err := h.s.TemplateCreate(h.ctx, tm); err != nil {
		h.t.Fatalf("create template %s: %v", name, err)
	}
	return tm
}

// version creates a version of a template in major (-1 for a new major) and
// moves it to status.
func (h *harness) version(kind, name string, major int, status string) *store.TemplateVersion {
	h.t.Helper()
	v := &store.TemplateVersion{Kind: kind, TemplateName: name, Major: major, Status: versionRegistering,
		CreatedAt: at(0), LastModifiedAt: at(0)}
	if err := h.s.TemplateVersionCreate(h.ctx, v); err != nil {
		h.t.Fatalf("create version of %s in major %d: %v", name, major, err)
	}
	if status == versionRegistering {
		return v
	}
	path := []string{versionDraft}
	if status == versionPublished {
		path = append(path, versionPublished)
	} else if status != versionDraft {
		path = []string{status}
	}
	from := versionRegistering
	for _, to := range path {
		var err error
		v, err = h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{
			Kind: kind, Template: name, Major: v.Major, Minor: v.Minor, From: []string{from}, To: to, At: at(1)})
		if err != nil {
			h.t.Fatalf("set status of %s:%d.%d to %s: %v", name, v.Major, v.Minor, to, err)
		}
		from = to
	}
	return v
}

// wantErr fails the test unless err matches target by errors.Is.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

// same reports every field of the struct got (or pointer to one) that differs
// from want. Times compare by instant, byte slices by content (nil equals
// empty) and strings that both hold JSON by value, so that a backend keeping
// JSON in a native type (jsonb) passes too.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	for _, d := range diff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

func diff(got, want any) []string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Pointer {
		if gv.IsNil() || wv.IsNil() {
			if gv.IsNil() != wv.IsNil() {
				return []string{fmt.Sprintf("got %v, want %v", got, want)}
			}
			return nil
		}
		gv, wv = gv.Elem(), wv.Elem()
	}
	var out []string
	for i := range gv.NumField() {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !sameValue(g, w) {
			out = append(out, fmt.Sprintf("%s = %s, want %s", gv.Type().Field(i).Name, show(g), show(w)))
		}
	}
	return out
}

func sameValue(g, w any) bool {
	switch g := g.(type) {
	case time.Time:
		return g.Equal(w.(time.Time))
	case []byte:
		return bytes.Equal(g, w.([]byte))
	case string:
		return g == w.(string) || sameJSON(g, w.(string))
	}
	return reflect.DeepEqual(g, w)
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func show(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case time.Time:
		if v.IsZero() {
			return "zero time"
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// deployed is the part of a resource that only a successful deployment
// changes.
type deployed struct {
	Template, Major, Minor, Spec, Outputs string
	LastSucceededID                       string
	LastSucceededAt                       time.Time
}

func deployedState(r *store.Resource) deployed {
	return deployed{r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec, r.Outputs,
		r.LastSucceededDeploymentID, r.LastDeploymentSucceededAt}
}

// ids lists the ids of deployments, in order.
func ids(ds []*store.Deployment) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func sameList(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = [%s], want [%s]", what, strings.Join(got, " "), strings.Join(want, " "))
	}
}

// lower turns a status into the form test names use.
func lower(status string) string { return strings.ToLower(status) }
