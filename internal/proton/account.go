package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// The store keys of the account settings, one per setting so that two
// updates of different settings never undo each other.
const (
	settingPipelineServiceRole      = "account.pipelineServiceRoleArn"
	settingPipelineCodebuildRole    = "account.pipelineCodebuildRoleArn"
	settingPipelineProvisioningRepo = "account.pipelineProvisioningRepository" // a repoBranch as JSON
)

// accountSettings are the account-wide pipeline provisioning settings: the
// roles pipelines run with and the repository self-managed pipelines are
// handed to. A field is empty (nil) when it is not set.
type accountSettings struct {
	PipelineServiceRoleArn         string
	PipelineCodebuildRoleArn       string
	PipelineProvisioningRepository *repoBranch
}

// GetAccountSettings returns the pipeline provisioning settings.
func (s *API) GetAccountSettings(ctx context.Context, in *api.GetAccountSettingsInput) (*api.GetAccountSettingsOutput, error) {
	st, err := s.accountSettings(ctx)
	if err != nil {
		return nil, err
	}
	return &api.GetAccountSettingsOutput{AccountSettings: ptr(s.apiAccountSettings(st))}, nil
}

// UpdateAccountSettings changes the pipeline provisioning settings: a role
// set to "" is removed, and deletePipelineProvisioningRepository removes the
// repository. Settings the call does not name stay as they are. The changes
// are made in one transaction.
func (s *API) UpdateAccountSettings(ctx context.Context, in *api.UpdateAccountSettingsInput) (*api.UpdateAccountSettingsOutput, error) {
	deleteRepo := in.DeletePipelineProvisioningRepository != nil && *in.DeletePipelineProvisioningRepository
	if deleteRepo && in.PipelineProvisioningRepository != nil {
		return nil, validationf("pipelineProvisioningRepository and deletePipelineProvisioningRepository cannot be given together: set deletePipelineProvisioningRepository only to remove the repository")
	}
	p := store.SettingsUpdateParams{Set: map[string]string{}, At: s.now()}
	role := func(key string, arn *string) {
		switch {
		case arn == nil:
		case *arn == "":
			p.Delete = append(p.Delete, key)
		default:
			p.Set[key] = *arn
		}
	}
	role(settingPipelineServiceRole, in.PipelineServiceRoleArn)
	role(settingPipelineCodebuildRole, in.PipelineCodebuildRoleArn)
	var repo *repoBranch
	if r := in.PipelineProvisioningRepository; r != nil {
		repo = &repoBranch{Provider: r.Provider, Name: r.Name, Branch: r.Branch}
		key, err := s.linkedRepository(ctx, repo, KindValidation)
		if err != nil {
			return nil, err
		}
		raw, err := json.Marshal(repo)
		if err != nil {
			return nil, err
		}
		p.Set[settingPipelineProvisioningRepo] = string(raw)
		// Kept apart as the bare key, so that the store keeps the repository
		// linked while the setting names it.
		p.Set[store.SettingPipelineRepository] = key
	}
	if deleteRepo {
		p.Delete = append(p.Delete, settingPipelineProvisioningRepo, store.SettingPipelineRepository)
	}
	values, err := s.cfg.Store.SettingsUpdate(ctx, p)
	if errors.Is(err, store.ErrNotFound) && repo != nil {
		// The repository was unlinked since linkedRepository saw it.
		return nil, notLinked(repo, KindValidation)
	}
	if err != nil {
		return nil, err
	}
	st, err := parseAccountSettings(values)
	if err != nil {
		return nil, err
	}
	return &api.UpdateAccountSettingsOutput{AccountSettings: s.apiAccountSettings(st)}, nil
}

// accountSettings reads the account's pipeline provisioning settings.
func (s *API) accountSettings(ctx context.Context) (accountSettings, error) {
	values, err := s.cfg.Store.SettingsGet(ctx)
	if err != nil {
		return accountSettings{}, err
	}
	return parseAccountSettings(values)
}

func parseAccountSettings(values map[string]string) (accountSettings, error) {
	st := accountSettings{
		PipelineServiceRoleArn:   values[settingPipelineServiceRole],
		PipelineCodebuildRoleArn: values[settingPipelineCodebuildRole],
	}
	if raw := values[settingPipelineProvisioningRepo]; raw != "" {
		st.PipelineProvisioningRepository = &repoBranch{}
		if err := json.Unmarshal([]byte(raw), st.PipelineProvisioningRepository); err != nil {
			return accountSettings{}, fmt.Errorf("read account setting %s: %w", settingPipelineProvisioningRepo, err)
		}
	}
	return st, nil
}

func (s *API) apiAccountSettings(st accountSettings) api.AccountSettings {
	out := api.AccountSettings{
		PipelineCodebuildRoleArn: st.PipelineCodebuildRoleArn,
		PipelineServiceRoleArn:   st.PipelineServiceRoleArn,
	}
	if r := st.PipelineProvisioningRepository; r != nil {
		out.PipelineProvisioningRepository = &api.RepositoryBranch{
			Arn: s.repositoryArn(r), Branch: r.Branch, Name: r.Name, Provider: r.Provider,
		}
	}
	return out
}

// repositoryArn is the ARN of a linked repository, as Proton forms it.
func (s *API) repositoryArn(r *repoBranch) string {
	return s.arn(repositoryKey(r.Provider, r.Name))
}
