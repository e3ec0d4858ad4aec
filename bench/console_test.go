package bench

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

var flagServices = flag.Int("services", 10000, "services the console benchmark adds to the API benchmarks' store")

// consoleServiceTemplates are the service templates the benchmark's
// services are spread over, for the template filter.
var consoleServiceTemplates = []string{"svc-tmpl-a", "svc-tmpl-b"}

var (
	consoleServicesOnce sync.Once
	consoleServicesErr  error
)

// addConsoleServices adds n services to the store of the running server
// h, straight through the store (a service created through the API
// deploys its instances, which the console's list pages do not need):
// one in a hundred CREATE_FAILED, the rest ACTIVE, on two templates.
func addConsoleServices(h *hadron, n int) error {
	consoleServicesOnce.Do(func() {
		begin := time.Now()
		st, err := sqlite.Open(context.Background(), filepath.Join(h.dataDir, server.DatabaseFile))
		if err != nil {
			consoleServicesErr = err
			return
		}
		defer st.Close()
		at := time.Now()
		for i := range n {
			status := "ACTIVE"
			if i%100 == 7 {
				status = "CREATE_FAILED"
			}
			name := consoleServiceName(i)
			svc := &store.Service{Name: name, Spec: "proton: ServiceSpec\n", TemplateName: consoleServiceTemplates[i%2],
				TemplateMajor: "1", TemplateMinor: "0", Status: status, CreatedAt: at, LastModifiedAt: at}
			if _, err := st.ServiceChange(context.Background(), store.ServiceChangeParams{Name: name, Create: svc, At: at}); err != nil {
				consoleServicesErr = fmt.Errorf("add service %s: %w", name, err)
				return
			}
		}
		report.add(fmt.Sprintf("Web console set-up: %d services added straight to the store", n),
			[]string{fmt.Sprintf("  %.1f s", time.Since(begin).Seconds())})
	})
	return consoleServicesErr
}

func consoleServiceName(i int) string { return fmt.Sprintf("svc-%06d", i) }

// consoleSamples is how many times each console page is loaded.
const consoleSamples = 100

// BenchmarkConsole loads the web console's pages, one request at a time,
// over the API benchmarks' store of -envs customer-managed environments
// (10,000 by default) and -services services (10,000 by default): the
// time from sending a GET to having read the whole page, server-rendered. The server runs without authentication, so
// the console gives the client an anonymous session at its first page.
func BenchmarkConsole(b *testing.B) {
	a, err := setupAPI()
	if err != nil {
		b.Fatal(err)
	}
	if err := addConsoleServices(a.h, *flagServices); err != nil {
		b.Fatal(err)
	}
	deepService := base64.StdEncoding.EncodeToString([]byte("service-search\x00" + consoleServiceName(*flagServices/2)))
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	// A page deep in the list: the token of ListEnvironments after the
	// middle environment (tokens are the last key of the previous page).
	deep := base64.StdEncoding.EncodeToString([]byte("environments\x00environment/" + envName(apiEnvPrefix, *flagEnvs/2)))
	pages := []struct{ name, path string }{
		{"environments, first page", "/console/environments"},
		{"environments, a middle page", "/console/environments?next=" + url.QueryEscape(deep)},
		{"environments, name search", "/console/environments?q=" + envName(apiEnvPrefix, *flagEnvs/2)[:len(apiEnvPrefix)+5]},
		{"environments, status filter", "/console/environments?status=SUCCEEDED"},
		{"environments, no match", "/console/environments?q=nothing-matches"},
		{"one environment", "/console/environments/" + envName(apiEnvPrefix, *flagEnvs/2)},
		{"services, first page", "/console/services"},
		{"services, a middle page", "/console/services?next=" + url.QueryEscape(deepService)},
		{"services, name search", "/console/services?q=" + consoleServiceName(*flagServices / 2)[:8]},
		{"services, status filter (1%)", "/console/services?status=CREATE_FAILED"},
		{"services, template filter", "/console/services?template=" + consoleServiceTemplates[1]},
		{"services, all three", "/console/services?q=svc-00&status=ACTIVE&template=" + consoleServiceTemplates[0]},
		{"services, no match", "/console/services?q=nothing-matches"},
		{"deployments, account-wide", "/console/deployments"},
		{"deployments, status filter", "/console/deployments?status=FAILED"},
	}
	lines := []string{fmt.Sprintf("  %-30s %9s %9s %9s %9s", "page", "p50 ms", "p99 ms", "max ms", "KiB")}
	for _, p := range pages {
		b.Run(strings.NewReplacer(" ", "-", ",", "").Replace(p.name), func(b *testing.B) {
			for range b.N {
				var samples []time.Duration
				size := 0
				for range consoleSamples {
					start := time.Now()
					resp, err := client.Get(a.h.endpoint + p.path)
					if err != nil {
						b.Fatal(err)
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != http.StatusOK {
						b.Fatalf("GET %s: %d %v\n%s", p.path, resp.StatusCode, err, body)
					}
					samples = append(samples, time.Since(start))
					size = len(body)
				}
				s := summarize(samples)
				reportMetrics(b, "", s)
				lines = append(lines, fmt.Sprintf("  %-30s %9s %9s %9s %9.1f", p.name, ms(s.P50), ms(s.P99), ms(s.Max), float64(size)/1024))
			}
		})
	}
	report.add(fmt.Sprintf("Web console with %d environments and %d services (%d sequential loads per page, one client)", *flagEnvs, *flagServices, consoleSamples), lines)
}
