package cloudformation

import (
	"regexp"
	"strings"
	"testing"
)

var stackNameRE = regexp.MustCompile(`^[A-Za-z][-A-Za-z0-9]*$`)

func TestStackNamesAreValidStableAndDistinct(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	tests := []struct {
		name, got, want string
	}{
		{"environment", EnvironmentStackName("dev"), "AWSProton-env-dev-"},
		{"service instance", ServiceInstanceStackName("api", "prod"), "AWSProton-svc-api-prod-"},
		{"pipeline", PipelineStackName("api"), "AWSProton-pipeline-api-"},
		{"component", ComponentStackName("cache"), "AWSProton-component-cache-"},
		{"underscore mapped", EnvironmentStackName("my_env"), "AWSProton-env-my-env-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(`^` + regexp.QuoteMeta(tt.want) + `[0-9a-f]{8}$`).MatchString(tt.got) {
				t.Errorf("got %q, want %q + 8-hex hash", tt.got, tt.want)
			}
			if len(tt.got) > MaxStackNameLen || !stackNameRE.MatchString(tt.got) {
				t.Errorf("%q (%d chars) is not a valid stack name", tt.got, len(tt.got))
			}
		})
	}
	truncated := ServiceInstanceStackName(long, long)
	if len(truncated) != MaxStackNameLen || !strings.HasPrefix(truncated, "AWSProton-svc-"+long+"-x") || !stackNameRE.MatchString(truncated) {
		t.Errorf("long names give %q (%d chars)", truncated, len(truncated))
	}
	if EnvironmentStackName("dev") != EnvironmentStackName("dev") {
		t.Error("names are not stable")
	}
	// Pinned: a stack's name must never change between releases, or Hadron
	// would lose its stacks.
	if got := EnvironmentStackName("dev"); got != "AWSProton-env-dev-21fe999f" {
		t.Errorf("EnvironmentStackName(dev) = %q changed", got)
	}
	distinct := []string{
		EnvironmentStackName("my_env"), EnvironmentStackName("my-env"),
		ServiceInstanceStackName("a-b", "c"), ServiceInstanceStackName("a", "b-c"),
		ServiceInstanceStackName(long, long+"1"), ServiceInstanceStackName(long, long+"2"),
		EnvironmentStackName("api"), PipelineStackName("api"), ComponentStackName("api"),
	}
	seen := map[string]bool{}
	for _, n := range distinct {
		if seen[n] {
			t.Errorf("two resources share the stack name %q", n)
		}
		seen[n] = true
	}
}

func TestSessionNameFitsSTS(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	for _, id := range []string{"", "d1", "0d6a1c2e-0000-4000-8000-000000000001", "a b/c", strings.Repeat("z", 100)} {
		if got := SessionName(id); !re.MatchString(got) || !strings.HasPrefix(got, "hadron-") {
			t.Errorf("SessionName(%q) = %q", id, got)
		}
	}
}

func TestProtonTagsOnlyNameWhatIsSet(t *testing.T) {
	t.Parallel()
	got := ProtonTags(TagValues{Account: "123456789012", Environment: "arn:aws:proton:us-east-1:123456789012:environment/dev"})
	if len(got) != 2 || got[TagAccount] != "123456789012" || got[TagEnvironment] != "arn:aws:proton:us-east-1:123456789012:environment/dev" {
		t.Errorf("tags = %v", got)
	}
}
