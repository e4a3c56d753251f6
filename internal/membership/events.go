package membership

import (
	"log/slog"
	"sync"

	"github.com/hashicorp/memberlist"
)

// EventKind says what happened to a member.
type EventKind int

// Event kinds.
const (
	EventJoin   EventKind = iota + 1 // a node became alive (new or returning)
	EventLeave                       // a node died or left
	EventUpdate                      // a node's metadata changed
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventLeave:
		return "leave"
	case EventUpdate:
		return "update"
	}
	return "unknown"
}

// Event is one membership change.
type Event struct {
	Kind   EventKind
	Member Member
}

// maxQueued bounds the events held for a slow consumer.
const maxQueued = 4096

// eventQueue decouples memberlist's delegate callbacks (which must not
// block) from the consumer of the Events channel.
type eventQueue struct {
	log    *slog.Logger
	out    chan Event
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	done   chan struct{}
	once   sync.Once
	exited chan struct{}
}

func newEventQueue(log *slog.Logger) *eventQueue {
	q := &eventQueue{
		log:    log,
		out:    make(chan Event),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go q.pump()
	return q
}

// push never blocks: it drops the oldest event when the queue is full.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if len(q.queue) >= maxQueued {
		q.log.Warn("membership: event queue full, dropping oldest event", "node", q.queue[0].Member.Name)
		q.queue = q.queue[1:]
	}
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pump() {
	defer close(q.exited)
	defer close(q.out)
	for {
		q.mu.Lock()
		var e Event
		ok := len(q.queue) > 0
		if ok {
			e = q.queue[0]
			q.queue = q.queue[1:]
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return
			}
		}
		select {
		case q.out <- e:
		case <-q.done:
			return
		}
	}
}

func (q *eventQueue) close() {
	q.once.Do(func() { close(q.done) })
	<-q.exited
}

// eventDelegate turns memberlist callbacks into queued Events.
type eventDelegate Membership

func (d *eventDelegate) NotifyJoin(n *memberlist.Node) {
	m := (*Membership)(d)
	m.events.push(Event{Kind: EventJoin, Member: m.record(n, true)})
}

func (d *eventDelegate) NotifyLeave(n *memberlist.Node) {
	m := (*Membership)(d)
	m.events.push(Event{Kind: EventLeave, Member: m.record(n, false)})
}

func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	m := (*Membership)(d)
	m.events.push(Event{Kind: EventUpdate, Member: m.record(n, true)})
}
