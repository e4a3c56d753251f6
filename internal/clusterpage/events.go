package clusterpage

import (
	"slices"
	"sync"
	"time"
)

// Levels of an Event.
const (
	LevelError = "error"
	LevelWarn  = "warn"
	LevelInfo  = "info" // a recovery that ends a warning
)

// DefaultEvents is the ring size NewEvents takes for 0.
const DefaultEvents = 100

// Event is one entry of the recent events.
type Event struct {
	Time    int64  `json:"time"`  // Unix seconds of the latest occurrence
	First   int64  `json:"first"` // Unix seconds of the first occurrence in the ring
	Level   string `json:"level"`
	Group   string `json:"group,omitempty"`
	Storage string `json:"storage,omitempty"`
	Message string `json:"message"`          // what happened, stable across repeats
	Detail  string `json:"detail,omitempty"` // the latest occurrence's specifics (an error text)
	Count   int    `json:"count"`            // occurrences coalesced into this entry
}

// Events is a bounded ring of recent events (see the package comment). Its methods are safe
// for concurrent use and never block on anything but its own short lock, so they may be
// called with other locks held.
type Events struct {
	mu      sync.Mutex
	size    int
	list    []Event // oldest first
	dropped uint64
}

// NewEvents returns an empty ring of size entries (0 = DefaultEvents).
func NewEvents(size int) *Events {
	if size <= 0 {
		size = DefaultEvents
	}
	return &Events{size: size}
}

// Add records an event at time at. An entry with the same level, group, storage and
// message becomes the newest, with e's detail and time and its count one higher.
func (r *Events) Add(at time.Time, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.Time, e.First, e.Count = at.Unix(), at.Unix(), 1
	i := slices.IndexFunc(r.list, func(o Event) bool {
		return o.Level == e.Level && o.Group == e.Group && o.Storage == e.Storage && o.Message == e.Message
	})
	if i >= 0 {
		e.First, e.Count = r.list[i].First, r.list[i].Count+1
		r.list = slices.Delete(r.list, i, i+1)
	} else if len(r.list) == r.size {
		r.list = slices.Delete(r.list, 0, 1)
		r.dropped++
	}
	r.list = append(r.list, e)
}

// Recent returns the events newest first, and how many left the full ring so far.
func (r *Events) Recent() ([]Event, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.list)
	slices.Reverse(out)
	if out == nil {
		out = []Event{}
	}
	return out, r.dropped
}
