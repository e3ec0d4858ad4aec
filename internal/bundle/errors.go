package bundle

import "fmt"

// Error is a problem with a template bundle, worded for the template's
// author: it says what is wrong and where (file, line, tar entry). Hadron
// shows Message as the statusMessage of a REGISTRATION_FAILED version.
type Error struct {
	Message string
	err     error // the underlying cause, if any, for errors.Is/As
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying cause, such as fs.ErrNotExist.
func (e *Error) Unwrap() error { return e.err }

// errorf returns an *Error with a formatted message.
func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// SpecError is a spec file that does not satisfy the template's schema. Input
// names the offending input (a dotted/indexed path for nested values, empty
// when the problem is not about one input); Instance names the service
// instance whose inputs are wrong, Pipeline is set for pipeline inputs.
type SpecError struct {
	Instance string
	Pipeline bool
	Input    string
	Message  string
}

// Error reads like "invalid spec: input 'vpc_cidr': must match pattern ^10\.",
// prefixed by "instance 'name': " or "pipeline: " for service specs.
func (e *SpecError) Error() string {
	s := "invalid spec: "
	switch {
	case e.Instance != "":
		s += fmt.Sprintf("instance '%s': ", e.Instance)
	case e.Pipeline:
		s += "pipeline: "
	}
	if e.Input != "" {
		s += fmt.Sprintf("input '%s': ", e.Input)
	}
	return s + e.Message
}
