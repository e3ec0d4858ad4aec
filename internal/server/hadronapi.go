package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/deploylog"
	"github.com/hadronhq/hadron/internal/store"
)

// Hadron's own API, beside the Proton API: plain HTTP under HadronAPIPrefix,
// signed with SigV4 for the service "proton" as Proton calls are (so the
// same keys and the same credential chain serve both), authorized through
// the keys' policies, and answered with Proton's error envelope.
const (
	// HadronAPIPrefix is the path every endpoint of Hadron's own API is under.
	HadronAPIPrefix = "/hadron/v1/"
	// DeploymentLogPath is the log of one deployment: GET, text/plain.
	// ?follow=true streams it until the deployment ends; the answer's
	// DeploymentStatusTrailer then says how it ended.
	DeploymentLogPath = HadronAPIPrefix + "deployments/{id}/log"
	// ActionGetDeploymentLog is the action a key's policy must allow to read
	// a deployment's log, on the deployment's resource (the names a Proton
	// call on that resource carries). proton:Get* and * allow it.
	ActionGetDeploymentLog = "proton:GetDeploymentLog"
	// DeploymentStatusTrailer is the trailer of a followed log: the
	// deployment's end status.
	DeploymentStatusTrailer = "X-Hadron-Deployment-Status"
)

// hadronAPI returns the handler of Hadron's own API.
func (s *Server) hadronAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DeploymentLogPath, s.deploymentLog)
	mux.HandleFunc(HadronAPIPrefix, func(w http.ResponseWriter, r *http.Request) {
		// As on the Proton API, an unsigned call learns nothing, not even
		// which endpoints there are.
		start := time.Now()
		if _, err := s.authenticate(r); err != nil {
			s.hadronError(w, r, "", start, err)
			return
		}
		s.hadronError(w, r, "", start, &awsjson.Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: fmt.Sprintf("%s %s is not an endpoint of Hadron's API", r.Method, r.URL.Path)})
	})
	return mux
}

// authenticate verifies the request's signature (its body is empty: these
// are GETs) and returns the caller; nil with --auth none.
func (s *Server) authenticate(r *http.Request) (*auth.Caller, error) {
	if s.auth == nil {
		return nil, nil
	}
	return s.auth.Authenticate(r, nil)
}

// deploymentResources are the resource names a deployment's log is
// authorized on: those a Proton call on its resource would carry.
func deploymentResources(d *store.Deployment) []string {
	var names []string
	switch d.TargetType {
	case store.ResourceEnvironment:
		names = []string{d.EnvironmentName}
	case store.ResourceServiceInstance:
		names = []string{d.ServiceName, d.ServiceInstance}
	case store.ResourceServicePipeline:
		names = []string{d.ServiceName}
	case store.ResourceComponent:
		names = []string{d.ComponentName}
	}
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return []string{auth.AllResources}
	}
	return out
}

// deploymentLog serves GET /hadron/v1/deployments/{id}/log.
func (s *Server) deploymentLog(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	const op = "GetDeploymentLog"
	start := time.Now()
	caller, err := s.authenticate(r)
	if err != nil {
		s.hadronError(w, r, op, start, err)
		return
	}
	follow, err := strconv.ParseBool(r.URL.Query().Get("follow"))
	if r.URL.Query().Get("follow") == "" {
		follow, err = false, nil
	}
	if err != nil {
		s.hadronError(w, r, op, start, &awsjson.Error{Type: "ValidationException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("follow=%q is not true or false", r.URL.Query().Get("follow"))})
		return
	}
	d, err := s.store.DeploymentGet(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		// Whether it exists is told only to a key that may read any log.
		if caller != nil {
			if aerr := caller.Authorize(ActionGetDeploymentLog, []string{auth.AllResources}); aerr != nil {
				s.hadronError(w, r, op, start, aerr)
				return
			}
		}
		s.hadronError(w, r, op, start, &awsjson.Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
			Message: fmt.Sprintf("deployment %s not found", id)})
		return
	}
	if err != nil {
		s.hadronError(w, r, op, start, err)
		return
	}
	if caller != nil {
		if err := caller.Authorize(ActionGetDeploymentLog, deploymentResources(d)); err != nil {
			s.hadronError(w, r, op, start, err)
			return
		}
	}
	path := deploylog.Path(s.dataDir, d.ID)
	if !follow || !store.IsActive(d.Status) {
		f, err := os.Open(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && store.IsActive(d.Status):
			// Queued: no line yet.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set(DeploymentStatusTrailer, d.Status)
			w.WriteHeader(http.StatusOK)
			return
		case errors.Is(err, os.ErrNotExist):
			s.hadronError(w, r, op, start, &awsjson.Error{Type: "ResourceNotFoundException", Status: http.StatusBadRequest,
				Message: fmt.Sprintf("deployment %s (%s) has no log: it never ran (cancelled while queued), its log was removed by log retention, or it ran on another node whose data directory this one does not share", d.ID, d.Status)})
			return
		case err != nil:
			s.hadronError(w, r, op, start, fmt.Errorf("open deployment log: %w", err))
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set(DeploymentStatusTrailer, d.Status)
		io.Copy(w, f)
		s.metrics.APIRequest(op, "", time.Since(start))
		return
	}
	// Followed: the status comes at the end, as a trailer. A follow is
	// counted in the metrics, not timed: it lasts as long as the deployment.
	s.metrics.APIRequest(op, "", 0)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Trailer", DeploymentStatusTrailer)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	// A follow outlives the server's read and write deadlines by design (a
	// read deadline would end it through the connection's background read).
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	// It ends with the deployment, or when the server stops serving.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()
	lastCheck := time.Time{}
	status, err := deploylog.Follow(ctx, path, w, func() { rc.Flush() }, s.logPoll,
		func(ctx context.Context) (string, bool, error) {
			// The store is asked at most every second per follower.
			if time.Since(lastCheck) < time.Second {
				return "", false, nil
			}
			lastCheck = time.Now()
			cur, err := s.store.DeploymentGet(ctx, d.ID)
			if err != nil {
				return "", false, err
			}
			return cur.Status, !store.IsActive(cur.Status), nil
		})
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Warn("follow deployment log", "deployment", d.ID, "err", err)
		}
		return
	}
	w.Header().Set(DeploymentStatusTrailer, status)
}

// hadronError answers err in Proton's error envelope (the one mapping of
// domain errors to wire errors, mapError), and records the call as the
// Proton API's are: in the metrics and, failed, in the log.
// start is when the call arrived.
func (s *Server) hadronError(w http.ResponseWriter, r *http.Request, op string, start time.Time, err error) {
	e := s.http.ToError(err)
	reqID := awsjson.WriteError(w, e)
	s.observe(r, awsjson.Call{Operation: op, RequestID: reqID, Status: e.Status, ErrorType: e.Type, ErrorMessage: e.Message, Duration: time.Since(start)})
}
