package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
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

// cfnEnv is the AWS-managed environment the CloudFormation dispatch
// benchmark redeploys.
const cfnEnv = "cfn-dispatch"

// awsCalls sits in front of cfnfake (a FAKE CloudFormation) and notes when
// the first AWS call (STS AssumeRole, which every deployment makes for its
// role) and the first CloudFormation call of a deployment arrive.
type awsCalls struct {
	next http.Handler

	mu          sync.Mutex
	armed       bool
	first, cfn  time.Time
	cfnReceived chan struct{}
}

// arm forgets the calls seen so far; the next AWS call and the next
// CloudFormation call are noted.
func (a *awsCalls) arm() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.armed, a.first, a.cfn = true, time.Time{}, time.Time{}
	a.cfnReceived = make(chan struct{})
}

func (a *awsCalls) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	a.mu.Lock()
	if a.armed {
		if a.first.IsZero() {
			a.first = now
		}
		if action := form.Get("Action"); action != "" && action != "AssumeRole" {
			a.cfn, a.armed = now, false
			close(a.cfnReceived)
		}
	}
	a.mu.Unlock()
	a.next.ServeHTTP(w, r)
}

// wait returns the times of the first AWS call and the first CloudFormation
// call since arm.
func (a *awsCalls) wait() (first, cfn time.Time, err error) {
	a.mu.Lock()
	ch := a.cfnReceived
	a.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(stepTimeout):
		return time.Time{}, time.Time{}, fmt.Errorf("no CloudFormation call within %s", stepTimeout)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.first, a.cfn, nil
}

var cfnFixture lazy

// cfnCalls is the recorder in front of the fixture's cfnfake.
var cfnCalls *awsCalls

// setupCloudFormation starts a server whose CloudFormation engine reaches
// cfnfake through the recorder, registers testdata/cfn (a jinja
// CloudFormation environment template) and deploys cfnEnv once.
func setupCloudFormation() (*hadron, error) {
	fake := cfnfake.New()
	target, err := url.Parse(fake.URL)
	if err != nil {
		fake.Close()
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hadron-bench-cfn-")
	if err != nil {
		fake.Close()
		return nil, err
	}
	cfnCalls = &awsCalls{next: proxyTo(target)}
	front := httptest.NewServer(cfnCalls)
	h, err := startHadronWith("cfn", dir, func(c *server.Config) error {
		c.Engines.Register(cloudformation.Name, &cloudformation.Engine{
			AWS: awsaccess.Config{Region: "us-east-1", EndpointURL: front.URL,
				Credentials: credentials.NewStaticCredentialsProvider("bench", "bench", "")},
			// cfnfake ends every operation inside the call: the driver's
			// first look at the stack after it already sees the end.
			Driver: cloudformation.Config{PollInitial: 5 * time.Millisecond, PollMax: 20 * time.Millisecond},
		})
		return nil
	})
	if err != nil {
		front.Close()
		fake.Close()
		return nil, err
	}
	h.onClose = append(h.onClose, front.Close, fake.Close)
	ctx := context.Background()
	if err := h.registerTemplate(ctx, "cfn", "cfn", ""); err != nil {
		return h, err
	}
	var out api.CreateEnvironmentOutput
	if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{"name": cfnEnv, "templateName": "cfn", "templateMajorVersion": "1",
		"protonServiceRoleArn": "arn:aws:iam::000000000000:role/proton", "spec": yamlSpec("mode", "a0")}, &out); err != nil {
		return h, err
	}
	if _, _, err := h.waitDeployment(ctx, out.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
		return h, fmt.Errorf("create environment %s: %w", cfnEnv, err)
	}
	return h, nil
}

// BenchmarkCloudFormationDispatch measures the time from the answer of an
// UpdateEnvironment of an AWS-managed environment to the engine's first
// CloudFormation call, against cfnfake on loopback: the queue, the claim,
// reading the bundle, rendering its Jinja template and assuming the
// environment's role through STS (AssumeRole, answered by the fake) all
// come before that call. Each sample then waits for SUCCEEDED. The same
// run's reference, between two samples, is a bare fork/exec of
// /bin/sh -c true, as in table 2.
func BenchmarkCloudFormationDispatch(b *testing.B) {
	h, err := cfnFixture.get(setupCloudFormation)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := *flagSamples
	b.ResetTimer()
	for iter := range b.N {
		var calls, toSTS, toCFN, fromRequest, deploys, forks []time.Duration
		for i := range n {
			_, fork, err := forkExec()
			if err != nil {
				b.Fatal(err)
			}
			forks = append(forks, fork)
			// The mode changes every time, so the rendered template does
			// and CloudFormation has an update to perform.
			body := updateBody(cfnEnv, fmt.Sprintf("m%d-%d", iter, i))
			cfnCalls.arm()
			sent := time.Now()
			raw, err := h.c.Raw(ctx, "UpdateEnvironment", body)
			answered := time.Now()
			if err != nil {
				b.Fatalf("update %d: %v", i, err)
			}
			var up api.UpdateEnvironmentOutput
			if err := decode(raw, &up); err != nil {
				b.Fatal(err)
			}
			first, cfn, err := cfnCalls.wait()
			if err != nil {
				b.Fatalf("update %d: %v", i, err)
			}
			status, done, err := h.waitDeployment(ctx, up.Environment.LastAttemptedDeploymentId, pollEvery, stepTimeout)
			if err != nil {
				b.Fatalf("update %d: %v", i, err)
			}
			if status != "SUCCEEDED" {
				b.Fatalf("update %d: deployment ended %s, want SUCCEEDED", i, status)
			}
			calls = append(calls, answered.Sub(sent))
			toSTS = append(toSTS, first.Sub(answered))
			toCFN = append(toCFN, cfn.Sub(answered))
			fromRequest = append(fromRequest, cfn.Sub(sent))
			deploys = append(deploys, done.Sub(answered))
		}
		b.StopTimer()
		dispatch := summarize(toCFN)
		reportMetrics(b, "", dispatch)
		lines := latencyTable([]latencyRow{
			{"UpdateEnvironment call (round trip)", summarize(calls), 0},
			{"update answered -> first AWS call (STS)", summarize(toSTS), 0},
			{"update answered -> first CloudFormation call", dispatch, 0},
			{"update sent -> first CloudFormation call", summarize(fromRequest), 0},
			{"update answered -> GetDeployment reads SUCCEEDED", summarize(deploys), 0},
			{"reference: os/exec sh -c true, started + reaped", summarize(forks), 0},
		})
		if dispatch.Negative > 0 {
			lines = append(lines, fmt.Sprintf("  (%d of %d first calls arrived before the UpdateEnvironment answer reached the client: negative samples, kept)", dispatch.Negative, dispatch.N))
		}
		report.add(fmt.Sprintf("14. CloudFormation dispatch (%d redeployments of a jinja CloudFormation environment against cfnfake)", n), lines)
		b.StartTimer()
	}
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
