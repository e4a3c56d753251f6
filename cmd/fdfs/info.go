package main

import (
	"context"
	"fmt"
	"io"

	"github.com/depotfs/depot/internal/fileid"
)

// timeLayout is how fdfs prints times (UTC).
const timeLayout = "2006-01-02 15:04:05 UTC"

func kindName(k fileid.Kind) string {
	switch k {
	case fileid.Normal:
		return "normal"
	case fileid.Trunk:
		return "trunk"
	case fileid.Appender:
		return "appender"
	case fileid.Slave:
		return "slave"
	}
	return "unknown"
}

// printDecoded prints what the file ID itself says, without asking anyone.
func printDecoded(w io.Writer, id fileid.ID) {
	fmt.Fprintf(w, "file id: %s\n", id)
	fmt.Fprintf(w, "file type: %s\n", kindName(id.Kind()))
	if sid, ok := id.ServerID(); ok {
		fmt.Fprintf(w, "source storage id: %d\n", sid)
	}
	fmt.Fprintf(w, "source ip address: %s\n", id.SourceIPv4())
	fmt.Fprintf(w, "file create timestamp: %s\n", id.Created().UTC().Format(timeLayout))
	if size, ok := id.Size(); ok {
		fmt.Fprintf(w, "file size: %d\n", size)
		fmt.Fprintf(w, "file crc32: %d (0x%08X)\n", id.CRC32(), id.CRC32())
	} else {
		fmt.Fprintf(w, "file size: -1 (not in the id)\n")
	}
	if slot, ok := id.Trunk(); ok {
		fmt.Fprintf(w, "trunk slot: file %06d offset %d size %d\n", slot.File, slot.Offset, slot.Size)
	}
}

// cmdInfo decodes the ID offline, then asks the storage when one is configured.
func cmdInfo(ctx context.Context, e *env, args []string) error {
	fs := e.subFlags("info", "ID")
	if err := parseSub(fs, args, 1, 1); err != nil {
		return err
	}
	id, err := fileid.Parse(fs.Arg(0))
	if err != nil {
		return err
	}
	printDecoded(e.stdout, id)
	if e.storage == "" && len(e.trackers) == 0 {
		fmt.Fprintln(e.stderr, "fdfs: info: no -storage given: showing what the id says only")
		return nil
	}
	c, err := e.connect()
	if err != nil {
		return err
	}
	defer c.Close()
	fi, err := c.Info(ctx, id.String())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "storage file size: %d\n", fi.Size)
	fmt.Fprintf(e.stdout, "storage modify time: %s\n", fi.Modified.UTC().Format(timeLayout))
	if fi.Kind == "normal" || fi.Kind == "trunk" {
		fmt.Fprintf(e.stdout, "storage file crc32: %d (0x%08X)\n", fi.CRC32, fi.CRC32)
	}
	return nil
}
