// Package fdfsproto is FastDFS's binary protocol as Depot speaks it: the 10-byte frame
// header, the command and status codes, the fixed-width fields (16-byte group names,
// zero-padded IP fields, big-endian int64s), and the connection plumbing shared by the
// tracker and the storage: a listener that tells gRPC from FastDFS by a connection's first
// bytes (Mux), and a server loop (Serve) that reads frames, bounds bodies, applies
// max_connections and network_timeout, and hands each request to a Handler.
//
// A frame is a header, pkg_len (int64 big-endian, the body length), cmd and status bytes,
// followed by pkg_len body bytes. Responses carry cmd 100 and a status byte that is an
// errno (0 = success). Nothing here allocates by a length read off the wire: small bodies
// are refused above a cap before any buffer is made (ReadSmall), big ones (file contents)
// are read as a stream bounded by the declared length (Conn.Body).
//
// The package is a codec and a connection loop; what a command does is up to the Handler
// (internal/tracker and internal/storagesvc implement one each).
package fdfsproto
