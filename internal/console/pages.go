package console

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/proton"
	"github.com/hadronhq/hadron/internal/termtext"
)

// pageSize is how many rows a list page shows.
const pageSize = 50

// historySize is how many deployments a resource's page shows.
const historySize = 20

// logChunk is the most log bytes one read returns.
const logChunk = 256 << 10

// deploymentStatuses are the model's DeploymentStatus values, for the filter.
var deploymentStatuses = []string{"IN_PROGRESS", "CANCELLING", "CANCELLED", "SUCCEEDED", "FAILED",
	"DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE"}

// serviceStatuses are the model's ServiceStatus values, for the filter.
var serviceStatuses = []string{"ACTIVE", "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_FAILED_CLEANUP_IN_PROGRESS",
	"CREATE_FAILED_CLEANUP_COMPLETE", "CREATE_FAILED_CLEANUP_FAILED", "UPDATE_IN_PROGRESS", "UPDATE_FAILED",
	"UPDATE_FAILED_CLEANUP_IN_PROGRESS", "UPDATE_FAILED_CLEANUP_COMPLETE", "UPDATE_FAILED_CLEANUP_FAILED",
	"UPDATE_COMPLETE_CLEANUP_FAILED", "DELETE_IN_PROGRESS", "DELETE_FAILED"}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// row is one line of a resource list.
type row struct {
	Name, Link, Status, Message string
	Template, Version, Behind   string
	Environment, Service        string
	Updated                     api.Time
}

// listView is a searchable, paged list.
type listView struct {
	Kind            string
	Rows            []row
	Query, Status   string
	Statuses        []string
	Next, FirstLink string
	NextLink        string
	Searchable      bool
	// Templates, when not empty, are the choices of the template filter,
	// and Template the one chosen ("" for any).
	Templates []string
	Template  string
}

func (lv *listView) links(base string, next string) {
	v := url.Values{}
	if lv.Query != "" {
		v.Set("q", lv.Query)
	}
	if lv.Status != "" {
		v.Set("status", lv.Status)
	}
	if lv.Template != "" {
		v.Set("template", lv.Template)
	}
	lv.FirstLink = base + "?" + v.Encode()
	if next != "" {
		v.Set("next", next)
		lv.NextLink = base + "?" + v.Encode()
	}
}

// searchOf reads the search form of a list page whose status filter
// offers statuses.
func searchOf(r *http.Request, statuses []string) proton.Search {
	s := proton.Search{NameContains: strings.TrimSpace(r.URL.Query().Get("q")), NextToken: r.URL.Query().Get("next"), MaxResults: pageSize}
	if st := r.URL.Query().Get("status"); slices.Contains(statuses, st) {
		s.Statuses = []string{st}
	}
	return s
}

// recommended returns a function telling, per environment or service
// template, its recommended version ("" when unknown or not visible to the
// key), asking each template once.
func recommended(q *request, kind string) func(template string) string {
	seen := map[string]string{}
	return func(name string) string {
		if v, ok := seen[name]; ok {
			return v
		}
		var v string
		if kind == "environment" {
			if out, err := call[api.GetEnvironmentTemplateOutput](q, "GetEnvironmentTemplate", api.GetEnvironmentTemplateInput{Name: name}); err == nil {
				v = out.EnvironmentTemplate.RecommendedVersion
			}
		} else if out, err := call[api.GetServiceTemplateOutput](q, "GetServiceTemplate", api.GetServiceTemplateInput{Name: name}); err == nil {
			v = out.ServiceTemplate.RecommendedVersion
		}
		seen[name] = v
		return v
	}
}

// behind returns the recommended version when major.minor is older than it.
func behind(major, minor, rec string) string {
	rmaj, rmin, ok := strings.Cut(rec, ".")
	if !ok || major == "" {
		return ""
	}
	a, _ := strconv.Atoi(major)
	b, _ := strconv.Atoi(minor)
	c, _ := strconv.Atoi(rmaj)
	d, _ := strconv.Atoi(rmin)
	if a < c || (a == c && b < d) {
		return rec
	}
	return ""
}

func (c *Console) environments(q *request) error {
	s := searchOf(q.r, deploymentStatuses)
	// Search extends ListEnvironments: authorized as that call.
	if err := q.c.authorize(q.sess, "ListEnvironments", []byte(`{}`)); err != nil {
		return err
	}
	out, err := c.cfg.API.SearchEnvironments(q.r.Context(), s)
	if err != nil {
		return err
	}
	rec := recommended(q, "environment")
	lv := &listView{Kind: "environments", Query: s.NameContains, Status: q.r.URL.Query().Get("status"), Statuses: deploymentStatuses, Searchable: true}
	for _, e := range out.Environments {
		lv.Rows = append(lv.Rows, row{Name: e.Name, Link: Prefix + "environments/" + url.PathEscape(e.Name), Status: e.DeploymentStatus,
			Message: e.DeploymentStatusMessage, Template: e.TemplateName, Version: e.TemplateMajorVersion + "." + e.TemplateMinorVersion,
			Behind: behind(e.TemplateMajorVersion, e.TemplateMinorVersion, rec(e.TemplateName)), Updated: e.LastDeploymentAttemptedAt})
	}
	lv.links(Prefix+"environments", out.NextToken)
	q.render(http.StatusOK, "list", "Environments", lv)
	return nil
}

func (c *Console) components(q *request) error {
	s := searchOf(q.r, deploymentStatuses)
	if err := q.c.authorize(q.sess, "ListComponents", []byte(`{}`)); err != nil {
		return err
	}
	out, err := c.cfg.API.SearchComponents(q.r.Context(), s)
	if err != nil {
		return err
	}
	lv := &listView{Kind: "components", Query: s.NameContains, Status: q.r.URL.Query().Get("status"), Statuses: deploymentStatuses, Searchable: true}
	for _, e := range out.Components {
		lv.Rows = append(lv.Rows, row{Name: e.Name, Link: Prefix + "components/" + url.PathEscape(e.Name), Status: e.DeploymentStatus,
			Message: e.DeploymentStatusMessage, Environment: e.EnvironmentName, Service: strings.Trim(e.ServiceName+"/"+e.ServiceInstanceName, "/"),
			Updated: e.LastDeploymentAttemptedAt})
	}
	lv.links(Prefix+"components", out.NextToken)
	q.render(http.StatusOK, "list", "Components", lv)
	return nil
}

func (c *Console) services(q *request) error {
	s := searchOf(q.r, serviceStatuses)
	template := q.r.URL.Query().Get("template")
	// Search extends ListServices: authorized as that call.
	if err := q.c.authorize(q.sess, "ListServices", []byte(`{}`)); err != nil {
		return err
	}
	out, err := c.cfg.API.SearchServices(q.r.Context(), s, template)
	if err != nil {
		return err
	}
	lv := &listView{Kind: "services", Query: s.NameContains, Status: q.r.URL.Query().Get("status"), Statuses: serviceStatuses,
		Searchable: true, Template: template}
	// The template filter offers the service templates the key may list.
	if ts, err := call[api.ListServiceTemplatesOutput](q, "ListServiceTemplates", api.ListServiceTemplatesInput{}); err == nil {
		for _, t := range ts.Templates {
			lv.Templates = append(lv.Templates, t.Name)
		}
	}
	for _, x := range out.Services {
		lv.Rows = append(lv.Rows, row{Name: x.Name, Link: Prefix + "services/" + url.PathEscape(x.Name), Status: x.Status,
			Message: x.StatusMessage, Template: x.TemplateName, Updated: x.LastModifiedAt})
	}
	lv.links(Prefix+"services", out.NextToken)
	q.render(http.StatusOK, "list", "Services", lv)
	return nil
}

func ptr[T any](v T) *T { return &v }

// resourceView is the page of one deployable resource (or service).
type resourceView struct {
	Kind, Name, Status, Message string
	Template, Version, Behind   string
	TemplateLink                string
	Facts                       [][2]string
	Links                       [][2]string
	Spec                        string
	Outputs                     []api.Output
	OutputsError                string
	Children                    []row
	ChildrenTitle               string
	Deployments                 []deploymentRow
	DeploymentsLink             string
	ActiveDeployment            string
}

// deploymentRow is one line of a deployment history.
type deploymentRow struct {
	ID, Link, Status, Message, Target, Resource, Type string
	// StartedBy is who or what started it ("" for records from before
	// Hadron recorded it).
	StartedBy      string
	Started, Ended api.Time
	Duration       string
}

func duration(start, end api.Time, now time.Time) string {
	if start.IsZero() {
		return ""
	}
	to := end.Time
	if to.IsZero() {
		to = now
	}
	return to.Sub(start.Time).Round(time.Second).String()
}

// history reads the newest deployments in, hiding the section when the key
// may not list them.
func (q *request) history(in api.ListDeploymentsInput) []deploymentRow {
	in.MaxResults = ptr(int32(historySize))
	list, _, err := q.searchDeployments(in, nil)
	if err != nil {
		return nil
	}
	return q.deploymentRows(list)
}

// searchDeployments is ListDeployments with whole deployments and a status
// filter (proton.API.SearchDeployments), authorized as ListDeployments
// with the same input.
func (q *request) searchDeployments(in api.ListDeploymentsInput, statuses []string) ([]proton.HistoryEntry, string, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, "", err
	}
	if err := q.c.authorize(q.sess, "ListDeployments", body); err != nil {
		return nil, "", err
	}
	return q.c.cfg.API.SearchDeployments(q.r.Context(), &in, statuses)
}

func (q *request) deploymentRows(list []proton.HistoryEntry) []deploymentRow {
	var rows []deploymentRow
	for _, d := range list {
		target, _ := stateVersion(d.TargetState)
		rows = append(rows, deploymentRow{ID: d.Id, StartedBy: d.StartedBy.String(), Link: deploymentLink(d.Id, d.TargetResourceType, d.EnvironmentName, d.ServiceName, d.ServiceInstanceName, d.ComponentName),
			Status: d.DeploymentStatus, Message: d.DeploymentStatusMessage, Target: target,
			Resource: resourceOf(d.TargetArn), Type: d.TargetResourceType,
			Started: d.CreatedAt, Ended: d.CompletedAt, Duration: duration(d.CreatedAt, d.CompletedAt, q.c.cfg.Now())})
	}
	return rows
}

// deploymentLink is the page of a deployment, naming its resource as
// GetDeployment's optional members do: a key whose policy allows only some
// resource names may read the deployments of those resources (as it may
// with the API, by naming them), and the page passes the names on.
func deploymentLink(id, targetType, env, svc, instance, component string) string {
	v := url.Values{}
	switch targetType {
	case "ENVIRONMENT":
		v.Set("environment", env)
	case "SERVICE_INSTANCE":
		v.Set("service", svc)
		v.Set("instance", instance)
	case "SERVICE_PIPELINE":
		v.Set("service", svc)
	case "COMPONENT":
		v.Set("component", component)
	}
	link := Prefix + "deployments/" + url.PathEscape(id)
	if len(v) > 0 {
		link += "?" + v.Encode()
	}
	return link
}

// getDeployment reads the deployment of the request's path, with the
// resource names its query (or form) gives (see deploymentLink).
func getDeployment(q *request) (*api.Deployment, error) {
	in := api.GetDeploymentInput{Id: q.r.PathValue("id"), EnvironmentName: q.r.FormValue("environment"),
		ServiceName: q.r.FormValue("service"), ServiceInstanceName: q.r.FormValue("instance"), ComponentName: q.r.FormValue("component")}
	out, err := call[api.GetDeploymentOutput](q, "GetDeployment", in)
	if err != nil {
		return nil, err
	}
	return out.Deployment, nil
}

// resourceOf is the resource part of an ARN: environment/web.
func resourceOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	return parts[len(parts)-1]
}

func outputsOf[O any](q *request, op string, in any, get func(*O) []api.Output) ([]api.Output, string) {
	out, err := call[O](q, op, in)
	if err != nil {
		return nil, "Outputs are not shown: " + err.Error()
	}
	return get(out), ""
}

func (c *Console) environment(q *request) error {
	name := q.r.PathValue("name")
	out, err := call[api.GetEnvironmentOutput](q, "GetEnvironment", api.GetEnvironmentInput{Name: name})
	if err != nil {
		return err
	}
	e := out.Environment
	v := &resourceView{Kind: "Environment", Name: e.Name, Status: e.DeploymentStatus, Message: e.DeploymentStatusMessage,
		Template: e.TemplateName, Version: e.TemplateMajorVersion + "." + e.TemplateMinorVersion, Spec: e.Spec,
		TemplateLink: Prefix + "templates/environment/" + url.PathEscape(e.TemplateName)}
	v.Behind = behind(e.TemplateMajorVersion, e.TemplateMinorVersion, recommended(q, "environment")(e.TemplateName))
	v.Facts = facts("ARN", e.Arn, "Description", e.Description, "Provisioning", e.Provisioning,
		"CodeBuild role", e.CodebuildRoleArn, "Proton service role", e.ProtonServiceRoleArn, "Component role", e.ComponentRoleArn,
		"Created", fmtTime(e.CreatedAt), "Last attempted", fmtTime(e.LastDeploymentAttemptedAt), "Last succeeded", fmtTime(e.LastDeploymentSucceededAt))
	v.Outputs, v.OutputsError = outputsOf(q, "ListEnvironmentOutputs", api.ListEnvironmentOutputsInput{EnvironmentName: name},
		func(o *api.ListEnvironmentOutputsOutput) []api.Output { return o.Outputs })
	v.Deployments = q.history(api.ListDeploymentsInput{EnvironmentName: name})
	v.DeploymentsLink = Prefix + "deployments?environment=" + url.QueryEscape(name)
	v.active(e.DeploymentStatus, deploymentLink(e.LastAttemptedDeploymentId, "ENVIRONMENT", name, "", "", ""))
	q.render(http.StatusOK, "resource", "Environment "+name, v)
	return nil
}

// active links the resource's deployment while it runs (link is
// deploymentLink's).
func (v *resourceView) active(status, link string) {
	if isActive(status) {
		v.ActiveDeployment = link
	}
}

func facts(kv ...string) [][2]string {
	var out [][2]string
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, [2]string{kv[i], kv[i+1]})
		}
	}
	return out
}

func fmtTime(t api.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func (c *Console) service(q *request) error {
	name := q.r.PathValue("name")
	out, err := call[api.GetServiceOutput](q, "GetService", api.GetServiceInput{Name: name})
	if err != nil {
		return err
	}
	s := out.Service
	v := &resourceView{Kind: "Service", Name: s.Name, Status: s.Status, Message: s.StatusMessage, Template: s.TemplateName,
		Spec: s.Spec, TemplateLink: Prefix + "templates/service/" + url.PathEscape(s.TemplateName)}
	v.Facts = facts("ARN", s.Arn, "Description", s.Description, "Repository", s.RepositoryId, "Branch", s.BranchName,
		"Created", fmtTime(s.CreatedAt), "Last modified", fmtTime(s.LastModifiedAt))
	if s.Pipeline != nil {
		v.Links = append(v.Links, [2]string{"Pipeline (" + s.Pipeline.DeploymentStatus + ")", Prefix + "services/" + url.PathEscape(name) + "/pipeline"})
	}
	v.ChildrenTitle = "Instances"
	rec := recommended(q, "service")
	next := ""
	for {
		list, err := call[api.ListServiceInstancesOutput](q, "ListServiceInstances", api.ListServiceInstancesInput{ServiceName: name, NextToken: next})
		if err != nil {
			break
		}
		for _, i := range list.ServiceInstances {
			v.Children = append(v.Children, row{Name: i.Name, Link: Prefix + "services/" + url.PathEscape(name) + "/instances/" + url.PathEscape(i.Name),
				Status: i.DeploymentStatus, Message: i.DeploymentStatusMessage, Template: i.TemplateName,
				Version: i.TemplateMajorVersion + "." + i.TemplateMinorVersion, Behind: behind(i.TemplateMajorVersion, i.TemplateMinorVersion, rec(i.TemplateName)),
				Environment: i.EnvironmentName, Updated: i.LastDeploymentAttemptedAt})
		}
		if next = list.NextToken; next == "" || len(v.Children) >= 500 {
			break
		}
	}
	v.Deployments = q.history(api.ListDeploymentsInput{ServiceName: name})
	v.DeploymentsLink = Prefix + "deployments?service=" + url.QueryEscape(name)
	q.render(http.StatusOK, "resource", "Service "+name, v)
	return nil
}

func (c *Console) instance(q *request) error {
	svc, name := q.r.PathValue("service"), q.r.PathValue("name")
	out, err := call[api.GetServiceInstanceOutput](q, "GetServiceInstance", api.GetServiceInstanceInput{ServiceName: svc, Name: name})
	if err != nil {
		return err
	}
	i := out.ServiceInstance
	v := &resourceView{Kind: "Service instance", Name: svc + "/" + i.Name, Status: i.DeploymentStatus, Message: i.DeploymentStatusMessage,
		Template: i.TemplateName, Version: i.TemplateMajorVersion + "." + i.TemplateMinorVersion, Spec: i.Spec,
		TemplateLink: Prefix + "templates/service/" + url.PathEscape(i.TemplateName)}
	v.Behind = behind(i.TemplateMajorVersion, i.TemplateMinorVersion, recommended(q, "service")(i.TemplateName))
	v.Facts = facts("ARN", i.Arn, "Created", fmtTime(i.CreatedAt), "Last attempted", fmtTime(i.LastDeploymentAttemptedAt),
		"Last succeeded", fmtTime(i.LastDeploymentSucceededAt))
	v.Links = [][2]string{{"Service " + svc, Prefix + "services/" + url.PathEscape(svc)},
		{"Environment " + i.EnvironmentName, Prefix + "environments/" + url.PathEscape(i.EnvironmentName)}}
	v.Outputs, v.OutputsError = outputsOf(q, "ListServiceInstanceOutputs", api.ListServiceInstanceOutputsInput{ServiceName: svc, ServiceInstanceName: name},
		func(o *api.ListServiceInstanceOutputsOutput) []api.Output { return o.Outputs })
	v.Deployments = q.history(api.ListDeploymentsInput{ServiceName: svc, ServiceInstanceName: name})
	v.active(i.DeploymentStatus, deploymentLink(i.LastAttemptedDeploymentId, "SERVICE_INSTANCE", "", svc, name, ""))
	q.render(http.StatusOK, "resource", "Service instance "+svc+"/"+name, v)
	return nil
}

func (c *Console) pipeline(q *request) error {
	svc := q.r.PathValue("service")
	out, err := call[api.GetServiceOutput](q, "GetService", api.GetServiceInput{Name: svc})
	if err != nil {
		return err
	}
	p := out.Service.Pipeline
	if p == nil {
		return &proton.Error{Kind: proton.KindNotFound, Message: "service " + svc + " has no pipeline"}
	}
	v := &resourceView{Kind: "Service pipeline", Name: svc, Status: p.DeploymentStatus, Message: p.DeploymentStatusMessage,
		Template: p.TemplateName, Version: p.TemplateMajorVersion + "." + p.TemplateMinorVersion, Spec: p.Spec,
		TemplateLink: Prefix + "templates/service/" + url.PathEscape(p.TemplateName)}
	v.Behind = behind(p.TemplateMajorVersion, p.TemplateMinorVersion, recommended(q, "service")(p.TemplateName))
	v.Facts = facts("ARN", p.Arn, "Created", fmtTime(p.CreatedAt), "Last attempted", fmtTime(p.LastDeploymentAttemptedAt),
		"Last succeeded", fmtTime(p.LastDeploymentSucceededAt))
	v.Links = [][2]string{{"Service " + svc, Prefix + "services/" + url.PathEscape(svc)}}
	v.Outputs, v.OutputsError = outputsOf(q, "ListServicePipelineOutputs", api.ListServicePipelineOutputsInput{ServiceName: svc},
		func(o *api.ListServicePipelineOutputsOutput) []api.Output { return o.Outputs })
	v.Deployments = q.history(api.ListDeploymentsInput{ServiceName: svc})
	v.active(p.DeploymentStatus, deploymentLink(p.LastAttemptedDeploymentId, "SERVICE_PIPELINE", "", svc, "", ""))
	q.render(http.StatusOK, "resource", "Pipeline of "+svc, v)
	return nil
}

func (c *Console) component(q *request) error {
	name := q.r.PathValue("name")
	out, err := call[api.GetComponentOutput](q, "GetComponent", api.GetComponentInput{Name: name})
	if err != nil {
		return err
	}
	x := out.Component
	v := &resourceView{Kind: "Component", Name: x.Name, Status: x.DeploymentStatus, Message: x.DeploymentStatusMessage, Spec: x.ServiceSpec}
	v.Facts = facts("ARN", x.Arn, "Description", x.Description, "Created", fmtTime(x.CreatedAt),
		"Last attempted", fmtTime(x.LastDeploymentAttemptedAt), "Last succeeded", fmtTime(x.LastDeploymentSucceededAt))
	v.Links = [][2]string{{"Environment " + x.EnvironmentName, Prefix + "environments/" + url.PathEscape(x.EnvironmentName)}}
	if x.ServiceName != "" && x.ServiceInstanceName != "" {
		v.Links = append(v.Links, [2]string{"Instance " + x.ServiceName + "/" + x.ServiceInstanceName,
			Prefix + "services/" + url.PathEscape(x.ServiceName) + "/instances/" + url.PathEscape(x.ServiceInstanceName)})
	}
	v.Outputs, v.OutputsError = outputsOf(q, "ListComponentOutputs", api.ListComponentOutputsInput{ComponentName: name},
		func(o *api.ListComponentOutputsOutput) []api.Output { return o.Outputs })
	v.Deployments = q.history(api.ListDeploymentsInput{ComponentName: name})
	v.active(x.DeploymentStatus, deploymentLink(x.LastAttemptedDeploymentId, "COMPONENT", "", "", "", name))
	q.render(http.StatusOK, "resource", "Component "+name, v)
	return nil
}

// templatesView lists both kinds of templates.
type templatesView struct {
	Environment, Service []row
	EnvError, SvcError   string
}

func (c *Console) templates(q *request) error {
	v := &templatesView{}
	if out, err := call[api.ListEnvironmentTemplatesOutput](q, "ListEnvironmentTemplates", api.ListEnvironmentTemplatesInput{}); err != nil {
		v.EnvError = err.Error()
	} else {
		for _, t := range out.Templates {
			v.Environment = append(v.Environment, row{Name: t.Name, Link: Prefix + "templates/environment/" + url.PathEscape(t.Name),
				Message: cmp.Or(t.DisplayName, t.Description), Version: t.RecommendedVersion, Template: t.Provisioning, Updated: t.LastModifiedAt})
		}
	}
	if out, err := call[api.ListServiceTemplatesOutput](q, "ListServiceTemplates", api.ListServiceTemplatesInput{}); err != nil {
		v.SvcError = err.Error()
	} else {
		for _, t := range out.Templates {
			v.Service = append(v.Service, row{Name: t.Name, Link: Prefix + "templates/service/" + url.PathEscape(t.Name),
				Message: cmp.Or(t.DisplayName, t.Description), Version: t.RecommendedVersion, Template: t.PipelineProvisioning, Updated: t.LastModifiedAt})
		}
	}
	q.render(http.StatusOK, "templates", "Templates", v)
	return nil
}

// templateView is one template with its versions.
type templateView struct {
	Kind, Name, Recommended string
	Facts                   [][2]string
	Versions                []versionRow
}

type versionRow struct {
	Version, Status, Message, Description, RecommendedMinor string
	Recommended                                             bool
	Created                                                 api.Time
}

func (c *Console) template(q *request) error {
	kind, name := q.r.PathValue("kind"), q.r.PathValue("name")
	v := &templateView{Kind: kind, Name: name}
	switch kind {
	case "environment":
		t, err := call[api.GetEnvironmentTemplateOutput](q, "GetEnvironmentTemplate", api.GetEnvironmentTemplateInput{Name: name})
		if err != nil {
			return err
		}
		e := t.EnvironmentTemplate
		v.Recommended = e.RecommendedVersion
		v.Facts = facts("ARN", e.Arn, "Display name", e.DisplayName, "Description", e.Description, "Provisioning", e.Provisioning,
			"Created", fmtTime(e.CreatedAt), "Last modified", fmtTime(e.LastModifiedAt))
		vs, err := call[api.ListEnvironmentTemplateVersionsOutput](q, "ListEnvironmentTemplateVersions", api.ListEnvironmentTemplateVersionsInput{TemplateName: name})
		if err == nil {
			for _, x := range vs.TemplateVersions {
				v.Versions = append(v.Versions, versionRow{Version: x.MajorVersion + "." + x.MinorVersion, Status: x.Status, Message: x.StatusMessage,
					Description: x.Description, RecommendedMinor: x.RecommendedMinorVersion, Created: x.CreatedAt,
					Recommended: x.MajorVersion+"."+x.MinorVersion == e.RecommendedVersion})
			}
		}
	case "service":
		t, err := call[api.GetServiceTemplateOutput](q, "GetServiceTemplate", api.GetServiceTemplateInput{Name: name})
		if err != nil {
			return err
		}
		e := t.ServiceTemplate
		v.Recommended = e.RecommendedVersion
		v.Facts = facts("ARN", e.Arn, "Display name", e.DisplayName, "Description", e.Description, "Pipeline provisioning", e.PipelineProvisioning,
			"Created", fmtTime(e.CreatedAt), "Last modified", fmtTime(e.LastModifiedAt))
		vs, err := call[api.ListServiceTemplateVersionsOutput](q, "ListServiceTemplateVersions", api.ListServiceTemplateVersionsInput{TemplateName: name})
		if err == nil {
			for _, x := range vs.TemplateVersions {
				v.Versions = append(v.Versions, versionRow{Version: x.MajorVersion + "." + x.MinorVersion, Status: x.Status, Message: x.StatusMessage,
					Description: x.Description, RecommendedMinor: x.RecommendedMinorVersion, Created: x.CreatedAt,
					Recommended: x.MajorVersion+"."+x.MinorVersion == e.RecommendedVersion})
			}
		}
	default:
		return &proton.Error{Kind: proton.KindNotFound, Message: "no template kind " + kind}
	}
	q.render(http.StatusOK, "template", strings.ToUpper(kind[:1])+kind[1:]+" template "+name, v)
	return nil
}

// deploymentsView is the account-wide (or one resource's) history.
type deploymentsView struct {
	Rows                      []deploymentRow
	Status                    string
	Statuses                  []string
	Filter                    string
	FirstLink, NextLink       string
	Environment, Service, Cmp string
}

func (c *Console) deployments(q *request) error {
	qs := q.r.URL.Query()
	in := api.ListDeploymentsInput{EnvironmentName: qs.Get("environment"), ServiceName: qs.Get("service"),
		ServiceInstanceName: qs.Get("instance"), ComponentName: qs.Get("component"), NextToken: qs.Get("next"), MaxResults: ptr(int32(pageSize))}
	var statuses []string
	status := qs.Get("status")
	if slices.Contains(deploymentStatuses, status) {
		statuses = []string{status}
	}
	list, nextToken, err := q.searchDeployments(in, statuses)
	if err != nil {
		return err
	}
	v := &deploymentsView{Rows: q.deploymentRows(list), Status: status, Statuses: deploymentStatuses,
		Environment: in.EnvironmentName, Service: in.ServiceName, Cmp: in.ComponentName}
	var parts []string
	for _, p := range [][2]string{{"environment", in.EnvironmentName}, {"service", in.ServiceName}, {"instance", in.ServiceInstanceName}, {"component", in.ComponentName}} {
		if p[1] != "" {
			parts = append(parts, p[0]+" "+p[1])
		}
	}
	v.Filter = strings.Join(parts, ", ")
	link := url.Values{}
	for k, vals := range qs {
		if k != "next" {
			link[k] = vals
		}
	}
	v.FirstLink = Prefix + "deployments?" + link.Encode()
	if nextToken != "" {
		link.Set("next", nextToken)
		v.NextLink = Prefix + "deployments?" + link.Encode()
	}
	q.render(http.StatusOK, "deployments", "Deployments", v)
	return nil
}

// deploymentView is one deployment with its log.
type deploymentView struct {
	D                       *api.Deployment
	Resource, ResourceLink  string
	Target, Initial         string
	TargetSpec, InitialSpec string
	Duration                string
	Log                     string
	LogNext                 int64
	Active                  bool
	CanCancel               bool
	// Names is the query naming the deployment's resource (see
	// deploymentLink), for the page's links, form and script.
	Names   template.URL
	Confirm bool
	// SpecDiff is the change from the spec before to the target spec.
	SpecDiff []diffLine
	// LogDenied says why the key may not read the log.
	LogDenied string
	// StartedBy is who or what started the deployment.
	StartedBy string
	// Notice tells the outcome of an action that changed nothing (a
	// cancel of a deployment that had already ended).
	Notice string
}

// stateVersion reads a deployment state's template version and spec.
func stateVersion(s *api.DeploymentState) (version, spec string) {
	switch {
	case s == nil:
		return "", ""
	case s.Environment != nil:
		return s.Environment.TemplateName + " " + s.Environment.TemplateMajorVersion + "." + s.Environment.TemplateMinorVersion, s.Environment.Spec
	case s.ServiceInstance != nil:
		return s.ServiceInstance.TemplateName + " " + s.ServiceInstance.TemplateMajorVersion + "." + s.ServiceInstance.TemplateMinorVersion, s.ServiceInstance.Spec
	case s.ServicePipeline != nil:
		return s.ServicePipeline.TemplateName + " " + s.ServicePipeline.TemplateMajorVersion + "." + s.ServicePipeline.TemplateMinorVersion, s.ServicePipeline.Spec
	case s.Component != nil:
		return "component " + s.Component.ServiceName + "/" + s.Component.ServiceInstanceName, s.Component.TemplateFile
	}
	return "", ""
}

// cancelOf names the cancel operation of a deployment's resource and its input.
func cancelOf(d *api.Deployment) (string, any) {
	switch d.TargetResourceType {
	case "ENVIRONMENT":
		return "CancelEnvironmentDeployment", api.CancelEnvironmentDeploymentInput{EnvironmentName: d.EnvironmentName}
	case "SERVICE_INSTANCE":
		return "CancelServiceInstanceDeployment", api.CancelServiceInstanceDeploymentInput{ServiceName: d.ServiceName, ServiceInstanceName: d.ServiceInstanceName}
	case "SERVICE_PIPELINE":
		return "CancelServicePipelineDeployment", api.CancelServicePipelineDeploymentInput{ServiceName: d.ServiceName}
	case "COMPONENT":
		return "CancelComponentDeployment", api.CancelComponentDeploymentInput{ComponentName: d.ComponentName}
	}
	return "", nil
}

func namesOf(d *api.Deployment) template.URL {
	_, query, _ := strings.Cut(deploymentLink(d.Id, d.TargetResourceType, d.EnvironmentName, d.ServiceName, d.ServiceInstanceName, d.ComponentName), "?")
	return template.URL(query)
}

// linkOf is the console page of a deployment's resource.
func linkOf(d *api.Deployment) string {
	switch d.TargetResourceType {
	case "ENVIRONMENT":
		return Prefix + "environments/" + url.PathEscape(d.EnvironmentName)
	case "SERVICE_INSTANCE":
		return Prefix + "services/" + url.PathEscape(d.ServiceName) + "/instances/" + url.PathEscape(d.ServiceInstanceName)
	case "SERVICE_PIPELINE":
		return Prefix + "services/" + url.PathEscape(d.ServiceName) + "/pipeline"
	case "COMPONENT":
		return Prefix + "components/" + url.PathEscape(d.ComponentName)
	}
	return ""
}

func isActive(status string) bool {
	return status == "IN_PROGRESS" || status == "CANCELLING" || status == "DELETE_IN_PROGRESS"
}

func (c *Console) deployment(q *request) error {
	d, err := getDeployment(q)
	if err != nil {
		return err
	}
	v := &deploymentView{D: d, Resource: resourceOf(d.TargetArn), ResourceLink: linkOf(d), Active: isActive(d.DeploymentStatus), Names: namesOf(d),
		Duration: duration(d.CreatedAt, d.CompletedAt, c.cfg.Now())}
	v.Target, v.TargetSpec = stateVersion(d.TargetState)
	v.Initial, v.InitialSpec = stateVersion(d.InitialState)
	if v.Initial != "" {
		v.SpecDiff = lineDiff(v.InitialSpec, v.TargetSpec)
	}
	if op, in := cancelOf(d); op != "" && d.DeploymentStatus == "IN_PROGRESS" {
		v.CanCancel = q.can(op, in)
	}
	data, next, denied, err := q.readLog(d, 0)
	if err != nil {
		return err
	}
	v.Log, v.LogNext = plainLog(data, &next, v.Active)
	v.LogDenied = denied
	if by, err := c.cfg.API.DeploymentStartedBy(q.r.Context(), d.Id); err == nil {
		v.StartedBy = by.String()
	}
	if q.r.URL.Query().Get("ended") == "1" && !v.Active {
		v.Notice = fmt.Sprintf("Nothing was cancelled: the deployment had already ended %s.", d.DeploymentStatus)
	}
	q.render(http.StatusOK, "deployment", "Deployment "+d.Id, v)
	return nil
}

// LogAction is the policy action that reads a deployment's log, on the
// deployment's resource: the action of Hadron's own log endpoint
// (GET /hadron/v1/deployments/{id}/log), so that the console shows a log
// exactly to the keys that may read it there.
const LogAction = "hadron:GetDeploymentLog"

// readLog reads d's log from offset when the key may read it (LogAction on
// the deployment's resource, named as its cancel operation names it);
// denied says why not, and nothing is read then.
func (q *request) readLog(d *api.Deployment, offset int64) (data []byte, next int64, denied string, err error) {
	_, names := cancelOf(d)
	body, err := json.Marshal(names)
	if err != nil {
		return nil, offset, "", err
	}
	if err := q.c.authorize(q.sess, LogAction, body); err != nil {
		var ad *auth.AccessDeniedError
		if errors.As(err, &ad) {
			return nil, offset, "The log is not shown: " + ad.Error(), nil
		}
		return nil, offset, "", err
	}
	data, next, err = q.c.cfg.Logs.ReadLog(q.r.Context(), d.Id, offset, logChunk)
	return data, next, "", err
}

// plainLog makes log bytes plain text. While the deployment runs, a last
// line without its newline is left for the next read, so that an escape
// sequence or a character is never cut in two.
func plainLog(data []byte, next *int64, active bool) (string, int64) {
	if active {
		if i := strings.LastIndexByte(string(data), '\n'); i+1 < len(data) {
			*next -= int64(len(data) - (i + 1))
			data = data[:i+1]
		}
	}
	return termtext.Plain(string(data)), *next
}

// logReply is the answer of a deployment's log endpoint, which the page's
// script polls while the deployment runs.
type logReply struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Text    string `json:"text"`
	Next    int64  `json:"next"`
	Active  bool   `json:"active"`
	Ended   string `json:"ended,omitempty"`
	// Duration is the deployment's duration so far or in all.
	Duration string `json:"duration"`
	// Denied says why the key may not read the log (and Text is empty).
	Denied string `json:"denied,omitempty"`
}

func (c *Console) deploymentLog(q *request) error {
	d, err := getDeployment(q)
	if err != nil {
		return err
	}
	offset, _ := strconv.ParseInt(q.r.URL.Query().Get("offset"), 10, 64)
	data, next, denied, err := q.readLog(d, max(offset, 0))
	if err != nil {
		return err
	}
	rep := logReply{Denied: denied, Status: d.DeploymentStatus, Message: d.DeploymentStatusMessage, Active: isActive(d.DeploymentStatus),
		Duration: duration(d.CreatedAt, d.CompletedAt, c.cfg.Now()), Ended: fmtTime(d.CompletedAt)}
	rep.Text, rep.Next = plainLog(data, &next, rep.Active)
	q.w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(q.w).Encode(rep)
}

// cancel cancels the deployment of the form's path, and only that one: the
// person saw this deployment, and a new deployment of the same resource
// started since must not be cancelled in its place. The key must be allowed
// the resource's Cancel*Deployment operation; the cancel itself is
// proton.API.CancelDeploymentIfActive, one conditional write on this
// deployment's id. When the deployment has already ended, nothing is
// cancelled and its page says so with its end state. Without the confirmed
// field (a browser without the script) it asks for confirmation on a page
// of its own first.
func (c *Console) cancel(q *request) error {
	d, err := getDeployment(q)
	if err != nil {
		return err
	}
	id := d.Id
	op, in := cancelOf(d)
	if op == "" {
		return fmt.Errorf("deployment %s has an unknown target type %q", id, d.TargetResourceType)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if err := c.authorize(q.sess, op, body); err != nil {
		return err
	}
	link := deploymentLink(id, d.TargetResourceType, d.EnvironmentName, d.ServiceName, d.ServiceInstanceName, d.ComponentName)
	if d.DeploymentStatus == "IN_PROGRESS" && q.r.PostFormValue("confirmed") != "yes" {
		v := &deploymentView{D: d, Resource: resourceOf(d.TargetArn), Confirm: true, CanCancel: true, Names: namesOf(d)}
		q.render(http.StatusOK, "deployment", "Cancel deployment "+id, v)
		return nil
	}
	_, err = c.cfg.API.CancelDeploymentIfActive(q.ctx(), id)
	var ended *proton.DeploymentNotActiveError
	if errors.As(err, &ended) {
		c.cfg.Logger.Info("console cancel of an ended deployment", "deployment", id, "status", ended.Deployment.DeploymentStatus, "accessKeyId", q.sess.keyID)
		http.Redirect(q.w, q.r, withQuery(link, "ended", "1"), http.StatusSeeOther)
		return nil
	}
	if err != nil {
		return err
	}
	c.cfg.Logger.Info("console cancel", "deployment", id, "accessKeyId", q.sess.keyID)
	http.Redirect(q.w, q.r, link, http.StatusSeeOther)
	return nil
}

// withQuery adds key=value to link's query.
func withQuery(link, key, value string) string {
	sep := "?"
	if strings.Contains(link, "?") {
		sep = "&"
	}
	return link + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
}
