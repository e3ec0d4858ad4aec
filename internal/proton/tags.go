package proton

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// MaxTags is the most customer tags one resource may carry (the model's
// TagList limit, which is also Proton's documented per-resource limit).
const MaxTags = 50

// Tag key prefixes a customer may not use: "aws:" is AWS's own, and
// "proton:" names the tags Proton itself gives the infrastructure it
// provisions (proton:account, proton:environment, ...).
var reservedTagPrefixes = []string{"aws:", "proton:"}

// taggables finds the record a resource ARN names, by the ARN's resource
// type (the resource part up to its first "/"). Each finder is given the
// ARN's account and its whole resource part ("service/api/pipeline") and
// returns the store key of the record, or a KindNotFound error. A new
// taggable resource plugs in with one entry here. Template and service sync
// configurations are not taggable: the model gives them no ARN and their
// creates no tags member, so no call could name them.
var taggables = map[string]func(s *API, ctx context.Context, account, resource string) (string, error){
	"environment-template": func(s *API, ctx context.Context, _, r string) (string, error) {
		return s.taggedTemplate(ctx, kindEnv, r)
	},
	"service-template": func(s *API, ctx context.Context, _, r string) (string, error) {
		return s.taggedTemplate(ctx, kindSvc, r)
	},
	"environment":  func(s *API, ctx context.Context, _, r string) (string, error) { return s.taggedDeployable(ctx, r) },
	"component":    func(s *API, ctx context.Context, _, r string) (string, error) { return s.taggedDeployable(ctx, r) },
	"service":      func(s *API, ctx context.Context, _, r string) (string, error) { return s.taggedService(ctx, r) },
	"repository":   func(s *API, ctx context.Context, _, r string) (string, error) { return s.taggedRepository(ctx, r) },
	connectionType: (*API).taggedConnection,
}

// connectionType is the resource type of an environment account connection's ARN.
const connectionType = "environment-account-connection"

// taggedKey returns the store key of the taggable record resourceArn names
// (tags are kept by it), after checking that the record exists. Records
// live in the server's region and account, except connections, which live
// in their environment account (their finder checks it).
func (s *API) taggedKey(ctx context.Context, resourceArn string) (string, error) {
	parts := strings.SplitN(resourceArn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "proton" || parts[5] == "" {
		return "", validationf("resourceArn %q is not the ARN of a Proton resource (arn:aws:proton:%s:%s:...)", resourceArn, s.cfg.Region, s.cfg.AccountID)
	}
	region, account, resource := parts[3], parts[4], parts[5]
	typ, _, _ := strings.Cut(resource, "/")
	find, ok := taggables[typ]
	if !ok {
		return "", validationf("resourceArn %q does not name a taggable resource: %s cannot be tagged", resourceArn, typ)
	}
	if parts[1] != "aws" || region != s.cfg.Region || (account != s.cfg.AccountID && typ != connectionType) {
		return "", notFoundf("resource %s not found", resourceArn) // nothing of another region or account lives here
	}
	key, err := find(s, ctx, account, resource)
	var pe *Error
	if errors.As(err, &pe) && pe.Kind == KindNotFound {
		return "", notFoundf("resource %s not found", resourceArn)
	}
	return key, err
}

// taggedTemplate finds a template ("environment-template/net") or one of
// its versions ("environment-template/net:1.0").
func (s *API) taggedTemplate(ctx context.Context, kind, resource string) (string, error) {
	_, rest, _ := strings.Cut(resource, "/")
	name, version, isVersion := strings.Cut(rest, ":")
	if !isVersion {
		if _, err := s.getTemplate(ctx, kind, name); err != nil {
			return "", err
		}
		return store.TemplateKey(kind, name), nil
	}
	majorS, minorS, _ := strings.Cut(version, ".")
	major, err1 := strconv.Atoi(majorS)
	minor, err2 := strconv.Atoi(minorS)
	key := store.TemplateVersionKey(kind, name, major, minor)
	if err1 != nil || err2 != nil || key != resource {
		return "", notFoundf("%s template version %s not found", kind, rest)
	}
	if _, err := s.getVersion(ctx, kind, name, majorS, minorS); err != nil {
		return "", err
	}
	return key, nil
}

// taggedDeployable finds an environment or a component.
func (s *API) taggedDeployable(ctx context.Context, resource string) (string, error) {
	key, ok := s.deployableKey(s.arn(resource))
	if !ok || key != resource {
		return "", notFoundf("%s not found", resource)
	}
	if _, err := s.cfg.Store.ResourceGet(ctx, key); errors.Is(err, store.ErrNotFound) {
		return "", notFoundf("%s not found", resource)
	} else if err != nil {
		return "", err
	}
	return key, nil
}

// taggedService finds a service ("service/api"), its pipeline or one of
// its instances.
func (s *API) taggedService(ctx context.Context, resource string) (string, error) {
	parts := strings.Split(resource, "/")
	if len(parts) == 2 && parts[1] != "" {
		if _, err := s.getService(ctx, parts[1]); err != nil {
			return "", err
		}
		return store.ServiceKey(parts[1]), nil
	}
	return s.taggedDeployable(ctx, resource)
}

// taggedRepository finds a linked repository ("repository/github:owner/repo").
func (s *API) taggedRepository(ctx context.Context, resource string) (string, error) {
	if _, err := s.cfg.Store.RepositoryGet(ctx, resource); errors.Is(err, store.ErrNotFound) {
		return "", notFoundf("%s not found", resource)
	} else if err != nil {
		return "", err
	}
	return resource, nil
}

// taggedConnection finds an environment account connection its caller
// is a party of, by an ARN in its environment account.
func (s *API) taggedConnection(ctx context.Context, account, resource string) (string, error) {
	_, id, _ := strings.Cut(resource, "/")
	c, err := s.getConnection(ctx, id, "", anyParty)
	if err != nil {
		return "", err
	}
	if c.EnvironmentAccount != account {
		return "", notFoundf("%s not found", resource)
	}
	return store.ConnectionKey(c.ID), nil
}

// tagMap checks tags given to field and returns them as a map: keys must
// be unique and not reserved (the model's length limits were checked when
// the request was decoded).
func tagMap(field string, tags []api.Tag) (map[string]string, error) {
	m := make(map[string]string, len(tags))
	for i, t := range tags {
		for _, p := range reservedTagPrefixes {
			if strings.HasPrefix(strings.ToLower(t.Key), p) {
				return nil, validationf("%s[%d].key %q: tag keys starting with %q are reserved", field, i, t.Key, p)
			}
		}
		if _, dup := m[t.Key]; dup {
			return nil, validationf("%s[%d].key %q: a tag key may be given once", field, i, t.Key)
		}
		m[t.Key] = t.Value
	}
	if len(m) > MaxTags {
		return nil, validationf("%s: %d tags, a resource may have at most %d", field, len(m), MaxTags)
	}
	return m, nil
}

// TagResource adds customer tags to a resource, or changes the values of
// tags it has.
func (s *API) TagResource(ctx context.Context, in *api.TagResourceInput) (*api.TagResourceOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	key, err := s.taggedKey(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, err = s.cfg.Store.TagsChange(ctx, store.TagsChangeParams{Key: key, Set: tags, Max: MaxTags})
	if errors.Is(err, store.ErrLimit) {
		return nil, validationf("tags: resource %s would have more than %d tags", in.ResourceArn, MaxTags)
	}
	if err != nil {
		return nil, err
	}
	return &api.TagResourceOutput{}, nil
}

// UntagResource removes customer tags from a resource; keys it does not
// have are no error.
func (s *API) UntagResource(ctx context.Context, in *api.UntagResourceInput) (*api.UntagResourceOutput, error) {
	key, err := s.taggedKey(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.TagsChange(ctx, store.TagsChangeParams{Key: key, Delete: in.TagKeys}); err != nil {
		return nil, err
	}
	return &api.UntagResourceOutput{}, nil
}

// ListTagsForResource lists a resource's customer tags by key. Proton's own
// proton:* tags are not customer tags: they go to the provisioned
// infrastructure, not to this list.
func (s *API) ListTagsForResource(ctx context.Context, in *api.ListTagsForResourceInput) (*api.ListTagsForResourceOutput, error) {
	const list = "tags"
	after, err := decodeToken(list, in.NextToken)
	if err != nil {
		return nil, err
	}
	key, err := s.taggedKey(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags, err := s.cfg.Store.TagsGet(ctx, key)
	if err != nil {
		return nil, err
	}
	out := &api.ListTagsForResourceOutput{Tags: []api.Tag{}}
	limit := pageSize(in.MaxResults)
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if in.NextToken != "" && k <= after {
			continue
		}
		if len(out.Tags) == limit {
			out.NextToken = encodeToken(list, out.Tags[len(out.Tags)-1].Key)
			break
		}
		out.Tags = append(out.Tags, api.Tag{Key: k, Value: tags[k]})
	}
	return out, nil
}

// tagsOf reads the customer tags of the record with key, for a deployment's plan.
func (s *API) tagsOf(ctx context.Context, key string) (map[string]string, error) {
	tags, err := s.cfg.Store.TagsGet(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", key, err)
	}
	return tags, nil
}
