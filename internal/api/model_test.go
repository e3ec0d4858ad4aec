package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/api/internal/model"
)

// environmentOperations are the operations whose validation is tabulated from
// the model below.
var environmentOperations = []string{
	"CreateEnvironmentTemplate", "GetEnvironmentTemplate", "ListEnvironmentTemplates",
	"UpdateEnvironmentTemplate", "DeleteEnvironmentTemplate",
	"CreateEnvironmentTemplateVersion", "GetEnvironmentTemplateVersion",
	"ListEnvironmentTemplateVersions", "UpdateEnvironmentTemplateVersion",
	"DeleteEnvironmentTemplateVersion",
	"CreateEnvironment", "GetEnvironment", "ListEnvironments", "UpdateEnvironment",
	"DeleteEnvironment", "ListEnvironmentOutputs", "ListEnvironmentProvisionedResources",
	"CancelEnvironmentDeployment", "GetDeployment", "ListDeployments", "DeleteDeployment",
}

// samplers make a value of n code points that matches a patterned string shape,
// as nearly as the pattern allows; callers check the result against the model.
// Every patterned shape of the model needs one.
var samplers = map[string]func(n int) string{
	"Arn":                            prefixed("arn:aws:proton:us-east-1:000000000000:environment/", "e"),
	"AwsAccountId":                   func(int) string { return "000000000000" },
	"ClientToken":                    prefixed("", "t"),
	"DeploymentId":                   func(int) string { return "0123abcd-0123-4567-89ab-0123456789ab" },
	"EnvironmentAccountConnectionId": func(int) string { return "0123abcd-0123-4567-89ab-0123456789ab" },
	"FullTemplateVersionNumber":      prefixed("1.", "1"),
	"NextToken":                      prefixed("", "A"),
	"RepositoryName":                 prefixed("o/", "r"),
	"ResourceName":                   prefixed("", "a"),
	"ResourceNameOrEmpty":            prefixed("", "a"),
	"RoleArn":                        roleArn,
	"RoleArnOrEmptyString":           roleArn,
	"S3Bucket":                       prefixed("", "b"),
	"TemplateVersionPart":            prefixed("", "1"),
}

func prefixed(prefix, fill string) func(int) string {
	return func(n int) string {
		return prefix + strings.Repeat(fill, max(n-len(prefix), 1))
	}
}

// roleArn pads the role name with path segments ("r/r/r"), since the model
// allows at most 64 characters in the last one.
func roleArn(n int) string {
	const prefix = "arn:aws:iam::000000000000:role/"
	k := max(n-len(prefix), 1)
	return prefix + "r" + strings.Repeat("/r", (k-1)/2) + strings.Repeat("r", (k-1)%2)
}

// sample returns a value of exactly n code points valid for the string shape,
// or false if the shape admits none of that length.
func sample(t *testing.T, name string, n int) (string, bool) {
	t.Helper()
	s := spec().Shapes[name]
	var v string
	switch {
	case len(s.Enum) > 0:
		v = s.Enum[0]
	case n == 0:
		v = ""
	case s.Pattern != "":
		gen, ok := samplers[name]
		if !ok {
			t.Fatalf("no sampler for patterned shape %s (%s): add one to samplers", name, s.Pattern)
		}
		v = gen(n)
	default:
		v = strings.Repeat("a", n)
	}
	if len([]rune(v)) != n && len(s.Enum) == 0 {
		return "", false
	}
	if re := spec().patterns[name]; re != nil && !re.MatchString(v) {
		return "", false
	}
	return v, true
}

// validString returns a valid value of the shortest length the shape allows.
func validString(t *testing.T, name string) string {
	t.Helper()
	s := spec().Shapes[name]
	for n := max(minOf(s), 1); n <= max(minOf(s), 1)+64; n++ {
		if v, ok := sample(t, name, n); ok {
			return v
		}
	}
	t.Fatalf("cannot make a valid value of shape %s", name)
	return ""
}

func minOf(s *model.Shape) int {
	if s.Min == nil {
		return 0
	}
	return int(*s.Min)
}

// minimal returns the smallest valid JSON value of a shape: required members
// only, one member of a union, lists at their minimum length.
func minimal(t *testing.T, name string) any {
	t.Helper()
	s := spec().Shapes[name]
	switch s.Type {
	case "structure":
		obj := map[string]any{}
		for _, mem := range s.Members {
			if s.IsRequired(mem.Name) || (s.Union && len(obj) == 0) {
				obj[mem.Name] = minimal(t, mem.Shape)
			}
		}
		return obj
	case "list":
		list := []any{}
		for range minOf(s) {
			list = append(list, minimal(t, s.Member.Shape))
		}
		return list
	case "map":
		return map[string]any{}
	case "string":
		return validString(t, name)
	case "integer", "long":
		return max(minOf(s), 1)
	case "boolean":
		return true
	case "timestamp":
		return 1700000000
	}
	t.Fatalf("shape %s: unexpected type %s", name, s.Type)
	return nil
}

// validationCase is one request body and what Decode must make of it.
type validationCase struct {
	name string
	body map[string]any
	// want is "" for a body that decodes, else the violation that the
	// message must contain, from "at '<path>'" on.
	want string
	// secret is a value that must not appear in the message.
	secret string
}

// builder makes a whole valid request whose innermost object (the one holding
// the member under test) has been passed through edit.
type builder func(edit func(obj map[string]any)) map[string]any

// casesFor derives validation cases from the model for the members of a
// structure shape, recursing into nested structures and lists of them.
func casesFor(t *testing.T, shapeName, path string, build builder, depth int) []validationCase {
	t.Helper()
	if depth > 8 {
		return nil
	}
	s := spec().Shapes[shapeName]
	var cases []validationCase
	for _, mem := range s.Members {
		target, memPath := spec().Shapes[mem.Shape], mem.Name
		if path != "" {
			memPath = path + "." + mem.Name
		}
		set := func(v any) map[string]any {
			return build(func(obj map[string]any) {
				if s.Union {
					clear(obj)
				}
				obj[mem.Name] = v
			})
		}
		add := func(what string, v any, want string) {
			c := validationCase{name: memPath + "/" + what, body: set(v)}
			if want != "" {
				c.want = fmt.Sprintf("at '%s' failed to satisfy constraint: %s", memPath, want)
				if spec().secret[mem.Shape] || s.Sensitive {
					c.want = "Value '***' " + c.want
					if str, ok := v.(string); ok && str != "" {
						c.secret = str
					}
				}
			}
			cases = append(cases, c)
		}
		if s.IsRequired(mem.Name) {
			cases = append(cases, validationCase{
				name: memPath + "/absent",
				body: build(func(obj map[string]any) { delete(obj, mem.Name) }),
				want: fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", memPath),
			})
		}
		switch target.Type {
		case "string":
			cases = append(cases, stringCases(t, mem.Shape, add)...)
		case "integer", "long":
			if target.Min != nil {
				add("below minimum", *target.Min-1, fmt.Sprintf("Member must have value greater than or equal to %d", *target.Min))
				add("at minimum", *target.Min, "")
			}
			if target.Max != nil {
				add("at maximum", *target.Max, "")
				add("above maximum", *target.Max+1, fmt.Sprintf("Member must have value less than or equal to %d", *target.Max))
			}
		case "list":
			elem := func(n int) []any {
				list := make([]any, n)
				for i := range list {
					list[i] = minimal(t, target.Member.Shape)
				}
				return list
			}
			if n := minOf(target); n > 0 {
				add("too short", elem(n-1), fmt.Sprintf("Member must have length greater than or equal to %d", n))
			}
			if target.Max != nil {
				add("longest", elem(int(*target.Max)), "")
				add("too long", elem(int(*target.Max)+1), fmt.Sprintf("Member must have length less than or equal to %d", *target.Max))
			}
			if spec().Shapes[target.Member.Shape].Type == "structure" {
				inner := func(edit func(map[string]any)) map[string]any {
					return build(func(obj map[string]any) {
						el := minimal(t, target.Member.Shape).(map[string]any)
						edit(el)
						list := append([]any{el}, elem(max(minOf(target)-1, 0))...)
						if s.Union {
							clear(obj)
						}
						obj[mem.Name] = list
					})
				}
				cases = append(cases, casesFor(t, target.Member.Shape, memPath+".1.member", inner, depth+1)...)
			}
		case "structure":
			if target.Union {
				add("union with no member set", map[string]any{}, "Member must have exactly one of its members set")
			}
			inner := func(edit func(map[string]any)) map[string]any {
				return build(func(obj map[string]any) {
					child := minimal(t, mem.Shape).(map[string]any)
					edit(child)
					if s.Union {
						clear(obj)
					}
					obj[mem.Name] = child
				})
			}
			cases = append(cases, casesFor(t, mem.Shape, memPath, inner, depth+1)...)
		}
	}
	return cases
}

// invalidCandidates are tried in order as values that break a pattern.
var invalidCandidates = []string{"!", "a b", "-", "é", "?!?", "a\nb"}

func stringCases(t *testing.T, shapeName string, add func(what string, v any, want string)) []validationCase {
	t.Helper()
	s := spec().Shapes[shapeName]
	if len(s.Enum) > 0 {
		for _, v := range s.Enum {
			add("enum value "+v, v, "")
		}
		add("not in enum", "NOT_A_VALUE", "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		return nil
	}
	lengths := func(n int, want string) {
		if v, ok := sample(t, shapeName, n); ok {
			add(fmt.Sprintf("length %d", n), v, want)
		} else if want != "" {
			add(fmt.Sprintf("length %d", n), strings.Repeat("a", n), want)
		}
	}
	if s.Min != nil {
		if *s.Min > 0 {
			lengths(int(*s.Min)-1, fmt.Sprintf("Member must have length greater than or equal to %d", *s.Min))
		}
		lengths(int(*s.Min), "")
	}
	if s.Max != nil {
		if s.Min == nil || *s.Max != *s.Min {
			lengths(int(*s.Max), "")
		}
		lengths(int(*s.Max)+1, fmt.Sprintf("Member must have length less than or equal to %d", *s.Max))
	}
	if re := spec().patterns[shapeName]; re != nil {
		i := slices.IndexFunc(invalidCandidates, func(c string) bool {
			n := len([]rune(c))
			return !re.MatchString(c) && n >= minOf(s) && (s.Max == nil || int64(n) <= *s.Max)
		})
		if i < 0 {
			t.Fatalf("shape %s: no candidate breaks pattern %s", shapeName, s.Pattern)
		}
		add("breaks pattern", invalidCandidates[i], "Member must satisfy regular expression pattern: "+s.Pattern)
	}
	return nil
}

func TestEnvironmentOperationsValidateAsTheModelSays(t *testing.T) {
	t.Parallel()
	for _, opName := range environmentOperations {
		op, ok := Operations[opName]
		if !ok {
			t.Fatalf("operation %s is not in the model", opName)
		}
		root := func(edit func(map[string]any)) map[string]any {
			doc := minimal(t, op.Input).(map[string]any)
			edit(doc)
			return doc
		}
		cases := append([]validationCase{{name: "minimal valid input", body: root(func(map[string]any) {})}},
			casesFor(t, op.Input, "", root, 0)...)
		t.Run(opName, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					body, err := json.Marshal(tc.body)
					if err != nil {
						t.Fatal(err)
					}
					err = Decode(opName, body, op.NewInput())
					if tc.want == "" {
						if err != nil {
							t.Fatalf("Decode(%s) = %v, want success", body, err)
						}
						return
					}
					var ve *ValidationError
					if !errors.As(err, &ve) {
						t.Fatalf("Decode(%.200s) = %v (%T), want *ValidationError", body, err, err)
					}
					if !validationPrefix.MatchString(ve.Message) || !strings.Contains(ve.Message, tc.want) {
						t.Errorf("message = %q\nwant it to contain %q", ve.Message, tc.want)
					}
					if tc.secret != "" && strings.Contains(ve.Message, tc.secret) {
						t.Errorf("message echoes a sensitive value: %q", ve.Message)
					}
				})
			}
		})
	}
}

var validationPrefix = regexp.MustCompile(`^(1 validation error|[2-9][0-9]* validation errors) detected: Value `)

// TestSamplersCoverEveryPatternOfTheModel keeps the sampler table complete, so
// that a new patterned shape gets cases as soon as an operation uses it.
func TestSamplersCoverEveryPatternOfTheModel(t *testing.T) {
	t.Parallel()
	for _, name := range slices.Sorted(maps.Keys(spec().patterns)) {
		if _, ok := samplers[name]; !ok {
			t.Errorf("no sampler for patterned shape %s", name)
		}
		if v := validString(t, name); !spec().patterns[name].MatchString(v) {
			t.Errorf("sample %q of %s does not match %s", v, name, spec().Shapes[name].Pattern)
		}
	}
}
