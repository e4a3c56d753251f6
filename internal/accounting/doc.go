// Package accounting decides which downloads really completed. The HTTP module reports, per
// response, the file ranges the client's TCP stack acknowledged (not the bytes handed to the
// kernel: see fastsrv.AckWatcher); the Accountant keeps, per (user, file), the union of those
// ranges across connections and across time, and records exactly one completed download when
// the union covers the whole file, then starts the union again.
//
// # Model
//
//   - A download manager fetching one file over 16 Range connections, retrying pieces, and a
//     browser resuming the next day are each one download: ranges from any connection of the
//     same user merge.
//   - The window (Config.Window, http.accounting.window) runs from the first acknowledged byte
//     of a (user, file) pair: a union not complete within it starts again.
//   - State is bounded: at most Config.MaxEntries pairs; the least recently active pair is
//     evicted (and counted) to make room for a new one.
//   - Deliveries reach the Accountant through a bounded queue, merged in batches by one
//     goroutine (woken when a delivery finds the queue empty: under load once per batch, not
//     once per response); a full queue drops the delivery and counts it, so a download never
//     waits for accounting.
//   - A download that one response delivered whole and the client acknowledged whole, the
//     common case, is counted where its acknowledgement is seen (Accountant.Whole, or Record)
//     without the queue, when no pair of its bucket has state or a delivery in the queue (a
//     table of counts by hash of the pair) and no event or hook needs its details. With a
//     pair that has state, it goes through the queue and completes that pair's union.
//
// # Durability
//
// Pairs changed since the last flush and the completion events they produced are written to
// the DownloadStore (package meta) in one transaction every Config.FlushInterval (1 s): a crash
// loses at most that last interval, and never leaves a completion recorded without its event
// or the other way round. Events wait in the store's queue until the Notifier has POSTed them
// to the completion callback (at least once, retried with capped backoff, across restarts;
// the oldest are dropped, logged and counted, when the queue is full).
package accounting
