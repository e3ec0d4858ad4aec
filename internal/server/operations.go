package server

import (
	"context"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/proton"
)

// register serves every operation of the model that p implements: the
// operation table is the generated one (api.Bind), so an operation is served
// as soon as p has a method with its name, input and output types. Operations
// of the model p does not implement answer UnknownOperationException.
func register(s *awsjson.Server, p *proton.API) []string {
	return api.Bind(p, func(op string, h func(context.Context, []byte) (any, error)) {
		s.Handle(op, h)
	})
}
