package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/connguard"
	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/metrics"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/provision/supervisor"
	"github.com/hadronhq/hadron/internal/runcreds"
	"github.com/hadronhq/hadron/internal/secrets"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Defaults of hadron serve.
const (
	DefaultListen      = "127.0.0.1:8787"
	DefaultDataDir     = "hadron-data"
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
	DefaultCancelGrace = 10 * time.Second
	// DefaultWorkers is how many deployments run at once.
	DefaultWorkers = 4
	// DefaultAuth is the authentication mode: SigV4 with the data directory's keys.
	DefaultAuth = "sigv4"
	// shutdownTimeout bounds how long in-flight requests and runs may take to end.
	shutdownTimeout = 30 * time.Second
)

type serveCommand struct {
	listen      string
	dataDir     string
	bundleDir   string
	region      string
	accountID   string
	auth        string
	cancelGrace time.Duration
	workers     int
	logLevel    string
	logFormat   string
	// metricsListen is the address of /metrics when not the API's; "none"
	// serves no metrics.
	metricsListen string
	// logRetentionAge and logRetentionSize bound the deployments' logs
	// (read into logRetentionBytes by validate); 0: unbounded.
	logRetentionAge   string
	logRetentionSize  string
	logRetentionAgeD  time.Duration
	logRetentionBytes int64
	databaseURL       string
	lease             time.Duration
	rate              float64
	burst             int
	regions           []string
	keysDir           string
	isolation         sandbox.Config
	maxPending        int
	// The flags read into isolation by validate.
	isolationMode, limits string
	// supervisor is --supervisor: the hadron-supervisor program to use.
	supervisor string
	// allowAPICommands lets components with host-run commands be deployed
	// by keys that hold auth.ActionRunCommands.
	allowAPICommands bool
	readable         []string
	// aws is how Hadron reaches AWS for its own work (CloudFormation
	// stacks, roles assumed for runs, secrets); unset: no AWS access.
	aws awsaccess.Config
	// handOff configures the Terraform hand-off through git.
	handOff handOffConfig
	sync    syncConfig
}

// newServeCommand is `hadron serve`; each flag defaults to its HADRON_*
// environment variable.
func newServeCommand() *cobra.Command {
	c := &serveCommand{}
	var e env
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (embedded SQLite under --data-dir, or PostgreSQL with --database-url)",
		Long: `Run the server: the Proton API (AWS JSON 1.0, POST /), the operational endpoints
(/healthz, /readyz, /version) and Hadron's own signed endpoints (/hadron/v1/).

On its first start with --auth sigv4 it creates an administrator access key and
prints the lines that configure an AWS CLI profile (hadron) with it.`,
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := e.check(); err != nil {
				return err
			}
			return c.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error { return c.Run(cmd.Context()) },
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&c.listen, "listen", e.str("HADRON_LISTEN", DefaultListen), "address to listen on (HADRON_LISTEN)")
	fs.StringVar(&c.dataDir, "data-dir", e.str("HADRON_DATA_DIR", DefaultDataDir), "directory for the database, logs and work directories (HADRON_DATA_DIR)")
	fs.StringVar(&c.bundleDir, "bundle-dir", e.str("HADRON_BUNDLE_DIR", ""), "template bundles: source s3 {bucket, key} is read from DIR/bucket/key (HADRON_BUNDLE_DIR; default DATA_DIR/bundles)")
	fs.StringVar(&c.region, "region", e.str("HADRON_REGION", DefaultRegion), "region in ARNs (HADRON_REGION)")
	fs.StringVar(&c.accountID, "account-id", e.str("HADRON_ACCOUNT_ID", DefaultAccountID), "12-digit account id in ARNs (HADRON_ACCOUNT_ID)")
	fs.StringVar(&c.auth, "auth", e.str("HADRON_AUTH", DefaultAuth), "request authentication: sigv4 verifies every call against the access keys of the data directory (hadron keys); none accepts anyone, for local development only (HADRON_AUTH)")
	fs.Float64Var(&c.rate, "throttle-rate", e.float("HADRON_THROTTLE_RATE", auth.DefaultRate), "requests per second each access key may make, sustained; over it calls get ThrottlingException, which the SDKs retry; 0 turns throttling off (HADRON_THROTTLE_RATE; --auth sigv4 only)")
	fs.IntVar(&c.burst, "throttle-burst", e.int("HADRON_THROTTLE_BURST", auth.DefaultBurst), "requests each access key may make at once above the rate (HADRON_THROTTLE_BURST)")
	fs.StringVar(&c.keysDir, "keys-dir", e.str("HADRON_KEYS_DIR", ""), "directory of the access keys (keys.json, keys.master); nodes sharing a PostgreSQL database should share one (HADRON_KEYS_DIR; default the data directory)")
	fs.StringSliceVar(&c.regions, "signing-regions", e.list("HADRON_SIGNING_REGIONS", ","), "regions a signature may be scoped to, comma-separated or repeated (HADRON_SIGNING_REGIONS; default any)")
	fs.DurationVar(&c.cancelGrace, "cancel-grace", e.duration("HADRON_CANCEL_GRACE", DefaultCancelGrace), "SIGTERM to SIGKILL grace period for provisioning commands on cancel (HADRON_CANCEL_GRACE)")
	fs.IntVar(&c.workers, "workers", e.int("HADRON_WORKERS", DefaultWorkers), "deployments run at once (HADRON_WORKERS)")
	fs.StringVar(&c.databaseURL, "database-url", e.str("HADRON_DATABASE_URL", ""), "PostgreSQL database shared by several hadron processes, postgres://user:password@host:port/db (HADRON_DATABASE_URL; default the SQLite file in the data directory)")
	fs.DurationVar(&c.lease, "lease", e.duration("HADRON_LEASE", engine.DefaultLease), "how long a running deployment's lease lasts without renewal: after a node dies, its deployments are finished by another within about this time (HADRON_LEASE)")
	fs.StringVar(&c.supervisor, "supervisor", e.str("HADRON_SUPERVISOR", ""), "the hadron-supervisor program that starts each provisioning run (HADRON_SUPERVISOR; default the one beside this binary, which go install ./cmd/... puts there; without one this binary re-executes itself for each run, which is slower to start it)")
	fs.StringVar(&c.isolationMode, "isolation", e.str("HADRON_ISOLATION", string(sandbox.BestEffort)), "how provisioning commands are confined: strict refuses to start unless every protection is in force, best-effort uses what this machine permits and says what is missing, off runs them with the server's own reach (HADRON_ISOLATION)")
	fs.StringVar(&c.isolation.RunAs, "run-as", e.str("HADRON_RUN_AS", ""), "user provisioning commands run as when the server runs as root; it must exist in /etc/passwd (HADRON_RUN_AS; default "+sandbox.DefaultRunAs+" if it exists, else the server's user without its capabilities, with a warning; --isolation strict requires a user)")
	fs.StringArrayVar(&c.readable, "run-readable", e.list("HADRON_RUN_READABLE", ":"), "more directories provisioning commands may read and execute from, colon-separated (tools installed outside /usr, /opt and PATH, such as a pyenv root whose shims are on PATH); repeatable (HADRON_RUN_READABLE)")
	fs.StringVar(&c.limits, "run-limits", e.str("HADRON_RUN_LIMITS", ""), "rlimits of each provisioning run, comma-separated: nofile=N, nproc=N (per run-as user), fsize=BYTES, as=BYTES, cpu=SECONDS (HADRON_RUN_LIMITS; defaults nofile="+strconv.Itoa(sandbox.DefaultOpenFiles)+",nproc="+strconv.Itoa(sandbox.DefaultProcesses)+",fsize=8G, no memory or CPU limit)")
	fs.BoolVar(&c.allowAPICommands, "allow-api-commands", e.bool("HADRON_ALLOW_API_COMMANDS", false), "run commands supplied through the API: components whose manifest uses the CodeBuild or Terraform engine, whose commands run on this host; only for keys allowed "+auth.ActionRunCommands+" (or *) (HADRON_ALLOW_API_COMMANDS; default false: such components are refused)")
	fs.IntVar(&c.maxPending, "max-pending-connections", e.int("HADRON_MAX_PENDING_CONNECTIONS", connguard.DefaultMaxPending), "connections held at once for clients that have not completed a request; past it the oldest is closed (HADRON_MAX_PENDING_CONNECTIONS)")
	fs.StringVar(&c.aws.Region, "aws-region", e.str("HADRON_AWS_REGION", ""), "region of Hadron's own AWS calls (CloudFormation stacks, roles assumed for runs, secrets), with the server's default AWS credential chain; unset (and no --aws-endpoint-url): Hadron makes no AWS calls (HADRON_AWS_REGION)")
	fs.StringVar(&c.aws.EndpointURL, "aws-endpoint-url", e.str("HADRON_AWS_ENDPOINT_URL", ""), "endpoint of every AWS service Hadron calls, for a private endpoint or a local stand-in (HADRON_AWS_ENDPOINT_URL)")
	fs.StringVar(&c.logLevel, "log-level", e.str("HADRON_LOG_LEVEL", "info"), "debug, info, warn or error (HADRON_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", e.str("HADRON_LOG_FORMAT", "text"), "the server log's format: text (key=value lines) or json (one object a line) (HADRON_LOG_FORMAT)")
	fs.StringVar(&c.logRetentionAge, "log-retention-age", e.str("HADRON_LOG_RETENTION_AGE", "30d"), "remove a deployment's log this long after its last line, e.g. 30d or 72h; 0 keeps logs whatever their age; the log of a deployment in progress is never removed (HADRON_LOG_RETENTION_AGE)")
	fs.StringVar(&c.logRetentionSize, "log-retention-size", e.str("HADRON_LOG_RETENTION_SIZE", "1G"), "remove the oldest deployments' logs while all of them take more than this, e.g. 500M or 2G; 0 for no bound; the log of a deployment in progress is never removed (HADRON_LOG_RETENTION_SIZE)")
	fs.StringVar(&c.metricsListen, "metrics-listen", e.str("HADRON_METRICS_LISTEN", ""), "address to serve the Prometheus metrics (GET /metrics) on instead of the API's address, or none to serve no metrics (HADRON_METRICS_LISTEN; default the API's address, unauthenticated, like /healthz)")
	c.handOff.flags(fs, &e)
	c.sync.flags(fs, &e)
	return cmd
}

// validate checks the flags' values together; its errors are usage errors.
func (c *serveCommand) validate() error {
	var err error
	switch {
	case c.cancelGrace < 0:
		return usagef("serve: --cancel-grace %s is negative", c.cancelGrace)
	case c.workers < 1:
		return usagef("serve: --workers %d is not a positive number", c.workers)
	// Renewal every third of the lease must be able to keep up.
	case c.lease < 300*time.Millisecond:
		return usagef("serve: --lease %s is shorter than 300ms", c.lease)
	case c.databaseURL != "" && !strings.HasPrefix(c.databaseURL, "postgres://") && !strings.HasPrefix(c.databaseURL, "postgresql://"):
		return usagef("serve: --database-url must be a postgres:// URL")
	case c.auth != "sigv4" && c.auth != "none":
		return usagef("serve: --auth %q: the modes are sigv4 (verify signatures) and none (accept anyone)", c.auth)
	case c.rate < 0 || math.IsInf(c.rate, 0) || math.IsNaN(c.rate):
		return usagef("serve: --throttle-rate %v is not a number of requests per second (0 for no throttling)", c.rate)
	case c.burst < 1:
		return usagef("serve: --throttle-burst %d is not a positive number", c.burst)
	case len(c.accountID) != 12 || strings.Trim(c.accountID, "0123456789") != "":
		return usagef("serve: --account-id %q must be 12 digits", c.accountID)
	case c.maxPending < 1:
		return usagef("serve: --max-pending-connections %d is not a positive number", c.maxPending)
	case c.logFormat != "text" && c.logFormat != "json":
		return usagef("serve: --log-format %q: the formats are text and json", c.logFormat)
	}
	if c.logRetentionAgeD, err = parseAge(c.logRetentionAge); err != nil {
		return usagef("serve: --log-retention-age: %v", err)
	}
	if c.logRetentionBytes, err = parseBytes(c.logRetentionSize); err != nil {
		return usagef("serve: --log-retention-size: %v", err)
	}
	var regions []string
	for _, r := range c.regions {
		if r = strings.TrimSpace(r); r != "" {
			regions = append(regions, r)
		}
	}
	c.regions = regions
	if c.bundleDir == "" {
		c.bundleDir = filepath.Join(c.dataDir, "bundles")
	}
	c.keysDir = cmp.Or(c.keysDir, c.dataDir)
	if err := c.handOff.parse(); err != nil {
		return &usageError{fmt.Errorf("serve: %w", err)}
	}
	if err := c.sync.parse(); err != nil {
		return &usageError{fmt.Errorf("serve: %w", err)}
	}
	if c.isolation.Mode, err = sandbox.ParseMode(c.isolationMode); err != nil {
		return &usageError{fmt.Errorf("serve: --%w", err)}
	}
	if c.isolation.Limits, err = sandbox.ParseLimits(c.limits); err != nil {
		return &usageError{fmt.Errorf("serve: --run-limits: %w", err)}
	}
	c.isolation.Protect = []string{c.dataDir, c.keysDir, c.bundleDir}
	for _, list := range c.readable {
		for _, d := range filepath.SplitList(list) {
			if d != "" {
				c.isolation.ReadOnly = append(c.isolation.ReadOnly, d)
			}
		}
	}
	return nil
}

// Run serves until ctx is cancelled (SIGINT, SIGTERM), then shuts down gracefully.
func (c *serveCommand) Run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("serve: --log-level: %w", err)
	}
	logger := newLogger(os.Stderr, c.logFormat, level)

	for _, dir := range []string{c.dataDir, c.bundleDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	isolation, isoStatus, err := c.isolate(logger)
	if err != nil {
		return err
	}
	supervisor, err := c.findSupervisor(logger)
	if err != nil {
		return err
	}
	if supervisor != nil {
		defer supervisor.Close() // the idle ones; they would go with this process anyway
	}
	// With SQLite this process must own the database; with PostgreSQL other
	// nodes share it by design (and may share the data directory too: work
	// directories and logs are named by deployment, and each runs once).
	if c.databaseURL == "" {
		unlock, err := lockDataDir(c.dataDir)
		if err != nil {
			return err
		}
		defer unlock()
	}

	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	endpoint := "http://" + ln.Addr().String()
	var (
		authn    *auth.Authenticator
		sessions *auth.Sessions
	)
	if c.auth == "sigv4" {
		sessions = auth.NewSessions()
		if authn, err = c.authenticator(logger, sessions); err != nil {
			ln.Close()
			return err
		}
	}
	// Runs act on AWS as their resource's CodeBuild role when Hadron has
	// AWS access; otherwise with credentials Hadron mints (good for Hadron only).
	var access *awsaccess.Access
	runRegion := c.region
	if c.aws.Enabled() {
		if access, err = awsaccess.Load(ctx, c.aws); err != nil {
			ln.Close()
			return fmt.Errorf("serve: %w", err)
		}
		runRegion = access.Region()
		logger.Info("CodeBuild secrets are read from AWS Secrets Manager and Parameter Store", "region", access.Region(), "endpoint", access.EndpointURL())
	}
	// The secrets CodeBuild manifests name: from AWS when Hadron has AWS
	// access, else from Hadron's own store (see package secrets).
	resolver := &secrets.Resolver{AWS: access, Store: &secrets.Store{Dir: c.keysDir}}
	creds, err := runcreds.Listen(runcreds.Config{Sessions: sessions, AWS: access, Logger: logger})
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	defer creds.Close()
	m := metrics.New()
	st, notifier, err := openStore(ctx, c.dataDir, c.databaseURL, logger)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := server.New(ctx, server.Config{
		DataDir:   c.dataDir,
		BundleDir: c.bundleDir,
		Region:    c.region,
		AccountID: c.accountID,
		Workers:   c.workers,
		Engines: engines(engineConfig{cancelGrace: c.cancelGrace, endpoint: endpoint, region: runRegion,
			awsEndpoint: c.aws.EndpointURL, credentials: creds, secrets: resolver, isolation: isolation, supervisor: supervisor, aws: c.aws, dataDir: c.dataDir,
			handOff: c.handOff.handOff()}),
		Owner:       newOwnerID(),
		Logger:      logger,
		Store:       st,
		SharedStore: c.databaseURL != "",
		Notifier:    notifier,
		Lease:       c.lease,
		Auth:        authn,
		Database:    c.database(),
		Isolation:   isoStatus,
		Metrics:     m,
		// --metrics-listen none serves them nowhere; an address, only there.
		MetricsElsewhere:  c.metricsListen != "",
		LogRetentionAge:   c.logRetentionAgeD,
		LogRetentionBytes: c.logRetentionBytes,
		AllowAPICommands:  c.allowAPICommands,
		SyncGit:           syncGit{&gitrepo.Mirrors{Remotes: c.handOff.remotes}},
		SyncInterval:      c.sync.interval,
		SyncWebhookSecret: c.sync.secret,
	})
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()

	abs, _ := filepath.Abs(c.dataDir)
	absBundles, _ := filepath.Abs(c.bundleDir)
	if c.auth == "none" {
		logger.Warn("authentication is off (--auth none): any access key and signature is accepted; use this only on a trusted machine")
		fmt.Fprintf(os.Stderr, "\n  !!! AUTHENTICATION IS OFF (--auth none): ANYONE WHO CAN REACH %s MAY CALL EVERY OPERATION !!!\n\n", endpoint)
	}
	database := "SQLite: " + filepath.Join(abs, server.DatabaseFile)
	if c.databaseURL != "" {
		database = "database: PostgreSQL " + redactURL(c.databaseURL)
	}
	fmt.Fprintf(os.Stderr, "hadron %s listening on %s\n  data:    %s (%s)\n  bundles: %s (source s3 {bucket, key} is read from %s/<bucket>/<key>)\n  try:     %s\n  status:  hadron status --endpoint-url %s\n",
		version, endpoint, abs, database, absBundles, absBundles, tryCommand(endpoint, c.region, c.auth), endpoint)
	if hint := installHint(); hint != "" {
		fmt.Fprint(os.Stderr, hint)
	}

	// Bounds on clients that have not completed (so not authenticated) a
	// request: read deadlines, and at most maxPending such connections.
	guard := &connguard.Guard{Max: c.maxPending}
	httpSrv := guard.Server(srv)
	httpSrv.RegisterOnShutdown(srv.StopStreams)
	errc := make(chan error, 2)
	go func() { errc <- httpSrv.Serve(guard.Listener(ln)) }()
	if c.metricsListen != "" && c.metricsListen != "none" {
		mln, err := net.Listen("tcp", c.metricsListen)
		if err != nil {
			httpSrv.Close()
			return fmt.Errorf("serve: --metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET "+metrics.Path, m.Handler())
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: connguard.ReadHeaderTimeout}
		go func() { errc <- metricsSrv.Serve(mln) }()
		defer metricsSrv.Close()
		fmt.Fprintf(os.Stderr, "  metrics: http://%s%s\n", mln.Addr(), metrics.Path)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests and stopping running deployments (a second signal exits at once)")
	go func() {
		// A second SIGINT/SIGTERM exits at once; provisioning processes die with us.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		os.Exit(1)
	}()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = httpSrv.Shutdown(shutdownCtx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// authenticator opens the data directory's access keys for --auth sigv4. On
// the first start (no keys file yet) it creates an administrator key and
// prints it, once, as the lines that configure the AWS CLI with it.
func (c *serveCommand) authenticator(logger *slog.Logger, sessions *auth.Sessions) (*auth.Authenticator, error) {
	st := &auth.Store{Dir: c.keysDir}
	nk, created, err := st.CreateFirst("administrator, created by hadron serve on first start")
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if created {
		if err := c.announceFirstKey(nk.AccessKeyID, nk.SecretAccessKey); err != nil {
			return nil, err
		}
	}
	keys, err := auth.OpenKeyring(c.keysDir, logger)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if keys.Len() == 0 {
		logger.Warn("no enabled access keys: every call will be refused until one is created (hadron keys create --data-dir " + c.keysDir + ")")
	}
	logger.Info("authentication: SigV4", "keys", keys.Len(), "throttle_rate", c.rate, "throttle_burst", c.burst, "signing_regions", cmp.Or(strings.Join(c.regions, ","), "any"))
	return auth.New(auth.Config{Keys: keys, Sessions: sessions, Regions: c.regions, Rate: c.rate, Burst: c.burst, Logger: logger, Account: c.accountID}), nil
}

// cliProfile is the AWS CLI profile the first-start lines configure.
const cliProfile = "hadron"

// AdminKeyFile, in the keys directory, holds the first administrator key
// when the server's standard error is not a terminal.
const AdminKeyFile = "admin-key.txt"

// announceFirstKey hands the administrator key created at first start to the
// operator: on a terminal it is printed; otherwise (a log file, a journal,
// a CI capture, which keep it for anyone who reads them) it is written to
// a file only the server's user can read, and only that file's path is
// printed.
func (c *serveCommand) announceFirstKey(id, secret string) error {
	abs, _ := filepath.Abs(c.keysDir)
	// A profile of its own: the default profile of a Proton user holds real
	// AWS credentials, which these lines must not overwrite.
	lines := fmt.Sprintf(`  aws configure set aws_access_key_id %s --profile %s
  aws configure set aws_secret_access_key %s --profile %s
  aws configure set region %s --profile %s
`, id, cliProfile, secret, cliProfile, c.region, cliProfile)
	more := fmt.Sprintf("More keys, with policies: hadron keys create --data-dir %s --allow 'proton:Get*' ...\n", c.keysDir)
	if isTerminal(os.Stderr) {
		fmt.Fprintf(os.Stderr, "hadron: created an administrator access key. Its secret is shown only now (it is stored\nencrypted in %s). Configure the AWS CLI with it:\n\n%s\n%s\n", filepath.Join(abs, auth.KeysFile), lines, more)
		return nil
	}
	path := filepath.Join(abs, AdminKeyFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = f.Chmod(0o600) // a file left from an earlier data directory
		if _, werr := fmt.Fprintf(f, "# The administrator access key hadron serve created on its first start.\n# Configure the AWS CLI with it, then delete this file.\n%s", lines); err == nil {
			err = werr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("serve: write the administrator key: %w", err)
	}
	fmt.Fprintf(os.Stderr, "hadron: created an administrator access key. Standard error is not a terminal, so its secret\nis not shown: it is in %s (readable by this user only). Configure the AWS\nCLI with the lines in it, then delete the file.\n%s\n", path, more)
	return nil
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// findSupervisor applies --supervisor: the standalone supervisor named, or
// the one installed beside this binary, or nil (this binary re-executed).
func (c *serveCommand) findSupervisor(logger *slog.Logger) (*codebuild.Supervisor, error) {
	if c.supervisor != "" {
		s, err := codebuild.OpenSupervisor(c.supervisor)
		if err != nil {
			return nil, fmt.Errorf("serve: --supervisor: %w", err)
		}
		logger.Info("provisioning runs start under "+s.Path(), "protocol", supervisor.Protocol)
		return s, nil
	}
	s, err := codebuild.FindSupervisor()
	if err != nil {
		return nil, fmt.Errorf("serve: %w (remove it, or install the one built with this server: go install ./cmd/...)", err)
	}
	if s == nil {
		logger.Info("provisioning runs start under a re-exec of this binary: install " + codebuild.SupervisorName + " beside it (go install ./cmd/...) to start each run faster")
		return nil, nil
	}
	logger.Info("provisioning runs start under "+s.Path(), "protocol", supervisor.Protocol)
	return s, nil
}

// isolate applies --isolation: it confines provisioning runs (package
// sandbox) and logs which protections are in force; in strict mode a
// missing one stops the server. It returns the Policy of the runs (nil:
// isolation off).
func (c *serveCommand) isolate(logger *slog.Logger) (*sandbox.Policy, *server.Isolation, error) {
	policy, st, err := sandbox.Setup(c.isolation)
	status := &server.Isolation{Mode: string(st.Mode)}
	for _, m := range st.Mechanisms {
		status.Protections = append(status.Protections, server.Protection{Name: m.Name, On: m.On, Detail: m.Detail})
	}
	status.Protections = append(status.Protections, c.runProtections()...)
	for _, m := range st.Mechanisms {
		if m.On {
			logger.Info("isolation: "+m.Name+" on", "detail", m.Detail)
		} else {
			logger.Warn("isolation: "+m.Name+" OFF", "detail", m.Detail)
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	if policy == nil || policy.UID < 0 {
		// Nobody else needs to pass: the directory is the server's alone.
		if err := os.Chmod(c.dataDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("serve: %w", err)
		}
		return policy, status, nil
	}
	// The run's user must pass through the data directory to its work
	// directory (commands use absolute paths), without listing or reading
	// anything on the way: everything in it is 0600 or 0700.
	work := filepath.Join(c.dataDir, "work")
	if err := os.MkdirAll(work, 0o711); err != nil {
		return nil, nil, fmt.Errorf("serve: %w", err)
	}
	for _, dir := range []string{c.dataDir, work} {
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, nil, fmt.Errorf("serve: %w", err)
		}
	}
	return policy, status, nil
}

// runProtections are the protections of runs that do not depend on the
// machine: supervision, fencing between nodes, and the gate on commands
// supplied through the API.
func (c *serveCommand) runProtections() []server.Protection {
	ps := []server.Protection{{Name: "supervised_runs", On: true,
		Detail: "a supervisor owns each run's processes until the last is gone, and kills them if the server dies"}}
	if c.databaseURL != "" {
		ps = append(ps, server.Protection{Name: "lease_fencing", On: true,
			Detail: "a run is killed by its supervisor before its lease runs out unless this node renews it, so no other node runs the resource meanwhile"})
	}
	gate := server.Protection{Name: "api_commands_refused", On: !c.allowAPICommands,
		Detail: "components whose manifests run commands on this host are refused (--allow-api-commands is off)"}
	if c.allowAPICommands {
		gate.Detail = "components whose manifests run commands on this host are deployed for keys that hold " + auth.ActionRunCommands + " (--allow-api-commands)"
	}
	return append(ps, gate)
}

// database describes the store for the status endpoint.
func (c *serveCommand) database() server.Database {
	if c.databaseURL != "" {
		return server.Database{Kind: "postgresql", Location: redactURL(c.databaseURL)}
	}
	abs, _ := filepath.Abs(filepath.Join(c.dataDir, server.DatabaseFile))
	return server.Database{Kind: "sqlite", Location: abs}
}

// tryCommand is the AWS CLI call the banner suggests. Without
// authentication the AWS CLI must be told not to sign (it refuses to call
// without credentials otherwise); with it, the profile the first start
// configured holds the key.
func tryCommand(endpoint, region, authMode string) string {
	cmd := fmt.Sprintf("aws proton list-environments --endpoint-url %s --region %s", endpoint, region)
	if authMode == "none" {
		return cmd + " --no-sign-request"
	}
	return cmd + " --profile " + cliProfile
}

// installHint tells the user of `go run` how to get a hadron command: the
// banner and the README use one, and go run compiles the whole server again
// (minutes on a small machine) whenever its build cache is cold.
func installHint() string {
	exe, err := os.Executable()
	if err != nil || !strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return ""
	}
	return "  note:    this server runs from go run; the hadron commands above need the binary: go install ./cmd/hadron\n" +
		"           (puts hadron in $(go env GOPATH)/bin; or go build -o bin/hadron ./cmd/hadron and use ./bin/hadron;\n" +
		"           a build with a cold cache takes 2-3 minutes on two cores, later ones seconds)\n"
}

// parseAge reads a duration such as 72h or 30d (days); "0" is no bound.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
			return 0, fmt.Errorf("%q is not a duration such as 30d or 72h", s)
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 30d or 72h", s)
	}
	return d, nil
}

// parseBytes reads a size in bytes with an optional K, M, G or T suffix
// (powers of 1024); "0" is no bound.
func parseBytes(s string) (int64, error) {
	num, mult := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(s), "B"), "I"), int64(1)
	if num != "" {
		if i := strings.IndexByte("KMGT", num[len(num)-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			num = num[:len(num)-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size such as 500M or 2G", s)
	}
	return n * mult, nil
}

// newLogger returns the server's logger: text (key=value) or json lines on w.
func newLogger(w io.Writer, format string, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactURL is a database URL fit for a log: without its password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func newOwnerID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", cmp.Or(host, "hadron"), os.Getpid(), hex.EncodeToString(b[:]))
}

// lockDataDir takes an exclusive lock on the data directory: SQLite is shared by
// no other process, which lets start-up recovery treat every other lease owner as dead.
func lockDataDir(dir string) (func(), error) {
	path := filepath.Join(dir, "hadron.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("serve: lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("serve: data directory %s is in use by another hadron process (%s is locked)", dir, path)
	}
	return func() { f.Close() }, nil
}
