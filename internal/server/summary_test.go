package server_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// GetResourcesSummary counts each type as the model defines: totals for
// templates and environments, total and failed for components, and
// staleness against the recommended version for services, instances and
// pipelines.
func TestResourcesSummaryCountsStalenessAndFailures(t *testing.T) {
	t.Parallel()
	h := componentSetup(t)
	h.ok("CreateComponent", m{"name": "bad", "environmentName": "alpha", "manifest": componentManifest, "templateFile": "exit 3\n"})
	h.waitComponent("bad", "FAILED")

	summary := func() map[string]map[string]int {
		h.t.Helper()
		raw, _ := json.Marshal(h.ok("GetResourcesSummary", m{}).body["counts"])
		var got map[string]map[string]int
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	counts := func(total, upToDate, minor, major int) map[string]int {
		return map[string]int{"total": total, "upToDate": upToDate, "behindMinor": minor, "behindMajor": major, "failed": 0}
	}
	want := map[string]map[string]int{
		"environmentTemplates": {"total": 1},
		"serviceTemplates":     {"total": 1},
		"environments":         {"total": 1},
		"components":           {"total": 1, "failed": 1},
		"services":             counts(1, 1, 0, 0),
		"serviceInstances":     counts(1, 1, 0, 0),
		"pipelines":            counts(1, 1, 0, 0),
	}
	if got := summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("summary = %v\nwant %v", got, want)
	}

	publish := func(major string) {
		in := m{"templateName": "web", "source": m{"s3": m{"bucket": "bundles", "key": "svc.tgz"}},
			"compatibleEnvironmentTemplates": []m{{"templateName": "net", "majorVersion": "1"}}}
		if major != "" {
			in["majorVersion"] = major
		}
		v := h.ok("CreateServiceTemplateVersion", in).body["serviceTemplateVersion"].(map[string]any)
		get := m{"templateName": "web", "majorVersion": v["majorVersion"], "minorVersion": v["minorVersion"]}
		h.waitFor("GetServiceTemplateVersion", get, "serviceTemplateVersion.status", "DRAFT", "REGISTRATION_IN_PROGRESS")
		get["status"] = "PUBLISHED"
		h.ok("UpdateServiceTemplateVersion", get)
	}
	publish("1") // 1.1
	for _, k := range []string{"services", "serviceInstances", "pipelines"} {
		want[k] = counts(1, 0, 1, 0)
	}
	if got := summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("after web 1.1: summary = %v\nwant %v", got, want)
	}
	publish("") // 2.0
	for _, k := range []string{"services", "serviceInstances", "pipelines"} {
		want[k] = counts(1, 0, 0, 1)
	}
	if got := summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("after web 2.0: summary = %v\nwant %v", got, want)
	}
}
