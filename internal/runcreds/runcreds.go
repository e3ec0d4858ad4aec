// Package runcreds gives each CodeBuild run its credentials the way
// CodeBuild gave them: through a container credentials endpoint, which the
// AWS CLI, boto3 and every AWS SDK read when a process has
// AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN
// in its environment.
//
// One loopback listener serves every run: the URL's path names the run and
// the authorization token, random per run, must match (403 otherwise, as
// the container endpoint answers). A run is given, when Hadron has AWS
// access, the credentials of its resource's CodeBuild role assumed through
// STS (session named after the deployment, refreshed before they expire);
// without AWS access, credentials Hadron mints for the run. Either set is
// also accepted by Hadron itself (auth.Sessions), for the run's resource
// only (NotifyResourceDeploymentStatusChange on it, reads of it) and only
// until the run ends, so one credential set serves the run's calls to AWS
// and to Hadron, as it did on Proton.
package runcreds

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision"
)

// Environment variables a run is given.
const (
	EnvFullURI   = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	EnvAuthToken = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
)

const (
	// mintedLifetime is the Expiration a minted credential set is served
	// with. It rolls forward at each fetch: minted credentials are valid
	// for as long as the run lasts, and an SDK that fetches again near the
	// expiry gets the same set.
	mintedLifetime = time.Hour
	// refreshBefore is how long before an assumed role's credentials expire
	// they are replaced, so that an SDK refreshing early (botocore does, 15
	// minutes before) gets a fresh set, not the one about to expire.
	refreshBefore = 15 * time.Minute
	// pathPrefix is the path of the endpoint; the run's handle follows.
	pathPrefix = "/v1/credentials/"
)

// Config configures a Server.
type Config struct {
	// Sessions, when set, accepts each run's credentials for Hadron's API
	// while the run lasts (nil with --auth none: nothing to accept).
	Sessions *auth.Sessions
	// AWS, when set, is Hadron's AWS access: runs get their CodeBuild
	// role's credentials. Nil: runs get credentials Hadron mints.
	AWS *awsaccess.Access
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Server is the credentials endpoint of every run of this process.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server
	url  string

	mu     sync.Mutex
	grants map[string]*Grant // by handle
}

// Listen starts the endpoint on a free loopback port.
func Listen(cfg Config) (*Server, error) {
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("credentials endpoint: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, url: "http://" + ln.Addr().String() + pathPrefix, grants: map[string]*Grant{}}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln) //nolint:errcheck // ends with Close
	return s, nil
}

// Close stops the endpoint.
func (s *Server) Close() error { return s.http.Close() }

// Request is the run to give credentials to.
type Request struct {
	DeploymentID string
	Target       provision.Target
	// RoleARN is the role the run's commands act as on AWS (the
	// resource's codebuildRoleArn); "" when it has none.
	RoleARN string
}

// Grant is one run's credentials. End it when the run is over.
type Grant struct {
	s       *Server
	handle  string
	token   string
	scope   auth.Scope
	role    aws.CredentialsProvider // nil: minted
	cache   *aws.CredentialsCache
	minted  aws.Credentials
	mu      sync.Mutex
	keys    map[string]bool // access key ids accepted by Hadron for this run
	secrets []string
	ended   bool
}

// Env is the environment that points the run's AWS SDKs at the endpoint.
func (g *Grant) Env() []string {
	return []string{EnvFullURI + "=" + g.s.url + g.handle, EnvAuthToken + "=" + g.token}
}

// Mask lists the values to hide in the run's log: the authorization token
// and the secret parts of every credential set served so far.
func (g *Grant) Mask() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string{g.token}, g.secrets...)
}

// Assumed reports whether the run acts as an assumed AWS role (else it has
// Hadron-minted credentials, good for Hadron only).
func (g *Grant) Assumed() bool { return g.role != nil }

// End stops serving the run's credentials and stops Hadron accepting them.
// It is safe to call twice.
func (g *Grant) End() {
	g.s.mu.Lock()
	delete(g.s.grants, g.handle)
	g.s.mu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ended = true
	for id := range g.keys {
		if g.s.cfg.Sessions != nil {
			g.s.cfg.Sessions.Remove(id)
		}
	}
	clear(g.keys)
}

// Grant prepares a run's credentials: with AWS access and a role, the
// role is assumed now (an error names it, so the deployment fails saying
// why); otherwise a set is minted.
func (s *Server) Grant(ctx context.Context, req Request) (*Grant, error) {
	g := &Grant{s: s, handle: random(20), token: random(32), scope: Scope(req.Target, req.DeploymentID), keys: map[string]bool{}}
	if s.cfg.AWS != nil && req.RoleARN != "" {
		cfg := s.cfg.AWS.AsRole(req.RoleARN, req.DeploymentID)
		g.role = cfg.Credentials
		g.cache, _ = cfg.Credentials.(*aws.CredentialsCache)
	} else {
		g.minted = aws.Credentials{AccessKeyID: "ASIA" + strings.ToUpper(base32.StdEncoding.EncodeToString(randomBytes(10)))[:16],
			SecretAccessKey: random(30), SessionToken: random(48), CanExpire: true}
	}
	if _, err := g.credentials(ctx); err != nil {
		return nil, fmt.Errorf("credentials of the run: assume role %s: %w", req.RoleARN, err)
	}
	s.mu.Lock()
	s.grants[g.handle] = g
	s.mu.Unlock()
	return g, nil
}

// credentials returns the set to serve now, refreshing an assumed role's
// set that is near its expiry, and makes Hadron accept it.
func (g *Grant) credentials(ctx context.Context) (aws.Credentials, error) {
	now := g.s.cfg.Now()
	var creds aws.Credentials
	if g.role != nil {
		var err error
		if creds, err = g.role.Retrieve(ctx); err != nil {
			return aws.Credentials{}, err
		}
		if creds.CanExpire && creds.Expires.Sub(now) < refreshBefore && g.cache != nil {
			g.cache.Invalidate()
			if creds, err = g.role.Retrieve(ctx); err != nil {
				return aws.Credentials{}, err
			}
		}
	} else {
		creds = g.minted
		creds.Expires = now.Add(mintedLifetime)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ended {
		return aws.Credentials{}, errors.New("the run has ended")
	}
	if !g.keys[creds.AccessKeyID] {
		g.keys[creds.AccessKeyID] = true
		g.secrets = append(g.secrets, creds.SecretAccessKey, creds.SessionToken)
		if g.s.cfg.Sessions != nil {
			g.s.cfg.Sessions.Add(creds.AccessKeyID, auth.Session{Secret: creds.SecretAccessKey, Token: creds.SessionToken, Scope: g.scope})
		}
	}
	return creds, nil
}

// response is the container credentials endpoint's answer.
type response struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// ServeHTTP answers GET <prefix><handle> with the run's credentials when
// the Authorization header holds its token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served")
		return
	}
	handle, ok := strings.CutPrefix(r.URL.Path, pathPrefix)
	s.mu.Lock()
	g := s.grants[handle]
	s.mu.Unlock()
	// An unknown (or ended) run and a wrong token get the same answer, so
	// the endpoint tells nothing of which runs exist.
	if !ok || g == nil || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(g.token)) != 1 {
		writeError(w, http.StatusForbidden, "AccessDenied", "the authorization token is missing or not the run's")
		return
	}
	creds, err := g.credentials(r.Context())
	if err != nil {
		s.cfg.Logger.Error("credentials endpoint", "err", err)
		writeError(w, http.StatusInternalServerError, "InternalError", "the run's credentials could not be obtained")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(response{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey,
		Token: creds.SessionToken, Expiration: creds.Expires.UTC().Format(time.RFC3339)})
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"code": code, "message": message})
}

// Scope is what a run's credentials may do on Hadron: report on its
// resource, and read it (its outputs, provisioned resources, the
// deployment itself).
func Scope(t provision.Target, deploymentID string) auth.Scope {
	sc := auth.Scope{
		"NotifyResourceDeploymentStatusChange": {"resourceArn": t.ARN},
		"GetDeployment":                        {"id": deploymentID},
	}
	switch t.Kind {
	case provision.KindEnvironment:
		sc["GetEnvironment"] = map[string]string{"name": t.Name}
		sc["ListEnvironmentOutputs"] = map[string]string{"environmentName": t.Name}
		sc["ListEnvironmentProvisionedResources"] = map[string]string{"environmentName": t.Name}
	case provision.KindServiceInstance:
		sc["GetServiceInstance"] = map[string]string{"serviceName": t.ServiceName, "name": t.Name}
		sc["ListServiceInstanceOutputs"] = map[string]string{"serviceName": t.ServiceName, "serviceInstanceName": t.Name}
		sc["ListServiceInstanceProvisionedResources"] = map[string]string{"serviceName": t.ServiceName, "serviceInstanceName": t.Name}
	case provision.KindServicePipeline:
		sc["ListServicePipelineOutputs"] = map[string]string{"serviceName": t.ServiceName}
		sc["ListServicePipelineProvisionedResources"] = map[string]string{"serviceName": t.ServiceName}
	case provision.KindComponent:
		sc["GetComponent"] = map[string]string{"name": t.Name}
		sc["ListComponentOutputs"] = map[string]string{"componentName": t.Name}
		sc["ListComponentProvisionedResources"] = map[string]string{"componentName": t.Name}
	}
	return sc
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}

func random(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }
