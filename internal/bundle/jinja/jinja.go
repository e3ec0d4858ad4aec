package jinja

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
)

// Limits bound what one rendering may cost, so a hostile template cannot
// hang or exhaust the server. Zero fields take the defaults below.
type Limits struct {
	// MaxSourceBytes is the largest template accepted. (Its nesting is
	// bounded separately, before parsing: see nesting.go.)
	MaxSourceBytes int
	// MaxOutputBytes is the largest rendered output.
	MaxOutputBytes int
	// MaxSteps is the most loop iterations and range() calls, over all
	// loops, one rendering may run.
	MaxSteps int
	// MaxRange is the most items one range() may produce, and the longest
	// list a repetition ([x] * n) may build.
	MaxRange int
	// Timeout bounds the rendering; it and the caller's context are
	// checked at every step and every output write.
	Timeout time.Duration
}

// Default limits. Proton capped a template file at 51,200 characters for
// components; the bounds here are generous for real bundles.
const (
	DefaultMaxSourceBytes = 256 << 10
	DefaultMaxOutputBytes = 8 << 20
	DefaultMaxSteps       = 1_000_000
	// DefaultMaxRange is small because gonja materialises a loop's items
	// before the first iteration (about 20µs each), where no deadline is
	// checked.
	DefaultMaxRange = 10_000
	DefaultTimeout  = 10 * time.Second
)

// ErrLimit is wrapped by errors that stop a rendering because it went over
// one of its Limits.
var ErrLimit = errors.New("template exceeded a rendering limit")

// Error is a rendering failure at a place in the template. Undefined is
// the dotted name of the variable that was undefined, when that is the
// cause.
type Error struct {
	Template  string
	Line      int // 0 when unknown
	Undefined string
	Err       error
}

func (e *Error) Error() string {
	where := e.Template
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Undefined != "" {
		return fmt.Sprintf("%s: %s is undefined", where, e.Undefined)
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Render renders a template named name (the name appears in errors) with
// the Proton inputs document vars under DefaultLimits.
func Render(name string, source []byte, vars map[string]any) ([]byte, error) {
	return RenderContext(context.Background(), name, source, vars, Limits{})
}

// RenderContext is Render with a context and limits. It never panics: a
// panic inside the template engine is returned as an error.
func RenderContext(ctx context.Context, name string, source []byte, vars map[string]any, limits Limits) (out []byte, err error) {
	limits = limits.withDefaults()
	if len(source) > limits.MaxSourceBytes {
		return nil, &Error{Template: name, Err: fmt.Errorf("template is %d bytes, more than %d: %w", len(source), limits.MaxSourceBytes, ErrLimit)}
	}
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()

	defer func() {
		if p := recover(); p != nil {
			out = nil
			// gonja panics on some malformed templates (an empty raw block);
			// the template is at fault, not the server.
			err = &Error{Template: name, Err: fmt.Errorf("template engine panicked: %v", p)}
		}
	}()

	cfg := newConfig()
	if err := checkNesting(string(source), cfg); err != nil {
		return nil, &Error{Template: name, Err: err}
	}

	// The memory loader holds only this template, so {% include %} and
	// friends (disabled anyway) can never read the host's files.
	const key = "/template" // the name is for messages only
	loader, err := loaders.NewMemoryLoader(map[string]string{key: string(source)})
	if err != nil {
		return nil, &Error{Template: name, Err: err}
	}
	tpl, err := exec.NewTemplate(key, cfg, loader, environment)
	if err != nil {
		return nil, parseError(name, err)
	}
	rewriteArith(tpl.Root())

	st := &state{ctx: ctx, limits: limits}
	data := normalizeVars(vars)
	data[stateKey] = st
	data["range"] = st.rangeFunc
	data[iterName] = iterable
	data[noneName] = pyNone
	data["none"] = pyNone // Jinja2's lowercase literal; gonja knows only None
	for k, fn := range st.arithFuncs() {
		data[k] = fn
	}
	w := &limitWriter{st: st}
	if err := tpl.Execute(w, exec.NewContext(data)); err != nil {
		if st.err != nil {
			return nil, &Error{Template: name, Err: st.err}
		}
		return nil, renderError(name, err, st.cause)
	}
	if st.err != nil {
		return nil, &Error{Template: name, Err: st.err}
	}
	return w.buf.Bytes(), nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxSourceBytes <= 0 {
		l.MaxSourceBytes = DefaultMaxSourceBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxRange <= 0 {
		l.MaxRange = DefaultMaxRange
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// newConfig is Jinja2's default Environment, with undefined variables
// strict: a template that names an input the spec lacks must fail rather
// than deploy a stack with an empty property.
func newConfig() *config.Config {
	c := config.New()
	c.StrictUndefined = true
	return c
}

// stateKey is where a rendering's state sits in the template context. The
// name is no Jinja identifier, so a template cannot reach it.
const stateKey = "\x00hadron_render_state"

// state is one rendering's budget. Rendering runs on one goroutine, so it
// needs no lock.
type state struct {
	ctx    context.Context
	limits Limits
	steps  int
	err    error // the first limit hit; it wins over the engine's wrapping
	cause  error // the first operator error, reported with its line
}

func (s *state) step() error {
	if s.err != nil {
		return s.err
	}
	s.steps++
	if s.steps > s.limits.MaxSteps {
		s.err = fmt.Errorf("more than %d loop iterations: %w", s.limits.MaxSteps, ErrLimit)
	} else if err := s.ctx.Err(); err != nil {
		s.err = fmt.Errorf("rendering took longer than %s: %w: %w", s.limits.Timeout, ErrLimit, err)
	}
	return s.err
}

// rangeFunc replaces gonja's range, which feeds a channel from a goroutine
// that leaks when the loop stops early, and which has no bound.
func (s *state) rangeFunc(params *exec.VarArgs) ([]int, error) {
	args := make([]int, len(params.Args))
	for i, a := range params.Args {
		if !a.IsInteger() {
			return nil, fmt.Errorf("range() argument %d is not an integer", i+1)
		}
		args[i] = a.Integer()
	}
	if len(params.KwArgs) > 0 {
		return nil, errors.New("range() takes no keyword arguments")
	}
	if err := s.step(); err != nil {
		return nil, err
	}
	start, stop, step := 0, 0, 1
	switch len(args) {
	case 1:
		stop = args[0]
	case 2:
		start, stop = args[0], args[1]
	case 3:
		start, stop, step = args[0], args[1], args[2]
	default:
		return nil, errors.New("range expects 1 to 3 integer arguments")
	}
	if step == 0 {
		return nil, errors.New("range() step must not be zero")
	}
	var out []int
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) >= s.limits.MaxRange {
			s.err = fmt.Errorf("range() of more than %d items: %w", s.limits.MaxRange, ErrLimit)
			return nil, s.err
		}
		out = append(out, i)
	}
	return out, nil
}

// limitWriter caps the output and checks the deadline on every write.
type limitWriter struct {
	st  *state
	buf bytes.Buffer
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.st.err != nil {
		return 0, w.st.err
	}
	if w.buf.Len()+len(p) > w.st.limits.MaxOutputBytes {
		w.st.err = fmt.Errorf("output of more than %d bytes: %w", w.st.limits.MaxOutputBytes, ErrLimit)
		return 0, w.st.err
	}
	if err := w.st.ctx.Err(); err != nil {
		w.st.err = fmt.Errorf("rendering took longer than %s: %w: %w", w.st.limits.Timeout, ErrLimit, err)
		return 0, w.st.err
	}
	return w.buf.Write(p)
}

var _ io.Writer = (*limitWriter)(nil)

// The engine reports errors as a chain of wrapped messages, outermost
// first; these patterns pick out the innermost line and the undefined
// name.
var (
	lineRe          = regexp.MustCompile(`at line (\d+)`)
	undefNameRe     = regexp.MustCompile(`Unable to evaluate name "([^"]+)"`)
	undefAttrRe     = regexp.MustCompile(`(?i)unable to evaluate ([^\s:]+): attribute '[^']*' not found`)
	undefItemRe     = regexp.MustCompile(`(?i)unable to evaluate ([^\s:]+): item .* not found`)
	parseLineRe     = regexp.MustCompile(`[Ll]ine:? (\d+)`)
	templateWrapped = regexp.MustCompile(`(?s)^failed to parse template '.*': `)
)

func renderError(name string, err, cause error) error {
	msg := err.Error()
	// gonja's chain carries no typed errors, only messages; its outermost
	// words say nothing.
	e := &Error{Template: name, Err: errors.New(strings.TrimPrefix(msg, "unable to execute template: "))}
	if cause != nil {
		e.Err = cause
	}
	if m := lineRe.FindAllStringSubmatch(msg, -1); len(m) > 0 {
		e.Line, _ = strconv.Atoi(m[len(m)-1][1])
	}
	for _, re := range []*regexp.Regexp{undefNameRe, undefAttrRe, undefItemRe} {
		if m := re.FindStringSubmatch(msg); m != nil {
			e.Undefined = m[1]
			break
		}
	}
	return e
}

func parseError(name string, err error) error {
	// gonja quotes the whole source in its parse error; keep only the cause.
	msg := templateWrapped.ReplaceAllString(err.Error(), "")
	e := &Error{Template: name, Err: errors.New("parse: " + msg)}
	if m := parseLineRe.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
	}
	return e
}

// environment is shared by all renderings and never modified after init;
// each rendering adds its own range() with its own bound to the context.
var environment = &exec.Environment{
	Context:           exec.EmptyContext().Update(builtins.GlobalFunctions).Update(builtins.GlobalVariables),
	Filters:           newFilters(),
	Tests:             newTests(),
	ControlStructures: newControlStructures(),
	Methods:           newMethods(),
}
