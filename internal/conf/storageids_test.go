package conf

import (
	"errors"
	"reflect"
	"testing"
)

func TestStorageIDsParse(t *testing.T) {
	data := "# comment\n\n  100001\tgroup1  10.0.0.1,1.2.3.4:23000 rw=read\n" +
		"2 group2 host.example:23001 rw=writeonly\n" +
		"3 group2 [2001:db8::1,fe80::1]:23002 rw=all\n"
	s, err := ParseStorageIDs("ids.conf", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []StorageIDEntry{
		{ID: "100001", Group: "group1", Hosts: []string{"10.0.0.1", "1.2.3.4"}, Port: 23000, RW: RWRead, Line: 3},
		{ID: "2", Group: "group2", Hosts: []string{"host.example"}, Port: 23001, RW: RWWrite, Line: 4},
		{ID: "3", Group: "group2", Hosts: []string{"2001:db8::1", "fe80::1"}, Port: 23002, RW: RWBoth, Line: 5},
	}
	if !reflect.DeepEqual(s.Entries, want) {
		t.Errorf("got  %+v\nwant %+v", s.Entries, want)
	}
	if e, ok := s.ByID("2"); !ok || e.Group != "group2" {
		t.Errorf("ByID(2) = %+v, %v", e, ok)
	}
	if e, ok := s.ByAddr("1.2.3.4", 23000); !ok || e.ID != "100001" {
		t.Errorf("ByAddr = %+v, %v", e, ok)
	}
	if _, ok := s.ByAddr("1.2.3.4", 23001); ok {
		t.Error("ByAddr matched a different port")
	}
}

func TestStorageIDsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line       int
		sentinel   error
	}{
		{"empty", "# nothing\n", 0, ErrRequired},
		{"too few fields", "1 group1\n", 1, ErrSyntax},
		{"id zero", "0 group1 10.0.0.1\n", 1, ErrInvalidValue},
		{"id leading zero", "01 group1 10.0.0.1\n", 1, ErrInvalidValue},
		{"id too big", "16777216 group1 10.0.0.1\n", 1, ErrInvalidValue},
		{"id not a number", "abc group1 10.0.0.1\n", 1, ErrInvalidValue},
		{"bad group", "1 gr/oup 10.0.0.1\n", 1, ErrInvalidValue},
		{"duplicate id", "1 g 10.0.0.1\n1 g 10.0.0.2\n", 2, ErrDuplicate},
		{"duplicate address", "1 g 10.0.0.1\n2 g 10.0.0.1\n", 2, ErrDuplicate},
		{"mixed ports", "1 g 10.0.0.1:23000\n2 g 10.0.0.2\n", 2, ErrInvalidValue},
		{"bad port", "1 g 10.0.0.1:0\n", 1, ErrInvalidValue},
		{"empty port", "1 g 10.0.0.1:\n", 1, ErrInvalidValue},
		{"unbracketed v6", "1 g 2001:db8::1\n", 1, ErrInvalidValue},
		{"bracketed v4", "1 g [10.0.0.1]:23000\n", 1, ErrInvalidValue},
		{"unclosed bracket", "1 g [2001:db8::1\n", 1, ErrInvalidValue},
		{"three hosts", "1 g a,b,c\n", 1, ErrInvalidValue},
		{"bad rw", "1 g 10.0.0.1 rw=maybe\n", 1, ErrInvalidValue},
		{"unknown option", "1 g 10.0.0.1 extra\n", 1, ErrInvalidValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStorageIDs("ids.conf", []byte(tc.data))
			var ce *Error
			if !errors.As(err, &ce) || ce.Line != tc.line || !errors.Is(err, tc.sentinel) {
				t.Fatalf("err = %v, want line %d wrapping %v", err, tc.line, tc.sentinel)
			}
		})
	}
}
