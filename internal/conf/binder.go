package conf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// binder copies values from a doc into typed fields. It remembers every key it was asked
// about (known or deliberately ignored), collects errors instead of stopping at the first,
// and finally warns about keys nobody asked for.
type binder struct {
	d       *doc
	log     *slog.Logger
	section string
	known   map[[2]string]bool
	anySec  map[string]bool // sections whose keys are all accepted and ignored
	errs    *[]error        // shared by the binders in() returns
	dsts    map[string]any  // key → where its value went (keyvalues.go); shared like errs
}

func newBinder(d *doc, log *slog.Logger) *binder {
	return &binder{d: d, log: orDiscard(log), known: map[[2]string]bool{}, anySec: map[string]bool{},
		errs: new([]error), dsts: map[string]any{}}
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// in returns a binder sharing state with b that reads from section.
func (b *binder) in(section string) *binder {
	c := *b
	c.section = section
	return &c
}

// get returns the last occurrence of key in b's section and marks the key known.
func (b *binder) get(key string) (entry, bool) {
	b.known[[2]string{b.section, key}] = true
	return b.d.last(b.section, key)
}

func (b *binder) fail(e entry, err error) {
	*b.errs = append(*b.errs, &Error{File: e.File, Line: e.Line, Key: e.Key, Err: err})
}

// has reports whether key is present (and marks it known).
func (b *binder) has(key string) bool {
	_, ok := b.get(key)
	return ok
}

// str sets *dst to the value of key if present (an empty value sets "").
func (b *binder) str(key string, dst *string) {
	b.track(key, dst)
	if e, ok := b.get(key); ok {
		*dst = e.Value
	}
}

// value returns the entry if present with a non-empty value: empty values keep the default.
func (b *binder) value(key string) (entry, bool) {
	e, ok := b.get(key)
	return e, ok && e.Value != ""
}

func (b *binder) integer(key string, dst *int) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		n, err := parseInt(e.Value)
		if err != nil {
			b.fail(e, err)
			return
		}
		*dst = n
	}
}

func (b *binder) boolean(key string, dst *bool) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		v, known := ParseBool(e.Value)
		if !known {
			b.log.Warn("conf: unrecognised boolean, read as false",
				"file", e.File, "line", e.Line, "key", e.Key, "value", e.Value)
		}
		*dst = v
	}
}

// duration reads a whole number of units (FastDFS uses seconds or milliseconds); negative
// values are an error.
func (b *binder) duration(key string, unit time.Duration, dst *time.Duration) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		n, err := parseInt(e.Value)
		if err == nil && n < 0 {
			err = invalid("duration (want >= 0)", e.Value)
		}
		if err != nil {
			b.fail(e, err)
			return
		}
		*dst = time.Duration(n) * unit
	}
}

func (b *binder) seconds(key string, dst *time.Duration) { b.duration(key, time.Second, dst) }
func (b *binder) millis(key string, dst *time.Duration)  { b.duration(key, time.Millisecond, dst) }

func (b *binder) size(key string, dst *int64) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		n, err := ParseSize(e.Value)
		if err != nil {
			b.fail(e, err)
			return
		}
		*dst = n
	}
}

func (b *binder) clock(key string, dst *TimeOfDay) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		t, err := ParseTimeOfDay(e.Value)
		if err != nil {
			b.fail(e, err)
			return
		}
		*dst = t
	}
}

func (b *binder) reserved(key string, dst *Reserved) {
	b.track(key, dst)
	if e, ok := b.value(key); ok {
		r, err := ParseReserved(e.Value)
		if err != nil {
			b.fail(e, err)
			return
		}
		*dst = r
	}
}

// list returns every non-empty value of a repeatable key, in file order; if the key occurs
// at all it replaces *dst.
func (b *binder) list(key string, dst *[]string) {
	b.track(key, dst)
	b.known[[2]string{b.section, key}] = true
	all := b.d.all(b.section, key)
	if len(all) == 0 {
		return
	}
	out := []string{}
	for _, e := range all {
		if e.Value != "" {
			out = append(out, e.Value)
		}
	}
	*dst = out
}

// addrs is list plus a host:port check of each value.
func (b *binder) addrs(key string, dst *[]string) {
	b.list(key, dst)
	for _, e := range b.d.all(b.section, key) {
		if e.Value == "" {
			continue
		}
		if err := CheckHostPort(e.Value); err != nil {
			b.fail(e, err)
		}
	}
}

// ignore marks FastDFS keys that Depot accepts without using them.
func (b *binder) ignore(keys ...string) {
	for _, k := range keys {
		b.known[[2]string{b.section, k}] = true
	}
}

// ignoreSection accepts every key of a section without using it.
func (b *binder) ignoreSection(names ...string) {
	for _, n := range names {
		b.anySec[n] = true
	}
}

// finish warns about unknown keys and returns the collected errors.
func (b *binder) finish() error {
	warned := map[[2]string]bool{}
	for _, e := range b.d.entries {
		k := [2]string{e.Section, e.Key}
		if b.known[k] || b.anySec[e.Section] || warned[k] {
			continue
		}
		warned[k] = true
		b.log.Warn("conf: unknown key ignored", "file", e.File, "line", e.Line,
			"section", e.Section, "key", e.Key)
	}
	return errors.Join(*b.errs...)
}

// warn logs a non-fatal configuration problem.
func (b *binder) warn(msg string, args ...any) {
	b.log.Log(context.Background(), slog.LevelWarn, "conf: "+msg, args...)
}

// storePaths reads store_path_count, store_pathN and store_pathN_readonly of b's section.
// store_path0 falls back to def0 when def0 is not empty.
func (b *binder) storePaths(def0 string) []StorePath {
	count := 1
	b.integer("store_path_count", &count)
	if count < 1 || count > maxStorePaths {
		e, _ := b.get("store_path_count")
		b.fail(e, invalid(fmt.Sprintf("store_path_count (want 1..%d)", maxStorePaths), e.Value))
		// The store_pathN keys are known keys all the same: only the count is wrong.
		for i := range maxStorePaths {
			b.known[[2]string{b.section, fmt.Sprintf("store_path%d", i)}] = true
			b.known[[2]string{b.section, fmt.Sprintf("store_path%d_readonly", i)}] = true
		}
		return nil
	}
	paths := make([]StorePath, count)
	for i := range paths {
		key := fmt.Sprintf("store_path%d", i)
		b.str(key, &paths[i].Path)
		if paths[i].Path == "" && i == 0 {
			paths[i].Path = def0
		}
		b.boolean(key+"_readonly", &paths[i].ReadOnly)
	}
	return paths
}

// logLevel checks a syslog level name as FastDFS accepts them.
func checkLogLevel(key, v string) error {
	switch strings.ToLower(v) {
	case "", "debug", "info", "notice", "warn", "warning", "error", "err",
		"crit", "critical", "alert", "emerg", "emergency":
		return nil
	}
	return keyErr(key, invalid("log level", v))
}

// SlogLevel maps a log_level value (FastDFS's syslog names) to a slog level; anything
// unknown is Info. checkLogLevel has already refused values outside the list.
func SlogLevel(v string) slog.Level {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning", "notice":
		return slog.LevelWarn
	case "error", "err", "crit", "critical", "alert", "emerg", "emergency":
		return slog.LevelError
	}
	return slog.LevelInfo
}
