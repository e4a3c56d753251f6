package meta

import "strconv"

// Status is a storage's state, numbered as in FastDFS (the order matters there too).
type Status uint8

// Storage states.
const (
	StatusInit      Status = 0
	StatusWaitSync  Status = 1
	StatusSyncing   Status = 2
	StatusIPChanged Status = 3
	StatusDeleted   Status = 4
	StatusOffline   Status = 5
	StatusOnline    Status = 6
	StatusActive    Status = 7
	StatusRecovery  Status = 9
)

var statusNames = map[Status]string{
	StatusInit:      "INIT",
	StatusWaitSync:  "WAIT_SYNC",
	StatusSyncing:   "SYNCING",
	StatusIPChanged: "IP_CHANGED",
	StatusDeleted:   "DELETED",
	StatusOffline:   "OFFLINE",
	StatusOnline:    "ONLINE",
	StatusActive:    "ACTIVE",
	StatusRecovery:  "RECOVERY",
}

// String returns FastDFS's upper-case name of s, or "UNKNOWN(n)".
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return "UNKNOWN(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined states.
func (s Status) Valid() bool {
	_, ok := statusNames[s]
	return ok
}
