// Package metrics holds Hadron's Prometheus series and serves them. The
// packages that do the work know nothing of Prometheus: each declares the
// small observer it needs (engine.Observer, a func in awsjson and sqlstore),
// and a *Metrics satisfies them all.
//
// Label values come from closed sets only (operation names of the model,
// error types, resource kinds, engine names, statuses), never from names a
// caller chose, so the number of series stays bounded.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the series are served.
const Path = "/metrics"

// CodeOK is the code label of a call that succeeded.
const CodeOK = "OK"

// UnknownOperation is the operation label of a call whose target names no
// operation of the model.
const UnknownOperation = "unknown"

// NoEngine is the engine label of a deployment that never reached an
// engine (cancelled while queued, or whose plan was unreadable).
const NoEngine = "none"

// Buckets of the histograms, in seconds.
var (
	// apiBuckets spans a cached read (a millisecond) to a slow write under
	// load (ten seconds).
	apiBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// deploymentBuckets spans a customer-managed deployment (ten
	// milliseconds) to a long CloudFormation or Terraform run (two hours).
	deploymentBuckets = []float64{.01, .1, .5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200}
	// cancelBuckets spans an in-process cancel (a millisecond) to a run
	// that ignores SIGTERM and a CloudFormation rollback (ten minutes).
	cancelBuckets = []float64{.001, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300, 600}
	// storeBuckets spans a transaction on SQLite (a hundred microseconds)
	// to one waiting for a PostgreSQL lock (five seconds).
	storeBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
)

// Metrics is the set of Hadron's series. Its methods are safe for
// concurrent use; a nil *Metrics is not usable (make one with New).
type Metrics struct {
	reg *prometheus.Registry

	apiRequests  *prometheus.CounterVec
	apiDuration  *prometheus.HistogramVec
	throttled    *prometheus.CounterVec
	started      *prometheus.CounterVec
	finished     *prometheus.CounterVec
	queueWait    *prometheus.HistogramVec
	runDuration  *prometheus.HistogramVec
	cancels      *prometheus.CounterVec
	cancelToEnd  *prometheus.HistogramVec
	storeTx      *prometheus.HistogramVec
	runningGauge prometheus.GaugeFunc
	running      func() int
}

// New returns the series, registered with a registry of their own together
// with the Go runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hadron_api_requests_total",
		Help: "Proton API calls answered, by operation and code (OK, or the error type sent).",
	}, []string{"operation", "code"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hadron_api_request_duration_seconds",
		Help:    "Time to answer a Proton API call, from its arrival to its answer, by operation and code.",
		Buckets: apiBuckets,
	}, []string{"operation", "code"})
	m.throttled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hadron_api_throttled_requests_total",
		Help: "Proton API calls refused with ThrottlingException (their key was over its rate), by operation.",
	}, []string{"operation"})
	m.started = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hadron_deployments_started_total",
		Help: "Deployments a worker of this process began to run, by resource kind and engine.",
	}, []string{"kind", "engine"})
	m.finished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hadron_deployments_finished_total",
		Help: "Deployments this process ended, by resource kind, engine and end state.",
	}, []string{"kind", "engine", "status"})
	m.queueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hadron_deployment_queue_wait_seconds",
		Help:    "Time from a deployment's creation to a worker starting it, by resource kind and engine.",
		Buckets: deploymentBuckets,
	}, []string{"kind", "engine"})
	m.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hadron_deployment_run_duration_seconds",
		Help:    "Time from a worker starting a deployment to its end, by resource kind, engine and end state.",
		Buckets: deploymentBuckets,
	}, []string{"kind", "engine", "status"})
	m.cancels = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hadron_deployment_cancels_total",
		Help: "Cancelled deployments that ended, by resource kind and end state (CANCELLED; FAILED when the run could not be stopped; SUCCEEDED when it finished first).",
	}, []string{"kind", "status"})
	m.cancelToEnd = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hadron_deployment_cancel_to_end_seconds",
		Help:    "Time from a cancel reaching the deployment's node to the deployment's end, by resource kind and end state (0 for a deployment cancelled while queued).",
		Buckets: cancelBuckets,
	}, []string{"kind", "status"})
	m.storeTx = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hadron_store_transaction_duration_seconds",
		Help:    "Time of a store write transaction, retries included, by result: commit, or rollback (a conditional write that lost, a conflict, or a database error).",
		Buckets: storeBuckets,
	}, []string{"result"})
	m.runningGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hadron_deployments_running",
		Help: "Deployments this process's workers are running now.",
	}, func() float64 {
		if m.running == nil {
			return 0
		}
		return float64(m.running())
	})
	m.reg.MustRegister(m.apiRequests, m.apiDuration, m.throttled, m.started, m.finished, m.queueWait,
		m.runDuration, m.cancels, m.cancelToEnd, m.storeTx, m.runningGauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the series in Prometheus's text format (or OpenMetrics,
// when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}

// Registry is the registry the series are in (for tests, and for more
// collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetRunning names the function that counts the deployments running now.
// Call it before serving.
func (m *Metrics) SetRunning(count func() int) { m.running = count }

// APIRequest records one answered call. operation is "" when the target
// named no operation of the model; code is "" for a success.
func (m *Metrics) APIRequest(operation, code string, took time.Duration) {
	if operation == "" {
		operation = UnknownOperation
	}
	if code == "" {
		code = CodeOK
	}
	m.apiRequests.WithLabelValues(operation, code).Inc()
	m.apiDuration.WithLabelValues(operation, code).Observe(took.Seconds())
	if code == "ThrottlingException" {
		m.throttled.WithLabelValues(operation).Inc()
	}
}

// DeploymentStarted records a worker starting a deployment that waited
// queued for queued.
func (m *Metrics) DeploymentStarted(kind, engine string, queued time.Duration) {
	engine = engineLabel(engine)
	m.started.WithLabelValues(kind, engine).Inc()
	m.queueWait.WithLabelValues(kind, engine).Observe(max(queued, 0).Seconds())
}

// DeploymentEnded records a deployment reaching its end state status. ran
// is how long its run took here, negative when it did not run here (it was
// recovered from a lost worker, or cancelled while queued).
func (m *Metrics) DeploymentEnded(kind, engine, status string, ran time.Duration) {
	engine = engineLabel(engine)
	m.finished.WithLabelValues(kind, engine, status).Inc()
	if ran >= 0 {
		m.runDuration.WithLabelValues(kind, engine, status).Observe(ran.Seconds())
	}
}

// CancelEnded records a cancelled deployment reaching its end state status,
// sinceCancel after the cancel reached it.
func (m *Metrics) CancelEnded(kind, status string, sinceCancel time.Duration) {
	m.cancels.WithLabelValues(kind, status).Inc()
	m.cancelToEnd.WithLabelValues(kind, status).Observe(max(sinceCancel, 0).Seconds())
}

// StoreTransaction records one store write transaction.
func (m *Metrics) StoreTransaction(took time.Duration, err error) {
	result := "commit"
	if err != nil {
		result = "rollback"
	}
	m.storeTx.WithLabelValues(result).Observe(took.Seconds())
}

func engineLabel(engine string) string {
	if engine == "" {
		return NoEngine
	}
	return engine
}
