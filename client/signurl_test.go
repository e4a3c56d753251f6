package client_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/depotfs/depot/client"
	"github.com/depotfs/depot/internal/token"
)

// vecSigned is the signed URL vector of internal/token and docs/signed-urls.md (its sig was
// computed with openssl).
const vecSigned = "http://img.example.com/" + vecID +
	"?expires=1795430000&user=alice&rate=1048576&filename=report+2026.pdf&sig=GMOTautl8cqFbVQ7CLlTM9Zkrylevf8Q_aj_ByREMnE"

var vecOptions = client.SignOptions{Expires: time.Unix(1795430000, 0), User: "alice", Rate: 1 << 20, Filename: "report 2026.pdf"}

func TestSignedURLWith(t *testing.T) {
	tests := []struct {
		name, base, id string
		want           string
	}{
		{"base", "http://img.example.com", vecID, vecSigned},
		{"base with slash", "http://img.example.com/", vecID, vecSigned},
		{"id with slash", "http://img.example.com", "/" + vecID, vecSigned},
		{"no base", "", vecID, strings.TrimPrefix(vecSigned, "http://img.example.com")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.SignedURLWith(vecSecret, tt.base, tt.id, vecOptions)
			if err != nil || got != tt.want {
				t.Errorf("SignedURLWith = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestSignedURLWithVerifies checks the URLs against the storage's verifier, as the HTTP
// module calls it: the request's decoded path and raw query.
func TestSignedURLWithVerifies(t *testing.T) {
	for _, o := range []client.SignOptions{
		vecOptions,
		{Expires: time.Unix(1795430000, 0)},
		{Expires: time.Unix(1795430000, 0), User: "bob@example.com", Filename: "отчёт & \"plan\" 100%.pdf"},
	} {
		s, err := client.SignedURLWith(vecSecret, "http://img.example.com", vecID, o)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		c, err := token.VerifyQuery(vecSecret, u.Path, u.RawQuery, time.Unix(1795430000, 0))
		want := token.Claims{Expires: 1795430000, User: o.User, Rate: o.Rate, Filename: o.Filename}
		if err != nil || c != want {
			t.Errorf("VerifyQuery(%s) = %+v, %v; want %+v", s, c, err, want)
		}
		if _, err := token.VerifyQuery("other", u.Path, u.RawQuery, time.Unix(0, 0)); !errors.Is(err, token.ErrURLMismatch) {
			t.Errorf("VerifyQuery with another secret = %v", err)
		}
	}
}

func TestSignedURLWithInvalid(t *testing.T) {
	exp := time.Unix(1795430000, 0)
	for _, o := range []client.SignOptions{
		{},
		{Expires: time.Unix(-1, 0)},
		{Expires: exp, Rate: -1},
		{Expires: exp, User: "a\r\nb"},
		{Expires: exp, Filename: strings.Repeat("x", 257)},
	} {
		if s, err := client.SignedURLWith(vecSecret, "", vecID, o); !errors.Is(err, client.ErrInvalid) || s != "" {
			t.Errorf("SignedURLWith(%+v) = %q, %v; want ErrInvalid", o, s, err)
		}
	}
}

func ExampleSignedURLWith() {
	u, err := client.SignedURLWith("FastDFS1234567890", "http://img.example.com",
		"group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", client.SignOptions{
			Expires:  time.Unix(1795430000, 0), // in an app: time.Now().Add(time.Hour)
			User:     "alice",
			Rate:     1 << 20,
			Filename: "report 2026.pdf",
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(u)
	// Output: http://img.example.com/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin?expires=1795430000&user=alice&rate=1048576&filename=report+2026.pdf&sig=GMOTautl8cqFbVQ7CLlTM9Zkrylevf8Q_aj_ByREMnE
}
