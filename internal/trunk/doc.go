// Package trunk packs small files into large trunk files, the way FastDFS does with
// use_trunk_file = true, so that millions of thumbnails do not cost millions of inodes.
//
// # Layout (FastDFS's, byte for byte)
//
// A trunk file is data/XX/YY/<id> of a store path, its id printed as at least six decimal
// digits. It is cut into slots; a slot starts with a 24-byte header (type 'F' regular, 'L'
// link or 0 free; allocated size; file size; crc32; mtime; the 7-char formatted extension;
// integers big-endian) and the file's bytes follow. A slot takes size + 24 bytes rounded up
// to trunk_alloc_alignment_size, at least slot_min_size; files with size + 24 <=
// slot_max_size go to slots, larger ones are normal files. The file ID (60 characters) names
// the trunk file, the offset and the slot size, so package disk reads any slot, FastDFS's or
// Depot's, with one pread of the header, checked against the name.
//
// # One allocator per group
//
// The tracker leader appoints one storage of each group as trunk server (through the Raft
// log, with a trunk epoch counting the appointments) and every tracker tells the storages in
// join and heartbeat answers. The trunk server runs an Allocator; every storage of the
// group (the trunk server too) asks it for a slot (TrunkService.Alloc, proto/trunk.proto),
// writes the slot itself, and confirms it (Confirm: the allocator learns the header, so
// that a delete carrying the same ID gives the slot back and a stale delete of an older
// file in the same place does not). Deletes are reported by the storage the client asked
// (Free); replicas do not report them. A slot whose confirmation was lost is safe (it is
// written and fenced) but only comes back after the next rebuild.
//
// Free space is a best-fit tree of extents (size, file, offset): an allocation takes the
// smallest extent that holds the slot and splits it when the rest is at least
// slot_min_size; freed slots merge with free neighbours under trunk_free_space_merge; a
// trunk file none of whose slots is used is removed under delete_unused_trunk_files (never
// the newest, whose id would otherwise come back); trunk_create_file_advance creates trunk
// files at trunk_create_file_time_base and every trunk_create_file_interval after it until
// the free space reaches trunk_create_file_space_threshold.
//
// # Writes
//
// An upload that fits is read into memory (at most slot_max_size), then a slot is
// allocated, then, under the fence (below), the bytes are written at offset + 24 and
// fdatasynced, then the header is written and fdatasynced, and only then is the ID
// returned. Concurrent writers of one trunk file share their fdatasync calls (group commit,
// package disk). A crash between the two leaves a slot without a valid header: it reads as
// no file (package disk checks every header against the name) and a scan counts it free. A
// header whose bytes do not have its crc32 (a writer that does not order its writes, such
// as FastDFS without fsync) is reported torn by the scan and never given back.
// Replication ships a trunk file like any other ("C" with its bytes); the receiver writes
// it into the same slot of its own copy of the trunk file the same way, and waits (the
// sender retries) while that slot still holds another live file whose delete has not
// arrived yet.
//
// # A new trunk server: scan the headers, fenced by generations
//
// When the trunk server dies the leader appoints another with the next epoch. The new
// trunk server rebuilds the free space from the slot headers of every storage of the
// group, not from a trunk binlog: every live slot is on the disk of the storage that wrote
// it (its header written before the client got the ID), so the union of the live headers of
// all storages is exactly the occupied space, whatever the old trunk server knew and lost.
// A binlog of the old trunk server could be behind (it died) or ahead (it granted slots
// nobody wrote); the headers cannot.
//
// What could still go wrong is a slot granted by the old trunk server and written after the
// scan of its writer. Generations fence that: a trunk server's generation is epoch<<32 |
// a counter it persists and bumps at every start (data/trunk_generation.dat). Every grant
// carries it. A storage writes a slot only under the read lock of its fence and only when
// the grant's generation is not below the fence; a Scan takes the write lock, raises the
// fence to the scanning server's generation (persisted, data/trunk_fence.dat) and reads the
// headers. So every slot of an older generation is either written before the scan, and
// seen by it, or refused (the upload then goes to a normal file). An old trunk server that
// is still running is fenced by the same scan of its own disk: it stops granting.
//
// Until every storage of the group (DELETED ones aside) has answered its scan, the new
// trunk server hands out space only in trunk files it creates itself, and those get ids
// from its own range (epoch × 2^20 + 1 ...), which no other trunk server ever uses; it
// retries the full scan every few seconds. So a dead storage holding the only copy of a
// file never has that file's slot handed out again; the price is that older trunk files'
// free space is not reused while a storage of the group is down. Where storages disagree
// (a delete or a new file not replicated everywhere yet) the slot counts as occupied and
// its delete does not free it: space may leak until a later rebuild, a slot is never handed
// out twice.
package trunk
