package conf

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"
)

// Values is the effective value of every key a loader reads from one file (defaults
// included, relative file names resolved), as text, by key name; a key of a section is
// "[section] key". It is what a reload compares to tell which keys an operator changed.
type Values map[string]string

// Changed returns, sorted, the keys whose value differs between v and old (or that only
// one of them has).
func (v Values) Changed(old Values) []string {
	var out []string
	for k, nv := range v {
		if ov, ok := old[k]; !ok || ov != nv {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := v[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// track remembers dst as where key's value ends up; values formats them once loading is done.
func (b *binder) track(key string, dst any) {
	if b.section != "" {
		key = "[" + b.section + "] " + key
	}
	b.dsts[key] = dst
}

// values formats what every tracked key holds now.
func (b *binder) values() Values {
	out := make(Values, len(b.dsts))
	for k, p := range b.dsts {
		out[k] = fmt.Sprint(reflect.ValueOf(p).Elem().Interface())
	}
	return out
}

// LoadStorageValues is LoadStorage that also returns the effective value of every key.
func LoadStorageValues(path string, log *slog.Logger) (*Storage, Values, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, nil, err
	}
	b := newBinder(d, log)
	s := DefaultStorage()
	s.Path = d.path
	s.bind(b)
	if err := b.finish(); err != nil {
		return nil, nil, err
	}
	s.resolve(d.dir())
	if err := s.Validate(); err != nil {
		return nil, nil, locate(err, d)
	}
	return &s, b.values(), nil
}

// LoadModValues is LoadMod that also returns the effective value of every key (those of
// the included http.conf too).
func LoadModValues(path string, log *slog.Logger) (*Mod, Values, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, nil, err
	}
	b := newBinder(d, log)
	m := DefaultMod()
	m.Path = d.path
	m.bind(b)
	if err := b.finish(); err != nil {
		return nil, nil, err
	}
	if err := m.resolve(b); err != nil {
		return nil, nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, nil, locate(err, d)
	}
	return &m, b.values(), nil
}

// LoadTrackerValues is LoadTracker that also returns the effective value of every key.
func LoadTrackerValues(path string, log *slog.Logger) (*Tracker, Values, error) {
	d, err := readDoc(path)
	if err != nil {
		return nil, nil, err
	}
	b := newBinder(d, log)
	t := DefaultTracker()
	t.Path = d.path
	t.bind(b)
	if err := b.finish(); err != nil {
		return nil, nil, err
	}
	t.BasePath = resolvePath(d.dir(), t.BasePath)
	t.StorageIDsFilename = resolvePath(d.dir(), t.StorageIDsFilename)
	t.TLS.resolve(d.dir())
	t.normalize(b)
	if err := t.Validate(); err != nil {
		return nil, nil, locate(err, d)
	}
	return &t, b.values(), nil
}
