package disk

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"
)

func TestPutReplica(t *testing.T) {
	src, dst := openStore(t, Options{}), openStore(t, Options{})
	body := []byte("replicated bytes")
	id, err := src.Upload(t.Context(), bytes.NewReader(body), UploadOptions{Ext: "txt", PathIndex: -1, Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	crc := crc32.ChecksumIEEE(body)
	tests := []struct {
		name string
		data []byte
		o    ReplicaOptions
		want error
	}{
		{"size disagrees with the ID", body, ReplicaOptions{Size: 3, CRC32: crc}, ErrInvalid},
		{"corrupt content", []byte("replicated bytez"), ReplicaOptions{Size: int64(len(body)), CRC32: crc}, ErrTruncated},
		{"short stream", body[:5], ReplicaOptions{Size: int64(len(body)), CRC32: crc}, ErrTruncated},
		{"good", body, ReplicaOptions{Size: int64(len(body)), CRC32: crc}, nil},
		{"again: idempotent", body, ReplicaOptions{Size: int64(len(body)), CRC32: crc}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dst.PutReplica(t.Context(), id, bytes.NewReader(tt.data), tt.o)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("PutReplica = %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				return
			}
			ok, err := dst.HasReplica(id, int64(len(body)), crc)
			if err != nil || !ok {
				t.Fatalf("HasReplica = %v, %v", ok, err)
			}
		})
	}
}

func TestPutReplicaAppenderReplace(t *testing.T) {
	src, dst := openStore(t, Options{}), openStore(t, Options{})
	id, err := src.Upload(t.Context(), bytes.NewReader([]byte("v1")), UploadOptions{PathIndex: -1, Size: 2, Appender: true})
	if err != nil {
		t.Fatal(err)
	}
	put := func(b []byte, replace bool) error {
		return dst.PutReplica(t.Context(), id, bytes.NewReader(b), ReplicaOptions{Size: int64(len(b)), CRC32: crc32.ChecksumIEEE(b), Replace: replace})
	}
	if err := put([]byte("v1"), false); err != nil {
		t.Fatal(err)
	}
	if err := put([]byte("version 2"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("different content without Replace: %v", err)
	}
	if err := put([]byte("version 2"), true); err != nil {
		t.Fatal(err)
	}
	if ok, _ := dst.HasReplica(id, 9, crc32.ChecksumIEEE([]byte("version 2"))); !ok {
		t.Fatal("replaced content not there")
	}
	if got := listFiles(t, dst.o.Paths[0].Dir); len(got) != 1 {
		t.Fatalf("files after replacing: %v", got)
	}
}
