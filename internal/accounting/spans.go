package accounting

import "slices"

// Span is a byte range [Start, End) of a file.
type Span struct {
	Start int64 `json:"s"`
	End   int64 `json:"e"`
}

// mergeSpans returns the union of a (sorted, disjoint, non-adjacent) and b as a sorted list
// of disjoint, non-adjacent spans. Empty spans in b are ignored.
func mergeSpans(a, b []Span) []Span {
	out := slices.Clone(a)
	for _, s := range b {
		if s.End > s.Start {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y Span) int {
		switch {
		case x.Start < y.Start:
			return -1
		case x.Start > y.Start:
			return 1
		}
		return 0
	})
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s.Start <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, s.End)
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// covers reports whether spans (merged) cover [0, size).
func covers(spans []Span, size int64) bool {
	return len(spans) == 1 && spans[0].Start <= 0 && spans[0].End >= size
}

// AckedSpans maps a response's acknowledged byte count onto the file ranges it carried: parts
// are the file ranges in the order they went out, acked the body bytes acknowledged (framing
// bytes between parts, such as multipart headers, are counted in gaps).
func AckedSpans(parts []Part, acked int64) []Span {
	var out []Span
	for _, p := range parts {
		got := min(max(acked-p.Offset, 0), p.Len)
		if got > 0 {
			out = append(out, Span{p.Start, p.Start + got})
		}
	}
	return out
}

// Part is one file range of a response body: Len bytes of the file from Start, beginning
// Offset bytes into the body.
type Part struct {
	Start, Len, Offset int64
}
