package logformat

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCompileVariables(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   Op
	}{
		{"remote_addr", Op{Var: RemoteAddr}},
		{"remote_port", Op{Var: RemotePort}},
		{"remote_user", Op{Var: RemoteUser}},
		{"time_local", Op{Var: TimeLocal}},
		{"time_iso8601", Op{Var: TimeISO8601}},
		{"msec", Op{Var: Msec}},
		{"request", Op{Var: Request}},
		{"request_method", Op{Var: RequestMethod}},
		{"request_uri", Op{Var: RequestURI}},
		{"uri", Op{Var: URI}},
		{"document_uri", Op{Var: URI}},
		{"args", Op{Var: Args}},
		{"query_string", Op{Var: Args}},
		{"server_protocol", Op{Var: ServerProtocol}},
		{"status", Op{Var: Status}},
		{"body_bytes_sent", Op{Var: BodyBytesSent}},
		{"bytes_sent", Op{Var: BytesSent}},
		{"request_time", Op{Var: RequestTime}},
		{"request_completion", Op{Var: RequestCompletion}},
		{"connection", Op{Var: Connection}},
		{"http_referer", Op{Var: HTTP, Arg: "Referer"}},
		{"http_user_agent", Op{Var: HTTP, Arg: "User-Agent"}},
		{"http_range", Op{Var: HTTP, Arg: "Range"}},
		{"http_x_forwarded_for", Op{Var: HTTP, Arg: "X-Forwarded-For"}},
		{"HTTP_X_Depot_1a", Op{Var: HTTP, Arg: "X-Depot-1a"}},
		{"sent_http_content_type", Op{Var: SentHTTP, Arg: "Content-Type"}},
		{"depot_user", Op{Var: DepotUser}},
		{"depot_bytes_acked", Op{Var: DepotBytesAcked}},
		{"Status", Op{Var: Status}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, src := range []string{"[$" + tc.name + "]", "[${" + tc.name + "}]"} {
				f, err := Compile(src)
				if err != nil {
					t.Fatalf("%q: %v", src, err)
				}
				want := []Op{{Arg: "["}, tc.op, {Arg: "]"}}
				if !reflect.DeepEqual(f.Ops, want) {
					t.Errorf("%q: ops %+v, want %+v", src, f.Ops, want)
				}
				if !f.Uses(tc.op.Var) || (tc.op.Var != DepotUser && f.Uses(DepotUser)) {
					t.Errorf("%q: Uses wrong", src)
				}
			}
		})
	}
}

func TestCompileForms(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want []Op
	}{
		{"", nil},
		{"plain text", []Op{{Arg: "plain text"}}},
		{"$status$status", []Op{{Var: Status}, {Var: Status}}},
		{"${status}ok", []Op{{Var: Status}, {Arg: "ok"}}},
		{"$status-ok", []Op{{Var: Status}, {Arg: "-ok"}}},
		{`"$request" {$uri}`, []Op{{Arg: `"`}, {Var: Request}, {Arg: `" {`}, {Var: URI}, {Arg: "}"}}},
	} {
		f, err := Compile(tc.src)
		if err != nil {
			t.Fatalf("%q: %v", tc.src, err)
		}
		if !reflect.DeepEqual(f.Ops, tc.want) {
			t.Errorf("%q: ops %+v, want %+v", tc.src, f.Ops, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ src, says string }{
		{"$foo", "$foo"},
		{"ok $statuses", "$statuses"},
		{"${nope}", "$nope"},
		{"$", "without a variable name"},
		{"a $ b", "without a variable name"},
		{"${status", "unclosed"},
		{"${}", "bad variable name"},
		{"${a b}", "bad variable name"},
		{"$http_", "$http_"},
		{"$http___", "$http___"},
	} {
		_, err := Compile(tc.src)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: error %v, want ErrFormat saying %q", tc.src, err, tc.says)
		}
	}
}

func TestDefault(t *testing.T) {
	f, err := Compile(Default)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.String(); got != strings.NewReplacer("$remote_addr", "${remote_addr}", "$remote_user", "${remote_user}",
		"$time_local", "${time_local}", "$request_time", "${request_time}", "$request", "${request}", "$status", "${status}",
		"$body_bytes_sent", "${body_bytes_sent}", "$http_referer", "${http_referer}", "$http_user_agent", "${http_user_agent}").Replace(Default) {
		t.Errorf("String() = %q", got)
	}
	if f.Uses(DepotBytesAcked) || f.Uses(RequestCompletion) {
		t.Error("the default format uses an acknowledgement variable")
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{Default, "", "$", "${", "${}", "$http_x_y", "${sent_http_a}b$c", "$$", "a$b{c}",
		`$remote_addr "${request}" $depot_user $depot_bytes_acked $request_completion`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fm, err := Compile(s)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("%q: error %v does not wrap ErrFormat", s, err)
			}
			return
		}
		var lits strings.Builder
		for i, op := range fm.Ops {
			if op.Var == Literal {
				if op.Arg == "" || strings.Contains(op.Arg, "$") || (i > 0 && fm.Ops[i-1].Var == Literal) {
					t.Fatalf("%q: bad literal op %d %+v", s, i, fm.Ops)
				}
				lits.WriteString(op.Arg)
			} else if !fm.Uses(op.Var) {
				t.Fatalf("%q: Uses(%d) false", s, op.Var)
			}
		}
		if strings.Count(s, "$") != len(fm.Ops)-strings.Count(fmtKinds(fm), "L") {
			t.Fatalf("%q: %d '$' but ops %+v", s, strings.Count(s, "$"), fm.Ops)
		}
		again, err := Compile(fm.String())
		if err != nil || !reflect.DeepEqual(again.Ops, fm.Ops) {
			t.Fatalf("%q: canonical form %q compiles to %+v, %v; want %+v", s, fm.String(), again.Ops, err, fm.Ops)
		}
	})
}

// fmtKinds returns one letter per op: L for literals, V for variables.
func fmtKinds(f Format) string {
	var b strings.Builder
	for _, op := range f.Ops {
		if op.Var == Literal {
			b.WriteByte('L')
		} else {
			b.WriteByte('V')
		}
	}
	return b.String()
}
