package conf

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error a loader returns wraps one of them, usually inside an *Error
// that names the file, the line and the key.
var (
	ErrInvalidValue  = errors.New("invalid value")
	ErrRequired      = errors.New("required key missing")
	ErrInclude       = errors.New("bad #include")
	ErrIncludeCycle  = errors.New("#include cycle")
	ErrRemoteInclude = errors.New("remote (http://) files are not supported")
	ErrDuplicate     = errors.New("duplicate entry")
	ErrSyntax        = errors.New("syntax error")
)

// Error locates a configuration problem. Line is 0 when the problem is not tied to one line
// (a required key that is absent); Key is empty when it is not tied to a key.
type Error struct {
	File string
	Line int
	Key  string
	Err  error
}

// Error formats as `storage.conf:12: key "port": invalid integer "abc": invalid value`.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		if s != "" {
			s += ": "
		}
		s += "key " + strconv.Quote(e.Key)
	}
	if s == "" {
		return e.Err.Error()
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the underlying error, which wraps a sentinel.
func (e *Error) Unwrap() error { return e.Err }

// invalid returns an error wrapping ErrInvalidValue that quotes the offending value.
func invalid(what, value string) error {
	return fmt.Errorf("invalid %s %q: %w", what, value, ErrInvalidValue)
}

// keyErr is the error Validate returns for a key; loaders add the file and line.
func keyErr(key string, err error) *Error { return &Error{Key: key, Err: err} }

// required is the error for a missing required key.
func required(key string) *Error { return keyErr(key, ErrRequired) }

// locate fills in File and Line of the *Error values in err (plain or joined, at any depth)
// from the last occurrence of their key in d (global section first, then any section), so
// that Validate errors point into the file.
func locate(err error, d *doc) error {
	if err != nil {
		locateOne(err, d)
	}
	return err
}

func locateOne(err error, d *doc) {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			locateOne(e, d)
		}
		return
	}
	var ce *Error
	if !errors.As(err, &ce) {
		return
	}
	if ce.File == "" {
		ce.File = d.path
	}
	if ce.Line == 0 && ce.Key != "" {
		if en, ok := d.lastAnywhere(ce.Key); ok {
			ce.File, ce.Line = en.File, en.Line
		}
	}
}
