// Package proton implements the Proton operations: the rules Proton applies to
// templates and deployable resources, the state each call moves them to, and
// the deployments it hands to the engine. Every state change is one store call
// (one transaction); every race is settled by the store's conditional writes.
package proton

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// Config configures an API.
type Config struct {
	Store     store.Store
	BundleDir string
	Region    string
	AccountID string
	// Engines are the provisioning engines, by name: they check the settings
	// a deployment needs and turn it into its plan.
	Engines *provision.Registry
	// AllowAPICommands lets components whose manifests use an engine that
	// runs commands on this host (provision.HostCommandRunner) be deployed,
	// for callers that hold auth.ActionRunCommands. Off, such components
	// are refused.
	AllowAPICommands bool
	Logger           *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Engine is what the operations need of the deployment engine.
type Engine interface {
	// Notify says a deployment was queued.
	Notify()
	// Cancel stops the local run of a deployment now CANCELLING.
	Cancel(id string)
	// CancelledQueued says a deployment of a resource of type kind was
	// cancelled before any worker took it: it ended CANCELLED at once.
	CancelledQueued(kind string)
}

// API implements the Proton operations (named so as not to be confused
// with Proton's services, which it also serves).
type API struct {
	cfg    Config
	engine Engine

	// registrations tracks template versions being registered in the background.
	registrations sync.WaitGroup
	stopping      chan struct{}
	stopOnce      sync.Once

	// syncMu makes this process's service sync passes take turns.
	syncMu sync.Mutex
}

// New returns an API. Call SetEngine before serving.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{cfg: cfg, stopping: make(chan struct{})}
}

// SetEngine connects the engine that runs the deployments this service queues.
func (s *API) SetEngine(e Engine) { s.engine = e }

// Start resumes the registration of template versions a previous process left
// REGISTRATION_IN_PROGRESS.
func (s *API) Start(ctx context.Context) error {
	versions, err := s.cfg.Store.TemplateVersionsRegistering(ctx)
	if err != nil {
		return fmt.Errorf("resume template registrations: %w", err)
	}
	for _, v := range versions {
		s.registerAsync(v)
	}
	return s.resumeServices(ctx)
}

// Stop waits for background registrations to end.
func (s *API) Stop() {
	s.stopOnce.Do(func() { close(s.stopping) })
	s.registrations.Wait()
}

func (s *API) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Millisecond) }

// BundleFiles returns the files of one directory of a template version's
// bundle, keyed relative to that directory. It serves the engine.
func (s *API) BundleFiles(ctx context.Context, ref provision.BundleRef) (map[string][]byte, error) {
	v, err := s.cfg.Store.TemplateVersionGet(ctx, ref.Kind, ref.Template, ref.Major, ref.Minor)
	if err != nil {
		return nil, err
	}
	files, err := bundle.Unpack(v.Bundle)
	if err != nil {
		return nil, err
	}
	return files.Dir(ref.Dir), nil
}

// newDeploymentID returns a lowercase UUID (version 4), the model's DeploymentId.
func newDeploymentID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// accountKey keys the caller's account in a call's context.
type accountKey struct{}

// WithAccount returns ctx for a call made in account ("" for the server's
// own account, Config.AccountID). The server sets it from the access key
// that signed the call.
func WithAccount(ctx context.Context, account string) context.Context {
	if account == "" {
		return ctx
	}
	return context.WithValue(ctx, accountKey{}, account)
}

// callerAccount is the account the call of ctx is made in.
func (s *API) callerAccount(ctx context.Context) string {
	if account, ok := ctx.Value(accountKey{}).(string); ok && account != "" {
		return account
	}
	return s.cfg.AccountID
}
