package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// CreateServiceTemplate creates a service template. pipelineProvisioning
// CUSTOMER_MANAGED means Proton provides no pipeline; it cannot be changed
// later. A retry with the same parameters returns the template it created.
func (s *API) CreateServiceTemplate(ctx context.Context, in *api.CreateServiceTemplateInput) (*api.CreateServiceTemplateOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := s.createTemplate(ctx, &store.Template{
		Kind: kindSvc, Name: in.Name, DisplayName: in.DisplayName, Description: deref(in.Description),
		EncryptionKey: in.EncryptionKey, Provisioning: in.PipelineProvisioning, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateServiceTemplateOutput{ServiceTemplate: s.svcTemplate(t)}, nil
}

// GetServiceTemplate returns one service template.
func (s *API) GetServiceTemplate(ctx context.Context, in *api.GetServiceTemplateInput) (*api.GetServiceTemplateOutput, error) {
	t, err := s.getTemplate(ctx, kindSvc, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetServiceTemplateOutput{ServiceTemplate: s.svcTemplate(t)}, nil
}

// ListServiceTemplates lists service templates by name.
func (s *API) ListServiceTemplates(ctx context.Context, in *api.ListServiceTemplatesInput) (*api.ListServiceTemplatesOutput, error) {
	list, next, err := s.listTemplates(ctx, kindSvc, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &api.ListServiceTemplatesOutput{NextToken: next, Templates: make([]api.ServiceTemplateSummary, 0, len(list))}
	for _, t := range list {
		st := s.svcTemplate(t)
		out.Templates = append(out.Templates, api.ServiceTemplateSummary{
			Arn: st.Arn, CreatedAt: st.CreatedAt, Description: st.Description, DisplayName: st.DisplayName,
			LastModifiedAt: st.LastModifiedAt, Name: st.Name, PipelineProvisioning: st.PipelineProvisioning,
			RecommendedVersion: st.RecommendedVersion,
		})
	}
	return out, nil
}

// UpdateServiceTemplate changes a service template's display name and description.
func (s *API) UpdateServiceTemplate(ctx context.Context, in *api.UpdateServiceTemplateInput) (*api.UpdateServiceTemplateOutput, error) {
	t, err := s.updateTemplate(ctx, kindSvc, in.Name, optional(in.DisplayName), in.Description)
	if err != nil {
		return nil, err
	}
	return &api.UpdateServiceTemplateOutput{ServiceTemplate: s.svcTemplate(t)}, nil
}

// DeleteServiceTemplate deletes a service template without versions.
func (s *API) DeleteServiceTemplate(ctx context.Context, in *api.DeleteServiceTemplateInput) (*api.DeleteServiceTemplateOutput, error) {
	t, err := s.deleteTemplate(ctx, kindSvc, in.Name)
	if alreadyGone(err) {
		return &api.DeleteServiceTemplateOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteServiceTemplateOutput{ServiceTemplate: ptr(s.svcTemplate(t))}, nil
}

func (s *API) svcTemplate(t *store.Template) api.ServiceTemplate {
	return api.ServiceTemplate{
		Arn: s.arn(templateKey(t.Kind, t.Name)), CreatedAt: apiTime(t.CreatedAt), Description: t.Description,
		DisplayName: t.DisplayName, EncryptionKey: t.EncryptionKey, LastModifiedAt: apiTime(t.LastModifiedAt),
		Name: t.Name, PipelineProvisioning: t.Provisioning, RecommendedVersion: recommendedVersion(t),
	}
}

// CreateServiceTemplateVersion registers a new version from a service
// template bundle, as CreateEnvironmentTemplateVersion does. Every compatible
// environment template must exist with the major version named.
func (s *API) CreateServiceTemplateVersion(ctx context.Context, in *api.CreateServiceTemplateVersionInput) (*api.CreateServiceTemplateVersionOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	if _, err := s.getTemplate(ctx, kindSvc, in.TemplateName); err != nil {
		return nil, err
	}
	compatible, err := s.checkCompatibleEnvironmentTemplates(ctx, in.CompatibleEnvironmentTemplates)
	if err != nil {
		return nil, err
	}
	extra, err := serviceExtra{CompatibleEnvironmentTemplates: compatible, SupportedComponentSources: in.SupportedComponentSources}.encode()
	if err != nil {
		return nil, err
	}
	v, err := s.createVersion(ctx, newVersion{
		kind: kindSvc, template: in.TemplateName, major: in.MajorVersion, description: deref(in.Description),
		clientToken: deref(in.ClientToken), source: in.Source, extra: extra, tags: tags,
		request: requestFingerprint("CreateServiceTemplateVersion", in),
	})
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersion(v)
	if err != nil {
		return nil, err
	}
	return &api.CreateServiceTemplateVersionOutput{ServiceTemplateVersion: out}, nil
}

// GetServiceTemplateVersion returns one version.
func (s *API) GetServiceTemplateVersion(ctx context.Context, in *api.GetServiceTemplateVersionInput) (*api.GetServiceTemplateVersionOutput, error) {
	v, err := s.getVersion(ctx, kindSvc, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersion(v)
	if err != nil {
		return nil, err
	}
	return &api.GetServiceTemplateVersionOutput{ServiceTemplateVersion: out}, nil
}

// ListServiceTemplateVersions lists a template's versions by major, then minor.
func (s *API) ListServiceTemplateVersions(ctx context.Context, in *api.ListServiceTemplateVersionsInput) (*api.ListServiceTemplateVersionsOutput, error) {
	versions, next, err := s.listVersions(ctx, kindSvc, in.TemplateName, in.MajorVersion, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &api.ListServiceTemplateVersionsOutput{NextToken: next, TemplateVersions: make([]api.ServiceTemplateVersionSummary, 0, len(versions))}
	for _, v := range versions {
		out.TemplateVersions = append(out.TemplateVersions, api.ServiceTemplateVersionSummary{
			Arn: s.arn(templateVersionKey(v.Kind, v.TemplateName, v.Major, v.Minor)), CreatedAt: apiTime(v.CreatedAt),
			Description: v.Description, LastModifiedAt: apiTime(v.LastModifiedAt), MajorVersion: strconv.Itoa(v.Major),
			MinorVersion: strconv.Itoa(v.Minor), RecommendedMinorVersion: recommendedMinor(v), Status: v.Status,
			StatusMessage: v.StatusMessage, TemplateName: v.TemplateName,
		})
	}
	return out, nil
}

// UpdateServiceTemplateVersion changes a version's description, compatible
// environment templates and supported component sources, and publishes a
// DRAFT (the only status change Proton allows). A change of the supported
// component sources affects only later component attachments.
func (s *API) UpdateServiceTemplateVersion(ctx context.Context, in *api.UpdateServiceTemplateVersionInput) (*api.UpdateServiceTemplateVersionOutput, error) {
	c := versionChange{description: in.Description, status: in.Status}
	if in.CompatibleEnvironmentTemplates != nil || in.SupportedComponentSources != nil {
		v, err := s.getVersion(ctx, kindSvc, in.TemplateName, in.MajorVersion, in.MinorVersion)
		if err != nil {
			return nil, err
		}
		extra, err := serviceVersionExtra(v)
		if err != nil {
			return nil, err
		}
		if in.CompatibleEnvironmentTemplates != nil {
			if extra.CompatibleEnvironmentTemplates, err = s.checkCompatibleEnvironmentTemplates(ctx, in.CompatibleEnvironmentTemplates); err != nil {
				return nil, err
			}
		}
		if in.SupportedComponentSources != nil {
			extra.SupportedComponentSources = in.SupportedComponentSources
		}
		raw, err := extra.encode()
		if err != nil {
			return nil, err
		}
		c.extra = &raw
	}
	v, err := s.updateVersion(ctx, kindSvc, in.TemplateName, in.MajorVersion, in.MinorVersion, c)
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersion(v)
	if err != nil {
		return nil, err
	}
	return &api.UpdateServiceTemplateVersionOutput{ServiceTemplateVersion: out}, nil
}

// DeleteServiceTemplateVersion deletes a version no service instance or
// pipeline uses and no running deployment targets. As in Proton, the
// recommended version goes only when it is the last of its major.
func (s *API) DeleteServiceTemplateVersion(ctx context.Context, in *api.DeleteServiceTemplateVersionInput) (*api.DeleteServiceTemplateVersionOutput, error) {
	v, err := s.deleteVersion(ctx, kindSvc, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if alreadyGone(err) {
		return &api.DeleteServiceTemplateVersionOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	out, err := s.svcVersion(v)
	if err != nil {
		return nil, err
	}
	return &api.DeleteServiceTemplateVersionOutput{ServiceTemplateVersion: &out}, nil
}

func (s *API) svcVersion(v *store.TemplateVersion) (api.ServiceTemplateVersion, error) {
	extra, err := serviceVersionExtra(v)
	if err != nil {
		return api.ServiceTemplateVersion{}, err
	}
	return api.ServiceTemplateVersion{
		Arn:                            s.arn(templateVersionKey(v.Kind, v.TemplateName, v.Major, v.Minor)),
		CompatibleEnvironmentTemplates: extra.CompatibleEnvironmentTemplates,
		CreatedAt:                      apiTime(v.CreatedAt),
		Description:                    v.Description,
		LastModifiedAt:                 apiTime(v.LastModifiedAt),
		MajorVersion:                   strconv.Itoa(v.Major),
		MinorVersion:                   strconv.Itoa(v.Minor),
		RecommendedMinorVersion:        recommendedMinor(v),
		Schema:                         v.Schema,
		Status:                         v.Status,
		StatusMessage:                  v.StatusMessage,
		SupportedComponentSources:      extra.SupportedComponentSources,
		TemplateName:                   v.TemplateName,
	}, nil
}

// checkCompatibleEnvironmentTemplates checks that each entry names an
// environment template and one of its major versions, each once, and returns
// them as a version keeps them.
func (s *API) checkCompatibleEnvironmentTemplates(ctx context.Context, in []api.CompatibleEnvironmentTemplateInput) ([]api.CompatibleEnvironmentTemplate, error) {
	out := make([]api.CompatibleEnvironmentTemplate, 0, len(in))
	seen := map[api.CompatibleEnvironmentTemplateInput]bool{}
	for _, c := range in {
		if seen[c] {
			return nil, validationf("compatibleEnvironmentTemplates names environment template %s major version %s twice", c.TemplateName, c.MajorVersion)
		}
		seen[c] = true
		if _, err := s.cfg.Store.TemplateGet(ctx, kindEnv, c.TemplateName); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, notFoundf("compatible environment template %s not found", c.TemplateName)
			}
			return nil, err
		}
		major, err := strconv.Atoi(c.MajorVersion)
		if err != nil {
			return nil, validationf("compatible environment template %s: majorVersion %q is not a number", c.TemplateName, c.MajorVersion)
		}
		versions, err := s.cfg.Store.TemplateVersionList(ctx, kindEnv, c.TemplateName, major, store.Page{Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(versions) == 0 {
			return nil, notFoundf("compatible environment template %s has no major version %s", c.TemplateName, c.MajorVersion)
		}
		out = append(out, api.CompatibleEnvironmentTemplate{TemplateName: c.TemplateName, MajorVersion: c.MajorVersion})
	}
	return out, nil
}

// serviceExtra is what a service template version holds beyond what every
// template version has, kept as TemplateVersion.Extra.
type serviceExtra struct {
	// CompatibleEnvironmentTemplates names the environment template majors
	// whose environments the version's instances may run in; never empty for
	// a version created through the API.
	CompatibleEnvironmentTemplates []api.CompatibleEnvironmentTemplate `json:"compatibleEnvironmentTemplates"`
	// SupportedComponentSources lists the component sources (DIRECTLY_DEFINED)
	// that may attach to the version's instances; empty when none.
	SupportedComponentSources []string `json:"supportedComponentSources,omitempty"`
}

// serviceVersionExtra reads a service template version's compatible
// environment templates and supported component sources.
func serviceVersionExtra(v *store.TemplateVersion) (serviceExtra, error) {
	var e serviceExtra
	if v.Extra != "" {
		if err := json.Unmarshal([]byte(v.Extra), &e); err != nil {
			return serviceExtra{}, fmt.Errorf("service template version %s:%d.%d: read compatible environment templates: %w", v.TemplateName, v.Major, v.Minor, err)
		}
	}
	if e.CompatibleEnvironmentTemplates == nil {
		e.CompatibleEnvironmentTemplates = []api.CompatibleEnvironmentTemplate{}
	}
	return e, nil
}

// compatibleEnvironmentTemplates returns the environment template majors a
// service template version's instances may run in.
func compatibleEnvironmentTemplates(v *store.TemplateVersion) ([]api.CompatibleEnvironmentTemplate, error) {
	e, err := serviceVersionExtra(v)
	return e.CompatibleEnvironmentTemplates, err
}

// compatibleWith reports whether instances of the version may run in an
// environment of environment template envTemplate, major version envMajor.
func (e serviceExtra) compatibleWith(envTemplate, envMajor string) bool {
	return slices.Contains(e.CompatibleEnvironmentTemplates, api.CompatibleEnvironmentTemplate{TemplateName: envTemplate, MajorVersion: envMajor})
}

// supportsComponentSource reports whether components of source (such as
// DIRECTLY_DEFINED) may attach to the version's instances.
func (e serviceExtra) supportsComponentSource(source string) bool {
	return slices.Contains(e.SupportedComponentSources, source)
}

func (e serviceExtra) encode() (string, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode service template version extra: %w", err)
	}
	return string(raw), nil
}
