// Package proto holds Depot's protobuf definitions; the generated Go code lives in the
// sub-packages (storagepb, trackerpb, replicapb, trunkpb). Regenerate with `go generate ./proto/...`: it runs the system
// protoc with the protoc-gen-go and protoc-gen-go-grpc versions pinned by the tool lines in
// go.mod (`go tool -n` builds them and prints their path).
package proto

//go:generate sh -c "protoc -I . --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=storagepb --go_opt=paths=source_relative --go-grpc_out=storagepb --go-grpc_opt=paths=source_relative storage.proto"
//go:generate sh -c "protoc -I . --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=trackerpb --go_opt=paths=source_relative --go-grpc_out=trackerpb --go-grpc_opt=paths=source_relative tracker.proto"
//go:generate sh -c "protoc -I . --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=replicapb --go_opt=paths=source_relative --go-grpc_out=replicapb --go-grpc_opt=paths=source_relative replica.proto"
//go:generate sh -c "protoc -I . --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --plugin=protoc-gen-go-grpc=$(go tool -n protoc-gen-go-grpc) --go_out=trunkpb --go_opt=paths=source_relative --go-grpc_out=trunkpb --go-grpc_opt=paths=source_relative trunk.proto"
