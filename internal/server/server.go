// Package server assembles Hadron: the store, the deployment engine, the Proton
// operations, and the AWS JSON protocol in front of them. It is also the one
// place where domain errors become wire errors.
package server

import (
	"cmp"
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
	"github.com/hadronhq/hadron/internal/deploylog"
	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/metrics"
	"github.com/hadronhq/hadron/internal/proton"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/reposync"
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
	// AllowAPICommands lets components whose manifests run commands on
	// this host be deployed by callers that hold auth.ActionRunCommands
	// (hadron serve --allow-api-commands); see proton.Config.
	AllowAPICommands bool
	// Metrics receives the series of the API, the engine and the store's
	// transactions (when Store can be observed: TransactionObserver); nil:
	// the server makes its own.
	Metrics *metrics.Metrics
	// MetricsElsewhere says the series are served on another address
	// (hadron serve --metrics-listen): GET /metrics is then not answered here.
	MetricsElsewhere bool
	// LogRetentionAge and LogRetentionBytes bound the deployments' logs
	// (see deploylog.Retention); zero: no bound of that kind.
	LogRetentionAge   time.Duration
	LogRetentionBytes int64
	// LogRetentionInterval is how often logs are swept (default
	// deploylog.DefaultSweepInterval).
	LogRetentionInterval time.Duration
	// LogPollInterval is how often a followed deployment log is looked at
	// (default deploylog.DefaultPollInterval).
	LogPollInterval time.Duration
	// Database and Isolation are what the status endpoint reports of the
	// store and of the confinement of provisioning runs (nil: off).
	Database  Database
	Isolation *Isolation
	// SyncGit reads the branches template sync (and service sync) watch;
	// cmd/hadron gives package gitrepo's. Nil: nothing is watched (sync
	// configs can still be made).
	SyncGit reposync.Git
	// SyncInterval is how often watched branches are polled (default
	// reposync.DefaultInterval).
	SyncInterval time.Duration
	// SyncWebhookSecret is the shared secret of the sync webhook
	// (SyncWebhookPath); "" turns the webhook off.
	SyncWebhookSecret string
}

// TransactionObserver is a store whose write transactions can be timed
// (the SQLite and PostgreSQL stores, through package sqlstore).
type TransactionObserver interface {
	ObserveTransactions(fn func(took time.Duration, err error))
}

// Server is a running Hadron: an http.Handler plus its background work.
type Server struct {
	store   store.Store
	engine  *engine.Engine
	service *proton.API
	http    *awsjson.Server
	console *console.Console
	logger  *slog.Logger
	metrics *metrics.Metrics
	// metricsHere says GET /metrics is answered on this handler.
	metricsHere bool
	authn       *auth.Authenticator
	dataDir     string
	// logPoll is how often a followed deployment log is looked at.
	logPoll   time.Duration
	hadron    http.Handler
	retention *deploylog.Retention
	// streams ends the followed logs when the server stops serving.
	streams     context.Context
	stopStreams context.CancelFunc
	cfg         Config
	auth        awsjson.Authenticator
	routes      map[string]hadronRoute
	started     time.Time
	// sync watches the repositories of template sync; nil without SyncGit.
	sync *reposync.Watcher
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
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if o, ok := st.(TransactionObserver); ok {
		o.ObserveTransactions(cfg.Metrics.StoreTransaction)
	}
	svc := proton.New(proton.Config{
		Store:     st,
		BundleDir: cfg.BundleDir,
		Region:    cfg.Region,
		AccountID: cfg.AccountID,
		Engines:   cfg.Engines,
		Logger:    cfg.Logger,

		AllowAPICommands: cfg.AllowAPICommands,
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
		Observer:    cfg.Metrics,
	})
	cfg.Metrics.SetRunning(eng.RunningCount)
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
	s := &Server{store: st, engine: eng, service: svc, logger: cfg.Logger, cfg: cfg, started: time.Now().UTC(),
		metrics: cfg.Metrics, metricsHere: !cfg.MetricsElsewhere, authn: cfg.Auth, dataDir: cfg.DataDir, logPoll: cfg.LogPollInterval}
	s.retention = &deploylog.Retention{
		Dir: filepath.Join(cfg.DataDir, deploylog.Dir), MaxAge: cfg.LogRetentionAge, MaxBytes: cfg.LogRetentionBytes,
		Interval: cfg.LogRetentionInterval, Logger: cfg.Logger,
		Active: func(ctx context.Context, id string) (bool, error) {
			d, err := st.DeploymentGet(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			return store.IsActive(d.Status), nil
		},
	}
	s.retention.Start(ctx)
	if cfg.SyncGit != nil {
		s.sync = reposync.New(reposync.Config{Store: st, Git: cfg.SyncGit, Syncers: []reposync.Syncer{svc.TemplateSyncer(), svc.ServiceSyncer()},
			Interval: cfg.SyncInterval, Owner: cfg.Owner, Logger: cfg.Logger, Notifier: cfg.Notifier})
		s.sync.Start(context.WithoutCancel(ctx))
	}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	check := acceptAnySignature
	if cfg.Auth != nil {
		check = func(r *http.Request, op string, body []byte) (context.Context, error) {
			ctx, err := cfg.Auth.CheckContext(r, op, body)
			if err != nil {
				return nil, err
			}
			// The account of the caller's key is the account the call is
			// made in; a key made without one calls in the server's own.
			// The key starts the deployments the call creates.
			c := auth.CallerFrom(ctx)
			ctx = proton.WithStartedBy(ctx, proton.Key(c.AccessKeyID, c.Name()))
			return proton.WithAccount(ctx, auth.AccountOf(ctx)), nil
		}
	}
	s.auth = check
	s.routes = s.hadronRoutes()
	s.http = &awsjson.Server{
		TargetPrefix: api.TargetPrefix,
		Known:        api.HasOperation,
		Auth:         check,
		MapError:     mapError,
		Logger:       cfg.Logger,
		Observe:      s.observe,
	}
	register(s.http, svc)
	s.console = console.New(console.Config{API: svc, Auth: cfg.Auth, Logger: cfg.Logger,
		Logs: console.FileLogs{DataDir: cfg.DataDir}, Sessions: consoleSessions{st}})
	return s, nil
}

// ServeHTTP serves the Proton API (AWS JSON 1.0: POST /), Hadron's own
// signed endpoints under HadronPrefix (see hadron.go), the web console under
// console.Prefix and, on GET, the operational endpoints (see health.go).
// Every response names the build in the X-Hadron-Version header.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(VersionHeader, buildinfo.Read().String())
	if r.URL.Path == SyncWebhookPath {
		s.serveSyncWebhook(w, r)
		return
	}
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

// StopStreams ends the answers that stream until a deployment ends (followed
// logs), so that an HTTP server's graceful shutdown need not wait for
// deployments: register it with http.Server.RegisterOnShutdown.
func (s *Server) StopStreams() { s.stopStreams() }

// Metrics returns the server's series (to serve them on another address).
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// observe records each answered call in the metrics, and logs the failed
// ones with what an operator needs to find the caller: the operation, the
// error code and the access key id. A client's mistake is INFO, a failure
// of the server ERROR. Refusals of the authenticator are left to its own
// log lines (package auth), throttled calls to the metrics: the SDKs retry
// them, and a line each would be noise.
func (s *Server) observe(r *http.Request, c awsjson.Call) {
	s.metrics.APIRequest(c.Operation, c.ErrorType, c.Duration)
	if c.ErrorType == "" || refusedByAuth(c.ErrorType) {
		return
	}
	level := slog.LevelInfo
	if c.Status >= 500 {
		level = slog.LevelError
	}
	s.logger.Log(r.Context(), level, "request failed", "operation", cmp.Or(c.Operation, metrics.UnknownOperation),
		"code", c.ErrorType, "status", c.Status, "access_key_id", accessKeyID(r), "request_id", c.RequestID,
		"remote", r.RemoteAddr, "message", c.ErrorMessage)
}

// refusedByAuth reports whether an error type is one the authenticator
// answers (and logs) itself.
func refusedByAuth(errorType string) bool {
	switch sigv4.Code(errorType) {
	case sigv4.MissingAuthenticationToken, sigv4.IncompleteSignature, sigv4.UnrecognizedClient, sigv4.InvalidSignature:
		return true
	}
	return errorType == "AccessDeniedException" || errorType == "ThrottlingException"
}

// accessKeyID is the access key id a request claims to be signed with (in
// its Authorization header, or a presigned URL's X-Amz-Credential), "" when
// it names none. It is only a claim: the log of a signature that failed
// shows which key was tried.
func accessKeyID(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if a, err := sigv4.ParseAuthorization(h); err == nil {
			return a.AccessKeyID
		}
		return ""
	}
	id, _, _ := strings.Cut(r.URL.Query().Get("X-Amz-Credential"), "/")
	return id
}

// Close stops running deployments (they end FAILED, or CANCELLED when a cancel
// was pending), waits for background work and closes the store.
func (s *Server) Close() error {
	s.StopStreams()
	if s.sync != nil {
		s.sync.Stop()
	}
	s.retention.Stop()
	s.engine.Stop()
	s.service.Stop()
	return s.store.Close()
}

// acceptAnySignature is the --auth none mode: requests are not verified.
func acceptAnySignature(r *http.Request, _ string, _ []byte) (context.Context, error) {
	return proton.WithStartedBy(auth.WithCaller(r.Context(), auth.Unrestricted), proton.Unauthenticated), nil
}

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
