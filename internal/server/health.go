package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/hadronhq/hadron/internal/buildinfo"
	"github.com/hadronhq/hadron/internal/metrics"
)

// The operational endpoints: plain GETs beside the Proton API, which is only
// ever POST /, so neither can be mistaken for the other. They are not signed,
// so they say nothing beyond up, ready, which build, and counts by
// operation, kind, engine and status (metrics.Path; no resource names).
const (
	// HealthPath answers 200 while the process serves HTTP (liveness).
	HealthPath = "/healthz"
	// ReadyPath answers 200 when the store answers a cheap query within
	// ReadyTimeout, 503 otherwise (readiness: take the node out of a load
	// balancer while its database is unreachable).
	ReadyPath = "/readyz"
	// VersionPath answers the build as JSON (buildinfo.Info).
	VersionPath = "/version"
	// VersionHeader names the build on every response.
	VersionHeader = "X-Hadron-Version"
)

// ReadyTimeout bounds the store query behind ReadyPath.
const ReadyTimeout = 2 * time.Second

// operational returns the handler of an operational path, nil for others.
func (s *Server) operational(path string) http.HandlerFunc {
	switch path {
	case HealthPath:
		return func(w http.ResponseWriter, r *http.Request) { writeStatus(w, http.StatusOK, "ok") }
	case ReadyPath:
		return s.ready
	case metrics.Path:
		if s.metricsHere {
			return s.metrics.Handler().ServeHTTP
		}
	case VersionPath:
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(buildinfo.Read())
		}
	}
	return nil
}

// ready reads the account settings (one small row set) as the cheapest query
// every store answers.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	if _, err := s.store.SettingsGet(ctx); err != nil {
		s.logger.Warn("readiness check: the store does not answer", "err", err)
		writeStatus(w, http.StatusServiceUnavailable, "not ready: the store does not answer: "+err.Error())
		return
	}
	writeStatus(w, http.StatusOK, "ready")
}

func writeStatus(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(text + "\n"))
}
