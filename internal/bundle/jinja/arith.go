package jinja

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// gonja's *, /, //, % and ** differ from Python's where templates notice
// (2**10 is 1024.0, 1/0 is +Inf, -7//2 is -3, '%s' % x is a number) and
// 'x' * 10**10 allocates without bound. After parsing, each of those
// operators is rewritten into a call of a Go function with Python's
// semantics and a bound on the size of what it builds.

// noneName is the context name of the literal none.
const noneName = "\x00none"

// arithNames maps an operator token to the context name of its function.
// The names are no Jinja identifiers, so a template cannot call them.
var arithNames = map[tokens.Type]string{
	tokens.Multiply:      "\x00mul",
	tokens.Division:      "\x00truediv",
	tokens.FloorDivision: "\x00floordiv",
	tokens.Modulo:        "\x00mod",
	tokens.Power:         "\x00pow",
}

// arithFuncs are the functions behind arithNames, bound to one rendering's
// state for the size limit.
func (s *state) arithFuncs() map[string]any {
	return map[string]any{
		"\x00mul":      s.noted(s.mul),
		"\x00truediv":  s.noted(truediv),
		"\x00floordiv": s.noted(floordiv),
		"\x00mod": func(e *exec.Evaluator, params *exec.VarArgs) (any, error) {
			return s.noted(func(p *exec.VarArgs) (any, error) { return mod(e, p) })(params)
		},
		"\x00pow": s.noted(pow),
	}
}

// noted keeps an operator's error as the rendering's cause, so the
// message names it rather than the call it was rewritten into.
func (s *state) noted(fn func(*exec.VarArgs) (any, error)) func(*exec.VarArgs) (any, error) {
	return func(params *exec.VarArgs) (any, error) {
		v, err := fn(params)
		if err != nil && s.cause == nil {
			s.cause = err
		}
		return v, err
	}
}

var (
	typeExpression = reflect.TypeFor[nodes.Expression]()
	typeNode       = reflect.TypeFor[nodes.Node]()
	nodePkgs       = map[string]bool{
		reflect.TypeFor[nodes.Call]().PkgPath():                          true,
		reflect.TypeFor[stepStatement]().PkgPath():                       true,
		"github.com/nikolalohinski/gonja/v2/builtins/control_structures": true,
	}
)

// rewriteArith replaces the arithmetic operators in a parsed template. It
// walks gonja's node and control-structure types only, including their
// unexported fields (a set statement keeps its expression unexported).
func rewriteArith(root *nodes.Template) {
	walk(reflect.ValueOf(root), map[uintptr]bool{})
}

func walk(v reflect.Value, seen map[uintptr]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return
		}
		seen[v.Pointer()] = true
		if v.Elem().Kind() == reflect.Struct && !nodePkgs[v.Elem().Type().PkgPath()] {
			return
		}
		walk(v.Elem(), seen)
	case reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), seen)
		}
	case reflect.Struct:
		if !nodePkgs[v.Type().PkgPath()] {
			return
		}
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanSet() {
				if !v.CanAddr() {
					continue // a struct held by value has nothing of ours to rewrite
				}
				f = reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
			}
			walkSlot(f, seen)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkSlot(v.Index(i), seen)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(iter.Value())
			walkSlot(e, seen)
			v.SetMapIndex(iter.Key(), e)
		}
	}
}

// walkSlot walks a settable value and, if it holds an operator to
// rewrite, replaces it with the call.
func walkSlot(f reflect.Value, seen map[uintptr]bool) {
	walk(f, seen)
	if f.Kind() != reflect.Interface || f.IsNil() || !f.CanSet() {
		return
	}
	if !(f.Type() == typeExpression || f.Type() == typeNode) {
		return
	}
	if none, ok := f.Elem().Interface().(*nodes.None); ok && none.Location != nil {
		// The literal none is Python's None, not gonja's nil (undefined).
		tok := *none.Location
		tok.Val = noneName
		f.Set(reflect.ValueOf(&nodes.Name{Name: &tok}))
		return
	}
	bin, ok := f.Elem().Interface().(*nodes.BinaryExpression)
	if !ok || bin.Operator == nil || bin.Operator.Token == nil {
		return
	}
	name, ok := arithNames[bin.Operator.Token.Type]
	if !ok {
		return
	}
	tok := *bin.Operator.Token
	tok.Val = name
	call := &nodes.Call{
		Location: bin.Operator.Token,
		Func:     &nodes.Name{Name: &tok},
		Args:     []nodes.Expression{bin.Left, bin.Right},
		Kwargs:   map[string]nodes.Expression{},
	}
	f.Set(reflect.ValueOf(call))
}

// operands unpacks the two evaluated operands of a rewritten operator.
func operands(params *exec.VarArgs) (*exec.Value, *exec.Value, error) {
	if len(params.Args) != 2 {
		return nil, nil, errors.New("operator needs two operands")
	}
	return params.Args[0], params.Args[1], nil
}

// isInt is Python's int, bool included (True * 3 is 3); None is no int.
func isInt(v *exec.Value) bool {
	if _, none := v.Interface().(noneValue); none {
		return false
	}
	return v.IsInteger() || v.IsBool()
}
func isNum(v *exec.Value) bool  { return isInt(v) || v.IsFloat() }
func intOf(v *exec.Value) int64 { return int64(v.Integer()) }
func floatOf(v *exec.Value) float64 {
	if v.IsBool() {
		if v.IsTrue() {
			return 1
		}
		return 0
	}
	return v.Float()
}

func intOrBool(v *exec.Value) int64 {
	if v.IsBool() {
		if v.IsTrue() {
			return 1
		}
		return 0
	}
	return intOf(v)
}

var errZeroDivision = errors.New("ZeroDivisionError: division by zero")

func typeError(op string, a, b *exec.Value) error {
	return fmt.Errorf("TypeError: unsupported operand types for %s: %T and %T", op, a.Interface(), b.Interface())
}

func (s *state) mul(params *exec.VarArgs) (any, error) {
	a, b, err := operands(params)
	if err != nil {
		return nil, err
	}
	switch {
	case isInt(a) && isInt(b):
		x, y := intOrBool(a), intOrBool(b)
		if x != 0 && (x*y)/x != y {
			return nil, errors.New("OverflowError: integer product too large")
		}
		return x * y, nil
	case isNum(a) && isNum(b):
		return floatOf(a) * floatOf(b), nil
	case a.IsString() && isInt(b):
		return s.repeat(a, intOrBool(b))
	case isInt(a) && b.IsString():
		return s.repeat(b, intOrBool(a))
	case a.IsList() && isInt(b):
		return s.repeat(a, intOrBool(b))
	case isInt(a) && b.IsList():
		return s.repeat(b, intOrBool(a))
	}
	return nil, typeError("*", a, b)
}

// repeat is Python's sequence * n, refused when the result would be larger
// than the rendering may output.
func (s *state) repeat(seq *exec.Value, n int64) (any, error) {
	if n < 0 {
		n = 0
	}
	size := int64(seq.Len())
	if seq.IsString() {
		size = int64(len(seq.String()))
	}
	limit := int64(s.limits.MaxOutputBytes)
	if !seq.IsString() {
		limit = int64(s.limits.MaxRange) // a list is for looping over
	}
	if size > 0 && n > limit/size {
		s.err = fmt.Errorf("repetition of %d × %d items: %w", n, size, ErrLimit)
		return nil, s.err
	}
	if seq.IsString() {
		return strings.Repeat(seq.String(), int(n)), nil
	}
	items := make([]any, 0, int(n)*seq.Len())
	for range n {
		for i := range seq.Len() {
			items = append(items, seq.Index(i).Interface())
		}
	}
	return items, nil
}

func truediv(params *exec.VarArgs) (any, error) {
	a, b, err := operands(params)
	if err != nil {
		return nil, err
	}
	if !isNum(a) || !isNum(b) {
		return nil, typeError("/", a, b)
	}
	if floatOf(b) == 0 {
		return nil, errZeroDivision
	}
	return floatOf(a) / floatOf(b), nil
}

func floordiv(params *exec.VarArgs) (any, error) {
	a, b, err := operands(params)
	if err != nil {
		return nil, err
	}
	switch {
	case isInt(a) && isInt(b):
		x, y := intOrBool(a), intOrBool(b)
		if y == 0 {
			return nil, errZeroDivision
		}
		q := x / y
		if (x%y != 0) && ((x < 0) != (y < 0)) {
			q--
		}
		return q, nil
	case isNum(a) && isNum(b):
		if floatOf(b) == 0 {
			return nil, errZeroDivision
		}
		return math.Floor(floatOf(a) / floatOf(b)), nil
	}
	return nil, typeError("//", a, b)
}

func mod(e *exec.Evaluator, params *exec.VarArgs) (any, error) {
	a, b, err := operands(params)
	if err != nil {
		return nil, err
	}
	switch {
	case a.IsString():
		// printf-style formatting, as Python's str % args.
		args := exec.NewVarArgs()
		if b.IsList() {
			for i := range b.Len() {
				args.Args = append(args.Args, b.Index(i))
			}
		} else {
			args.Args = append(args.Args, b)
		}
		out := e.ExecuteFilterByName("format", a, args)
		if out.IsError() {
			return nil, errors.New(out.Error())
		}
		return out.String(), nil
	case isInt(a) && isInt(b):
		x, y := intOrBool(a), intOrBool(b)
		if y == 0 {
			return nil, errZeroDivision
		}
		r := x % y
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r, nil
	case isNum(a) && isNum(b):
		x, y := floatOf(a), floatOf(b)
		if y == 0 {
			return nil, errZeroDivision
		}
		r := math.Mod(x, y)
		if r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return r, nil
	}
	return nil, typeError("%", a, b)
}

func pow(params *exec.VarArgs) (any, error) {
	a, b, err := operands(params)
	if err != nil {
		return nil, err
	}
	switch {
	case isInt(a) && isInt(b) && intOrBool(b) >= 0:
		base, exp := intOrBool(a), intOrBool(b)
		switch {
		case exp == 0 || base == 1:
			return int64(1), nil
		case base == 0:
			return int64(0), nil
		case base == -1 && exp%2 == 1:
			return int64(-1), nil
		case base == -1:
			return int64(1), nil
		}
		// |base| >= 2 overflows int64 within 63 rounds.
		result := int64(1)
		for range exp {
			next := result * base
			if next/base != result {
				return nil, errors.New("OverflowError: integer power too large")
			}
			result = next
		}
		return result, nil
	case isNum(a) && isNum(b):
		if floatOf(a) == 0 && floatOf(b) < 0 {
			return nil, errors.New("ZeroDivisionError: 0.0 cannot be raised to a negative power")
		}
		return math.Pow(floatOf(a), floatOf(b)), nil
	}
	return nil, typeError("**", a, b)
}
