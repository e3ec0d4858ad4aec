package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ResourceMembers are the input members whose values name the resources a
// call acts on: every string member of an operation's input whose shape is
// ResourceName, ResourceNameOrEmpty or RepositoryName in the API model
// (TestResourceMembersCoverTheModel keeps this list in step with it), and
// resourceArn, whose names are read out of the ARN.
//
// The rule: a key with resource patterns may make a call only if every name
// the call carries matches one of its patterns. CancelEnvironmentDeployment
// {environmentName: "dev-web"} names "dev-web"; CreateEnvironment names the
// environment and its template; GetServiceInstance names the service and the
// instance. A call that names nothing (ListEnvironments, GetDeployment by id,
// GetAccountSettings) is a call on every resource, named "*", which only a
// pattern that matches anything ("*") allows, as in IAM, where list actions
// need Resource "*".
var ResourceMembers = []string{
	"name", "environmentName", "serviceName", "serviceInstanceName",
	"componentName", "templateName", "repositoryName", "resourceArn",
}

// AllResources is the resource of a call that names none.
const AllResources = "*"

// ResourceNames returns the names of the resources a call's JSON body names,
// per ResourceMembers, or [AllResources] when it names none (or is not a JSON
// object: such a body fails decoding later anyway).
func ResourceNames(body []byte) []string {
	var in map[string]json.RawMessage
	if json.Unmarshal(body, &in) != nil {
		return []string{AllResources}
	}
	var names []string
	for _, m := range ResourceMembers {
		raw, ok := in[m]
		if !ok {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			continue
		}
		if m == "resourceArn" {
			names = append(names, arnNames(s)...)
			continue
		}
		names = append(names, s)
	}
	if len(names) == 0 {
		return []string{AllResources}
	}
	return names
}

// arnNames reads the names out of a Proton ARN's resource part, which
// alternates types and names: environment/web, service/api/service-instance/one,
// service/api/pipeline, environment-template/net:1.0 (the version is dropped).
func arnNames(arn string) []string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return []string{arn}
	}
	segs := strings.Split(parts[5], "/")
	var names []string
	for i := 1; i < len(segs); i += 2 {
		names = append(names, segs[i])
	}
	if len(parts) == 6 && len(names) > 0 {
		// A template version ARN ends "name:1.0"; SplitN kept it whole.
		last := names[len(names)-1]
		if j := strings.IndexByte(last, ':'); j >= 0 {
			names[len(names)-1] = last[:j]
		}
	}
	if len(names) == 0 {
		return []string{arn}
	}
	return names
}

// Validate checks the patterns' form.
func (p Policy) Validate() error {
	for _, a := range p.Allow {
		if a == "" {
			return errors.New("an empty --allow pattern matches nothing")
		}
		if la := strings.ToLower(a); a != "*" && !strings.HasPrefix(la, "proton:") && !strings.HasPrefix(la, "hadron:") {
			return fmt.Errorf("action pattern %q must start with proton: (e.g. proton:Get*) or hadron: (e.g. hadron:GetStatus), or be *", a)
		}
	}
	for _, r := range p.Resources {
		if r == "" {
			return errors.New("an empty --resource pattern matches nothing")
		}
	}
	return nil
}

type compiledPolicy struct {
	allow     []string // lowercase
	resources []string
}

func (p Policy) compile() (compiledPolicy, error) {
	if err := p.Validate(); err != nil {
		return compiledPolicy{}, err
	}
	c := compiledPolicy{resources: p.Resources}
	for _, a := range p.Allow {
		c.allow = append(c.allow, strings.ToLower(a))
	}
	return c, nil
}

// allowsAction reports whether the policy allows action ("proton:<operation>"
// or "hadron:<action>").
func (c *compiledPolicy) allowsAction(action string) bool {
	if len(c.allow) == 0 {
		return true
	}
	action = strings.ToLower(action)
	for _, p := range c.allow {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// deniedResource returns the first name no resource pattern matches, or "".
func (c *compiledPolicy) deniedResource(names []string) string {
	for _, n := range names {
		ok := false
		for _, p := range c.resources {
			if Match(p, n) {
				ok = true
				break
			}
		}
		if !ok {
			return n
		}
	}
	return ""
}

// Match reports whether s matches pattern, where '*' matches any run of
// characters (also none) and '?' exactly one; nothing else is special. It
// runs in O(len(pattern) * len(s)) at worst.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
