package normalize

import (
	"errors"
	"strconv"
)

// ErrInvalid is matched (with errors.Is) by every error this package returns
// for input that is not a valid recipient.
var ErrInvalid = errors.New("normalize: invalid recipient")

// InvalidError says which input was rejected, as what kind, and why. It
// matches [ErrInvalid] with errors.Is; use errors.As to read its fields.
// The package returns a new one for each rejection and never changes it
// afterwards, so it is safe to share between goroutines.
//
// The input is personal data: the error text quotes it for the caller, who
// must redact it before logging (see [Redact]).
type InvalidError struct {
	Input  string // the raw input, as given (its first MaxInputLen bytes if longer)
	Kind   Kind   // the kind it was read as; 0 if no kind fits at all
	Reason string // why it was rejected, e.g. "domain has no dot"
}

// Error returns "normalize: invalid <kind> "<input>": <reason>".
func (e *InvalidError) Error() string {
	kind := "recipient"
	if e.Kind != 0 {
		kind = e.Kind.String()
	}
	return "normalize: invalid " + kind + " " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Is reports whether target is [ErrInvalid].
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// tooLongReason is the reason given for input over MaxInputLen bytes.
var tooLongReason = "longer than " + strconv.Itoa(MaxInputLen) + " bytes"

// invalid returns an *InvalidError for raw. Input longer than MaxInputLen
// keeps only its first MaxInputLen bytes, so that an error never holds (or
// prints) an unbounded string.
func invalid(raw string, k Kind, reason string) *InvalidError {
	if len(raw) > MaxInputLen {
		raw = raw[:MaxInputLen]
	}
	return &InvalidError{Input: raw, Kind: k, Reason: reason}
}
