package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAbsentMembersAreOmitted(t *testing.T) {
	t.Parallel()
	env := Environment{
		Arn:                  "arn:aws:proton:us-east-1:000000000000:environment/e",
		Name:                 "e",
		CreatedAt:            Time{time.UnixMilli(1700000000123)},
		DeploymentStatus:     DeploymentStatusInProgress,
		TemplateMajorVersion: "1",
	}
	got, err := json.Marshal(CreateEnvironmentOutput{Environment: env})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"environment":{"arn":"arn:aws:proton:us-east-1:000000000000:environment/e",` +
		`"createdAt":1700000000.123,"deploymentStatus":"IN_PROGRESS","name":"e","templateMajorVersion":"1"}}`
	if string(got) != want {
		t.Errorf("Marshal\n got %s\nwant %s", got, want)
	}
	for _, bad := range []string{"null", `""`, "[]", "{}"} {
		if strings.Contains(string(got), bad) {
			t.Errorf("%s holds %s", got, bad)
		}
	}
}

func TestRequiredListsAreSentEvenWhenEmpty(t *testing.T) {
	t.Parallel()
	got, err := json.Marshal(ListEnvironmentsOutput{Environments: make([]EnvironmentSummary, 0)})
	if err != nil || string(got) != `{"environments":[]}` {
		t.Errorf("Marshal = %s, %v; want {\"environments\":[]}", got, err)
	}
}

// TestGeneratedTypesFollowTheModel reads types_gen.go and checks every
// structure of the model against it: one field per member, in order, tagged
// with the member name; required lists and maps without omitempty (handlers
// pass non-nil ones, so they are sent as [] and never dropped); optional
// members omitted when empty.
func TestGeneratedTypesFollowTheModel(t *testing.T) {
	t.Parallel()
	file, err := parser.ParseFile(token.NewFileSet(), "types_gen.go", nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]*ast.StructType{}
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
			}
		}
		return true
	})
	for name, s := range spec().Shapes {
		if s.Type != "structure" {
			continue
		}
		st, ok := structs[name]
		if !ok {
			t.Errorf("no type for structure %s", name)
			continue
		}
		if len(st.Fields.List) != len(s.Members) {
			t.Errorf("%s has %d fields for %d members", name, len(st.Fields.List), len(s.Members))
			continue
		}
		for i, mem := range s.Members {
			field := st.Fields.List[i]
			raw, _ := strconv.Unquote(field.Tag.Value)
			tag := strings.Split(reflect.StructTag(raw).Get("json"), ",")
			omitted := slices.Contains(tag[1:], "omitempty") || slices.Contains(tag[1:], "omitzero")
			target := spec().Shapes[mem.Shape]
			required := s.IsRequired(mem.Name) && !s.Union
			switch {
			case tag[0] != mem.Name:
				t.Errorf("%s field %d is tagged %q, want member %q", name, i, tag[0], mem.Name)
			case required && (target.Type == "list" || target.Type == "map") && omitted:
				t.Errorf("%s.%s is a required %s but omitted when empty", name, mem.Name, target.Type)
			case !required && !omitted:
				t.Errorf("%s.%s is optional but not omitted when empty", name, mem.Name)
			}
		}
	}
}
