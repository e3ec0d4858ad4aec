package api

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
