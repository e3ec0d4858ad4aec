package secrets

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/mototest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.Stop()
	os.Exit(code)
}

func TestParseSecretsManagerReferences(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want smRef
		err  bool
	}{
		{in: "prod/db", want: smRef{secretID: "prod/db"}},
		{in: "prod/db:password", want: smRef{secretID: "prod/db", jsonKey: "password"}},
		{in: "prod/db::AWSPREVIOUS", want: smRef{secretID: "prod/db", versionStage: "AWSPREVIOUS"}},
		{in: "prod/db:k:AWSCURRENT:v1", want: smRef{secretID: "prod/db", jsonKey: "k", versionStage: "AWSCURRENT", versionID: "v1"}},
		{in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password",
			want: smRef{secretID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf", jsonKey: "password"}},
		{in: "a:b:c:d:e", err: true},
		{in: ":k", err: true},
		{in: "arn:aws:secretsmanager", err: true},
	} {
		got, err := parseSecretsManager(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestResolveFromHadronsStore(t *testing.T) {
	t.Parallel()
	st := &Store{Dir: t.TempDir()}
	st.Put("prod/db", []byte(`{"password":"pw-1","port":5432}`))
	st.Put("/app/api-key", []byte("key-1"))
	r := &Resolver{Store: st}
	got, err := r.Resolve(context.Background(), Request{Refs: []Ref{
		{Variable: "DB", Source: SourceSecretsManager, ID: "prod/db"},
		{Variable: "PW", Source: SourceSecretsManager, ID: "prod/db:password"},
		{Variable: "PORT", Source: SourceSecretsManager, ID: "prod/db:port:AWSCURRENT"},
		{Variable: "KEY", Source: SourceParameterStore, ID: "/app/api-key"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"DB": `{"password":"pw-1","port":5432}`, "PW": "pw-1", "PORT": "5432", "KEY": "key-1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, c := range []struct {
		ref     Ref
		missing bool
		want    string
	}{
		{Ref{"X", SourceSecretsManager, "nope"}, true, `env variable X: secrets-manager "nope": not found in Hadron's secret store`},
		{Ref{"X", SourceSecretsManager, "prod/db:user"}, true, `secret prod/db is not a JSON object with the key "user"`},
		{Ref{"X", SourceParameterStore, "/nope"}, true, `env variable X: parameter-store "/nope": not found`},
		{Ref{"X", SourceSecretsManager, "prod/db::AWSPREVIOUS"}, false, "keeps one value per secret"},
		{Ref{"X", SourceSecretsManager, "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf"}, false, "by name, not by ARN"},
	} {
		_, err := r.Resolve(context.Background(), Request{Refs: []Ref{c.ref}})
		var me *MissingError
		if err == nil || errors.As(err, &me) != c.missing || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q (missing %v)", c.ref, err, c.want, c.missing)
		}
		if err != nil && strings.Contains(err.Error(), "pw-1") {
			t.Errorf("%+v: the error shows a secret value: %v", c.ref, err)
		}
	}
}

func TestResolveFromAWSWithTheRunsRole(t *testing.T) {
	t.Parallel()
	url := mototest.URL(t)
	ctx := context.Background()
	access, err := awsaccess.Load(ctx, awsaccess.Config{Region: "us-east-1", EndpointURL: url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	// moto keeps each account's secrets apart, and a role's credentials
	// act in the role's account: secrets made as the role are found only
	// when the run's role is assumed.
	const role = "arn:aws:iam::111111111111:role/codebuild"
	base := access.AsRole(role, "setup")
	sm := secretsmanager.NewFromConfig(base)
	name := "resolve-test/" + t.Name()
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(`{"password":"aws-pw"}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := ssm.NewFromConfig(base).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/" + name + "/url"),
		Value: aws.String("https://db"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{AWS: access, Store: &Store{Dir: t.TempDir()}}
	req := Request{RoleARN: role, DeploymentID: "d-1", Refs: []Ref{
		{Variable: "PW", Source: SourceSecretsManager, ID: name + ":password"},
		{Variable: "WHOLE", Source: SourceSecretsManager, ID: name},
		{Variable: "URL", Source: SourceParameterStore, ID: "/" + name + "/url"},
	}}
	got, err := r.Resolve(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got["PW"] != "aws-pw" || got["WHOLE"] != `{"password":"aws-pw"}` || got["URL"] != "https://db" {
		t.Errorf("values = %v", got)
	}
	asServer := req
	asServer.RoleARN = ""
	var me *MissingError
	if _, err := r.Resolve(ctx, asServer); !errors.As(err, &me) {
		t.Errorf("read with the server's own credentials (another account): %v, want a MissingError", err)
	}
	for _, ref := range []Ref{
		{Variable: "X", Source: SourceSecretsManager, ID: name + "-missing"},
		{Variable: "X", Source: SourceParameterStore, ID: "/" + name + "/missing"},
		{Variable: "X", Source: SourceSecretsManager, ID: name + ":user"},
	} {
		req.Refs = []Ref{ref}
		_, err := r.Resolve(ctx, req)
		var me *MissingError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "env variable X") || !strings.Contains(err.Error(), ref.ID) {
			t.Errorf("%+v: %v, want a MissingError naming it", ref, err)
		}
	}
}
