package api

import (
	"context"
	"fmt"
)

// Operation describes one operation of the model.
type Operation struct {
	Name   string   // operation name, the tail of X-Amz-Target
	Input  string   // name of the input shape (a generated type)
	Output string   // name of the output shape (a generated type)
	Errors []string // names of the error shapes the model lists for it

	// NewInput returns a pointer to a new zero value of the input type,
	// ready for Decode.
	NewInput func() any
}

// HasOperation reports whether the model defines the named operation.
func HasOperation(name string) bool {
	_, ok := Operations[name]
	return ok
}

// decoding adapts a typed operation method to the handler Bind offers: the
// body is decoded into a new input value first, and the method's error is
// wrapped with the operation's name (a decode error is returned as it is, so
// that it reaches the client as the SerializationError or ValidationError it
// is).
func decoding[I, O any](op string, fn func(context.Context, *I) (*O, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(I)
		if err := Decode(op, body, in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		return out, nil
	}
}
