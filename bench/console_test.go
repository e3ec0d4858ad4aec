package bench

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// consoleSamples is how many times each console page is loaded.
const consoleSamples = 100

// BenchmarkConsole loads the web console's pages, one request at a time,
// over the API benchmarks' store of -envs customer-managed environments
// (10,000 by default): the time from sending a GET to having read the
// whole page, server-rendered. The server runs without authentication, so
// the console gives the client an anonymous session at its first page.
func BenchmarkConsole(b *testing.B) {
	a, err := setupAPI()
	if err != nil {
		b.Fatal(err)
	}
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
	report.add(fmt.Sprintf("Web console with %d environments (%d sequential loads per page, one client)", *flagEnvs, consoleSamples), lines)
}
