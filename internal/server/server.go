// Package server assembles Hadron: the store, the deployment engine, the Proton
// operations, and the AWS JSON protocol in front of them. It is also the one
// place where domain errors become wire errors.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/buildinfo"
	"github.com/hadronhq/hadron/internal/console"
	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/proton"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/sigv4"
	"github.com/hadronhq/hadron/internal/store"
)

// DatabaseFile is the SQLite database's name inside the data directory.
const DatabaseFile = "hadron.db"

// Config configures a Server.
type Config struct {
	DataDir   string
	BundleDir string
	Region    string
	AccountID string
	Workers   int
	// Engines are the provisioning engines deployments run on, by name
	// (cmd/hadron registers them). A deployment whose engine is missing
	// fails, naming it.
	Engines *provision.Registry
	// Owner identifies this process in deployment leases.
	Owner  string
	Logger *slog.Logger
	// Store keeps everything (cmd/hadron opens it: the SQLite file in
	// DataDir, or a PostgreSQL database). The server closes it.
	Store store.Store
	// SharedStore says other Hadron processes use Store too (PostgreSQL):
	// only an expired lease then says a deployment's worker is gone.
	SharedStore bool
	// Notifier, when set, carries wake-ups and cancels between the
	// processes sharing Store.
	Notifier engine.Notifier
	// Lease is how long a deployment's lease lasts without renewal: how soon
	// another node finishes the deployments of a node that died (default
	// engine.DefaultLease).
	Lease time.Duration
	// Auth verifies, throttles and authorizes every call before it is
	// dispatched; nil accepts any signature or none (hadron serve --auth none).
	Auth *auth.Authenticator
	// Database and Isolation are what the status endpoint reports of the
	// store and of the confinement of provisioning runs (nil: off).
	Database  Database
	Isolation *Isolation
}

// Server is a running Hadron: an http.Handler plus its background work.
type Server struct {
	store   store.Store
	engine  *engine.Engine
	service *proton.API
	http    *awsjson.Server
	console *console.Console
	logger  *slog.Logger
	cfg     Config
	auth    awsjson.Authenticator
	routes  map[string]hadronRoute
	started time.Time
}

// New recovers what a previous process left unfinished in the store, and
// starts the deployment engine. The server owns cfg.Store from then on, and
// closes it even when New fails.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	api.Load()
	if cfg.Engines == nil {
		if cfg.Store != nil {
			cfg.Store.Close()
		}
		return nil, errors.New("server: no provisioning engines (Config.Engines)")
	}
	if cfg.Store == nil {
		return nil, errors.New("server: no store (Config.Store)")
	}
	st := cfg.Store
	svc := proton.New(proton.Config{
		Store:     st,
		BundleDir: cfg.BundleDir,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Engines:   cfg.Engines,
		Logger:    cfg.Logger,
	})
	eng := engine.New(engine.Config{
		Store:       st,
		Owner:       cfg.Owner,
		Workers:     cfg.Workers,
		Lease:       cfg.Lease,
		DataDir:     cfg.DataDir,
		SharedStore: cfg.SharedStore,
		Notifier:    cfg.Notifier,
		Engines:     cfg.Engines,
		Files:       svc,
		OnFinish:    svc.DeploymentEnded,
		Logger:      cfg.Logger,
	})
	svc.SetEngine(eng)
	if err := eng.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	if err := svc.Start(ctx); err != nil {
		eng.Stop()
		st.Close()
		return nil, err
	}
	s := &Server{store: st, engine: eng, service: svc, logger: cfg.Logger, cfg: cfg, started: time.Now().UTC()}
	check := acceptAnySignature
	if cfg.Auth != nil {
		check = cfg.Auth.Check
	}
	s.auth = check
	s.routes = s.hadronRoutes()
	s.http = &awsjson.Server{
		TargetPrefix: api.TargetPrefix,
		Known:        api.HasOperation,
		Auth:         check,
		MapError:     mapError,
		Logger:       cfg.Logger,
	}
	register(s.http, svc)
	s.console = console.New(console.Config{API: svc, Auth: cfg.Auth, Logger: cfg.Logger,
		Logs: console.FileLogs{Dir: filepath.Join(cfg.DataDir, "logs")}})
	return s, nil
}

// ServeHTTP serves the Proton API (AWS JSON 1.0: POST /), Hadron's own
// signed endpoints under HadronPrefix (see hadron.go), the web console under
// console.Prefix and, on GET, the operational endpoints (see health.go).
// Every response names the build in the X-Hadron-Version header.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(VersionHeader, buildinfo.Read().String())
	if strings.HasPrefix(r.URL.Path, HadronPrefix) {
		s.serveHadron(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, console.Prefix) {
		s.console.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == strings.TrimSuffix(console.Prefix, "/") && r.Method == http.MethodGet {
		http.Redirect(w, r, console.Prefix, http.StatusMovedPermanently)
		return
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if h := s.operational(r.URL.Path); h != nil {
			h(w, r)
			return
		}
	}
	s.http.ServeHTTP(w, r)
}

// Close stops running deployments (they end FAILED, or CANCELLED when a cancel
// was pending), waits for background work and closes the store.
func (s *Server) Close() error {
	s.engine.Stop()
	s.service.Stop()
	return s.store.Close()
}

// acceptAnySignature is the --auth none mode: requests are not verified.
func acceptAnySignature(*http.Request, string, []byte) error { return nil }

// mapError turns domain and decoding errors into Proton's wire errors.
func mapError(err error) *awsjson.Error {
	var (
		pe *proton.Error
		ve *api.ValidationError
		se *api.SerializationError
		ae *auth.AccessDeniedError
		te *auth.ThrottlingError
		sv *sigv4.Error
	)
	switch {
	case errors.As(err, &sv):
		// AWS answers IncompleteSignatureException with 400, the others with 403.
		status := http.StatusForbidden
		if sv.Code == sigv4.IncompleteSignature {
			status = http.StatusBadRequest
		}
		msg := sv.Message
		var hint *auth.HintError
		if errors.As(err, &hint) {
			msg += " Hint: " + hint.Hint
		}
		return &awsjson.Error{Type: string(sv.Code), Status: status, Message: msg}
	case errors.As(err, &ae):
		return &awsjson.Error{Type: "AccessDeniedException", Status: http.StatusBadRequest, Message: ae.Error()}
	case errors.As(err, &te):
		return &awsjson.Error{Type: "ThrottlingException", Status: http.StatusBadRequest, Message: te.Error()}
	case errors.As(err, &ve):
		return &awsjson.Error{Type: "ValidationException", Status: http.StatusBadRequest, Message: ve.Message}
	case errors.As(err, &se):
		return &awsjson.Error{Type: "SerializationException", Status: http.StatusBadRequest, Message: se.Message}
	case errors.As(err, &pe):
		typ := map[proton.ErrorKind]string{
			proton.KindValidation:    "ValidationException",
			proton.KindConflict:      "ConflictException",
			proton.KindNotFound:      "ResourceNotFoundException",
			proton.KindQuotaExceeded: "ServiceQuotaExceededException",
		}[pe.Kind]
		if typ == "" {
			return nil
		}
		return &awsjson.Error{Type: typ, Status: http.StatusBadRequest, Message: pe.Message}
	case errors.Is(err, context.Canceled):
		return &awsjson.Error{Type: "InternalServerException", Status: http.StatusInternalServerError, Message: "request cancelled: the server is shutting down or the client went away"}
	}
	return nil
}
