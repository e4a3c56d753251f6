package allowhosts

import (
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGuardGRPC: a real gRPC server on loopback behind a Guard refuses unary calls and streams
// from a client its list does not name, and Set lets the next calls in.
func TestGuardGRPC(t *testing.T) {
	deny, err := Parse([]string{"10.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGuard("storage", deny)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(g.UnaryInterceptor()), grpc.ChainStreamInterceptor(g.StreamInterceptor()))
	healthpb.RegisterHealthServer(gs, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cli := healthpb.NewHealthClient(conn)
	check := func() error {
		_, err := cli.Check(t.Context(), &healthpb.HealthCheckRequest{})
		return err
	}
	watch := func() error {
		w, err := cli.Watch(t.Context(), &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		_, err = w.Recv()
		return err
	}
	for name, call := range map[string]func() error{"unary": check, "stream": watch} {
		err := call()
		if status.Code(err) != codes.PermissionDenied || status.Convert(err).Message() != "storage: client 127.0.0.1 not in allow_hosts" {
			t.Errorf("%s call from 127.0.0.1 with allow_hosts 10.0.0.1: %v; want PERMISSION_DENIED naming the client", name, err)
		}
	}
	allow, err := Parse([]string{"10.0.0.1", "127.0.0.0/8"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g.Set(allow)
	for name, call := range map[string]func() error{"unary": check, "stream": watch} {
		if err := call(); err != nil {
			t.Errorf("%s call after Set(127.0.0.0/8): %v", name, err)
		}
	}
}

// TestGuardAddrs: AllowsAddr takes TCP addresses and host:port strings, IPv4-mapped IPv6
// included, and refuses what is not an IP address unless everyone is allowed.
func TestGuardAddrs(t *testing.T) {
	l, err := Parse([]string{"192.168.5.64/26"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := NewGuard("tracker", l)
	tests := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.168.5.70"), Port: 1}, true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.168.5.70"), Port: 1}, true},
		{&net.TCPAddr{IP: net.ParseIP("192.168.5.128"), Port: 1}, false},
		{&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := g.AllowsAddr(tt.addr); got != tt.want {
			t.Errorf("AllowsAddr(%v) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if !new(Guard).AllowsAddr(nil) || !NewGuard("tracker", nil).AllowsAddr(&net.UnixAddr{Name: "x"}) {
		t.Error("a Guard without a list must allow everyone")
	}
}
