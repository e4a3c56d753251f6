package stats

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadKey is wrapped by the errors of a beacon query that names no valid key.
var ErrBadKey = errors.New("stats: bad key")

// MaxPart is the longest part of a beacon key (category, action, label or value).
const MaxPart = 64

// BeaconKeys returns the keys one beacon hit counts under: each prefix of
// category.action.label.value ("h5", "h5.pv", "h5.pv.85", "h5.pv.85.41"). Missing trailing
// parts give fewer keys; a part after a missing one, an empty category, a part longer than
// MaxPart or a character other than A-Z a-z 0-9 _ - is an error.
func BeaconKeys(parts ...string) ([]string, error) {
	var keys []string
	var b strings.Builder
	ended := false
	names := [...]string{"category", "action", "label", "value"}
	for i, p := range parts {
		name := fmt.Sprintf("part %d", i)
		if i < len(names) {
			name = names[i]
		}
		if p == "" {
			ended = true
			continue
		}
		if ended {
			return nil, fmt.Errorf("%w: %s %q after a missing part", ErrBadKey, name, p)
		}
		if len(p) > MaxPart {
			return nil, fmt.Errorf("%w: %s is %d bytes (at most %d)", ErrBadKey, name, len(p), MaxPart)
		}
		for j := 0; j < len(p); j++ {
			if c := p[j]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return nil, fmt.Errorf("%w: %s %q has %q (allowed: A-Z a-z 0-9 _ -)", ErrBadKey, name, p, c)
			}
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
		keys = append(keys, b.String())
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no category", ErrBadKey)
	}
	return keys, nil
}

// Beacon counts one page view under each of keys (from BeaconKeys).
func (r *Recorder) Beacon(keys []string) {
	for _, k := range keys {
		r.Add(k, "pv", 1)
	}
}

// downloadKeys are the keys a download of fileID ("group1/M00/…") by user counts under; user
// "" counts under no user key.
func downloadKeys(fileID, user string) []string {
	keys := []string{"download"}
	if group, remote, ok := strings.Cut(fileID, "/"); ok {
		keys = append(keys, "download."+group, "download."+group+"."+remote)
	}
	if user != "" {
		keys = append(keys, "user."+user)
	}
	return keys
}

// Download counts one response of fileID for user ("" = anonymous) that the client
// acknowledged acked bytes of.
func (r *Recorder) Download(fileID, user string, acked int64) {
	now := r.cfg.Now()
	for _, k := range downloadKeys(fileID, user) {
		r.AddAt(now, k, "requests", 1)
		r.AddAt(now, k, "bytes", acked)
	}
}

// Completed counts one completed download of fileID for user ("" = anonymous).
func (r *Recorder) Completed(fileID, user string) {
	now := r.cfg.Now()
	for _, k := range downloadKeys(fileID, user) {
		r.AddAt(now, k, "completed", 1)
	}
}
