package secrets

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hadronhq/hadron/internal/awsaccess"
)

// Sources of a reference: the manifest's env keys.
const (
	SourceSecretsManager = "secrets-manager"
	SourceParameterStore = "parameter-store"
)

// Ref is one env entry that names a secret.
type Ref struct {
	// Variable is the environment variable the value is given as.
	Variable string
	// Source is SourceSecretsManager or SourceParameterStore.
	Source string
	// ID is the reference as the manifest wrote it: for Secrets Manager
	// "secret-id[:json-key[:version-stage[:version-id]]]" (secret-id a
	// name or an ARN), for Parameter Store the parameter's name or ARN.
	ID string
}

// Request is the secrets of one run.
type Request struct {
	// RoleARN is the run's CodeBuild role, assumed to read AWS secrets
	// (empty: the server's own credentials).
	RoleARN string
	// DeploymentID names the role's session.
	DeploymentID string
	Refs         []Ref
}

// MissingError is a reference whose secret does not exist (or lacks the
// JSON key named). Its message names the variable and the reference,
// never a value.
type MissingError struct {
	Ref
	// Where is the place looked in ("AWS Secrets Manager", "Hadron's secret store", ...).
	Where string
	// Detail says what is missing when it is not the secret itself.
	Detail string
}

func (e *MissingError) Error() string {
	what := "not found"
	if e.Detail != "" {
		what = e.Detail
	}
	msg := fmt.Sprintf("env variable %s: %s %q: %s in %s", e.Variable, e.Source, e.ID, what, e.Where)
	if e.Where == whereStore && e.Detail == "" {
		msg += " (add it with: hadron secrets put NAME)"
	}
	return msg
}

// Places looked in.
const (
	whereStore = "Hadron's secret store"
	whereSM    = "AWS Secrets Manager"
	whereSSM   = "AWS Systems Manager Parameter Store"
)

// Resolver reads the values of references: from AWS when AWS is set,
// otherwise from Store (see the package doc for why never both).
type Resolver struct {
	// AWS is Hadron's AWS access; nil when it has none.
	AWS *awsaccess.Access
	// Store is Hadron's own secret store.
	Store *Store
}

// Resolve returns the value of every reference of req by variable name.
// The first reference that cannot be read (in variable order) ends it
// with an error naming that variable and reference: a *MissingError when
// the secret does not exist. A cancelled ctx stops it.
func (r *Resolver) Resolve(ctx context.Context, req Request) (map[string]string, error) {
	if len(req.Refs) == 0 {
		return nil, nil
	}
	refs := slices.Clone(req.Refs)
	slices.SortFunc(refs, func(a, b Ref) int {
		return cmp.Or(strings.Compare(a.Variable, b.Variable), strings.Compare(a.Source, b.Source))
	})
	var read func(context.Context, Ref) (string, error)
	if r.AWS != nil {
		a := &awsReader{cfg: r.AWS.AsRole(req.RoleARN, req.DeploymentID), cache: map[string]string{}}
		read = a.read
	} else {
		if r.Store == nil {
			return nil, errors.New("the manifest names secrets, but this server has neither AWS access nor a secret store")
		}
		read = r.readStore
	}
	values := make(map[string]string, len(refs))
	for _, ref := range refs {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		v, err := read(ctx, ref)
		if err != nil {
			return nil, err
		}
		values[ref.Variable] = v
	}
	return values, nil
}

// smRef is a parsed Secrets Manager reference.
type smRef struct {
	secretID, jsonKey, versionStage, versionID string
}

// parseSecretsManager splits "secret-id[:json-key[:version-stage[:version-id]]]",
// where secret-id may be an ARN (whose own colons are kept).
func parseSecretsManager(id string) (smRef, error) {
	parts := strings.Split(id, ":")
	head := 1
	if strings.HasPrefix(id, "arn:") {
		head = 7 // arn:partition:secretsmanager:region:account:secret:name-suffix
		if len(parts) < head {
			return smRef{}, errors.New("not a Secrets Manager ARN")
		}
	}
	rest := parts[head:]
	if len(rest) > 3 {
		return smRef{}, errors.New("too many parts: want secret-id[:json-key[:version-stage[:version-id]]]")
	}
	r := smRef{secretID: strings.Join(parts[:head], ":")}
	rest = append(rest, "", "", "")
	r.jsonKey, r.versionStage, r.versionID = rest[0], rest[1], rest[2]
	if r.secretID == "" {
		return smRef{}, errors.New("empty secret id")
	}
	return r, nil
}

// jsonField returns key's value of a JSON object: a string as it is,
// anything else as its JSON text. ok is false when the secret is not an
// object or lacks the key. Parse errors are not returned: they would quote
// the value.
func jsonField(secret []byte, key string) (v string, ok bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(secret, &obj) != nil {
		return "", false
	}
	raw, ok := obj[key]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return string(raw), true
}

// readStore reads a reference from Hadron's own store, which keeps one
// value per name: a Secrets Manager reference names it by its secret-id,
// a Parameter Store reference by the parameter's name.
func (r *Resolver) readStore(_ context.Context, ref Ref) (string, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("env variable %s: %s %q: %s", ref.Variable, ref.Source, ref.ID, fmt.Sprintf(format, a...))
	}
	name, jsonKey := ref.ID, ""
	if ref.Source == SourceSecretsManager {
		sm, err := parseSecretsManager(ref.ID)
		if err != nil {
			return "", bad("%v", err)
		}
		if sm.versionStage != "" && sm.versionStage != "AWSCURRENT" || sm.versionID != "" {
			return "", bad("%s keeps one value per secret: drop the version stage and version id from the reference", whereStore)
		}
		name, jsonKey = sm.secretID, sm.jsonKey
	}
	if strings.HasPrefix(name, "arn:") {
		return "", bad("%s names secrets by name, not by ARN", whereStore)
	}
	if err := CheckName(name); err != nil {
		return "", bad("%v", err)
	}
	v, err := r.Store.Get(name)
	if errors.Is(err, ErrNotFound) {
		return "", &MissingError{Ref: ref, Where: whereStore}
	}
	if err != nil {
		return "", bad("%v", err)
	}
	if jsonKey == "" {
		return string(v), nil
	}
	s, ok := jsonField(v, jsonKey)
	if !ok {
		return "", &MissingError{Ref: ref, Where: whereStore, Detail: fmt.Sprintf("secret %s is not a JSON object with the key %q", name, jsonKey)}
	}
	return s, nil
}

// awsReader reads references from AWS for one run, each secret once.
type awsReader struct {
	cfg   aws.Config
	sm    *secretsmanager.Client
	ssm   *ssm.Client
	cache map[string]string // by source and id (without a JSON key)
}

func (a *awsReader) read(ctx context.Context, ref Ref) (string, error) {
	failed := func(where string, err error) error {
		return fmt.Errorf("env variable %s: %s %q: read from %s: %w", ref.Variable, ref.Source, ref.ID, where, err)
	}
	switch ref.Source {
	case SourceSecretsManager:
		sm, err := parseSecretsManager(ref.ID)
		if err != nil {
			return "", fmt.Errorf("env variable %s: %s %q: %v", ref.Variable, ref.Source, ref.ID, err)
		}
		key := strings.Join([]string{ref.Source, sm.secretID, sm.versionStage, sm.versionID}, "\x00")
		v, ok := a.cache[key]
		if !ok {
			if a.sm == nil {
				a.sm = secretsmanager.NewFromConfig(a.cfg)
			}
			in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(sm.secretID)}
			if sm.versionStage != "" {
				in.VersionStage = aws.String(sm.versionStage)
			}
			if sm.versionID != "" {
				in.VersionId = aws.String(sm.versionID)
			}
			out, err := a.sm.GetSecretValue(ctx, in)
			var nf *smtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return "", &MissingError{Ref: ref, Where: whereSM}
			}
			if err != nil {
				return "", failed(whereSM, err)
			}
			if out.SecretString != nil {
				v = *out.SecretString
			} else {
				v = string(out.SecretBinary)
			}
			a.cache[key] = v
		}
		if sm.jsonKey == "" {
			return v, nil
		}
		s, ok := jsonField([]byte(v), sm.jsonKey)
		if !ok {
			return "", &MissingError{Ref: ref, Where: whereSM, Detail: fmt.Sprintf("secret %s is not a JSON object with the key %q", sm.secretID, sm.jsonKey)}
		}
		return s, nil
	case SourceParameterStore:
		key := ref.Source + "\x00" + ref.ID
		if v, ok := a.cache[key]; ok {
			return v, nil
		}
		if a.ssm == nil {
			a.ssm = ssm.NewFromConfig(a.cfg)
		}
		out, err := a.ssm.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ref.ID), WithDecryption: aws.Bool(true)})
		var nf *ssmtypes.ParameterNotFound
		var vnf *ssmtypes.ParameterVersionNotFound
		if errors.As(err, &nf) || errors.As(err, &vnf) {
			return "", &MissingError{Ref: ref, Where: whereSSM}
		}
		if err != nil {
			return "", failed(whereSSM, err)
		}
		v := aws.ToString(out.Parameter.Value)
		a.cache[key] = v
		return v, nil
	}
	return "", fmt.Errorf("env variable %s: unknown secret source %q", ref.Variable, ref.Source)
}
