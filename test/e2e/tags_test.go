package e2e

import (
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

const arnPrefix = "arn:aws:proton:us-east-1:000000000000:"

type tagsOut struct {
	Tags []struct{ Key, Value string }
}

func (o tagsOut) asMap() map[string]string {
	m := map[string]string{}
	for _, t := range o.Tags {
		m[t.Key] = t.Value
	}
	return m
}

// TestCLITagsAndResourcesSummary tags a template at its create and after,
// through the AWS CLI, reads the tags back and removes one; the CLI shows
// Proton's errors. get-resources-summary then counts the template, with
// every member the model's documentation gives each kind (boto3 reads a
// summary with staleness in TestBoto3TagsAndResourcesSummary).
func TestCLITagsAndResourcesSummary(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // eight AWS CLI runs
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.awsOK(t, nil, "create-environment-template", "--name", "tagged", "--tags", "key=team,value=net", "key=cost,value=42")
	arn := arnPrefix + "environment-template/tagged"
	var out tagsOut
	s.awsOK(t, &out, "list-tags-for-resource", "--resource-arn", arn)
	if got := out.asMap(); !maps.Equal(got, map[string]string{"team": "net", "cost": "42"}) {
		t.Errorf("tags after create = %v", got)
	}
	s.awsOK(t, nil, "tag-resource", "--resource-arn", arn, "--tags", "key=team,value=platform", "key=tier,value=gold")
	s.awsOK(t, nil, "untag-resource", "--resource-arn", arn, "--tag-keys", "cost")
	s.awsOK(t, &out, "list-tags-for-resource", "--resource-arn", arn)
	if got := out.asMap(); !maps.Equal(got, map[string]string{"team": "platform", "tier": "gold"}) {
		t.Errorf("tags after tag and untag = %v", got)
	}
	if msg := s.awsErr(t, "ResourceNotFoundException", "tag-resource", "--resource-arn", arnPrefix+"environment-template/none",
		"--tags", "key=a,value=b"); !strings.Contains(msg, arnPrefix+"environment-template/none") {
		t.Errorf("the error does not name the ARN: %s", msg)
	}
	if msg := s.awsErr(t, "ValidationException", "tag-resource", "--resource-arn", arn, "--tags", "key=proton:x,value=b"); !strings.Contains(msg, "tags[0].key") {
		t.Errorf("the error does not name the field: %s", msg)
	}

	var summary struct{ Counts map[string]map[string]int }
	s.awsOK(t, &summary, "get-resources-summary")
	zero := map[string]int{"total": 0, "upToDate": 0, "behindMinor": 0, "behindMajor": 0, "failed": 0}
	want := map[string]map[string]int{
		"environmentTemplates": {"total": 1}, "serviceTemplates": {"total": 0}, "environments": {"total": 0},
		"components": {"total": 0, "failed": 0}, "services": zero, "serviceInstances": zero, "pipelines": zero,
	}
	if !reflect.DeepEqual(summary.Counts, want) {
		t.Errorf("get-resources-summary counts = %v\nwant %v", summary.Counts, want)
	}
}

// TestBoto3TagsAndResourcesSummary tags a deployed environment and its
// template with boto3, pages through the tags, and reads the summary.
func TestBoto3TagsAndResourcesSummary(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // a deployment and a boto3 run
	requireBoto3(t)
	s := startServer(t, t.TempDir())
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{"name": "web", "templateName": "network", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": "proton: EnvironmentSpec\nspec:\n  name_tag: web\n"}, nil)
	s.waitEnvironment(t, "web", "SUCCEEDED")
	var got struct {
		EnvironmentTags, TemplateTags map[string]string
		Pages                         int
		Missing                       struct{ Code, Message string }
		Summary                       map[string]map[string]int
	}
	s.python(t, &got, "boto3_tags_summary.py", "web")
	if !maps.Equal(got.EnvironmentTags, map[string]string{"a": "1", "c": "3"}) || got.Pages != 2 {
		t.Errorf("environment tags = %v in %d pages, want a=1 c=3 in 2", got.EnvironmentTags, got.Pages)
	}
	if !maps.Equal(got.TemplateTags, map[string]string{"owner": "net"}) {
		t.Errorf("template tags = %v", got.TemplateTags)
	}
	if got.Missing.Code != "ResourceNotFoundException" || !strings.Contains(got.Missing.Message, arnPrefix+"environment/none") {
		t.Errorf("tags of a missing resource: %+v", got.Missing)
	}
	zero := map[string]int{"total": 0, "upToDate": 0, "behindMinor": 0, "behindMajor": 0, "failed": 0}
	want := map[string]map[string]int{
		"environmentTemplates": {"total": 1}, "serviceTemplates": {"total": 0}, "environments": {"total": 1},
		"components": {"total": 0, "failed": 0}, "services": zero, "serviceInstances": zero, "pipelines": zero,
	}
	if !reflect.DeepEqual(got.Summary, want) {
		t.Errorf("summary = %v\nwant %v", got.Summary, want)
	}
}
