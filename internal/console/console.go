// Package console is Hadron's web console: server-rendered HTML pages
// (html/template, assets embedded) at /console/ on the API's address, with a
// small plain script for following a log and confirming a cancel.
//
// Every read and action goes through the Proton operations of package proton
// by the same path as an API call: the input is encoded as the call's JSON
// body, authorized by the signed-in access key's policy (auth.Authenticator.AuthorizeKey, the
// decision the API makes after the signature), decoded and validated by
// package api, and handed to the proton.API method of the operation. So the
// console shows and does exactly what the key's API calls could, and the
// console and the API cannot disagree. The few reads the API has no
// operation for (search by name, status and template; who started a
// deployment) are proton.API methods too, and are authorized as the
// operation they extend; so is the one action, the cancel of the deployment
// a page showed (proton.API.CancelDeploymentIfActive, authorized as the
// resource's Cancel*Deployment operation), which never cancels a newer
// deployment of the same resource. The calls' context names the signed-in
// key as the starter of any deployment they create (proton.WithStartedBy).
//
// Sign-in takes an access key id and its secret; a session cookie (HttpOnly,
// SameSite=Strict, Secure on TLS, expiring) follows, and every
// state-changing request must carry the session's CSRF token. Sessions are
// kept in a SessionStore (the server's database: they survive restarts and
// hold on every node), by the hash of their id; a session whose key is
// disabled or deleted ends, with every other session of the key, at its
// next request. With
// authentication off (hadron serve --auth none) there is no sign-in, a
// banner says so, and the CSRF token is still required.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/proton"
)

// Prefix is the path the console is served under.
const Prefix = "/console/"

//go:embed assets
var assets embed.FS

// Config configures a Console.
type Config struct {
	// API is the Proton operations every page reads and acts through.
	API *proton.API
	// Auth checks sign-ins and authorizes each call; nil is --auth none
	// (no sign-in, everything allowed, a banner says so).
	Auth *auth.Authenticator
	// Logs reads deployments' logs.
	Logs LogSource
	// Sessions keeps the sign-ins; nil keeps them in this process's memory
	// (MemorySessions). The server hands it the database's.
	Sessions SessionStore
	// SessionTTL is how long a sign-in lasts (default DefaultSessionTTL).
	SessionTTL time.Duration
	Logger     *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Console is an http.Handler serving the pages under Prefix.
type Console struct {
	cfg      Config
	ops      map[string]func(context.Context, []byte) (any, error)
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New returns the console of cfg.API.
func New(cfg Config) *Console {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Sessions == nil {
		cfg.Sessions = &MemorySessions{}
	}
	logger := cfg.Logger
	c := &Console{cfg: cfg, ops: map[string]func(context.Context, []byte) (any, error){},
		sessions: newSessions(cfg.Sessions, cfg.SessionTTL, cfg.Now, func(what string, err error) {
			logger.Error("console sessions", "what", what, "err", err)
		})}
	api.Bind(cfg.API, func(op string, h func(context.Context, []byte) (any, error)) { c.ops[op] = h })
	c.pages = parsePages()
	c.routes()
	return c
}

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	m.Handle("GET /console/static/", http.StripPrefix("/console/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /console/signin", c.signInPage)
	m.HandleFunc("POST /console/signin", c.signIn)
	m.HandleFunc("POST /console/signout", c.signOut)
	page := func(pattern string, h func(*request) error) { m.Handle(pattern, c.page(h)) }
	page("GET /console/{$}", func(q *request) error {
		http.Redirect(q.w, q.r, Prefix+"environments", http.StatusSeeOther)
		return nil
	})
	page("GET /console/environments", c.environments)
	page("GET /console/environments/{name}", c.environment)
	page("GET /console/services", c.services)
	page("GET /console/services/{name}", c.service)
	page("GET /console/services/{service}/instances/{name}", c.instance)
	page("GET /console/services/{service}/pipeline", c.pipeline)
	page("GET /console/components", c.components)
	page("GET /console/components/{name}", c.component)
	page("GET /console/templates", c.templates)
	page("GET /console/templates/{kind}/{name}", c.template)
	page("GET /console/deployments", c.deployments)
	page("GET /console/deployments/{id}", c.deployment)
	page("GET /console/deployments/{id}/log", c.deploymentLog)
	page("POST /console/deployments/{id}/cancel", c.cancel)
	c.mux = m
}

// ServeHTTP serves the console's pages. Its responses are never cached and
// never framed by another site.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	if r.Method == http.MethodPost && !sameOrigin(r) {
		// Besides the CSRF token: a form another site posts (a sign-in into
		// the attacker's key, say) is refused by its Origin.
		http.Error(w, "cross-origin form refused", http.StatusForbidden)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a request's Origin header, when the browser
// sent one, names the host it was sent to.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// request is one page request of a session.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	sess *session
	c    *Console
}

// page wraps a page handler: it finds the session (or sends the browser to
// sign in; with authentication off it starts an anonymous one), checks the
// CSRF token of a POST, and shows the handler's error as a page.
func (c *Console) page(h func(*request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := c.sessions.get(r)
		if sess != nil && c.cfg.Auth != nil {
			if _, ok := c.cfg.Auth.KeyName(sess.keyID); !ok {
				// The key was disabled or deleted since the sign-in: every
				// session of it ends now, on whichever node sees it first.
				if sess.keyID == "" {
					c.sessions.delete(r.Context(), sess.id) // a session from a run with authentication off
				} else {
					c.sessions.deleteKey(r.Context(), sess.keyID)
				}
				clearCookie(w, r)
				sess = nil
			}
		}
		if sess == nil {
			if c.cfg.Auth != nil || r.Method != http.MethodGet {
				if r.Method == http.MethodGet && !strings.HasSuffix(r.URL.Path, "/log") {
					http.Redirect(w, r, Prefix+"signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				http.Error(w, "not signed in", http.StatusUnauthorized)
				return
			}
			var err error
			if sess, err = c.sessions.create(r.Context(), ""); err != nil {
				c.cfg.Logger.Error("console session", "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
			c.sessions.setCookie(w, r, sess)
		}
		if r.Method == http.MethodPost && !csrfOK(r, sess) {
			http.Error(w, "the form's CSRF token is missing or wrong: reload the page and try again", http.StatusForbidden)
			return
		}
		q := &request{w: w, r: r, sess: sess, c: c}
		if err := h(q); err != nil {
			c.fail(q, err)
		}
	})
}

// call makes operation op with input in for the request's key, by the API's
// path: authorize the JSON body, decode and validate it, run the operation.
func call[O any](q *request, op string, in any) (*O, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode %s input: %w", op, err)
	}
	if err := q.c.authorize(q.sess, op, body); err != nil {
		return nil, err
	}
	h, ok := q.c.ops[op]
	if !ok {
		return nil, fmt.Errorf("operation %s is not served", op)
	}
	out, err := h(q.ctx(), body)
	if err != nil {
		return nil, err
	}
	o, ok := out.(*O)
	if !ok {
		return nil, fmt.Errorf("operation %s returned %T", op, out)
	}
	return o, nil
}

// ctx is the context of the request's calls: the signed-in key (or, with
// authentication off, anyone) starts the deployments they create.
func (q *request) ctx() context.Context {
	if q.c.cfg.Auth == nil || q.sess == nil || q.sess.keyID == "" {
		return proton.WithStartedBy(q.r.Context(), proton.Unauthenticated)
	}
	name, _ := q.c.cfg.Auth.KeyName(q.sess.keyID)
	return proton.WithStartedBy(q.r.Context(), proton.Key(q.sess.keyID, name))
}

// authorize asks the key's policy whether op with this input body is
// allowed; with authentication off everything is.
func (c *Console) authorize(sess *session, op string, body []byte) error {
	if c.cfg.Auth == nil {
		return nil
	}
	return c.cfg.Auth.AuthorizeKey(sess.keyID, op, body)
}

// can reports whether the request's key may call op with in (to show or
// hide a button; the server checks again when it is pressed).
func (q *request) can(op string, in any) bool {
	body, err := json.Marshal(in)
	return err == nil && q.c.authorize(q.sess, op, body) == nil
}

// fail shows err as a page: the one place where errors become statuses.
func (c *Console) fail(q *request, err error) {
	var (
		denied *auth.AccessDeniedError
		thr    *auth.ThrottlingError
		perr   *proton.Error
		verr   *api.ValidationError
	)
	status, msg := http.StatusInternalServerError, "Internal error; the server's log says more."
	switch {
	case errors.Is(err, auth.ErrSignIn):
		// The key was disabled or deleted since the sign-in.
		c.sessions.deleteKey(q.r.Context(), q.sess.keyID)
		clearCookie(q.w, q.r)
		if q.r.Method != http.MethodGet || strings.HasSuffix(q.r.URL.Path, "/log") {
			http.Error(q.w, "not signed in", http.StatusUnauthorized)
			return
		}
		http.Redirect(q.w, q.r, Prefix+"signin", http.StatusSeeOther)
		return
	case errors.As(err, &denied):
		status, msg = http.StatusForbidden, "Access denied. "+denied.Error()
	case errors.As(err, &thr):
		status, msg = http.StatusTooManyRequests, "Too many requests for this access key; try again in a moment."
	case errors.As(err, &verr):
		status, msg = http.StatusBadRequest, verr.Message
	case errors.As(err, &perr):
		status, msg = http.StatusBadRequest, perr.Message
		switch perr.Kind {
		case proton.KindNotFound:
			status = http.StatusNotFound
		case proton.KindConflict:
			status = http.StatusConflict
		}
	default:
		c.cfg.Logger.Error("console page failed", "path", q.r.URL.Path, "err", err)
	}
	if strings.HasSuffix(q.r.URL.Path, "/log") {
		http.Error(q.w, msg, status)
		return
	}
	q.render(status, "error", "Error", map[string]any{"Status": status, "Message": msg})
}

// render writes page name with data inside the layout.
func (q *request) render(status int, name, title string, data any) {
	t := q.c.pages[name]
	view := map[string]any{
		"Title": title, "Data": data, "AuthOff": q.c.cfg.Auth == nil, "Nav": navOf(q.r.URL.Path),
	}
	if q.sess != nil {
		view["CSRF"] = q.sess.csrf
		view["KeyID"] = q.sess.keyID
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", view); err != nil {
		q.c.cfg.Logger.Error("console template failed", "page", name, "err", err)
		http.Error(q.w, "internal error", http.StatusInternalServerError)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	fmt.Fprint(q.w, b.String())
}

func navOf(path string) string {
	rest := strings.TrimPrefix(path, Prefix)
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Auth == nil {
		http.Redirect(w, r, Prefix+"environments", http.StatusSeeOther)
		return
	}
	q := &request{w: w, r: r, c: c}
	q.render(http.StatusOK, "signin", "Sign in", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// signIn checks the key and its secret and starts a session. The form is
// not CSRF-protected (there is no session yet); SameSite=Strict and the
// fresh session id (no fixation) keep a forged sign-in harmless.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Auth == nil {
		http.Redirect(w, r, Prefix+"environments", http.StatusSeeOther)
		return
	}
	id, secret := strings.TrimSpace(r.PostFormValue("accessKeyId")), r.PostFormValue("secretAccessKey")
	next := safeNext(r.PostFormValue("next"))
	if err := c.cfg.Auth.SignIn(id, secret); err != nil {
		c.cfg.Logger.Info("console sign-in refused", "accessKeyId", id, "remote", r.RemoteAddr)
		q := &request{w: w, r: r, c: c}
		q.render(http.StatusUnauthorized, "signin", "Sign in", map[string]any{"Next": next, "Error": "The access key id or the secret access key is wrong.", "AccessKeyID": id})
		return
	}
	if old := c.sessions.get(r); old != nil {
		c.sessions.delete(r.Context(), old.id)
	}
	sess, err := c.sessions.create(r.Context(), id)
	if err != nil {
		c.cfg.Logger.Error("console sign-in", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	c.sessions.setCookie(w, r, sess)
	c.cfg.Logger.Info("console sign-in", "accessKeyId", id, "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	sess := c.sessions.get(r)
	if !csrfOK(r, sess) {
		http.Error(w, "the form's CSRF token is missing or wrong", http.StatusForbidden)
		return
	}
	c.sessions.delete(r.Context(), sess.id)
	clearCookie(w, r)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

// safeNext keeps a redirect target inside the console (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "environments"
	}
	return next
}
