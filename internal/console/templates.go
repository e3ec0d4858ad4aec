package console

import (
	"html/template"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
)

// pageNames are the pages under assets/, each rendered inside layout.html.
var pageNames = []string{"list", "resource", "templates", "template", "deployments", "deployment", "signin", "error"}

var funcs = template.FuncMap{
	// badge is the CSS class of a status: ok, bad, busy or idle.
	"badge": func(status string) string {
		switch {
		case status == "":
			return "idle"
		case strings.HasSuffix(status, "IN_PROGRESS"), status == "CANCELLING", strings.HasSuffix(status, "ING"):
			return "busy"
		case strings.HasSuffix(status, "FAILED"), status == "CANCELLED":
			return "bad"
		case status == "SUCCEEDED", status == "ACTIVE", status == "PUBLISHED", status == "DELETE_COMPLETE", status == "CREATE_COMPLETE":
			return "ok"
		}
		return "idle"
	},
	"when": fmtTime,
	"zero": func(t api.Time) bool { return t.IsZero() },
}

// parsePages parses every page with the layout. The templates are embedded:
// an error here is a programmer's, caught by any test.
func parsePages() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html"))
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.Must(layout.Clone())
		pages[name] = template.Must(t.ParseFS(assets, "assets/"+name+".html"))
	}
	return pages
}
