package client_test

import (
	"testing"

	"github.com/depotfs/depot/client"
)

// Vectors from testdata/vectors.md (tokens accepted by the FastDFS download module).
const (
	vecSecret = "FastDFS1234567890"
	vecID     = "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin"
	vecTS     = 1795426279
	vecToken  = "96133aba6d55f5add73f99b7f7036220"
)

func TestSign(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               int64
		want             string
	}{
		{"full id", vecSecret, vecID, vecTS, vecToken},
		{"without group", vecSecret, "M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", vecTS, vecToken},
		{"leading slash", vecSecret, "/" + vecID, vecTS, vecToken},
		{"ts 0", vecSecret, vecID, 0, "fd94fbdae568de422a72ebcaf1faffd4"},
		{"group named like a store path", vecSecret, "M00/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", vecTS, vecToken},
		{"example A", vecSecret, "group1/M00/00/2A/wKgBaGVT8QCAEjRWAAAACw1KEYU123.jpg", 1700000100, "09cf4ea03a75f6c1562c71b4c0c301e8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := client.Sign(tt.secret, tt.id, tt.ts); got != tt.want {
				t.Errorf("Sign(%q, %q, %d) = %s; want %s", tt.secret, tt.id, tt.ts, got, tt.want)
			}
		})
	}
}

func TestSignedURL(t *testing.T) {
	want := "http://img.example.com/" + vecID + "?token=" + vecToken + "&ts=1795426279"
	for _, base := range []string{"http://img.example.com", "http://img.example.com/"} {
		if got := client.SignedURL(vecSecret, base, vecID, vecTS); got != want {
			t.Errorf("SignedURL(%q) = %s; want %s", base, got, want)
		}
	}
	if got, want := client.SignedURL(vecSecret, "", "/"+vecID, vecTS), "/"+vecID+"?token="+vecToken+"&ts=1795426279"; got != want {
		t.Errorf("SignedURL with empty base = %s; want %s", got, want)
	}
}

func FuzzSign(f *testing.F) {
	f.Add(vecID)
	f.Add("M00/00/00/x.jpg")
	f.Add("/a/b/c/d/e/f")
	f.Add("")
	f.Fuzz(func(t *testing.T, id string) {
		tok := client.Sign(vecSecret, id, vecTS)
		if len(tok) != 32 {
			t.Fatalf("Sign(%q) = %q: want 32 hex digits", id, tok)
		}
		if client.Sign(vecSecret, "/"+id, vecTS) != tok && id != "" && id[0] != '/' {
			t.Fatalf("Sign(%q) differs with a leading slash", id)
		}
	})
}
