package migration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ValidationError is one bad setting of a request, said in the service's
// own words, so that every transport can render it its own way (the CLI
// names its flag, a form its field).
type ValidationError struct {
	// Field is the setting, named as the service's types name it
	// (MaxConcurrentMigrations, Security, CSV, ExcludeFolders, Name); ""
	// when the problem is the request as a whole (a batch that cannot be
	// started in its state).
	Field string
	// Value is the value given, as written; "" when it is missing.
	Value string
	// Fix says what is wrong and what to do, without naming how a
	// transport sets the field.
	Fix string
	// Err classes the problem for transports that answer by kind (the
	// REST API's 404 and 409): ErrNotFound, ErrExists, ErrInUse or
	// ErrState; nil for a bad value.
	Err error
}

// ErrState is a request that the object's state refuses (a started
// batch's settings, a completed batch started again).
var ErrState = errors.New("not allowed in this state")

// Unwrap returns the problem's class (Err).
func (e *ValidationError) Unwrap() error { return e.Err }

// Error renders the problem as a sentence: "MaxConcurrentMigrations 500:
// must be between 1 and 300".
func (e *ValidationError) Error() string { return e.Message(e.Field) }

// Message renders the problem with the field called name, as a transport
// calls it ("--max-concurrent-migrations 500: must be between 1 and 300").
func (e *ValidationError) Message(name string) string {
	switch {
	case name == "":
		return e.Fix
	case e.Value == "":
		return name + ": " + e.Fix
	}
	return name + " " + quoteValue(e.Value) + ": " + e.Fix
}

// quoteValue quotes a value that would not read as one word.
func quoteValue(v string) string {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:@+/*#", r)) {
			return strconv.Quote(v)
		}
	}
	return v
}

// ValidationErrors is every bad setting of one request, in the order
// found; nothing was done. errors.As finds each *ValidationError in it.
type ValidationErrors []*ValidationError

// Error lists the problems, one per line.
func (v ValidationErrors) Error() string {
	lines := make([]string, len(v))
	for i, e := range v {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns each problem.
func (v ValidationErrors) Unwrap() []error {
	errs := make([]error, len(v))
	for i, e := range v {
		errs[i] = e
	}
	return errs
}

// invalid is a problem with the request as a whole (no one field).
func invalid(format string, args ...any) error {
	return &ValidationError{Fix: fmt.Sprintf(format, args...)}
}

// refused is a problem with the request as a whole, of class kind
// (ErrNotFound, ErrInUse, ErrState).
func refused(kind error, format string, args ...any) error {
	return &ValidationError{Fix: fmt.Sprintf(format, args...), Err: kind}
}

// problems collects the bad settings of one request.
type problems ValidationErrors

// add records that field has a bad value.
func (p *problems) add(field, value, format string, args ...any) {
	*p = append(*p, &ValidationError{Field: field, Value: value, Fix: fmt.Sprintf(format, args...)})
}

// err is the problems as one error, nil when there is none.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return ValidationErrors(p)
}

// join combines the problems found with others of other types (a migration
// file's *csvfile.ProblemsError); nil when there is none.
func join(errs ...error) error {
	var kept []error
	for _, err := range errs {
		if err != nil {
			kept = append(kept, err)
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return errors.Join(kept...)
}
