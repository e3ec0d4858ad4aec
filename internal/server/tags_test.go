package server_test

import (
	"fmt"
	"maps"
	"testing"
)

const arnPrefix = "arn:aws:proton:us-east-1:123456789012:"

// tagsOf lists every tag of arn, a page of two at a time.
func (h *hadron) tagsOf(arn string) map[string]string {
	h.t.Helper()
	tags := map[string]string{}
	token := ""
	for {
		in := m{"resourceArn": arn, "maxResults": 2}
		if token != "" {
			in["nextToken"] = token
		}
		r := h.ok("ListTagsForResource", in)
		for _, t := range r.body["tags"].([]any) {
			t := t.(map[string]any)
			tags[t["key"].(string)] = t["value"].(string)
		}
		if token = r.str("nextToken"); token == "" {
			return tags
		}
	}
}

func tagList(kv ...string) []m {
	var out []m
	for i := 0; i < len(kv); i += 2 {
		out = append(out, m{"key": kv[i], "value": kv[i+1]})
	}
	return out
}

// Every taggable resource keeps the tags its create gave it, and TagResource
// and UntagResource change them through its ARN.
func TestTagsOfEveryTaggableResourceRoundTrip(t *testing.T) {
	t.Parallel()
	h := componentSetup(t)
	h.ok("CreateEnvironmentTemplate", m{"name": "tagged", "tags": tagList("team", "net", "empty", "")})
	h.ok("CreateService", m{"name": "shop", "templateName": "web", "templateMajorVersion": "1",
		"spec": serviceSpec("", "one@alpha"), "tags": tagList("app", "shop")})
	h.ok("CreateComponent", m{"name": "cache", "environmentName": "alpha", "manifest": componentManifest,
		"templateFile": componentScript("b", 0), "tags": tagList("tier", "cache")})
	h.ok("CreateRepository", m{"provider": "GITHUB", "name": "o/r", "tags": tagList("repo", "yes"),
		"connectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/c"})
	h.waitService("shop", "ACTIVE")
	h.waitComponent("cache", "SUCCEEDED")

	created := map[string]map[string]string{
		"environment-template/tagged": {"team": "net", "empty": ""},
		"service/shop":                {"app": "shop"},
		"component/cache":             {"tier": "cache"},
		"repository/github:o/r":       {"repo": "yes"},
	}
	for key, want := range created {
		if got := h.tagsOf(arnPrefix + key); !maps.Equal(got, want) {
			t.Errorf("tags of %s after create = %v, want %v", key, got, want)
		}
	}
	for _, key := range []string{
		"environment-template/net", "environment-template/net:1.0", "environment/alpha",
		"service-template/web", "service-template/web:1.0", "service/api", "service/api/pipeline",
		"service/api/service-instance/one", "component/cache", "repository/github:o/r",
	} {
		arn := arnPrefix + key
		h.ok("TagResource", m{"resourceArn": arn, "tags": tagList("a", "1", "b", "2", "c", "3")})
		h.ok("TagResource", m{"resourceArn": arn, "tags": tagList("a", "one")})
		h.ok("UntagResource", m{"resourceArn": arn, "tagKeys": []string{"b", "never-set"}})
		want := map[string]string{"a": "one", "c": "3"}
		maps.Copy(want, created[key])
		if got := h.tagsOf(arn); !maps.Equal(got, want) {
			t.Errorf("tags of %s = %v, want %v", key, got, want)
		}
	}
	// Tags of a deleted resource go with it: a new one of the same name starts bare.
	h.ok("DeleteEnvironmentTemplate", m{"name": "tagged"})
	h.fails("ListTagsForResource", m{"resourceArn": arnPrefix + "environment-template/tagged"}, "ResourceNotFoundException", arnPrefix+"environment-template/tagged")
	h.ok("CreateEnvironmentTemplate", m{"name": "tagged"})
	if got := h.tagsOf(arnPrefix + "environment-template/tagged"); len(got) != 0 {
		t.Errorf("tags of a template created again = %v, want none", got)
	}
}

func TestTagErrorsNameTheFieldOrTheResource(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.ok("CreateEnvironmentTemplate", m{"name": "net"})
	arn := arnPrefix + "environment-template/net"
	for _, c := range []struct {
		name, op string
		in       m
		errType  string
		want     []string
	}{
		{"missing resource", "TagResource", m{"resourceArn": arnPrefix + "environment/nope", "tags": tagList("a", "1")},
			"ResourceNotFoundException", []string{arnPrefix + "environment/nope"}},
		{"missing version", "ListTagsForResource", m{"resourceArn": arn + ":1.0"}, "ResourceNotFoundException", []string{arn + ":1.0"}},
		{"another account", "ListTagsForResource", m{"resourceArn": "arn:aws:proton:us-east-1:999999999999:environment-template/net"},
			"ResourceNotFoundException", []string{"999999999999"}},
		{"not a Proton ARN", "UntagResource", m{"resourceArn": "arn:aws:s3:::bucket", "tagKeys": []string{"a"}},
			"ValidationException", []string{"resourceArn"}},
		{"not taggable", "TagResource", m{"resourceArn": arnPrefix + "deployment/00000000-0000-4000-8000-000000000000", "tags": tagList("a", "1")},
			"ValidationException", []string{"resourceArn", "deployment"}},
		{"reserved proton key", "TagResource", m{"resourceArn": arn, "tags": tagList("a", "1", "proton:environment", "x")},
			"ValidationException", []string{"tags[1].key", "reserved"}},
		{"reserved aws key", "CreateEnvironmentTemplate", m{"name": "other", "tags": tagList("aws:x", "1")},
			"ValidationException", []string{"tags[0].key"}},
		{"repeated key", "TagResource", m{"resourceArn": arn, "tags": tagList("a", "1", "a", "2")},
			"ValidationException", []string{"tags[1].key"}},
		{"key too long", "TagResource", m{"resourceArn": arn, "tags": tagList(fmt.Sprintf("%0129d", 0), "1")},
			"ValidationException", []string{"tags"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.fails(c.op, c.in, c.errType, c.want...)
		})
	}
	h.t = t
	if got := h.tagsOf(arn); len(got) != 0 {
		t.Errorf("tags after refused calls = %v, want none", got)
	}
	h.fails("GetEnvironmentTemplate", m{"name": "other"}, "ResourceNotFoundException") // the refused create made nothing

	// 50 tags at most: 30 and 30 more is refused whole, and a swap within the limit is not.
	var first, second []string
	for i := range 30 {
		first = append(first, fmt.Sprintf("k%02d", i), "v")
		second = append(second, fmt.Sprintf("n%02d", i), "v")
	}
	h.ok("TagResource", m{"resourceArn": arn, "tags": tagList(first...)})
	h.fails("TagResource", m{"resourceArn": arn, "tags": tagList(second...)}, "ValidationException", "50")
	if got := h.tagsOf(arn); len(got) != 30 {
		t.Errorf("%d tags after a refused TagResource, want 30", len(got))
	}
	h.ok("TagResource", m{"resourceArn": arn, "tags": tagList(second[:40]...)})
	if got := h.tagsOf(arn); len(got) != 50 {
		t.Errorf("%d tags, want 50", len(got))
	}
}
