package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	resourceNamePattern = `^[0-9A-Za-z]+[0-9A-Za-z_\-]*$`
	// validEnv is a minimal valid CreateEnvironment body, to be extended.
	validEnv = `"name":"env","spec":"proton: EnvironmentSpec","templateName":"tmpl","templateMajorVersion":"1"`
)

func TestDecodeReportsViolationsInTheWordsAWSUses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, op, body, want string
	}{
		{
			name: "pattern",
			op:   "CreateEnvironment",
			body: `{` + validEnv + `,"name":"bad name!"}`,
			want: "1 validation error detected: Value 'bad name!' at 'name' failed to satisfy constraint: " +
				"Member must satisfy regular expression pattern: " + resourceNamePattern,
		},
		{
			name: "every absent required member, in member order",
			op:   "CreateEnvironment",
			body: `{}`,
			want: "4 validation errors detected: " +
				"Value null at 'name' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'spec' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'templateMajorVersion' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'templateName' failed to satisfy constraint: Member must not be null",
		},
		{
			name: "length and pattern of one value",
			op:   "GetEnvironment",
			body: `{"name":""}`,
			want: "2 validation errors detected: " +
				"Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: " + resourceNamePattern,
		},
		{
			name: "sensitive values are masked",
			op:   "CreateEnvironment",
			body: `{` + validEnv + `,"description":"` + strings.Repeat("s", 501) + `"}`,
			want: "1 validation error detected: Value '***' at 'description' failed to satisfy constraint: " +
				"Member must have length less than or equal to 500",
		},
		{
			name: "integer range",
			op:   "ListEnvironments",
			body: `{"maxResults":0}`,
			want: "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: " +
				"Member must have value greater than or equal to 1",
		},
		{
			name: "enum",
			op:   "UpdateEnvironment",
			body: `{"name":"env","deploymentType":"SOMETIMES"}`,
			want: "1 validation error detected: Value 'SOMETIMES' at 'deploymentType' failed to satisfy constraint: " +
				"Member must satisfy enum value set: [NONE, CURRENT_VERSION, MINOR_VERSION, MAJOR_VERSION]",
		},
		{
			name: "list elements are numbered from 1",
			op:   "CreateEnvironment",
			body: `{` + validEnv + `,"tags":[{"key":"a","value":""},{"key":"","value":"v"}]}`,
			want: "1 validation error detected: Value '' at 'tags.2.member.key' failed to satisfy constraint: " +
				"Member must have length greater than or equal to 1",
		},
		{
			name: "nested members are dotted",
			op:   "CreateEnvironmentTemplateVersion",
			body: `{"templateName":"t","source":{"s3":{"bucket":"UPPER","key":"k"}}}`,
			want: "1 validation error detected: Value 'UPPER' at 'source.s3.bucket' failed to satisfy constraint: " +
				`Member must satisfy regular expression pattern: ^[a-z0-9]+[a-z0-9-\.]+[a-z0-9]+$`,
		},
		{
			name: "union with no member set",
			op:   "CreateEnvironmentTemplateVersion",
			body: `{"templateName":"t","source":{}}`,
			want: "1 validation error detected: Value '{}' at 'source' failed to satisfy constraint: " +
				"Member must have exactly one of its members set: [s3]",
		},
		{
			name: "list length",
			op:   "TagResource",
			body: `{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/e","tags":` +
				`[` + strings.Repeat(`{"key":"k","value":"v"},`, 50) + `{"key":"k","value":"v"}]}`,
			want: "at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
		},
		{
			name: "a list holding a sensitive shape is masked",
			op:   "NotifyResourceDeploymentStatusChange",
			body: `{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/e","outputs":` +
				`[` + strings.Repeat(`{"key":"k","valueString":"secret"},`, 50) + `{"key":"k","valueString":"secret"}]}`,
			want: "1 validation error detected: Value '***' at 'outputs' failed to satisfy constraint: " +
				"Member must have length less than or equal to 50",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Decode(tt.op, []byte(tt.body), Operations[tt.op].NewInput())
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Decode = %v (%T), want *ValidationError", err, err)
			}
			if !strings.HasPrefix(tt.want, "at ") && ve.Message != tt.want {
				t.Errorf("message\n got %q\nwant %q", ve.Message, tt.want)
			}
			if !strings.Contains(ve.Message, tt.want) {
				t.Errorf("message %q does not contain %q", ve.Message, tt.want)
			}
			if strings.Contains(ve.Message, "secret") || strings.Contains(ve.Message, "sss") {
				t.Errorf("message echoes a sensitive value: %q", ve.Message)
			}
		})
	}
}

func TestDecodeRejectsBodiesOfTheWrongJSONTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, op, body, want string
	}{
		{"not JSON", "ListEnvironments", `{"maxResults":`, "not valid JSON"},
		{"trailing data", "ListEnvironments", `{} {}`, "not valid JSON"},
		{"array at the top", "ListEnvironments", `[]`, "expected a JSON object, got array"},
		{"null at the top", "ListEnvironments", `null`, "expected a JSON object, got null"},
		{"string where an object is expected", "CreateEnvironmentTemplateVersion",
			`{"templateName":"t","source":"s3://b/k"}`, `"source": expected object, got string`},
		{"number where a string is expected", "CreateEnvironmentTemplateVersion",
			`{"templateName":"t","source":{"s3":{"bucket":7,"key":"k"}}}`, `"source.s3.bucket": expected string, got number 7`},
		{"fraction for an integer", "ListEnvironments", `{"maxResults":1.5}`, `"maxResults": expected integer, got number 1.5`},
		{"exponent for an integer", "ListEnvironments", `{"maxResults":1e1}`, `"maxResults": expected integer`},
		{"integer beyond 32 bits", "ListEnvironments", `{"maxResults":4294967296}`, `"maxResults": 4294967296 does not fit in 32 bits`},
		{"string for an integer", "ListEnvironments", `{"maxResults":"10"}`, `"maxResults": expected integer, got string`},
		{"object for a list", "CreateEnvironment", `{` + validEnv + `,"tags":{}}`, `"tags": expected array, got object`},
		{"null in a list", "CreateEnvironment", `{` + validEnv + `,"tags":[null]}`, `"tags.1.member": expected a value, got null`},
		{"number for a boolean", "UpdateAccountSettings", `{"deletePipelineProvisioningRepository":1}`,
			`"deletePipelineProvisioningRepository": expected boolean, got number 1`},
		{"depth bomb", "ListEnvironments", `{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`,
			"nests deeper than 64 levels"},
		{"invalid UTF-8 in a string", "CreateEnvironment", "{\"name\":\"dev\",\"templateName\":\"t\",\"templateMajorVersion\":\"1\",\"spec\":\"a\xffb\"}",
			"not valid UTF-8 (invalid byte at offset 69)"},
		{"truncated UTF-8 sequence in a member name", "ListEnvironments", "{\"max\xe2\x82Results\":1}", "not valid UTF-8 (invalid byte at offset 5)"},
		{"overlong encoding", "ListEnvironments", "{\"nextToken\":\"\xc0\xaf\"}", "not valid UTF-8"},
		{"UTF-16 surrogate encoded in UTF-8", "ListEnvironments", "{\"nextToken\":\"\xed\xa0\x80\"}", "not valid UTF-8"},
		{"type error after a violation", "CreateEnvironment", `{"name":"bad name!","spec":5}`, `"spec": expected string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := Decode(tt.op, []byte(tt.body), Operations[tt.op].NewInput())
			var se *SerializationError
			if !errors.As(err, &se) {
				t.Fatalf("Decode = %v (%T), want *SerializationError", err, err)
			}
			if !strings.Contains(se.Message, tt.want) {
				t.Errorf("message %q does not contain %q", se.Message, tt.want)
			}
		})
	}
}

func TestDecodeFillsTheInputType(t *testing.T) {
	t.Parallel()
	body := `{` + validEnv + `,"description":"","codebuildRoleArn":null,"unknownMember":{"deep":[1]},` +
		`"tags":[{"key":"team","value":""}],"provisioningRepository":{"provider":"GITHUB","name":" owner/repo","branch":"main"}}`
	var in CreateEnvironmentInput
	if err := Decode("CreateEnvironment", []byte(body), &in); err != nil {
		t.Fatal(err)
	}
	if in.Name != "env" || in.TemplateMajorVersion != "1" || in.Spec == "" {
		t.Errorf("required members not decoded: %+v", in)
	}
	if in.Description == nil || *in.Description != "" {
		t.Errorf("Description = %v, want a pointer to \"\" (present and empty)", in.Description)
	}
	if in.CodebuildRoleArn != "" {
		t.Errorf("CodebuildRoleArn = %q, want absent (null is absent)", in.CodebuildRoleArn)
	}
	if len(in.Tags) != 1 || in.Tags[0] != (Tag{Key: "team", Value: ""}) {
		t.Errorf("Tags = %+v", in.Tags)
	}
	// RepositoryName's pattern is unanchored: a match anywhere is enough.
	if in.ProvisioningRepository == nil || in.ProvisioningRepository.Name != " owner/repo" {
		t.Errorf("ProvisioningRepository = %+v", in.ProvisioningRepository)
	}

	var upd UpdateEnvironmentInput
	if err := Decode("UpdateEnvironment", []byte(`{"name":"env","deploymentType":"NONE"}`), &upd); err != nil {
		t.Fatal(err)
	}
	if upd.Description != nil {
		t.Errorf("Description = %q, want nil (absent)", *upd.Description)
	}

	var list ListEnvironmentsInput
	if err := Decode("ListEnvironments", []byte(`{"maxResults":100}`), &list); err != nil {
		t.Fatal(err)
	}
	if list.MaxResults == nil || *list.MaxResults != 100 {
		t.Errorf("MaxResults = %v, want 100", list.MaxResults)
	}
}

func TestDecodeReadsAnEmptyBodyAsAnEmptyObject(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "  \n"} {
		if err := Decode("ListEnvironments", []byte(body), new(ListEnvironmentsInput)); err != nil {
			t.Errorf("Decode(%q) = %v", body, err)
		}
		var ve *ValidationError
		if err := Decode("GetEnvironment", []byte(body), new(GetEnvironmentInput)); !errors.As(err, &ve) {
			t.Errorf("Decode(%q) of GetEnvironment = %v, want a ValidationError for name", body, err)
		}
	}
}

// encoding/json matches names case-insensitively; Decode must not let a
// differently cased member slip past validation into the struct.
func TestDecodeIgnoresMembersSpelledInAnotherCase(t *testing.T) {
	t.Parallel()
	body := `{` + validEnv + `,"DESCRIPTION":"` + strings.Repeat("x", 600) + `","Name":"bad name!"}`
	var in CreateEnvironmentInput
	if err := Decode("CreateEnvironment", []byte(body), &in); err != nil {
		t.Fatal(err)
	}
	if in.Description != nil || in.Name != "env" {
		t.Errorf("got Description=%v Name=%q, want nil and %q", in.Description, in.Name, "env")
	}
}

func TestDecodeCountsLengthInCodePoints(t *testing.T) {
	t.Parallel()
	body := func(n int) []byte {
		return []byte(`{` + validEnv + `,"description":"` + strings.Repeat("é", n) + `"}`)
	}
	if err := Decode("CreateEnvironment", body(500), new(CreateEnvironmentInput)); err != nil {
		t.Errorf("500 code points (1000 bytes): %v", err)
	}
	var ve *ValidationError
	if err := Decode("CreateEnvironment", body(501), new(CreateEnvironmentInput)); !errors.As(err, &ve) {
		t.Errorf("501 code points: %v, want *ValidationError", err)
	}
}

func TestDecodeRefusesProgrammingMistakes(t *testing.T) {
	t.Parallel()
	var ve *ValidationError
	var se *SerializationError
	for name, err := range map[string]error{
		"unknown operation": Decode("LaunchRocket", []byte(`{}`), new(GetEnvironmentInput)),
		"wrong type":        Decode("GetEnvironment", []byte(`{"name":"e"}`), new(ListEnvironmentsInput)),
		"not a pointer":     Decode("GetEnvironment", []byte(`{"name":"e"}`), GetEnvironmentInput{}),
		"nil":               Decode("GetEnvironment", []byte(`{"name":"e"}`), nil),
	} {
		if err == nil || errors.As(err, &ve) || errors.As(err, &se) {
			t.Errorf("%s: Decode = %v (%T), want a plain error", name, err, err)
		}
	}
}

func TestOperationsMatchTheModel(t *testing.T) {
	t.Parallel()
	if len(Operations) != 87 || len(spec().Operations) != 87 {
		t.Errorf("%d generated and %d embedded operations, want 87", len(Operations), len(spec().Operations))
	}
	if TargetPrefix != spec().TargetPrefix || TargetPrefix != "AwsProton20200720" {
		t.Errorf("TargetPrefix = %q, model says %q", TargetPrefix, spec().TargetPrefix)
	}
	for name, op := range Operations {
		m := spec().Operations[name]
		if m == nil || op.Name != name || op.Input != m.Input || op.Output != m.Output || !HasOperation(name) {
			t.Errorf("operation %s: %+v, model %+v", name, op, m)
			continue
		}
		// Every input type decodes the smallest body its shape allows.
		in := op.NewInput()
		if err := Decode(name, mustJSON(t, minimal(t, op.Input)), in); err != nil {
			t.Errorf("%s: minimal input: %v", name, err)
		}
	}
	if HasOperation("LaunchRocket") {
		t.Error("HasOperation(LaunchRocket) = true")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzDecode(f *testing.F) {
	f.Add("CreateEnvironment", `{`+validEnv+`}`)
	f.Add("CreateEnvironmentTemplateVersion", `{"templateName":"t","source":{"s3":{"bucket":"bbb","key":"k"}}}`)
	f.Add("ListEnvironments", `{"maxResults":5,"environmentTemplates":[{"templateName":"t","majorVersion":"1"}]}`)
	f.Fuzz(func(t *testing.T, op, body string) {
		o, ok := Operations[op]
		if !ok {
			return
		}
		err := Decode(op, []byte(body), o.NewInput())
		var ve *ValidationError
		var se *SerializationError
		if err != nil && !errors.As(err, &ve) && !errors.As(err, &se) {
			t.Fatalf("Decode(%q) = %v, want nil, *ValidationError or *SerializationError", body, err)
		}
	})
}
