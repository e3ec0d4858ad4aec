package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
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
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/runcreds"
	"github.com/hadronhq/hadron/internal/secrets"
	"github.com/hadronhq/hadron/internal/server"
	"golang.org/x/sys/unix"
)

// Defaults of hadron serve.
const (
	DefaultListen      = "127.0.0.1:8787"
	DefaultDataDir     = "hadron-data"
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
	DefaultCancelGrace = 10 * time.Second
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
	databaseURL string
	lease       time.Duration
	rate        float64
	burst       int
	regions     []string
	keysDir     string
	isolation   sandbox.Config
	maxPending  int
	// allowAPICommands lets components with host-run commands be deployed
	// by keys that hold auth.ActionRunCommands.
	allowAPICommands bool
	// aws is how Hadron reaches AWS for its own work (CloudFormation
	// stacks, roles assumed for runs, secrets); unset: no AWS access.
	aws awsaccess.Config
}

// ParseFlags reads flags, each defaulting to its HADRON_* environment variable.
func (c *serveCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("hadron serve", flag.ContinueOnError)
	env := func(name, def string) string { return cmp.Or(os.Getenv(name), def) }
	fs.StringVar(&c.listen, "listen", env("HADRON_LISTEN", DefaultListen), "address to listen on (HADRON_LISTEN)")
	fs.StringVar(&c.dataDir, "data-dir", env("HADRON_DATA_DIR", DefaultDataDir), "directory for the database, logs and work directories (HADRON_DATA_DIR)")
	fs.StringVar(&c.bundleDir, "bundle-dir", env("HADRON_BUNDLE_DIR", ""), "template bundles: source s3 {bucket, key} is read from DIR/bucket/key (HADRON_BUNDLE_DIR; default DATA_DIR/bundles)")
	fs.StringVar(&c.region, "region", env("HADRON_REGION", DefaultRegion), "region in ARNs (HADRON_REGION)")
	fs.StringVar(&c.accountID, "account-id", env("HADRON_ACCOUNT_ID", DefaultAccountID), "12-digit account id in ARNs (HADRON_ACCOUNT_ID)")
	fs.StringVar(&c.auth, "auth", env("HADRON_AUTH", DefaultAuth), "request authentication: sigv4 verifies every call against the access keys of the data directory (hadron keys); none accepts anyone, for local development only (HADRON_AUTH)")
	rate := env("HADRON_THROTTLE_RATE", strconv.Itoa(auth.DefaultRate))
	fs.Func("throttle-rate", "requests per second each access key may make, sustained; over it calls get ThrottlingException, which the SDKs retry; 0 turns throttling off (HADRON_THROTTLE_RATE; default "+strconv.Itoa(auth.DefaultRate)+"; --auth sigv4 only)", func(s string) error {
		rate = s
		return nil
	})
	burst := env("HADRON_THROTTLE_BURST", strconv.Itoa(auth.DefaultBurst))
	fs.Func("throttle-burst", "requests each access key may make at once above the rate (HADRON_THROTTLE_BURST; default "+strconv.Itoa(auth.DefaultBurst)+")", func(s string) error {
		burst = s
		return nil
	})
	fs.StringVar(&c.keysDir, "keys-dir", env("HADRON_KEYS_DIR", ""), "directory of the access keys (keys.json, keys.master); nodes sharing a PostgreSQL database should share one (HADRON_KEYS_DIR; default the data directory)")
	regions := env("HADRON_SIGNING_REGIONS", "")
	fs.Func("signing-regions", "comma-separated regions a signature may be scoped to (HADRON_SIGNING_REGIONS; default any)", func(s string) error {
		regions = s
		return nil
	})
	grace := env("HADRON_CANCEL_GRACE", DefaultCancelGrace.String())
	fs.Func("cancel-grace", "SIGTERM to SIGKILL grace period for provisioning commands on cancel, e.g. 10s (HADRON_CANCEL_GRACE; default "+DefaultCancelGrace.String()+")", func(s string) error {
		grace = s
		return nil
	})
	workers := env("HADRON_WORKERS", "4")
	fs.Func("workers", "deployments run at once (HADRON_WORKERS; default 4)", func(s string) error {
		workers = s
		return nil
	})
	fs.StringVar(&c.databaseURL, "database-url", env("HADRON_DATABASE_URL", ""), "PostgreSQL database shared by several hadron processes, postgres://user:password@host:port/db (HADRON_DATABASE_URL; default the SQLite file in the data directory)")
	lease := env("HADRON_LEASE", engine.DefaultLease.String())
	fs.Func("lease", "how long a running deployment's lease lasts without renewal: after a node dies, its deployments are finished by another within about this time (HADRON_LEASE; default "+engine.DefaultLease.String()+")", func(s string) error {
		lease = s
		return nil
	})
	isolation := env("HADRON_ISOLATION", string(sandbox.BestEffort))
	fs.Func("isolation", "how provisioning commands are confined: strict refuses to start unless every protection is in force, best-effort uses what this machine permits and says what is missing, off runs them with the server's own reach (HADRON_ISOLATION; default best-effort)", func(s string) error {
		isolation = s
		return nil
	})
	fs.StringVar(&c.isolation.RunAs, "run-as", env("HADRON_RUN_AS", ""), "user provisioning commands run as when the server runs as root; it must exist (HADRON_RUN_AS; default "+sandbox.DefaultRunAs+" if it exists, else the server's user without its capabilities, with a warning; --isolation strict requires a user)")
	readable := env("HADRON_RUN_READABLE", "")
	fs.Func("run-readable", "more directories provisioning commands may read and execute from, colon-separated (tools installed outside /usr, /opt and PATH, such as a pyenv root whose shims are on PATH); repeatable (HADRON_RUN_READABLE)", func(s string) error {
		readable = strings.Trim(readable+":"+s, ":")
		return nil
	})
	limits := env("HADRON_RUN_LIMITS", "")
	fs.Func("run-limits", "rlimits of each provisioning run, comma-separated: nofile=N, nproc=N (per run-as user), fsize=BYTES, as=BYTES, cpu=SECONDS (HADRON_RUN_LIMITS; defaults nofile="+strconv.Itoa(sandbox.DefaultOpenFiles)+",nproc="+strconv.Itoa(sandbox.DefaultProcesses)+",fsize=8G, no memory or CPU limit)", func(s string) error {
		limits = s
		return nil
	})
	allowAPI, err := strconv.ParseBool(env("HADRON_ALLOW_API_COMMANDS", "false"))
	if err != nil {
		return fmt.Errorf("serve: HADRON_ALLOW_API_COMMANDS: %w", err)
	}
	fs.BoolVar(&c.allowAPICommands, "allow-api-commands", allowAPI, "run commands supplied through the API: components whose manifest uses the CodeBuild or Terraform engine, whose commands run on this host; only for keys allowed "+auth.ActionRunCommands+" (or *) (HADRON_ALLOW_API_COMMANDS; default false: such components are refused)")
	maxPending := env("HADRON_MAX_PENDING_CONNECTIONS", strconv.Itoa(connguard.DefaultMaxPending))
	fs.Func("max-pending-connections", "connections held at once for clients that have not completed a request; past it the oldest is closed (HADRON_MAX_PENDING_CONNECTIONS; default "+strconv.Itoa(connguard.DefaultMaxPending)+")", func(s string) error {
		maxPending = s
		return nil
	})
	fs.StringVar(&c.aws.Region, "aws-region", env("HADRON_AWS_REGION", ""), "region of Hadron's own AWS calls (CloudFormation stacks, roles assumed for runs, secrets), with the server's default AWS credential chain; unset (and no --aws-endpoint-url): Hadron makes no AWS calls (HADRON_AWS_REGION)")
	fs.StringVar(&c.aws.EndpointURL, "aws-endpoint-url", env("HADRON_AWS_ENDPOINT_URL", ""), "endpoint of every AWS service Hadron calls, for a private endpoint or a local stand-in (HADRON_AWS_ENDPOINT_URL)")
	fs.StringVar(&c.logLevel, "log-level", env("HADRON_LOG_LEVEL", "info"), "debug, info, warn or error (HADRON_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if c.cancelGrace, err = time.ParseDuration(grace); err != nil || c.cancelGrace < 0 {
		return fmt.Errorf("serve: --cancel-grace %q is not a duration such as 10s", grace)
	}
	if c.workers, err = strconv.Atoi(workers); err != nil || c.workers < 1 {
		return fmt.Errorf("serve: --workers %q is not a positive number", workers)
	}
	// Renewal every third of the lease must be able to keep up.
	if c.lease, err = time.ParseDuration(lease); err != nil || c.lease < 300*time.Millisecond {
		return fmt.Errorf("serve: --lease %q is not a duration of at least 300ms such as 30s", lease)
	}
	if c.databaseURL != "" && !strings.HasPrefix(c.databaseURL, "postgres://") && !strings.HasPrefix(c.databaseURL, "postgresql://") {
		return fmt.Errorf("serve: --database-url must be a postgres:// URL")
	}
	if c.auth != "sigv4" && c.auth != "none" {
		return fmt.Errorf("serve: --auth %q: the modes are sigv4 (verify signatures) and none (accept anyone)", c.auth)
	}
	if c.rate, err = strconv.ParseFloat(rate, 64); err != nil || c.rate < 0 || math.IsInf(c.rate, 0) || math.IsNaN(c.rate) {
		return fmt.Errorf("serve: --throttle-rate %q is not a number of requests per second (0 for no throttling)", rate)
	}
	if c.burst, err = strconv.Atoi(burst); err != nil || c.burst < 1 {
		return fmt.Errorf("serve: --throttle-burst %q is not a positive number", burst)
	}
	for r := range strings.SplitSeq(regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.regions = append(c.regions, r)
		}
	}
	if len(c.accountID) != 12 || strings.Trim(c.accountID, "0123456789") != "" {
		return fmt.Errorf("serve: --account-id %q must be 12 digits", c.accountID)
	}
	if c.bundleDir == "" {
		c.bundleDir = filepath.Join(c.dataDir, "bundles")
	}
	c.keysDir = cmp.Or(c.keysDir, c.dataDir)
	if c.maxPending, err = strconv.Atoi(maxPending); err != nil || c.maxPending < 1 {
		return fmt.Errorf("serve: --max-pending-connections %q is not a positive number", maxPending)
	}
	if c.isolation.Mode, err = sandbox.ParseMode(isolation); err != nil {
		return fmt.Errorf("serve: --%w", err)
	}
	if c.isolation.Limits, err = sandbox.ParseLimits(limits); err != nil {
		return fmt.Errorf("serve: --run-limits: %w", err)
	}
	c.isolation.Protect = []string{c.dataDir, c.keysDir, c.bundleDir}
	for _, d := range filepath.SplitList(readable) {
		if d != "" {
			c.isolation.ReadOnly = append(c.isolation.ReadOnly, d)
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
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	for _, dir := range []string{c.dataDir, c.bundleDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	isolation, err := c.isolate(logger)
	if err != nil {
		return err
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
			awsEndpoint: c.aws.EndpointURL, credentials: creds, secrets: resolver, isolation: isolation, aws: c.aws, dataDir: c.dataDir}),
		Owner:       newOwnerID(),
		Logger:      logger,
		Store:       st,
		SharedStore: c.databaseURL != "",
		Notifier:    notifier,
		Lease:       c.lease,
		Auth:        authn,

		AllowAPICommands: c.allowAPICommands,
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
	fmt.Fprintf(os.Stderr, "hadron %s listening on %s\n  data:    %s (%s)\n  bundles: %s (source s3 {bucket, key} is read from %s/<bucket>/<key>)\n  try:     aws proton list-environments --endpoint-url %s --region %s\n",
		version, endpoint, abs, database, absBundles, absBundles, endpoint, c.region)

	// Bounds on clients that have not completed (so not authenticated) a
	// request: read deadlines, and at most maxPending such connections.
	guard := &connguard.Guard{Max: c.maxPending}
	httpSrv := guard.Server(srv)
	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(guard.Listener(ln)) }()
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
	return auth.New(auth.Config{Keys: keys, Sessions: sessions, Regions: c.regions, Rate: c.rate, Burst: c.burst}), nil
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

// isolate applies --isolation: it confines provisioning runs (package
// sandbox) and logs which protections are in force; in strict mode a
// missing one stops the server. It returns the Policy of the runs (nil:
// isolation off).
func (c *serveCommand) isolate(logger *slog.Logger) (*sandbox.Policy, error) {
	policy, st, err := sandbox.Setup(c.isolation)
	for _, m := range st.Mechanisms {
		if m.On {
			logger.Info("isolation: "+m.Name+" on", "detail", m.Detail)
		} else {
			logger.Warn("isolation: "+m.Name+" OFF", "detail", m.Detail)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if policy == nil || policy.UID < 0 {
		// Nobody else needs to pass: the directory is the server's alone.
		if err := os.Chmod(c.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
		return policy, nil
	}
	// The run's user must pass through the data directory to its work
	// directory (commands use absolute paths), without listing or reading
	// anything on the way: everything in it is 0600 or 0700.
	work := filepath.Join(c.dataDir, "work")
	if err := os.MkdirAll(work, 0o711); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	for _, dir := range []string{c.dataDir, work} {
		if err := os.Chmod(dir, 0o711); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	return policy, nil
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
