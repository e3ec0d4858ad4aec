package server_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/server"
)

// svcTmplSetup starts a server with the service template bundles of
// testdata/svc-* beside the shared ones, and an environment template "net"
// with a published version 1.0 for service templates to be compatible with.
func svcTmplSetup(t *testing.T) *hadron {
	t.Helper()
	h := setup(t)
	h.putBundles("svc-web", "svc-nopipe", "svc-incompatible")
	h.publishedTemplate("net", "slow.tgz", "")
	return h
}

// netV1 is the compatible environment templates of most versions below.
var netV1 = []m{{"templateName": "net", "majorVersion": "1"}}

// svcTmplVersion registers a service template version compatible with
// environment template net major 1 and waits for its registration to end in want.
func svcTmplVersion(h *hadron, template, major, bundle, want string) response {
	h.t.Helper()
	in := m{"templateName": template, "compatibleEnvironmentTemplates": netV1, "source": m{"s3": m{"bucket": "bundles", "key": bundle}}}
	if major != "" {
		in["majorVersion"] = major
	}
	r := h.ok("CreateServiceTemplateVersion", in)
	if got := r.str("serviceTemplateVersion.status"); got != "REGISTRATION_IN_PROGRESS" && got != "REGISTRATION_FAILED" {
		h.t.Errorf("create answers %s, want REGISTRATION_IN_PROGRESS", got)
	}
	v := r.body["serviceTemplateVersion"].(map[string]any)
	return h.waitFor("GetServiceTemplateVersion", svcTmplVersionID(template, v["majorVersion"].(string), v["minorVersion"].(string)),
		"serviceTemplateVersion.status", want, "REGISTRATION_IN_PROGRESS")
}

func svcTmplVersionID(template, major, minor string) m {
	return m{"templateName": template, "majorVersion": major, "minorVersion": minor}
}

func svcTmplPublish(h *hadron, template, major, minor string) response {
	h.t.Helper()
	in := svcTmplVersionID(template, major, minor)
	in["status"] = "PUBLISHED"
	return h.ok("UpdateServiceTemplateVersion", in)
}

// svcTmplVersions lists a template's versions one per page and returns them as "major.minor".
func svcTmplVersions(h *hadron, template, major string) []string {
	h.t.Helper()
	var got []string
	token := ""
	for {
		in := m{"templateName": template, "maxResults": 1}
		if major != "" {
			in["majorVersion"] = major
		}
		if token != "" {
			in["nextToken"] = token
		}
		page := h.ok("ListServiceTemplateVersions", in)
		for _, v := range page.body["templateVersions"].([]any) {
			v := v.(map[string]any)
			got = append(got, fmt.Sprintf("%s.%s", v["majorVersion"], v["minorVersion"]))
		}
		if token = page.str("nextToken"); token == "" {
			return got
		}
	}
}

func TestServiceTemplateLifecycleFromCreateToDelete(t *testing.T) {
	t.Parallel()
	h := svcTmplSetup(t)

	create := m{"name": "web", "displayName": "Web", "description": "a web service"}
	r := h.ok("CreateServiceTemplate", create)
	if got := r.str("serviceTemplate.arn"); got != "arn:aws:proton:us-east-1:123456789012:service-template/web" {
		t.Errorf("arn = %s", got)
	}
	if _, ok := r.body["serviceTemplate"].(map[string]any)["pipelineProvisioning"]; ok {
		t.Errorf("pipelineProvisioning present on a template with a pipeline: %v", r.body)
	}
	if again := h.ok("CreateServiceTemplate", create); again.str("serviceTemplate.createdAt") != r.str("serviceTemplate.createdAt") {
		t.Errorf("a retried create made a new template: %v", again.body)
	}
	h.fails("CreateServiceTemplate", m{"name": "web", "displayName": "Other"}, "ValidationException", "web", "IdempotentParameterMismatch")
	h.ok("UpdateServiceTemplate", m{"name": "web", "description": "the web service"})
	// Changed since: a retry of the first create can no longer be told.
	h.fails("CreateServiceTemplate", create, "ConflictException", "web", "changed since it was created")
	got := h.ok("GetServiceTemplate", m{"name": "web"})
	if got.str("serviceTemplate.description") != "the web service" || got.str("serviceTemplate.displayName") != "Web" {
		t.Errorf("after update: %v", got.body)
	}
	h.fails("GetServiceTemplate", m{"name": "nope"}, "ResourceNotFoundException", "nope")
	h.fails("UpdateServiceTemplate", m{"name": "nope", "description": "x"}, "ResourceNotFoundException", "nope")
	// A service template and an environment template may share a name.
	h.fails("GetServiceTemplate", m{"name": "net"}, "ResourceNotFoundException", "service template net")

	// 1.0: registered as DRAFT, nothing recommended until it is published.
	v := svcTmplVersion(h, "web", "", "svc-web.tgz", "DRAFT")
	if got := v.str("serviceTemplateVersion.arn"); got != "arn:aws:proton:us-east-1:123456789012:service-template/web:1.0" {
		t.Errorf("version arn = %s", got)
	}
	if !strings.Contains(v.str("serviceTemplateVersion.schema"), "service_input_type: WebInputs") {
		t.Errorf("schema = %q", v.str("serviceTemplateVersion.schema"))
	}
	compat := v.body["serviceTemplateVersion"].(map[string]any)["compatibleEnvironmentTemplates"]
	if fmt.Sprint(compat) != "[map[majorVersion:1 templateName:net]]" {
		t.Errorf("compatibleEnvironmentTemplates = %v", compat)
	}
	if got := h.ok("GetServiceTemplate", m{"name": "web"}).str("serviceTemplate.recommendedVersion"); got != "" {
		t.Errorf("recommendedVersion with only a draft = %q", got)
	}
	p := svcTmplPublish(h, "web", "1", "0")
	if p.str("serviceTemplateVersion.status") != "PUBLISHED" || p.str("serviceTemplateVersion.recommendedMinorVersion") != "0" {
		t.Errorf("published: %v", p.body)
	}
	h.fails("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "1", "minorVersion": "0", "status": "DRAFT"},
		"ValidationException", "DRAFT to PUBLISHED")

	// 1.1 and 2.0: the recommended version follows the highest published one.
	if got := svcTmplVersion(h, "web", "1", "svc-web.tgz", "DRAFT").str("serviceTemplateVersion.recommendedMinorVersion"); got != "0" {
		t.Errorf("recommendedMinorVersion of draft 1.1 = %q, want 0", got)
	}
	svcTmplPublish(h, "web", "1", "1")
	svcTmplVersion(h, "web", "", "svc-web.tgz", "DRAFT")
	if got := h.ok("GetServiceTemplate", m{"name": "web"}).str("serviceTemplate.recommendedVersion"); got != "1.1" {
		t.Errorf("recommendedVersion = %q, want 1.1 while 2.0 is a draft", got)
	}
	svcTmplPublish(h, "web", "2", "0")
	if got := h.ok("GetServiceTemplate", m{"name": "web"}).str("serviceTemplate.recommendedVersion"); got != "2.0" {
		t.Errorf("recommendedVersion = %q, want 2.0", got)
	}
	if got := h.ok("GetServiceTemplateVersion", svcTmplVersionID("web", "1", "0")).str("serviceTemplateVersion.recommendedMinorVersion"); got != "1" {
		t.Errorf("recommendedMinorVersion of 1.0 = %q, want 1", got)
	}
	list := h.ok("ListServiceTemplates", m{}).body["templates"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["recommendedVersion"] != "2.0" {
		t.Errorf("templates = %v", list)
	}
	if got := strings.Join(svcTmplVersions(h, "web", ""), " "); got != "1.0 1.1 2.0" {
		t.Errorf("versions = %s", got)
	}
	if got := strings.Join(svcTmplVersions(h, "web", "1"), " "); got != "1.0 1.1" {
		t.Errorf("versions of major 1 = %s", got)
	}
	h.fails("ListServiceTemplateVersions", m{"templateName": "nope"}, "ResourceNotFoundException", "nope")

	// Updates of a version: description, compatible environments, component sources.
	h.ok("CreateEnvironmentTemplate", m{"name": "edge"})
	h.version("edge", "", "slow.tgz", "DRAFT")
	u := h.ok("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "2", "minorVersion": "0",
		"description": "second", "supportedComponentSources": []string{"DIRECTLY_DEFINED"},
		"compatibleEnvironmentTemplates": []m{{"templateName": "net", "majorVersion": "1"}, {"templateName": "edge", "majorVersion": "1"}}})
	uv := u.body["serviceTemplateVersion"].(map[string]any)
	if uv["description"] != "second" || fmt.Sprint(uv["supportedComponentSources"]) != "[DIRECTLY_DEFINED]" ||
		len(uv["compatibleEnvironmentTemplates"].([]any)) != 2 || uv["status"] != "PUBLISHED" {
		t.Errorf("after update: %v", uv)
	}
	// Members left out stay; an empty list of component sources clears them.
	u = h.ok("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "2", "minorVersion": "0", "supportedComponentSources": []string{}})
	uv = u.body["serviceTemplateVersion"].(map[string]any)
	if _, ok := uv["supportedComponentSources"]; ok || uv["description"] != "second" || len(uv["compatibleEnvironmentTemplates"].([]any)) != 2 {
		t.Errorf("after clearing component sources: %v", uv)
	}
	h.fails("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "9", "minorVersion": "0", "description": "x"},
		"ResourceNotFoundException", "9.0")

	// Deletes: versions first, the recommended minor of a major last.
	h.fails("DeleteServiceTemplate", m{"name": "web"}, "ConflictException", "versions")
	h.fails("DeleteServiceTemplateVersion", svcTmplVersionID("web", "1", "1"), "ConflictException", "recommended")
	// Proton's idempotent deletes: deleting what does not exist (or no
	// longer does) succeeds with an empty answer.
	if got := h.ok("DeleteServiceTemplateVersion", svcTmplVersionID("web", "1", "7")); len(got.body) != 0 {
		t.Errorf("delete of a version that does not exist answers %v, want an empty response", got.body)
	}
	for _, v := range [][2]string{{"1", "0"}, {"1", "1"}, {"2", "0"}} {
		d := h.ok("DeleteServiceTemplateVersion", svcTmplVersionID("web", v[0], v[1]))
		if got := d.str("serviceTemplateVersion.minorVersion"); got != v[1] {
			t.Errorf("delete %s.%s answers %v", v[0], v[1], d.body)
		}
	}
	if got := h.ok("GetServiceTemplate", m{"name": "web"}).str("serviceTemplate.recommendedVersion"); got != "" {
		t.Errorf("recommendedVersion without versions = %q", got)
	}
	h.ok("DeleteServiceTemplate", m{"name": "web"})
	h.fails("GetServiceTemplate", m{"name": "web"}, "ResourceNotFoundException", "web")
	if got := h.ok("DeleteServiceTemplate", m{"name": "web"}); len(got.body) != 0 {
		t.Errorf("delete retried after the template is gone answers %v, want an empty response", got.body)
	}
}

func TestServiceTemplatesListInPages(t *testing.T) {
	t.Parallel()
	h := svcTmplSetup(t)
	for _, n := range []string{"c", "a", "b"} {
		h.ok("CreateServiceTemplate", m{"name": n})
	}
	var names []string
	token := ""
	for {
		in := m{"maxResults": 2}
		if token != "" {
			in["nextToken"] = token
		}
		page := h.ok("ListServiceTemplates", in)
		for _, t := range page.body["templates"].([]any) {
			names = append(names, t.(map[string]any)["name"].(string))
		}
		if token = page.str("nextToken"); token == "" {
			break
		}
	}
	if strings.Join(names, "") != "abc" {
		t.Errorf("templates = %v, want a, b, c", names)
	}
	// A token of another list is refused.
	h.ok("CreateEnvironmentTemplate", m{"name": "other"})
	envToken := h.ok("ListEnvironmentTemplates", m{"maxResults": 1}).str("nextToken")
	h.fails("ListServiceTemplates", m{"nextToken": envToken}, "ValidationException", "nextToken")
	h.fails("ListServiceTemplates", m{"maxResults": 0}, "ValidationException", "maxResults")
}

func TestServiceTemplateVersionNeedsExistingCompatibleEnvironmentTemplates(t *testing.T) {
	t.Parallel()
	h := svcTmplSetup(t)
	h.ok("CreateServiceTemplate", m{"name": "web"})
	src := m{"s3": m{"bucket": "bundles", "key": "svc-web.tgz"}}
	version := func(compat any) m {
		in := m{"templateName": "web", "source": src}
		if compat != nil {
			in["compatibleEnvironmentTemplates"] = compat
		}
		return in
	}
	h.fails("CreateServiceTemplateVersion", version(nil), "ValidationException", "compatibleEnvironmentTemplates")
	h.fails("CreateServiceTemplateVersion", version([]m{}), "ValidationException", "compatibleEnvironmentTemplates")
	h.fails("CreateServiceTemplateVersion", version([]m{{"templateName": "nope", "majorVersion": "1"}}), "ResourceNotFoundException", "nope")
	h.fails("CreateServiceTemplateVersion", version([]m{{"templateName": "net", "majorVersion": "2"}}), "ResourceNotFoundException", "net", "major version 2")
	h.fails("CreateServiceTemplateVersion", version([]m{{"templateName": "net", "majorVersion": "01"}}), "ValidationException", "majorVersion")
	h.fails("CreateServiceTemplateVersion", version(append(netV1, netV1...)), "ValidationException", "twice")
	bad := version(netV1)
	bad["supportedComponentSources"] = []string{"SOMEWHERE"}
	h.fails("CreateServiceTemplateVersion", bad, "ValidationException", "supportedComponentSources")
	other := version(netV1)
	other["templateName"] = "nope"
	h.fails("CreateServiceTemplateVersion", other, "ResourceNotFoundException", "service template nope")
	other = version(netV1)
	other["majorVersion"] = "3"
	h.fails("CreateServiceTemplateVersion", other, "ResourceNotFoundException", "major version 3")
	if got := h.ok("ListServiceTemplateVersions", m{"templateName": "web"}).body["templateVersions"].([]any); len(got) != 0 {
		t.Fatalf("refused creates left versions behind: %v", got)
	}

	// A retry with the same client token returns the version it created.
	ok := version(netV1)
	ok["clientToken"] = "once"
	ok["supportedComponentSources"] = []string{"DIRECTLY_DEFINED"}
	first := h.ok("CreateServiceTemplateVersion", ok)
	if fmt.Sprint(first.body["serviceTemplateVersion"].(map[string]any)["supportedComponentSources"]) != "[DIRECTLY_DEFINED]" {
		t.Errorf("create answers %v", first.body)
	}
	if again := h.ok("CreateServiceTemplateVersion", ok); again.str("serviceTemplateVersion.majorVersion") != "1" {
		t.Errorf("retry created version %s, want 1", again.str("serviceTemplateVersion.majorVersion"))
	}
	h.waitFor("GetServiceTemplateVersion", svcTmplVersionID("web", "1", "0"), "serviceTemplateVersion.status", "DRAFT", "REGISTRATION_IN_PROGRESS")

	// An update naming a missing environment template changes nothing.
	h.fails("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "1", "minorVersion": "0", "description": "changed",
		"compatibleEnvironmentTemplates": []m{{"templateName": "gone", "majorVersion": "1"}}}, "ResourceNotFoundException", "gone")
	v := h.ok("GetServiceTemplateVersion", svcTmplVersionID("web", "1", "0")).body["serviceTemplateVersion"].(map[string]any)
	if _, ok := v["description"]; ok || fmt.Sprint(v["compatibleEnvironmentTemplates"]) != "[map[majorVersion:1 templateName:net]]" {
		t.Errorf("after a refused update: %v", v)
	}
}

func TestBadServiceBundlesEndRegistrationFailedSayingWhy(t *testing.T) {
	t.Parallel()
	h := svcTmplSetup(t)
	h.ok("CreateServiceTemplate", m{"name": "web"})
	tests := []struct {
		bundle, major string
		want          []string
	}{
		{"slow.tgz", "", []string{"service_input_type is missing", "environment template bundle"}},
		{"garbage.tgz", "", nil},
		{"missing.tgz", "", []string{"missing.tgz"}},
	}
	for _, tt := range tests {
		r := svcTmplVersion(h, "web", tt.major, tt.bundle, "REGISTRATION_FAILED")
		msg := r.str("serviceTemplateVersion.statusMessage")
		if msg == "" {
			t.Errorf("%s: REGISTRATION_FAILED without a statusMessage", tt.bundle)
		}
		for _, w := range tt.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: statusMessage %q does not mention %q", tt.bundle, msg, w)
			}
		}
	}
	// A minor version must take every spec the one before it took.
	base := svcTmplVersion(h, "web", "", "svc-web.tgz", "DRAFT").str("serviceTemplateVersion.majorVersion")
	r := svcTmplVersion(h, "web", base, "svc-incompatible.tgz", "REGISTRATION_FAILED")
	if msg := r.str("serviceTemplateVersion.statusMessage"); !strings.Contains(msg, base+".1 is not backward compatible") || !strings.Contains(msg, "port") {
		t.Errorf("statusMessage of an incompatible minor version = %q", msg)
	}
	h.fails("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": base, "minorVersion": "1", "status": "PUBLISHED"},
		"ValidationException", "REGISTRATION_FAILED")
	// A failed version can be deleted.
	h.ok("DeleteServiceTemplateVersion", svcTmplVersionID("web", base, "1"))
}

func TestCustomerManagedPipelineTemplateRefusesAPipelineBundle(t *testing.T) {
	t.Parallel()
	h := svcTmplSetup(t)
	r := h.ok("CreateServiceTemplate", m{"name": "byo", "pipelineProvisioning": "CUSTOMER_MANAGED"})
	if got := r.str("serviceTemplate.pipelineProvisioning"); got != "CUSTOMER_MANAGED" {
		t.Errorf("pipelineProvisioning = %q", got)
	}
	// The retry of a create must ask for the same pipeline provisioning.
	h.fails("CreateServiceTemplate", m{"name": "byo"}, "ValidationException", "already exists", "IdempotentParameterMismatch")
	h.fails("CreateServiceTemplate", m{"name": "x", "pipelineProvisioning": "AWS_MANAGED"}, "ValidationException", "pipelineProvisioning")

	v := svcTmplVersion(h, "byo", "", "svc-web.tgz", "REGISTRATION_FAILED")
	if msg := v.str("serviceTemplateVersion.statusMessage"); !strings.Contains(msg, "pipeline_infrastructure") || !strings.Contains(msg, "CUSTOMER_MANAGED") {
		t.Errorf("statusMessage = %q, want it to name pipeline_infrastructure and CUSTOMER_MANAGED", msg)
	}
	svcTmplVersion(h, "byo", "", "svc-nopipe.tgz", "DRAFT")
	svcTmplPublish(h, "byo", "2", "0")
	list := h.ok("ListServiceTemplates", m{}).body["templates"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["pipelineProvisioning"] != "CUSTOMER_MANAGED" || list[0].(map[string]any)["recommendedVersion"] != "2.0" {
		t.Errorf("templates = %v", list)
	}
	// UpdateServiceTemplate has no pipelineProvisioning: it cannot change.
	if got := h.ok("UpdateServiceTemplate", m{"name": "byo", "displayName": "BYO"}).str("serviceTemplate.pipelineProvisioning"); got != "CUSTOMER_MANAGED" {
		t.Errorf("pipelineProvisioning after update = %q", got)
	}
}

func TestAccountSettingsRoundTrip(t *testing.T) {
	t.Parallel()
	h := setup(t)
	if got := h.ok("GetAccountSettings", m{}).body["accountSettings"]; fmt.Sprint(got) != "map[]" {
		t.Errorf("settings of a new server = %v, want none", got)
	}
	const (
		serviceRole   = "arn:aws:iam::123456789012:role/pipeline-service"
		codebuildRole = "arn:aws:iam::123456789012:role/pipeline-codebuild"
	)
	pipelines := m{"pipelineProvisioningRepository": m{"provider": "GITHUB", "name": "acme/pipelines", "branch": "main"}}
	h.fails("UpdateAccountSettings", pipelines, "ValidationException", "GITHUB repository acme/pipelines is not linked")
	h.ok("CreateRepository", m{"provider": "GITHUB", "name": "acme/pipelines", "connectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1"})
	r := h.ok("UpdateAccountSettings", m{"pipelineServiceRoleArn": serviceRole, "pipelineCodebuildRoleArn": codebuildRole,
		"pipelineProvisioningRepository": pipelines["pipelineProvisioningRepository"]})
	want := map[string]string{
		"accountSettings.pipelineServiceRoleArn":                  serviceRole,
		"accountSettings.pipelineCodebuildRoleArn":                codebuildRole,
		"accountSettings.pipelineProvisioningRepository.name":     "acme/pipelines",
		"accountSettings.pipelineProvisioningRepository.branch":   "main",
		"accountSettings.pipelineProvisioningRepository.provider": "GITHUB",
		"accountSettings.pipelineProvisioningRepository.arn":      "arn:aws:proton:us-east-1:123456789012:repository/github:acme/pipelines",
	}
	for _, got := range []response{r, h.ok("GetAccountSettings", m{})} {
		for path, w := range want {
			if g := got.str(path); g != w {
				t.Errorf("%s = %q, want %q", path, g, w)
			}
		}
	}

	// "" removes a role; what a call leaves out stays.
	r = h.ok("UpdateAccountSettings", m{"pipelineCodebuildRoleArn": ""})
	if r.str("accountSettings.pipelineCodebuildRoleArn") != "" || r.str("accountSettings.pipelineServiceRoleArn") != serviceRole ||
		r.str("accountSettings.pipelineProvisioningRepository.name") != "acme/pipelines" {
		t.Errorf("after clearing the codebuild role: %v", r.body)
	}
	h.fails("UpdateAccountSettings", m{"deletePipelineProvisioningRepository": true,
		"pipelineProvisioningRepository": m{"provider": "GITHUB", "name": "acme/other", "branch": "main"}},
		"ValidationException", "deletePipelineProvisioningRepository")
	h.fails("UpdateAccountSettings", m{"pipelineServiceRoleArn": "not-a-role"}, "ValidationException", "pipelineServiceRoleArn")
	h.fails("UpdateAccountSettings", m{"pipelineProvisioningRepository": m{"provider": "GITLAB", "name": "acme/x", "branch": "main"}},
		"ValidationException", "provider")
	h.fails("DeleteRepository", m{"provider": "GITHUB", "name": "acme/pipelines"}, "ConflictException", "the account setting pipelineProvisioningRepository")
	r = h.ok("UpdateAccountSettings", m{"deletePipelineProvisioningRepository": true})
	if _, ok := r.body["accountSettings"].(map[string]any)["pipelineProvisioningRepository"]; ok || r.str("accountSettings.pipelineServiceRoleArn") != serviceRole {
		t.Errorf("after deleting the repository: %v", r.body)
	}

	// The settings are kept in the database: a new server on the same data sees them.
	srv, err := server.New(context.Background(), server.Config{
		DataDir: h.dataDir, BundleDir: filepath.Join(h.dataDir, "bundles"), Region: "us-east-1", AccountID: "123456789012",
		Store: openSQLite(t, h.dataDir), Engines: testEngines(300 * time.Millisecond), Workers: 1, Owner: "second",
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() {
		ts.Close()
		srv.Close()
	}()
	second := &hadron{t: t, url: ts.URL, dataDir: h.dataDir}
	got := second.ok("GetAccountSettings", m{}).body["accountSettings"]
	if fmt.Sprint(got) != fmt.Sprintf("map[pipelineServiceRoleArn:%s]", serviceRole) {
		t.Errorf("settings read by a second server = %v", got)
	}
}
