package httpserver

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Pinger is the store, as readiness sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Parts are the handlers mounted on the server; a nil part is not served
// (`worker --listen` serves health and metrics only).
type Parts struct {
	// API serves /api/ (the REST API under /api/v1/).
	API http.Handler
	// Web serves everything else: the dashboard, its login page and assets.
	Web http.Handler
	// Metrics serves GET /metrics (Prometheus).
	Metrics http.Handler
	// Store answers readiness (GET /readyz).
	Store Pinger
}

// ReadyTimeout bounds the readiness check's query.
const ReadyTimeout = 2 * time.Second

// Handler is the whole HTTP surface: /healthz (the process answers),
// /readyz (the store answers too), /metrics, /api/ and the dashboard.
// Only /healthz, /readyz and /metrics need no login; the API and the
// dashboard authenticate their own routes.
func Handler(p Parts, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "Healthy", "")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if p.Store == nil {
			writeStatus(w, http.StatusOK, "Ready", "")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
		defer cancel()
		if err := p.Store.Ping(ctx); err != nil {
			log.Warn("not ready: the database does not answer", "err", err)
			writeStatus(w, http.StatusServiceUnavailable, "NotReady", "the database does not answer")
			return
		}
		writeStatus(w, http.StatusOK, "Ready", "")
	})
	if p.Metrics != nil {
		mux.Handle("GET /metrics", p.Metrics)
	}
	if p.API != nil {
		mux.Handle("/api/", p.API)
	}
	if p.Web != nil {
		mux.Handle("/", p.Web)
	}
	return logRequests(log, secure(mux))
}

func writeStatus(w http.ResponseWriter, code int, status, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	v := struct {
		Status string `json:"Status"`
		Reason string `json:"Reason,omitempty"`
	}{status, reason}
	_ = json.NewEncoder(w).Encode(v)
}
