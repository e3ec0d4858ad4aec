package proton

import "fmt"

// ErrorKind classifies the errors the operations return; the wire layer maps
// each kind to its Proton exception in one place.
type ErrorKind int

// The kinds of Proton errors.
const (
	KindValidation ErrorKind = iota + 1
	KindConflict
	KindNotFound
	KindQuotaExceeded
)

// Error is an error the caller of an operation caused or can act on.
type Error struct {
	Kind    ErrorKind
	Message string
}

func (e *Error) Error() string { return e.Message }

func validationf(format string, args ...any) error {
	return &Error{Kind: KindValidation, Message: fmt.Sprintf(format, args...)}
}

func conflictf(format string, args ...any) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf(format, args...)}
}

func quotaf(format string, args ...any) error {
	return &Error{Kind: KindQuotaExceeded, Message: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &Error{Kind: KindNotFound, Message: fmt.Sprintf(format, args...)}
}
