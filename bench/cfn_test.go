package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/cloudformation/cfnfake"
	"github.com/hadronhq/hadron/internal/server"
)

// cfnUpdates is how many UpdateEnvironment calls the CloudFormation
// dispatch benchmark times.
const cfnUpdates = 30

// firstCall sits in front of cfnfake (a FAKE CloudFormation) and notes when
// the first CloudFormation call (not STS) of each wait arrives.
type firstCall struct {
	mu    sync.Mutex
	armed bool
	at    chan time.Time
	next  http.Handler
}

func (f *firstCall) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	if a := form.Get("Action"); a != "" && a != "AssumeRole" {
		f.mu.Lock()
		if f.armed {
			f.armed = false
			f.at <- now
		}
		f.mu.Unlock()
	}
	f.next.ServeHTTP(w, r)
}

func (f *firstCall) arm() {
	f.mu.Lock()
	f.armed = true
	f.mu.Unlock()
}

// TestCloudFormationDispatchLatency measures the time from an accepted
// UpdateEnvironment of an AWS-managed environment to the engine's first
// CloudFormation call, against cfnfake, next to a bare fork/exec of true
// measured in the same run.
func TestCloudFormationDispatchLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("latency benchmark")
	}
	fake := cfnfake.New()
	defer fake.Close()
	target, _ := url.Parse(fake.URL)
	fc := &firstCall{at: make(chan time.Time, 1), next: proxyTo(target)}
	front := httptest.NewServer(fc)
	defer front.Close()

	h, err := startHadronWith("cfn", t.TempDir(), func(c *server.Config) error {
		c.Engines.Register(cloudformation.Name, &cloudformation.Engine{
			AWS: awsaccess.Config{Region: "us-east-1", EndpointURL: front.URL,
				Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", "")},
			Driver: cloudformation.Config{PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond},
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	ctx := context.Background()
	if err := h.registerTemplate(ctx, "cfn", "cfn", ""); err != nil {
		t.Fatal(err)
	}
	var out api.CreateEnvironmentOutput
	if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{"name": "cfn", "templateName": "cfn", "templateMajorVersion": "1",
		"protonServiceRoleArn": "arn:aws:iam::000000000000:role/proton", "spec": yamlSpec("mode", "a0")}, &out); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.waitDeployment(ctx, out.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
		t.Fatal(err)
	}

	var samples, forks []time.Duration
	for i := 1; i <= cfnUpdates; i++ {
		fc.arm()
		var upd api.UpdateEnvironmentOutput
		err := h.c.Call(ctx, "UpdateEnvironment", map[string]any{"name": "cfn", "deploymentType": "CURRENT_VERSION",
			"spec": yamlSpec("mode", fmt.Sprintf("a%d", i))}, &upd)
		accepted := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		select {
		case at := <-fc.at:
			samples = append(samples, at.Sub(accepted))
		case <-time.After(stepTimeout):
			t.Fatalf("update %d: no CloudFormation call within %s", i, stepTimeout)
		}
		if _, _, err := h.waitDeployment(ctx, upd.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := exec.Command("true").Run(); err != nil {
			t.Fatal(err)
		}
		forks = append(forks, time.Since(start))
	}
	s, f := summarize(samples), summarize(forks)
	lines := []string{
		"| measured | n | p50 ms | p99 ms | max ms |",
		"|---|---|---|---|---|",
		fmt.Sprintf("| UpdateEnvironment accepted → first CloudFormation call | %d | %s | %s | %s |", s.N, ms(s.P50), ms(s.P99), ms(s.Max)),
		fmt.Sprintf("| reference: fork/exec of true | %d | %s | %s | %s |", f.N, ms(f.P50), ms(f.P99), ms(f.Max)),
	}
	report.add("CloudFormation dispatch (cfnfake)", lines)
	t.Log("\n" + strings.Join(lines, "\n"))
}

// proxyTo forwards requests to target, keeping the path and the body.
func proxyTo(target *url.URL) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target.String()+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}
