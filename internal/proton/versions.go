package proton

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// GetEnvironmentTemplateVersion returns one version.
func (s *API) GetEnvironmentTemplateVersion(ctx context.Context, in *api.GetEnvironmentTemplateVersionInput) (*api.GetEnvironmentTemplateVersionOutput, error) {
	v, err := s.getVersion(ctx, kindEnv, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if err != nil {
		return nil, err
	}
	return &api.GetEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: s.envVersion(v)}, nil
}

// ListEnvironmentTemplateVersions lists a template's versions by major, then minor.
func (s *API) ListEnvironmentTemplateVersions(ctx context.Context, in *api.ListEnvironmentTemplateVersionsInput) (*api.ListEnvironmentTemplateVersionsOutput, error) {
	versions, next, err := s.listVersions(ctx, kindEnv, in.TemplateName, in.MajorVersion, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &api.ListEnvironmentTemplateVersionsOutput{NextToken: next, TemplateVersions: make([]api.EnvironmentTemplateVersionSummary, 0, len(versions))}
	for _, v := range versions {
		ev := s.envVersion(v)
		out.TemplateVersions = append(out.TemplateVersions, api.EnvironmentTemplateVersionSummary{
			Arn: ev.Arn, CreatedAt: ev.CreatedAt, Description: ev.Description, LastModifiedAt: ev.LastModifiedAt,
			MajorVersion: ev.MajorVersion, MinorVersion: ev.MinorVersion, RecommendedMinorVersion: ev.RecommendedMinorVersion,
			Status: ev.Status, StatusMessage: ev.StatusMessage, TemplateName: ev.TemplateName,
		})
	}
	return out, nil
}

// UpdateEnvironmentTemplateVersion changes a version's description and
// publishes a DRAFT (the only status change Proton allows).
func (s *API) UpdateEnvironmentTemplateVersion(ctx context.Context, in *api.UpdateEnvironmentTemplateVersionInput) (*api.UpdateEnvironmentTemplateVersionOutput, error) {
	v, err := s.updateVersion(ctx, kindEnv, in.TemplateName, in.MajorVersion, in.MinorVersion, versionChange{description: in.Description, status: in.Status})
	if err != nil {
		return nil, err
	}
	return &api.UpdateEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: s.envVersion(v)}, nil
}

// DeleteEnvironmentTemplateVersion deletes a version no environment uses. As in
// Proton, the recommended version goes only when it is the last of its major.
func (s *API) DeleteEnvironmentTemplateVersion(ctx context.Context, in *api.DeleteEnvironmentTemplateVersionInput) (*api.DeleteEnvironmentTemplateVersionOutput, error) {
	v, err := s.deleteVersion(ctx, kindEnv, in.TemplateName, in.MajorVersion, in.MinorVersion)
	if alreadyGone(err) {
		return &api.DeleteEnvironmentTemplateVersionOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteEnvironmentTemplateVersionOutput{EnvironmentTemplateVersion: ptr(s.envVersion(v))}, nil
}

// listVersions returns one page of a template's versions, by major then
// minor, of one major when major is not "", and the token of the next page.
func (s *API) listVersions(ctx context.Context, kind, template, major, token string, maxResults *int32) ([]*store.TemplateVersion, string, error) {
	if _, err := s.getTemplate(ctx, kind, template); err != nil {
		return nil, "", err
	}
	m := -1
	if major != "" {
		var err error
		if m, err = strconv.Atoi(major); err != nil {
			return nil, "", validationf("majorVersion %q is not a number", major)
		}
	}
	list := kind + "-template-versions/" + template
	after, err := decodeToken(list, token)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(maxResults)
	versions, err := s.cfg.Store.TemplateVersionList(ctx, kind, template, m, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	if len(versions) <= limit {
		return versions, "", nil
	}
	last := versions[limit-1]
	return versions[:limit], encodeToken(list, fmt.Sprintf("%d.%d", last.Major, last.Minor)), nil
}

// versionChange is what an Update*TemplateVersion call asks for; nil and ""
// leave a field as it is.
type versionChange struct {
	description *string
	// status may only publish a DRAFT.
	status string
	// extra replaces the kind-specific TemplateVersion.Extra, already validated.
	extra *string
}

// updateVersion applies a change to a version. Every rule is checked before
// anything is written.
func (s *API) updateVersion(ctx context.Context, kind, template, majorS, minorS string, c versionChange) (*store.TemplateVersion, error) {
	v, err := s.getVersion(ctx, kind, template, majorS, minorS)
	if err != nil {
		return nil, err
	}
	publish := c.status != "" && c.status != v.Status
	if publish && (c.status != api.TemplateVersionStatusPublished || v.Status != api.TemplateVersionStatusDraft) {
		return nil, validationf("template version %s:%d.%d is %s: the only status change allowed is DRAFT to PUBLISHED", template, v.Major, v.Minor, v.Status)
	}
	if publish {
		v, err = s.cfg.Store.TemplateVersionSetStatus(ctx, store.TemplateVersionStatusParams{
			Kind: kind, Template: template, Major: v.Major, Minor: v.Minor,
			From: []string{api.TemplateVersionStatusDraft}, To: api.TemplateVersionStatusPublished, At: s.now(),
		})
		if errors.Is(err, store.ErrStatusChanged) {
			return nil, conflictf("template version %s:%d.%d changed to %s meanwhile", template, v.Major, v.Minor, v.Status)
		}
		if err != nil {
			return nil, err
		}
	}
	if c.description != nil {
		if v, err = s.cfg.Store.TemplateVersionSetDescription(ctx, store.TemplateVersionSetDescriptionParams{Kind: kind, Template: template, Major: v.Major, Minor: v.Minor, Description: *c.description, At: s.now()}); err != nil {
			return nil, err
		}
	}
	if c.extra != nil {
		if v, err = s.cfg.Store.TemplateVersionSetExtra(ctx, store.TemplateVersionSetExtraParams{Kind: kind, Template: template, Major: v.Major, Minor: v.Minor, Extra: *c.extra, At: s.now()}); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// deleteVersion deletes a version that no resource uses and no active
// deployment targets.
func (s *API) deleteVersion(ctx context.Context, kind, template, majorS, minorS string) (*store.TemplateVersion, error) {
	v, err := s.getVersion(ctx, kind, template, majorS, minorS)
	if err != nil {
		return nil, err
	}
	if v.Status == api.TemplateVersionStatusPublished && v.RecommendedMinor == v.Minor {
		others, err := s.cfg.Store.TemplateVersionList(ctx, kind, template, v.Major, store.Page{Limit: 2})
		if err != nil {
			return nil, err
		}
		if len(others) > 1 {
			return nil, conflictf("template version %s:%d.%d is the recommended version of major %d: delete the other minor versions of that major first", template, v.Major, v.Minor, v.Major)
		}
	}
	deleted, err := s.cfg.Store.TemplateVersionDelete(ctx, kind, template, v.Major, v.Minor)
	switch {
	case errors.Is(err, store.ErrInUse):
		return nil, conflictf("template version %s:%d.%d is in use by %s or a running deployment", template, v.Major, v.Minor, usersOf(kind))
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("%s template version %s:%d.%d not found", kind, template, v.Major, v.Minor)
	case err != nil:
		return nil, err
	}
	return deleted, nil
}

// usersOf names the resources deployed from a template kind.
func usersOf(kind string) string {
	if kind == kindEnv {
		return "deployed environments"
	}
	return "deployed service instances or pipelines"
}

func (s *API) getVersion(ctx context.Context, kind, template, majorS, minorS string) (*store.TemplateVersion, error) {
	major, err1 := strconv.Atoi(majorS)
	minor, err2 := strconv.Atoi(minorS)
	if err1 != nil || err2 != nil {
		return nil, validationf("template version %s.%s is not major.minor numbers", majorS, minorS)
	}
	v, err := s.cfg.Store.TemplateVersionGet(ctx, kind, template, major, minor)
	if errors.Is(err, store.ErrNotFound) {
		if _, terr := s.getTemplate(ctx, kind, template); terr != nil {
			return nil, terr
		}
		return nil, notFoundf("%s template %s has no version %d.%d", kind, template, major, minor)
	}
	return v, err
}

// recommendedMinor is a version's recommendedMinorVersion, "" when its major has no published minor.
func recommendedMinor(v *store.TemplateVersion) string {
	if v.RecommendedMinor < 0 {
		return ""
	}
	return strconv.Itoa(v.RecommendedMinor)
}

func (s *API) envVersion(v *store.TemplateVersion) api.EnvironmentTemplateVersion {
	return api.EnvironmentTemplateVersion{
		Arn:                     s.arn(templateVersionKey(v.Kind, v.TemplateName, v.Major, v.Minor)),
		CreatedAt:               apiTime(v.CreatedAt),
		Description:             v.Description,
		LastModifiedAt:          apiTime(v.LastModifiedAt),
		MajorVersion:            strconv.Itoa(v.Major),
		MinorVersion:            strconv.Itoa(v.Minor),
		RecommendedMinorVersion: recommendedMinor(v),
		Schema:                  v.Schema,
		Status:                  v.Status,
		StatusMessage:           v.StatusMessage,
		TemplateName:            v.TemplateName,
	}
}
