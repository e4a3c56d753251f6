package clusterpage

import (
	"fmt"
	"testing"
	"time"
)

func TestEventsRingKeepsNewestAndCoalesces(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := NewEvents(3)
	if got, dropped := r.Recent(); len(got) != 0 || got == nil || dropped != 0 {
		t.Fatalf("empty ring: %v, %d dropped", got, dropped)
	}
	add := func(sec int, storage, detail string) {
		r.Add(t0.Add(time.Duration(sec)*time.Second), Event{Level: LevelWarn, Group: "g1", Storage: storage, Message: "went OFFLINE", Detail: detail})
	}
	add(0, "a", "a1")
	add(1, "b", "b1")
	add(2, "a", "a2") // coalesces with the first: moves to the newest place
	got, _ := r.Recent()
	if len(got) != 2 || got[0].Storage != "a" || got[0].Count != 2 || got[0].Detail != "a2" ||
		got[0].Time != t0.Unix()+2 || got[0].First != t0.Unix() || got[1].Storage != "b" || got[1].Count != 1 {
		t.Fatalf("after a repeat: %+v", got)
	}
	add(3, "c", "")
	add(4, "d", "") // the ring is full: b, the oldest, goes
	got, dropped := r.Recent()
	var keys string
	for _, e := range got {
		keys += e.Storage
	}
	if keys != "dca" || dropped != 1 {
		t.Fatalf("full ring: %q newest first, %d dropped; want dca, 1", keys, dropped)
	}
	// Another level or message is another entry.
	r.Add(t0.Add(5*time.Second), Event{Level: LevelInfo, Group: "g1", Storage: "a", Message: "went OFFLINE"})
	if got, _ := r.Recent(); len(got) != 3 || got[0].Level != LevelInfo || got[0].Count != 1 {
		t.Fatalf("another level coalesced: %+v", got)
	}
}

func TestEventsRecentIsACopy(t *testing.T) {
	r := NewEvents(0)
	r.Add(time.Unix(1, 0), Event{Level: LevelError, Message: "m"})
	got, _ := r.Recent()
	got[0].Message = "changed"
	if again, _ := r.Recent(); again[0].Message != "m" {
		t.Fatalf("Recent shares its slice with the ring: %+v", again)
	}
}

func TestEventsDefaultSize(t *testing.T) {
	r := NewEvents(0)
	for i := range DefaultEvents + 5 {
		r.Add(time.Unix(int64(i), 0), Event{Level: LevelWarn, Message: fmt.Sprint(i)})
	}
	got, dropped := r.Recent()
	if len(got) != DefaultEvents || dropped != 5 || got[0].Message != fmt.Sprint(DefaultEvents+4) {
		t.Fatalf("%d events, %d dropped, newest %q", len(got), dropped, got[0].Message)
	}
}
