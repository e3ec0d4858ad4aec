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

// kindEnv is the environment template kind (kindSvc, the service template
// kind, is declared beside the services). Environment and service templates
// share one implementation of every operation; the exported per-kind methods
// only convert to the api types.
const kindEnv = store.KindEnvironmentTemplate

// CreateEnvironmentTemplate creates an environment template. A retry with the
// same parameters returns the template it created.
func (s *API) CreateEnvironmentTemplate(ctx context.Context, in *api.CreateEnvironmentTemplateInput) (*api.CreateEnvironmentTemplateOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := s.createTemplate(ctx, &store.Template{
		Kind: kindEnv, Name: in.Name, DisplayName: in.DisplayName, Description: deref(in.Description),
		EncryptionKey: in.EncryptionKey, Provisioning: in.Provisioning, Tags: tags,
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// GetEnvironmentTemplate returns one environment template.
func (s *API) GetEnvironmentTemplate(ctx context.Context, in *api.GetEnvironmentTemplateInput) (*api.GetEnvironmentTemplateOutput, error) {
	t, err := s.getTemplate(ctx, kindEnv, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// ListEnvironmentTemplates lists environment templates by name.
func (s *API) ListEnvironmentTemplates(ctx context.Context, in *api.ListEnvironmentTemplatesInput) (*api.ListEnvironmentTemplatesOutput, error) {
	list, next, err := s.listTemplates(ctx, kindEnv, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &api.ListEnvironmentTemplatesOutput{NextToken: next, Templates: make([]api.EnvironmentTemplateSummary, 0, len(list))}
	for _, t := range list {
		et := s.envTemplate(t)
		out.Templates = append(out.Templates, api.EnvironmentTemplateSummary{
			Arn: et.Arn, CreatedAt: et.CreatedAt, Description: et.Description, DisplayName: et.DisplayName,
			LastModifiedAt: et.LastModifiedAt, Name: et.Name, Provisioning: et.Provisioning, RecommendedVersion: et.RecommendedVersion,
		})
	}
	return out, nil
}

// UpdateEnvironmentTemplate changes an environment template's display name and description.
func (s *API) UpdateEnvironmentTemplate(ctx context.Context, in *api.UpdateEnvironmentTemplateInput) (*api.UpdateEnvironmentTemplateOutput, error) {
	t, err := s.updateTemplate(ctx, kindEnv, in.Name, optional(in.DisplayName), in.Description)
	if err != nil {
		return nil, err
	}
	return &api.UpdateEnvironmentTemplateOutput{EnvironmentTemplate: s.envTemplate(t)}, nil
}

// DeleteEnvironmentTemplate deletes an environment template without versions.
func (s *API) DeleteEnvironmentTemplate(ctx context.Context, in *api.DeleteEnvironmentTemplateInput) (*api.DeleteEnvironmentTemplateOutput, error) {
	t, err := s.deleteTemplate(ctx, kindEnv, in.Name)
	if alreadyGone(err) {
		return &api.DeleteEnvironmentTemplateOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteEnvironmentTemplateOutput{EnvironmentTemplate: ptr(s.envTemplate(t))}, nil
}

// createTemplate inserts t (its timestamps set here). A retry with the same
// parameters returns the template the first call created; a create of a
// taken name with other parameters is refused as createMismatch says.
func (s *API) createTemplate(ctx context.Context, t *store.Template) (*store.Template, error) {
	now := s.now()
	t.CreatedAt, t.LastModifiedAt = now, now
	err := s.cfg.Store.TemplateCreate(ctx, t)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, store.ErrExists) {
		return nil, err
	}
	prev, err := s.cfg.Store.TemplateGet(ctx, t.Kind, t.Name)
	if err != nil {
		return nil, err
	}
	if prev.DisplayName == t.DisplayName && prev.Description == t.Description && prev.Provisioning == t.Provisioning &&
		prev.EncryptionKey == t.EncryptionKey {
		return prev, nil
	}
	if prev.LastModifiedAt.After(prev.CreatedAt) {
		// No telling what the first create asked for any more.
		return nil, conflictf("%s template %s already exists and was changed since it was created", t.Kind, t.Name)
	}
	return nil, createMismatch(t.Kind+" template", t.Name)
}

func (s *API) getTemplate(ctx context.Context, kind, name string) (*store.Template, error) {
	t, err := s.cfg.Store.TemplateGet(ctx, kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s not found", kind, name)
	}
	return t, err
}

// listTemplates returns one page of a kind's templates by name and the token
// of the next page ("" after the last).
func (s *API) listTemplates(ctx context.Context, kind, token string, maxResults *int32) ([]*store.Template, string, error) {
	list := kind + "-templates"
	after, err := decodeToken(list, token)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(maxResults)
	templates, err := s.cfg.Store.TemplateList(ctx, kind, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	if len(templates) <= limit {
		return templates, "", nil
	}
	return templates[:limit], encodeToken(list, templates[limit-1].Name), nil
}

// updateTemplate changes a template's display name and description (nil
// leaves one as it is).
func (s *API) updateTemplate(ctx context.Context, kind, name string, displayName, description *string) (*store.Template, error) {
	t, err := s.cfg.Store.TemplateUpdate(ctx, store.TemplateUpdateParams{Kind: kind, Name: name, DisplayName: displayName, Description: description, At: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s not found", kind, name)
	}
	return t, err
}

// deleteTemplate deletes a template that has no versions left.
func (s *API) deleteTemplate(ctx context.Context, kind, name string) (*store.Template, error) {
	t, err := s.cfg.Store.TemplateDelete(ctx, kind, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("%s template %s not found", kind, name)
	case errors.Is(err, store.ErrInUse):
		return nil, conflictf("%s template %s still has versions: delete them first", kind, name)
	case err != nil:
		return nil, err
	}
	return t, nil
}

// recommendedVersion is a template's "major.minor" recommended version, "" when none is published.
func recommendedVersion(t *store.Template) string {
	if t.RecommendedMajor < 0 {
		return ""
	}
	return fmt.Sprintf("%d.%d", t.RecommendedMajor, t.RecommendedMinor)
}

func (s *API) envTemplate(t *store.Template) api.EnvironmentTemplate {
	return api.EnvironmentTemplate{
		Arn: s.arn(templateKey(t.Kind, t.Name)), CreatedAt: apiTime(t.CreatedAt), Description: t.Description,
		DisplayName: t.DisplayName, EncryptionKey: t.EncryptionKey, LastModifiedAt: apiTime(t.LastModifiedAt),
		Name: t.Name, Provisioning: t.Provisioning, RecommendedVersion: recommendedVersion(t),
	}
}

// CreateEnvironmentTemplateVersion registers a new version from a template
// bundle: it answers REGISTRATION_IN_PROGRESS and registers in the background,
// ending DRAFT or REGISTRATION_FAILED with a message saying what is wrong.
func (s *API) CreateEnvironmentTemplateVersion(ctx context.Context, in *api.CreateEnvironmentTemplateVersionInput) (*api.CreateEnvironmentTemplateVersionOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	v, err := s.createVersion(ctx, newVersion{
		kind: kindEnv, template: in.TemplateName, major: in.MajorVersion, description: deref(in.Description),
		clientToken: deref(in.ClientToken), source: in.Source, tags: tags,
		request: requestFingerprint("CreateEnvironmentTemplateVersion", in),
	})
	if err != nil {
		return nil, err
	}
	return &api.CreateEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: s.envVersion(v)}, nil
}

// newVersion is what a Create*TemplateVersion call asks for.
type newVersion struct {
	kind, template string
	// major names the major to add a minor to; "" starts a new major.
	major       string
	description string
	clientToken string
	// request fingerprints the call (requestFingerprint).
	request string
	source  api.TemplateVersionSourceInput
	// extra is the kind-specific TemplateVersion.Extra, already validated.
	extra string
	tags  map[string]string
}

// createVersion inserts a version REGISTRATION_IN_PROGRESS and registers its
// bundle in the background; a bundle that cannot even be read fails at once.
// A retry with the same client token returns the version the first call created.
func (s *API) createVersion(ctx context.Context, in newVersion) (*store.TemplateVersion, error) {
	if _, err := s.getTemplate(ctx, in.kind, in.template); err != nil {
		return nil, err
	}
	now := s.now()
	v := &store.TemplateVersion{
		Kind: in.kind, TemplateName: in.template, Major: -1, Status: api.TemplateVersionStatusRegistrationInProgress,
		Description: in.description, SourceBucket: in.source.S3.Bucket, SourceKey: in.source.S3.Key, ClientToken: in.clientToken, ClientRequest: in.request,
		Extra: in.extra, CreatedAt: now, LastModifiedAt: now, Tags: in.tags,
	}
	if in.major != "" {
		m, err := strconv.Atoi(in.major)
		if err != nil {
			return nil, validationf("majorVersion %q is not a number", in.major)
		}
		v.Major = m
	}
	data, err := bundle.Read(s.cfg.BundleDir, in.source.S3.Bucket, in.source.S3.Key)
	if err != nil {
		v.Status, v.StatusMessage = api.TemplateVersionStatusRegistrationFailed, err.Error()
	}
	v.Bundle = data
	if err := s.cfg.Store.TemplateVersionCreate(ctx, v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFoundf("%s template %s has no major version %s", in.kind, in.template, in.major)
		}
		return nil, err
	}
	if !v.CreatedAt.Equal(now) { // the store returned the version an earlier call with this token created
		if err := checkRetry(in.clientToken, v.ClientRequest, in.request); err != nil {
			return nil, err
		}
		return v, nil
	}
	if v.Status == api.TemplateVersionStatusRegistrationInProgress {
		s.registerAsync(v)
	}
	return v, nil
}

// registerAsync parses a version's bundle in the background and records the outcome.
func (s *API) registerAsync(v *store.TemplateVersion) {
	s.registrations.Go(func() {
		to, msg, schema := api.TemplateVersionStatusDraft, "", ""
		tmpl, err := s.parseBundle(context.Background(), v)
		if err == nil {
			err = s.checkMinorCompatible(context.Background(), v, tmpl)
		}
		if err == nil {
			err = s.checkManifests(tmpl)
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

// checkManifests has each manifest of a template checked by its engine.
func (s *API) checkManifests(tmpl *bundle.Template) error {
	for _, infra := range []*bundle.Infrastructure{tmpl.Infrastructure, tmpl.Pipeline} {
		if infra == nil {
			continue
		}
		if err := s.cfg.Engines.CheckManifest(infra.Manifest, infra.Files); err != nil {
			return err
		}
	}
	return nil
}

// parseBundle unpacks and validates a version's bundle.
func (s *API) parseBundle(ctx context.Context, v *store.TemplateVersion) (*bundle.Template, error) {
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
func (s *API) checkMinorCompatible(ctx context.Context, v *store.TemplateVersion, tmpl *bundle.Template) error {
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
