// Package clusterpage is the tracker's cluster page: a small page embedded in the binary
// (plain HTML, JavaScript and CSS, no build step) and the JSON document it reads, served on
// the tracker's admin listener (docs/operations.md).
//
//	/               redirects to /cluster/
//	/cluster/       the page; it fetches /cluster/state.json every few seconds (refresh=S in
//	                the page's query sets the period in seconds, 2 by default, 0.2 at least)
//	/cluster/state.json
//	                the tracker's view of the cluster as a View, made afresh for each request
//
// The page only reads: it has no button that changes the cluster, and everything it shows
// is put into the document as text (never as HTML), so a storage id or an error message
// cannot inject markup.
//
// # Recent events
//
// Events is the tracker's bounded ring of recent warnings and errors (a storage gone
// OFFLINE, a join or heartbeat refused, state not saved) and of the recoveries that end
// them (an OFFLINE storage ACTIVE again). The same event repeated (same level, group,
// storage and message: a storage that retries a refused join every second) is one entry
// whose count and time go up, moved to the newest place, so a noisy storage cannot push the
// other events out. When the ring is full the oldest entry goes. The ring is in memory only:
// a restarted tracker starts with an empty one, and each tracker of a cluster has its own.
package clusterpage
