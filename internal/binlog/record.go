package binlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors. Every returned error wraps one of these with the input that failed.
var (
	ErrBadRecord = errors.New("binlog: malformed record")
	ErrClosed    = errors.New("binlog: closed")
)

// Op is a record's operation letter.
type Op byte

// Operations, upper case (originated here). Lower() gives the replica form.
const (
	Create   Op = 'C'
	Delete   Op = 'D'
	Update   Op = 'U'
	Link     Op = 'L'
	Rename   Op = 'R'
	Append   Op = 'A'
	Modify   Op = 'M'
	Truncate Op = 'T'
)

// MetaSuffix ends the name of a metadata file; a U record on such a name is a metadata change.
const MetaSuffix = "-m"

// Valid reports whether o is one of the eight ops in either case.
func (o Op) Valid() bool {
	switch o.Upper() {
	case Create, Delete, Update, Link, Rename, Append, Modify, Truncate:
		return true
	}
	return false
}

// Local reports whether the op originated on this storage (upper case).
func (o Op) Local() bool { return o >= 'A' && o <= 'Z' }

// Upper returns the upper-case form.
func (o Op) Upper() Op {
	if o >= 'a' && o <= 'z' {
		return o - 'a' + 'A'
	}
	return o
}

// Lower returns the lower-case (replica) form.
func (o Op) Lower() Op {
	if o >= 'A' && o <= 'Z' {
		return o - 'A' + 'a'
	}
	return o
}

// Record is one binlog line.
type Record struct {
	TS   int64
	Op   Op
	Name string // remote filename, without group
	// Src is the other filename of L (link source) and R (old name).
	Src string
	// A and B are the numbers of A/M (offset, length) and T (old size, new size).
	A, B int64
}

// IsMeta reports whether the record is a metadata change (U on a "-m" name).
func (r Record) IsMeta() bool {
	return r.Op.Upper() == Update && strings.HasSuffix(r.Name, MetaSuffix)
}

// hasNums and hasSrc say which extra an op carries.
func hasNums(o Op) bool {
	u := o.Upper()
	return u == Append || u == Modify || u == Truncate
}

func hasSrc(o Op) bool {
	u := o.Upper()
	return u == Link || u == Rename
}

// Line formats r as one binlog line with its newline.
func (r Record) Line() string {
	b := make([]byte, 0, 32+len(r.Name)+len(r.Src))
	b = r.appendLine(b)
	return string(b)
}

func (r Record) appendLine(b []byte) []byte {
	b = strconv.AppendInt(b, r.TS, 10)
	b = append(b, ' ', byte(r.Op), ' ')
	b = append(b, r.Name...)
	switch {
	case hasNums(r.Op):
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.A, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, r.B, 10)
	case hasSrc(r.Op):
		b = append(b, ' ')
		b = append(b, r.Src...)
	}
	return append(b, '\n')
}

// Validate checks the fields Line would write.
func (r Record) Validate() error {
	if r.TS < 0 {
		return fmt.Errorf("%w: negative timestamp %d", ErrBadRecord, r.TS)
	}
	if !r.Op.Valid() {
		return fmt.Errorf("%w: op %q", ErrBadRecord, rune(r.Op))
	}
	if err := checkName(r.Name); err != nil {
		return err
	}
	if hasSrc(r.Op) {
		if err := checkName(r.Src); err != nil {
			return err
		}
	}
	if hasNums(r.Op) && (r.A < 0 || r.B < 0) {
		return fmt.Errorf("%w: %c %s: negative numbers %d %d", ErrBadRecord, r.Op, r.Name, r.A, r.B)
	}
	return nil
}

func checkName(n string) error {
	if n == "" || len(n) > 256 || strings.ContainsAny(n, " \n\r\t\x00") {
		return fmt.Errorf("%w: filename %q", ErrBadRecord, n)
	}
	return nil
}

// Parse decodes one line (with or without its trailing newline).
func Parse(line string) (Record, error) {
	line = strings.TrimSuffix(line, "\n")
	f := strings.Split(line, " ")
	if len(f) < 3 {
		return Record{}, fmt.Errorf("%w: %q: want at least 3 fields", ErrBadRecord, line)
	}
	ts, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || ts < 0 || f[0][0] == '+' {
		return Record{}, fmt.Errorf("%w: %q: timestamp %q", ErrBadRecord, line, f[0])
	}
	if len(f[1]) != 1 {
		return Record{}, fmt.Errorf("%w: %q: op %q", ErrBadRecord, line, f[1])
	}
	r := Record{TS: ts, Op: Op(f[1][0]), Name: f[2]}
	want := 3
	switch {
	case hasNums(r.Op):
		want = 5
	case hasSrc(r.Op):
		want = 4
	}
	if len(f) != want {
		return Record{}, fmt.Errorf("%w: %q: %d fields, op %c wants %d", ErrBadRecord, line, len(f), r.Op, want)
	}
	switch want {
	case 5:
		if r.A, err = parseNum(f[3]); err == nil {
			r.B, err = parseNum(f[4])
		}
		if err != nil {
			return Record{}, fmt.Errorf("%w: %q: %w", ErrBadRecord, line, err)
		}
	case 4:
		r.Src = f[3]
	}
	if err := r.Validate(); err != nil {
		return Record{}, fmt.Errorf("%q: %w", line, err)
	}
	return r, nil
}

func parseNum(s string) (int64, error) {
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("number %q", s)
	}
	return strconv.ParseInt(s, 10, 64)
}
