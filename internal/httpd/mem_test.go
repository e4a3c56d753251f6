package httpd

import "runtime"

func runtimeGC() { runtime.GC() }

// heapInUse returns the bytes of in-use heap spans.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
