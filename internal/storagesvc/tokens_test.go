package storagesvc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestUploadTokensWaitAndExpire(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tk := newUploadTokens(time.Minute)
	tk.now = func() time.Time { return now }
	ctx := context.Background()

	id, finish, err := tk.begin(ctx, []byte("tok"))
	if err != nil || id != "" || finish == nil {
		t.Fatalf("first begin = %q, %v, %v", id, finish != nil, err)
	}
	// A retry with the same token while the first upload runs waits for its outcome.
	got := make(chan string)
	go func() {
		id, fin, err := tk.begin(ctx, []byte("tok"))
		if err != nil || fin != nil {
			t.Errorf("waiting begin = %q, %v, %v", id, fin != nil, err)
		}
		got <- id
	}()
	finish("group1/M00/00/00/a.txt")
	if id := <-got; id != "group1/M00/00/00/a.txt" {
		t.Errorf("retry got %q", id)
	}

	// A failed upload frees the token.
	_, fin2, err := tk.begin(ctx, []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	fin2("")
	if id, fin, _ := tk.begin(ctx, []byte("other")); id != "" || fin == nil {
		t.Errorf("after a failure begin = %q, %v; want a fresh claim", id, fin != nil)
	}

	// After the TTL the token is forgotten.
	now = now.Add(2 * time.Minute)
	if id, fin, _ := tk.begin(ctx, []byte("tok")); id != "" || fin == nil {
		t.Errorf("after ttl begin = %q, %v; want a fresh claim", id, fin != nil)
	}
	if _, _, err := tk.begin(ctx, make([]byte, maxTokenLen+1)); err == nil {
		t.Error("oversized token accepted")
	}
}

func TestUploadTokensWaitCanceled(t *testing.T) {
	tk := newUploadTokens(0)
	if _, _, err := tk.begin(context.Background(), []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := tk.begin(ctx, []byte("x")); err == nil {
		t.Error("begin on a busy token with a canceled context succeeded")
	}
}

func TestUploadTokensSurviveRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "upload_tokens.dat")
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	first := newUploadTokens(time.Minute)
	first.now = clock
	if err := first.persist(path); err != nil {
		t.Fatal(err)
	}
	for i, tok := range []string{"a", "b", "c"} {
		_, fin, err := first.begin(context.Background(), []byte(tok))
		if err != nil {
			t.Fatal(err)
		}
		fin(fmt.Sprintf("group1/M00/00/00/%d.txt", i))
	}
	// A garbage line (a torn write) is skipped.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("zz not-a-line\n")
	f.Close()

	now = now.Add(30 * time.Second) // restart within the TTL
	second := newUploadTokens(time.Minute)
	second.now = clock
	if err := second.persist(path); err != nil {
		t.Fatal(err)
	}
	if id, fin, _ := second.begin(context.Background(), []byte("b")); id != "group1/M00/00/00/1.txt" || fin != nil {
		t.Errorf("after restart token b = %q, %v; want the first file's ID", id, fin != nil)
	}
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3 {
		t.Errorf("token file has %d lines after the restart; want 3 (rewritten without garbage)", n)
	}

	now = now.Add(2 * time.Minute) // past the TTL: forgotten on the next start
	third := newUploadTokens(time.Minute)
	third.now = clock
	if err := third.persist(path); err != nil {
		t.Fatal(err)
	}
	if id, fin, _ := third.begin(context.Background(), []byte("b")); id != "" || fin == nil {
		t.Errorf("expired token b = %q; want a fresh claim", id)
	}
}

func FuzzParseTokenLine(f *testing.F) {
	f.Add([]byte("30313233 group1/M00/00/00/x.txt 1700000000"))
	f.Add([]byte("zz x 1"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, line []byte) {
		tok, id, exp, err := parseTokenLine(line)
		if err != nil {
			return
		}
		// What parses renders to a line that parses to the same values.
		tok2, id2, exp2, err := parseTokenLine([]byte(tokenLine(tok, id, exp)))
		if err != nil || string(tok2) != string(tok) || id2 != id || !exp2.Equal(exp) {
			t.Fatalf("round trip of %q: %x %q %v, %v", line, tok2, id2, exp2, err)
		}
	})
}
