package answers

import (
	"errors"
	"fmt"
)

// ErrNotFound is an id the warehouse does not hold; handlers answer 404.
var ErrNotFound = errors.New("not found")

// notFoundError is an ErrNotFound with its own message.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string        { return e.msg }
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }

func notFoundf(format string, a ...any) error { return &notFoundError{msg: fmt.Sprintf(format, a...)} }

// BadRequest is request input that cannot be answered (a question the
// lookup does not understand, an ambiguous account); handlers answer 400
// with its message.
type BadRequest struct{ Msg string }

func (e *BadRequest) Error() string { return e.Msg }

// Badf is a BadRequest with a formatted message.
func Badf(format string, a ...any) error { return &BadRequest{Msg: fmt.Sprintf(format, a...)} }
