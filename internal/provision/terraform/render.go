package terraform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hadronhq/hadron/internal/provision"
)

// The files Proton wrote next to a template's .tf files for self-managed
// (Terraform) provisioning, which both modes of this engine write too:
// the local run (Hadron runs terraform) and the hand-off (outside
// automation runs it).
const (
	// VarsFile holds the values of the variables: the resource's Proton
	// inputs document and proton_tags. Terraform loads *.auto.tfvars.json
	// files by itself.
	VarsFile = "proton.auto.tfvars.json"
	// MetadataFile tells outside automation which deployment the files are
	// for and whether the resource is being deleted.
	MetadataFile = ".proton/deployment-metadata.json"
)

// VariablesFile is the name of the file declaring the variables of a
// resource of kind (provision.Kind*): proton.environment.variables.tf,
// proton.service_instance.variables.tf, proton.pipeline.variables.tf or
// proton.component.variables.tf.
func VariablesFile(kind string) string {
	return "proton." + kindWord(kind) + ".variables.tf"
}

func kindWord(kind string) string {
	switch kind {
	case provision.KindEnvironment:
		return "environment"
	case provision.KindServiceInstance:
		return "service_instance"
	case provision.KindServicePipeline:
		return "pipeline"
	case provision.KindComponent:
		return "component"
	}
	return strings.ToLower(kind)
}

// Deployment is what the files are rendered from.
type Deployment struct {
	ID      string
	Deleted bool // a delete: isResourceDeleted
	Target  provision.Target
	// Inputs is the resource's Proton inputs document (provision.Inputs as JSON).
	Inputs json.RawMessage
}

// Render returns Proton's three files for d, keyed by their path in the
// working directory.
//
// The variables are those of the inputs document (environment, service,
// service_instance, service_instances, pipeline, component: whichever the
// resource's kind has) and proton_tags. Their types are written from the
// document itself, an object type with the keys it carries, because a
// value missing a key of its type, or carrying one more, is refused by
// Terraform. The inputs of a resource are typed map(string), as Proton's
// published variables files typed them: numbers and booleans become
// strings, so a template that compares an input with "3" or "true"
// behaves as it did under Proton, and tonumber() and conditions still
// work. An input that is a list or an object cannot be a string: when a
// resource has one, its inputs are typed `any` instead (Proton's later
// files used `any` for the same reason). The instances of a pipeline are
// a list of one object type, unless their types differ (one of them has a
// list input): then service_instances is `any`, since a Terraform list
// needs one element type.
func Render(d Deployment) (map[string][]byte, error) {
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(d.Inputs))
	dec.UseNumber()
	if len(d.Inputs) > 0 {
		if err := dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("read the inputs document: %w", err)
		}
	}
	if doc == nil {
		doc = map[string]any{}
	}
	tags, err := protonTags(d.Target, doc)
	if err != nil {
		return nil, err
	}

	var tf bytes.Buffer
	fmt.Fprintf(&tf, "# Written by Hadron for this deployment, as AWS Proton wrote it for a\n# self-managed %s: the values are in %s.\n", strings.ReplaceAll(kindWord(d.Target.Kind), "_", " "), VarsFile)
	for _, name := range slices.Sorted(maps.Keys(doc)) {
		fmt.Fprintf(&tf, "\nvariable %q {\n  type = %s\n}\n", name, typeOf(name, doc[name], 1))
	}
	tf.WriteString("\nvariable \"proton_tags\" {\n  type = map(string)\n}\n")

	vars := map[string]any{"proton_tags": tags}
	for k, v := range doc {
		vars[k] = v
	}
	varsJSON, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", VarsFile, err)
	}

	meta, err := metadata(d)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		VariablesFile(d.Target.Kind): tf.Bytes(),
		VarsFile:                     append(varsJSON, '\n'),
		MetadataFile:                 meta,
	}, nil
}

// typeOf writes the Terraform type of value v found under key, indented
// for nesting depth.
func typeOf(key string, v any, depth int) string {
	switch key {
	case "inputs":
		if m, ok := v.(map[string]any); ok && allScalar(m) {
			return "map(string)"
		}
		return "any"
	case "outputs":
		return "map(string)"
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return "object({})"
		}
		keys := slices.Sorted(maps.Keys(v))
		width := 0
		for _, k := range keys {
			width = max(width, len(k))
		}
		var b strings.Builder
		b.WriteString("object({\n")
		pad := strings.Repeat("  ", depth+1)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s%-*s = %s\n", pad, width, k, typeOf(k, v[k], depth+1))
		}
		b.WriteString(strings.Repeat("  ", depth) + "})")
		return b.String()
	case []any:
		if len(v) == 0 {
			return "list(any)"
		}
		elem := typeOf("", v[0], depth)
		for _, e := range v[1:] {
			if typeOf("", e, depth) != elem {
				return "any"
			}
		}
		return "list(" + elem + ")"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	}
	return "string"
}

// allScalar reports whether every value of m can be held by a string.
func allScalar(m map[string]any) bool {
	for _, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// arnPrefix returns "arn:aws:proton:<region>:<account>:" of a resource ARN,
// and the account.
func arnPrefix(arn string) (string, string, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "proton" {
		return "", "", fmt.Errorf("resource ARN %q is not a Proton ARN", arn)
	}
	return strings.Join(parts[:5], ":") + ":", parts[4], nil
}

// templateARN is the ARN of the target's template, "" for a component.
func templateARN(prefix string, t provision.Target) string {
	switch {
	case t.TemplateName == "":
		return ""
	case t.Kind == provision.KindEnvironment:
		return prefix + "environment-template/" + t.TemplateName
	}
	return prefix + "service-template/" + t.TemplateName
}

// protonTags are the AWS-managed tags Proton gave a resource's
// infrastructure through the proton_tags variable: the account, the
// template, and the resources the target belongs to.
func protonTags(t provision.Target, doc map[string]any) (map[string]string, error) {
	prefix, account, err := arnPrefix(t.ARN)
	if err != nil {
		return nil, err
	}
	tags := maps.Clone(t.Tags) // the customer's tags, under Proton's own
	if tags == nil {
		tags = map[string]string{}
	}
	tags["proton:account"] = account
	if arn := templateARN(prefix, t); arn != "" {
		tags["proton:template"] = arn
	}
	if t.EnvironmentName != "" {
		tags["proton:environment"] = prefix + "environment/" + t.EnvironmentName
	}
	if t.ServiceName != "" {
		tags["proton:service"] = prefix + "service/" + t.ServiceName
	}
	switch t.Kind {
	case provision.KindServiceInstance:
		tags["proton:service-instance"] = t.ARN
	case provision.KindServicePipeline:
		tags["proton:pipeline"] = t.ARN
	case provision.KindComponent:
		tags["proton:component"] = t.ARN
		// An attached component: its instance is in the document.
		if si, ok := doc["service_instance"].(map[string]any); ok && t.ServiceName != "" {
			if name, ok := si["name"].(string); ok {
				tags["proton:service-instance"] = prefix + "service/" + t.ServiceName + "/service-instance/" + name
			}
		}
	}
	return tags, nil
}

// resourceMetadata is deployment-metadata.json's part about the resource.
type resourceMetadata struct {
	ARN                  string `json:"arn"`
	TemplateARN          string `json:"templateArn,omitempty"`
	TemplateMajorVersion string `json:"templateMajorVersion,omitempty"`
	TemplateMinorVersion string `json:"templateMinorVersion,omitempty"`
	EnvironmentARN       string `json:"environmentArn,omitempty"`
}

// metadata writes .proton/deployment-metadata.json: a component's part is
// componentMetadata (it has no template), every other resource's
// resourceMetadata.
func metadata(d Deployment) ([]byte, error) {
	prefix, _, err := arnPrefix(d.Target.ARN)
	if err != nil {
		return nil, err
	}
	rm := &resourceMetadata{ARN: d.Target.ARN}
	if d.Target.EnvironmentName != "" {
		rm.EnvironmentARN = prefix + "environment/" + d.Target.EnvironmentName
	}
	if arn := templateARN(prefix, d.Target); arn != "" {
		rm.TemplateARN = arn
		rm.TemplateMajorVersion = fmt.Sprint(d.Target.TemplateMajor)
		rm.TemplateMinorVersion = fmt.Sprint(d.Target.TemplateMinor)
	}
	v := struct {
		DeploymentID      string            `json:"deploymentId"`
		IsResourceDeleted bool              `json:"isResourceDeleted"`
		ResourceMetadata  *resourceMetadata `json:"resourceMetadata,omitempty"`
		ComponentMetadata *resourceMetadata `json:"componentMetadata,omitempty"`
	}{DeploymentID: d.ID, IsResourceDeleted: d.Deleted}
	if d.Target.Kind == provision.KindComponent {
		v.ComponentMetadata = rm
	} else {
		v.ResourceMetadata = rm
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", MetadataFile, err)
	}
	return append(b, '\n'), nil
}
