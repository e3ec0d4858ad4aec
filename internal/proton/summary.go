package proton

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// GetResourcesSummary counts the account's resources as the model's
// CountsSummary defines them. The store keeps the counts by type, template
// version and status as records change, so a call reads one row per such
// group and one template (and one version list) per template major in use,
// never every resource.
//
// The members each count has follow the model's documentation: templates
// and environments carry only total (ResourceCountsSummary has the same five
// members for every kind, but CountsSummary's own documentation of
// environments says "will only contain total members", as it says of the
// templates, although an environment has a template version it could be
// behind; Hadron answers as Proton documented it); components total and failed (they
// have no template, so no staleness); services, service instances and
// pipelines every member. A resource is behind a major version when its
// template's recommended version has a higher major, behind a minor when
// its major's recommended minor is higher than its own, and up to date
// otherwise; it is failed when its last deployment failed (a service: when
// its status is one of the *_FAILED statuses), whatever its version.
func (s *API) GetResourcesSummary(ctx context.Context, in *api.GetResourcesSummaryInput) (*api.GetResourcesSummaryOutput, error) {
	counts, err := s.cfg.Store.ResourceCounts(ctx)
	if err != nil {
		return nil, err
	}
	full := func() *api.ResourceCountsSummary {
		return &api.ResourceCountsSummary{BehindMajor: ptr[int32](0), BehindMinor: ptr[int32](0), Failed: ptr[int32](0), UpToDate: ptr[int32](0)}
	}
	out := api.CountsSummary{
		Components:           &api.ResourceCountsSummary{Failed: ptr[int32](0)},
		EnvironmentTemplates: &api.ResourceCountsSummary{},
		Environments:         &api.ResourceCountsSummary{},
		Pipelines:            full(),
		ServiceInstances:     full(),
		ServiceTemplates:     &api.ResourceCountsSummary{},
		Services:             full(),
	}
	staleness := newStaleness(s)
	for _, c := range counts {
		n := int32(c.Count)
		var sum *api.ResourceCountsSummary
		failed := c.Status == store.StatusFailed
		kind := kindSvc
		switch c.Type {
		case store.CountEnvironmentTemplate:
			sum = out.EnvironmentTemplates
		case store.CountServiceTemplate:
			sum = out.ServiceTemplates
		case store.ResourceEnvironment:
			sum, kind = out.Environments, kindEnv
		case store.ResourceComponent:
			sum = out.Components
		case store.ResourceServiceInstance:
			sum = out.ServiceInstances
		case store.ResourceServicePipeline:
			sum = out.Pipelines
		case store.CountService:
			sum, failed = out.Services, strings.HasSuffix(c.Status, "_FAILED")
		default:
			continue
		}
		sum.Total += n
		if failed && sum.Failed != nil {
			*sum.Failed += n
		}
		if sum.UpToDate == nil {
			continue
		}
		switch st, err := staleness.of(ctx, kind, c.TemplateName, c.TemplateMajor, c.TemplateMinor); {
		case err != nil:
			return nil, err
		case st == behindMajor:
			*sum.BehindMajor += n
		case st == behindMinor:
			*sum.BehindMinor += n
		default:
			*sum.UpToDate += n
		}
	}
	return &api.GetResourcesSummaryOutput{Counts: out}, nil
}

const (
	upToDate = iota
	behindMinor
	behindMajor
)

// staleness compares template versions with their template's recommended
// version, reading each template and each major's recommended minor once.
type staleness struct {
	s         *API
	templates map[string]*store.Template // by kind/name; nil when gone
	minors    map[string]int             // recommended minor by kind/name/major
}

func newStaleness(s *API) *staleness {
	return &staleness{s: s, templates: map[string]*store.Template{}, minors: map[string]int{}}
}

func (st *staleness) of(ctx context.Context, kind, name, majorS, minorS string) (int, error) {
	major, err1 := strconv.Atoi(majorS)
	minor, err2 := strconv.Atoi(minorS)
	if err1 != nil || err2 != nil {
		return upToDate, nil // a resource with no version has nothing to be behind
	}
	key := kind + "/" + name
	t, seen := st.templates[key]
	if !seen {
		var err error
		if t, err = st.s.cfg.Store.TemplateGet(ctx, kind, name); err != nil && !isNotFound(err) {
			return 0, err
		}
		st.templates[key] = t
	}
	if t == nil || t.RecommendedMajor < 0 {
		return upToDate, nil
	}
	if major < t.RecommendedMajor {
		return behindMajor, nil
	}
	majorKey := key + "/" + majorS
	rec, seen := st.minors[majorKey]
	if !seen {
		rec = -1
		versions, err := st.s.cfg.Store.TemplateVersionList(ctx, kind, name, major, store.Page{Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(versions) > 0 {
			rec = versions[0].RecommendedMinor
		}
		st.minors[majorKey] = rec
	}
	if minor < rec {
		return behindMinor, nil
	}
	return upToDate, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
