package proton

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/store"
)

const kindEnv = store.KindEnvironmentTemplate

// CreateEnvironmentTemplate creates an environment template. A retry with the
// same parameters returns the template it created.
func (s *Service) CreateEnvironmentTemplate(ctx context.Context, in *api.CreateEnvironmentTemplateInput) (*api.CreateEnvironmentTemplateOutput, error) {
	now := s.now()
	t := &store.Template{
		Kind: kindEnv, Name: in.Name, DisplayName: in.DisplayName, Description: deref(in.Description),
		EncryptionKey: in.EncryptionKey, Provisioning: in.Provisioning, CreatedAt: now, LastModifiedAt: now,
	}
	if err := s.cfg.Store.TemplateCreate(ctx, t); err != nil {
		if !errors.Is(err, store.ErrExists) {
			return nil, err
		}
		prev, gerr := s.cfg.Store.TemplateGet(ctx, kindEnv, in.Name)
		if gerr != nil {
			return nil, gerr
		}
		if prev.DisplayName != t.DisplayName || prev.Description != t.Description || prev.Provisioning != t.Provisioning ||
			prev.EncryptionKey != t.EncryptionKey {
			return nil, conflictf("environment template %s already exists", in.Name)
		}
		t = prev
	}
	return &api.CreateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// GetEnvironmentTemplate returns one environment template.
func (s *Service) GetEnvironmentTemplate(ctx context.Context, in *api.GetEnvironmentTemplateInput) (*api.GetEnvironmentTemplateOutput, error) {
	t, err := s.getTemplate(ctx, kindEnv, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// ListEnvironmentTemplates lists environment templates by name.
func (s *Service) ListEnvironmentTemplates(ctx context.Context, in *api.ListEnvironmentTemplatesInput) (*api.ListEnvironmentTemplatesOutput, error) {
	after, err := decodeToken("environment-templates", in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults)
	list, err := s.cfg.Store.TemplateList(ctx, kindEnv, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListEnvironmentTemplatesOutput{Templates: make([]api.EnvironmentTemplateSummary, 0, len(list))}
	for i, t := range list {
		if i == limit {
			out.NextToken = encodeToken("environment-templates", list[i-1].Name)
			break
		}
		et := s.envTemplate(t)
		out.Templates = append(out.Templates, api.EnvironmentTemplateSummary{
			Arn: et.Arn, CreatedAt: et.CreatedAt, Description: et.Description, DisplayName: et.DisplayName,
			LastModifiedAt: et.LastModifiedAt, Name: et.Name, Provisioning: et.Provisioning, RecommendedVersion: et.RecommendedVersion,
		})
	}
	return out, nil
}

// UpdateEnvironmentTemplate changes an environment template's display name and description.
func (s *Service) UpdateEnvironmentTemplate(ctx context.Context, in *api.UpdateEnvironmentTemplateInput) (*api.UpdateEnvironmentTemplateOutput, error) {
	t, err := s.cfg.Store.TemplateUpdate(ctx, kindEnv, in.Name, optional(in.DisplayName), in.Description, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("environment template %s not found", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &api.UpdateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// DeleteEnvironmentTemplate deletes an environment template without versions.
func (s *Service) DeleteEnvironmentTemplate(ctx context.Context, in *api.DeleteEnvironmentTemplateInput) (*api.DeleteEnvironmentTemplateOutput, error) {
	t, err := s.cfg.Store.TemplateDelete(ctx, kindEnv, in.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("environment template %s not found", in.Name)
	case errors.Is(err, store.ErrInUse):
		return nil, conflictf("environment template %s still has versions: delete them first", in.Name)
	case err != nil:
		return nil, err
	}
	return &api.DeleteEnvironmentTemplateOutput{EnvironmentTemplate: ptr(s.envTemplate(t))}, nil
}

func (s *Service) getTemplate(ctx context.Context, kind, name string) (*store.Template, error) {
	t, err := s.cfg.Store.TemplateGet(ctx, kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s not found", kind, name)
	}
	return t, err
}

func (s *Service) envTemplate(t *store.Template) api.EnvironmentTemplate {
	out := api.EnvironmentTemplate{
		Arn: s.arn(templateKey(t.Kind, t.Name)), CreatedAt: apiTime(t.CreatedAt), Description: t.Description,
		DisplayName: t.DisplayName, EncryptionKey: t.EncryptionKey, LastModifiedAt: apiTime(t.LastModifiedAt),
		Name: t.Name, Provisioning: t.Provisioning,
	}
	if t.RecommendedMajor >= 0 {
		out.RecommendedVersion = fmt.Sprintf("%d.%d", t.RecommendedMajor, t.RecommendedMinor)
	}
	return out
}

// CreateEnvironmentTemplateVersion registers a new version from a template
// bundle: it answers REGISTRATION_IN_PROGRESS and registers in the background,
// ending DRAFT or REGISTRATION_FAILED with a message saying what is wrong.
func (s *Service) CreateEnvironmentTemplateVersion(ctx context.Context, in *api.CreateEnvironmentTemplateVersionInput) (*api.CreateEnvironmentTemplateVersionOutput, error) {
	v, err := s.createVersion(ctx, kindEnv, in.TemplateName, in.MajorVersion, deref(in.Description), deref(in.ClientToken), in.Source)
	if err != nil {
		return nil, err
	}
	return &api.CreateEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: s.envVersion(v)}, nil
}

func (s *Service) createVersion(ctx context.Context, kind, template, major, description, token string, src api.TemplateVersionSourceInput) (*store.TemplateVersion, error) {
	if _, err := s.getTemplate(ctx, kind, template); err != nil {
		return nil, err
	}
	now := s.now()
	v := &store.TemplateVersion{
		Kind: kind, TemplateName: template, Major: -1, Status: api.TemplateVersionStatusRegistrationInProgress,
		Description: description, SourceBucket: src.S3.Bucket, SourceKey: src.S3.Key, ClientToken: token,
		CreatedAt: now, LastModifiedAt: now,
	}
	if major != "" {
		m, err := strconv.Atoi(major)
		if err != nil {
			return nil, validationf("majorVersion %q is not a number", major)
		}
		v.Major = m
	}
	data, err := bundle.Read(s.cfg.BundleDir, src.S3.Bucket, src.S3.Key)
	if err != nil {
		v.Status, v.StatusMessage = api.TemplateVersionStatusRegistrationFailed, err.Error()
	}
	v.Bundle = data
	if err := s.cfg.Store.TemplateVersionCreate(ctx, v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFoundf("%s template %s has no major version %s", kind, template, major)
		}
		return nil, err
	}
	if v.Status == api.TemplateVersionStatusRegistrationInProgress {
		s.registerAsync(v)
	}
	return v, nil
}

// registerAsync parses a version's bundle in the background and records the outcome.
func (s *Service) registerAsync(v *store.TemplateVersion) {
	s.registrations.Go(func() {
		to, msg, schema := api.TemplateVersionStatusDraft, "", ""
		tmpl, err := s.parseBundle(context.Background(), v)
		if err == nil {
			err = s.checkMinorCompatible(context.Background(), v, tmpl)
		}
		if err != nil {
			to, msg = api.TemplateVersionStatusRegistrationFailed, err.Error()
		} else {
			schema = tmpl.Schema.Raw
		}
		_, err = s.cfg.Store.TemplateVersionSetStatus(context.Background(), store.TemplateVersionStatusParams{
			Kind: v.Kind, Template: v.TemplateName, Major: v.Major, Minor: v.Minor,
			From: []string{api.TemplateVersionStatusRegistrationInProgress}, To: to, StatusMessage: msg, Schema: &schema, At: s.now(),
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Error("record template registration", "template", v.TemplateName, "version", fmt.Sprintf("%d.%d", v.Major, v.Minor), "err", err)
		}
	})
}

// parseBundle unpacks and validates a version's bundle.
func (s *Service) parseBundle(ctx context.Context, v *store.TemplateVersion) (*bundle.Template, error) {
	t, err := s.cfg.Store.TemplateGet(ctx, v.Kind, v.TemplateName)
	if err != nil {
		return nil, err
	}
	files, err := bundle.Unpack(v.Bundle)
	if err != nil {
		return nil, err
	}
	if v.Kind == kindEnv {
		return bundle.ParseEnvironmentTemplate(files, t.Provisioning == api.ProvisioningCustomerManaged)
	}
	return bundle.ParseServiceTemplate(files, t.Provisioning == api.ProvisioningCustomerManaged)
}

// checkMinorCompatible refuses a minor version whose schema would not accept
// the specs of the minor version before it, as Proton did at registration.
func (s *Service) checkMinorCompatible(ctx context.Context, v *store.TemplateVersion, tmpl *bundle.Template) error {
	if v.Minor == 0 {
		return nil
	}
	versions, err := s.cfg.Store.TemplateVersionList(ctx, v.Kind, v.TemplateName, v.Major, store.Page{Limit: v.Minor})
	if err != nil {
		return err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		prev := versions[i]
		if prev.Minor >= v.Minor || (prev.Status != api.TemplateVersionStatusDraft && prev.Status != api.TemplateVersionStatusPublished) {
			continue
		}
		prevTmpl, err := s.parseBundle(ctx, prev)
		if err != nil {
			return nil // the previous version no longer parses: nothing to compare with
		}
		if err := tmpl.Schema.CheckMinorCompatible(prevTmpl.Schema); err != nil {
			return fmt.Errorf("version %d.%d is %w", v.Major, v.Minor, err)
		}
		return nil
	}
	return nil
}
