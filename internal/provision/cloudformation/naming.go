package cloudformation

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Stack names are "AWSProton-<kind>-<names>-<hash>". Proton named its
// stacks AWSProton-*; the rest of its scheme is not documented, so this one
// only has to be stable and safe:
//   - the kind keeps an environment "a-b" apart from service "a"'s
//     instance "b";
//   - the hash (of the kind and the exact names) keeps names apart that
//     sanitizing or truncating made equal: Proton names may hold "_",
//     which stack names may not, and two long names can share a prefix;
//   - the result matches [A-Za-z][-A-Za-z0-9]* and has at most
//     MaxStackNameLen characters.
const (
	// MaxStackNameLen is CloudFormation's limit on a stack name, in characters.
	MaxStackNameLen = 128
	stackNamePrefix = "AWSProton-"
	hashLen         = 8
)

// EnvironmentStackName returns the stack name of an environment.
func EnvironmentStackName(environment string) string {
	return stackName("env", environment)
}

// ServiceInstanceStackName returns the stack name of a service instance.
func ServiceInstanceStackName(service, instance string) string {
	return stackName("svc", service, instance)
}

// PipelineStackName returns the stack name of a service's pipeline.
func PipelineStackName(service string) string {
	return stackName("pipeline", service)
}

// ComponentStackName returns the stack name of a component.
func ComponentStackName(component string) string {
	return stackName("component", component)
}

func stackName(kind string, names ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, n := range names {
		// NUL cannot occur in a name, so ("a-b") and ("a","b") hash apart.
		h.Write([]byte{0})
		h.Write([]byte(n))
	}
	sum := hex.EncodeToString(h.Sum(nil))[:hashLen]

	var b strings.Builder
	b.WriteString(stackNamePrefix)
	b.WriteString(kind)
	for _, n := range names {
		b.WriteByte('-')
		b.WriteString(sanitize(n))
	}
	body := b.String()
	if max := MaxStackNameLen - 1 - hashLen; len(body) > max {
		body = strings.TrimRight(body[:max], "-")
	}
	return body + "-" + sum
}

// sanitize maps a Proton name ([0-9A-Za-z][0-9A-Za-z_-]*) onto the
// characters a stack name allows.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		default:
			return '-'
		}
	}, s)
}

// Proton's tag keys on the stacks it created. Proton set them to the ARNs of
// the resources they name.
const (
	TagAccount         = "proton:account"
	TagTemplate        = "proton:template"
	TagEnvironment     = "proton:environment"
	TagService         = "proton:service"
	TagServiceInstance = "proton:service-instance"
	TagComponent       = "proton:component"
)

// TagValues names, by ARN (the account by its id), what a stack belongs to;
// an empty field gives no tag.
type TagValues struct {
	Account         string
	Template        string // the template version's template ARN
	Environment     string
	Service         string
	ServiceInstance string
	Component       string
}

// ProtonTags returns the proton:* tags for a stack, one per non-empty field.
func ProtonTags(v TagValues) map[string]string {
	tags := map[string]string{}
	for k, val := range map[string]string{
		TagAccount:         v.Account,
		TagTemplate:        v.Template,
		TagEnvironment:     v.Environment,
		TagService:         v.Service,
		TagServiceInstance: v.ServiceInstance,
		TagComponent:       v.Component,
	} {
		if val != "" {
			tags[k] = val
		}
	}
	return tags
}
