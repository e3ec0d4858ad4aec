package jinja

import (
	"errors"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
)

// pyStrMethods are Python's str methods; gonja's set cannot be listed, so
// its methods are copied by name.
var pyStrMethods = strings.Fields(`capitalize casefold center count encode endswith
	expandtabs find format format_map index isalnum isalpha isascii isdecimal isdigit
	isidentifier islower isnumeric isprintable isspace istitle isupper join ljust lower
	lstrip partition removeprefix removesuffix rfind rindex rjust rpartition rsplit
	rstrip split splitlines startswith strip swapcase title translate upper zfill`)

// newMethods is gonja's Python methods with str.replace taking its count
// as optional, as Python does (gonja requires it).
func newMethods() exec.Methods {
	m := builtins.Methods
	str := map[string]exec.Method[string]{"replace": strReplace}
	for _, name := range pyStrMethods {
		if fn, ok := builtins.Methods.Str.Get(name); ok {
			str[name] = fn
		}
	}
	m.Str = exec.NewMethodSet(str)
	return m
}

func strReplace(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
	if len(args.KwArgs) > 0 || len(args.Args) < 2 || len(args.Args) > 3 {
		return nil, exec.ErrInvalidCall(errors.New("replace(old, new[, count])"))
	}
	if !args.Args[0].IsString() || !args.Args[1].IsString() {
		return nil, exec.ErrInvalidCall(errors.New("replace() arguments must be strings"))
	}
	count := -1
	if len(args.Args) == 3 {
		if !args.Args[2].IsInteger() {
			return nil, exec.ErrInvalidCall(errors.New("replace() count must be an integer"))
		}
		count = args.Args[2].Integer()
	}
	if count < 0 {
		count = -1
	}
	return strings.Replace(self, args.Args[0].String(), args.Args[1].String(), count), nil
}
