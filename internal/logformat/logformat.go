// Package logformat compiles access-log formats written the way nginx's log_format is: literal
// text with $name or ${name} variables, named as nginx names them, plus Depot's own. It only
// parses: filling the variables with a request's values is the HTTP module's work, so this
// package imports nothing of net/http and can check a format while a config file is read.
package logformat

import (
	"errors"
	"fmt"
	"strings"
)

// ErrFormat is wrapped by every error Compile returns.
var ErrFormat = errors.New("bad access log format")

// Default is the access log's format when none is configured: nginx's "combined" followed by
// the request time in seconds.
const Default = `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time`

// Op is one step of a compiled format: literal text, or a variable.
type Op struct {
	Var Var
	// Arg is the text of a Literal, or the canonical header name ("User-Agent") of an HTTP or
	// SentHTTP variable; "" otherwise.
	Arg string
}

// Format is a compiled format. The zero value writes nothing.
type Format struct {
	Ops  []Op
	uses uint64 // bit v set when Var v occurs
}

// Uses reports whether the format has the variable v.
func (f *Format) Uses(v Var) bool { return f.uses&(1<<v) != 0 }

// String returns the format in canonical form: every variable as ${name}, and a literal '$'
// (which a format cannot hold) never occurs. Compile(f.String()) gives f back.
func (f *Format) String() string {
	var b strings.Builder
	for _, op := range f.Ops {
		if op.Var == Literal {
			b.WriteString(op.Arg)
			continue
		}
		b.WriteString("${")
		b.WriteString(op.name())
		b.WriteByte('}')
	}
	return b.String()
}

// Compile parses s. A variable is '$' followed by letters, digits and underscores (the
// longest such run), or that name in braces; names are case-insensitive. An unknown name, a
// '$' without a name, or an unclosed brace is an error wrapping ErrFormat that quotes it.
func Compile(s string) (Format, error) {
	var f Format
	lit := 0 // start of the pending literal
	for i := 0; i < len(s); {
		if s[i] != '$' {
			i++
			continue
		}
		name, next, err := scanName(s, i)
		if err != nil {
			return Format{}, err
		}
		op, ok := lookup(name)
		if !ok {
			return Format{}, fmt.Errorf("%w: unknown variable $%s (at byte %d)", ErrFormat, name, i)
		}
		f.addLiteral(s[lit:i])
		f.Ops = append(f.Ops, op)
		f.uses |= 1 << op.Var
		i, lit = next, next
	}
	f.addLiteral(s[lit:])
	return f, nil
}

// scanName reads the variable at s[i] ('$') and returns its name and the index past it.
func scanName(s string, i int) (name string, next int, err error) {
	j := i + 1
	if j < len(s) && s[j] == '{' {
		end := strings.IndexByte(s[j:], '}')
		if end < 0 {
			return "", 0, fmt.Errorf("%w: unclosed ${ at byte %d", ErrFormat, i)
		}
		name = s[j+1 : j+end]
		if name == "" || !allNameBytes(name) {
			return "", 0, fmt.Errorf("%w: bad variable name ${%s} at byte %d", ErrFormat, name, i)
		}
		return name, j + end + 1, nil
	}
	for j < len(s) && isNameByte(s[j]) {
		j++
	}
	if j == i+1 {
		return "", 0, fmt.Errorf("%w: '$' without a variable name at byte %d", ErrFormat, i)
	}
	return s[i+1 : j], j, nil
}

// addLiteral appends text, joining it to a literal just before.
func (f *Format) addLiteral(text string) {
	if text == "" {
		return
	}
	if n := len(f.Ops); n > 0 && f.Ops[n-1].Var == Literal {
		f.Ops[n-1].Arg += text
		return
	}
	f.Ops = append(f.Ops, Op{Var: Literal, Arg: text})
	f.uses |= 1 << Literal
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

func allNameBytes(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}
