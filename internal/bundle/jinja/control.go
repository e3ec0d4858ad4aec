package jinja

import (
	"errors"
	"sort"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// allowedStatements are the statements of Jinja2's default environment a
// single-file CloudFormation template can use. Left out: include, import,
// from, extends and block (a Proton CloudFormation bundle has exactly one
// template file, so there is nothing to load), macro and call (recursion
// would overflow the Go stack, which no recover catches), and the
// extensions Jinja2 does not enable by default (do, break, continue, trans).
var allowedStatements = []string{"if", "set", "raw", "with", "filter", "autoescape"}

func newControlStructures() *exec.ControlStructureSet {
	m := map[string]parser.ControlStructureParser{}
	for _, name := range allowedStatements {
		p, ok := controlStructures.All.Get(name)
		if !ok {
			panic("gonja lacks the " + name + " statement")
		}
		m[name] = p
	}
	forParser, ok := controlStructures.All.Get("for")
	if !ok {
		panic("gonja lacks the for statement")
	}
	m["for"] = steppedFor(forParser)
	return exec.NewControlStructureSet(m)
}

// steppedFor parses a for loop as gonja does, then puts a step at the head
// of its body, so every iteration spends one step of the rendering's budget
// and checks its deadline.
func steppedFor(forParser parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs, err := forParser(p, args)
		if err != nil {
			return nil, err
		}
		f, ok := cs.(*controlStructures.ForControlStructure)
		if !ok || f.BodyWrapper == nil {
			return nil, errors.New("unexpected for loop from the parser")
		}
		// gonja iterates a mapping's keys case-insensitively sorted; the
		// rest of the renderer (and the test's Python) uses byte order.
		tok := *f.ObjectEvaluator.Position()
		tok.Val = iterName
		f.ObjectEvaluator = &nodes.Call{
			Location: f.ObjectEvaluator.Position(),
			Func:     &nodes.Name{Name: &tok},
			Args:     []nodes.Expression{f.ObjectEvaluator},
			Kwargs:   map[string]nodes.Expression{},
		}
		loc := f.BodyWrapper.Location
		f.BodyWrapper.Nodes = append([]nodes.Node{&nodes.ControlStructureBlock{
			Location:         loc,
			Name:             "step",
			ControlStructure: stepStatement{loc: loc},
		}}, f.BodyWrapper.Nodes...)
		return f, nil
	}
}

// stepStatement spends one step of the rendering's budget.
type stepStatement struct{ loc *tokens.Token }

func (s stepStatement) Position() *tokens.Token { return s.loc }
func (s stepStatement) String() string          { return "step" }

// Execute implements exec.ControlStructure.
func (s stepStatement) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	v, ok := r.Environment.Context.Get(stateKey)
	if !ok {
		return errors.New("rendering state is missing")
	}
	return v.(*state).step()
}

// iterName is the context name of iterable; no Jinja identifier.
const iterName = "\x00iter"

// iterable is what a for loop iterates: a mapping's keys in byte order, or
// the value itself.
func iterable(params *exec.VarArgs) *exec.Value {
	if len(params.Args) != 1 {
		return exec.AsValue(errors.New("for loop needs one iterable"))
	}
	in := params.Args[0]
	var m map[string]any
	switch v := in.Interface().(type) {
	case map[string]any:
		m = v
	case componentDict:
		m = v
	default:
		return in
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return exec.AsValue(out)
}
