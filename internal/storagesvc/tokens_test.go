package storagesvc

import (
	"context"
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
