package proton

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// repositoryKey is the key of a linked repository: the resource part of
// its ARN as Proton forms it, "repository/<provider in lowercase>:<name>".
func repositoryKey(provider, name string) string {
	return fmt.Sprintf("repository/%s:%s", lower(provider), name)
}

// repositoryName names a repository in messages.
func repositoryName(provider, name string) string {
	return fmt.Sprintf("%s repository %s", provider, name)
}

// CreateRepository links a repository. Tags are accepted (the model checks
// them) and not kept, as by the other create operations. A repository
// already linked is a ConflictException.
func (s *API) CreateRepository(ctx context.Context, in *api.CreateRepositoryInput) (*api.CreateRepositoryOutput, error) {
	r := &store.Repository{
		Key: repositoryKey(in.Provider, in.Name), Provider: in.Provider, Name: in.Name,
		ConnectionArn: in.ConnectionArn, EncryptionKey: in.EncryptionKey, CreatedAt: s.now(),
	}
	err := s.cfg.Store.RepositoryCreate(ctx, r)
	if errors.Is(err, store.ErrExists) {
		return nil, conflictf("%s is already linked", repositoryName(in.Provider, in.Name))
	}
	if err != nil {
		return nil, err
	}
	return &api.CreateRepositoryOutput{Repository: s.repository(r)}, nil
}

// GetRepository returns one linked repository.
func (s *API) GetRepository(ctx context.Context, in *api.GetRepositoryInput) (*api.GetRepositoryOutput, error) {
	r, err := s.getRepository(ctx, in.Provider, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetRepositoryOutput{Repository: s.repository(r)}, nil
}

func (s *API) getRepository(ctx context.Context, provider, name string) (*store.Repository, error) {
	r, err := s.cfg.Store.RepositoryGet(ctx, repositoryKey(provider, name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s not found", repositoryName(provider, name))
	}
	return r, err
}

// ListRepositories lists linked repositories in the order of their ARNs.
func (s *API) ListRepositories(ctx context.Context, in *api.ListRepositoriesInput) (*api.ListRepositoriesOutput, error) {
	after, err := decodeToken("repositories", in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults)
	list, err := s.cfg.Store.RepositoryList(ctx, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListRepositoriesOutput{Repositories: make([]api.RepositorySummary, 0, len(list))}
	for i, r := range list {
		if i == limit {
			out.NextToken = encodeToken("repositories", list[i-1].Key)
			break
		}
		out.Repositories = append(out.Repositories, api.RepositorySummary{
			Arn: s.arn(r.Key), ConnectionArn: r.ConnectionArn, Name: r.Name, Provider: r.Provider,
		})
	}
	return out, nil
}

// DeleteRepository unlinks a repository nothing uses. While a resource
// provisions through it (an environment's provisioningRepository) or the
// account's pipelineProvisioningRepository names it, the delete is a
// ConflictException naming the users; the store's
// RepositoryDelete is the one place that knows what may use a repository.
func (s *API) DeleteRepository(ctx context.Context, in *api.DeleteRepositoryInput) (*api.DeleteRepositoryOutput, error) {
	r, err := s.cfg.Store.RepositoryDelete(ctx, repositoryKey(in.Provider, in.Name))
	var used *store.UsedByError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("%s not found", repositoryName(in.Provider, in.Name))
	case errors.As(err, &used):
		return nil, conflictf("%s is in use by %s: it cannot be deleted while they use it", repositoryName(in.Provider, in.Name), describeKeys(used.Users))
	case err != nil:
		return nil, err
	}
	return &api.DeleteRepositoryOutput{Repository: ptr(s.repository(r))}, nil
}

func (s *API) repository(r *store.Repository) api.Repository {
	return api.Repository{
		Arn: s.arn(r.Key), ConnectionArn: r.ConnectionArn, EncryptionKey: r.EncryptionKey, Name: r.Name, Provider: r.Provider,
	}
}

// describeKeys names records by their keys for a message:
// "environment/prod" reads "environment prod", the account setting
// "the account setting pipelineProvisioningRepository".
func describeKeys(keys []string) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		kind, name, ok := strings.Cut(k, "/")
		switch {
		case !ok:
			out[i] = k
		case kind == "account":
			out[i] = "the account setting " + name
		default:
			out[i] = kind + " " + name
		}
	}
	return strings.Join(out, ", ")
}

// linkedRepository returns the key of the linked repository a
// provisioningRepository (an environment's, or the account's
// pipelineProvisioningRepository) names. Proton required the repository be
// linked first: the model says of both that they are "a linked repository
// ... that has been registered with Proton" (CreateRepository). Which
// exception Proton gave for one that is not linked is not recorded in the
// sources we have. Hadron answers with the one the operation's error list
// offers for it: ResourceNotFoundException (the error for a resource an
// operation names that does not exist) on CreateEnvironment and
// UpdateEnvironment, ValidationException on UpdateAccountSettings, whose
// list has no ResourceNotFoundException.
func (s *API) linkedRepository(ctx context.Context, r *repoBranch, kind ErrorKind) (string, error) {
	key := repositoryKey(r.Provider, r.Name)
	_, err := s.cfg.Store.RepositoryGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", notLinked(r, kind)
	}
	if err != nil {
		return "", err
	}
	return key, nil
}

// notLinked is the error, of kind, of a repository that is not linked.
func notLinked(r *repoBranch, kind ErrorKind) error {
	return &Error{Kind: kind, Message: fmt.Sprintf("%s is not linked: link it with CreateRepository first", repositoryName(r.Provider, r.Name))}
}
