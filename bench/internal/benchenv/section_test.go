package benchenv

import "testing"

func TestReplaceSection(t *testing.T) {
	const doc = "# Title\n\nhead\n\n## A\n\na\n\n## B\n\nb\n"
	for _, tc := range []struct {
		name, doc, heading, body, want string
	}{
		{"middle", doc, "## A", "## A\n\nnew a\n", "# Title\n\nhead\n\n## A\n\nnew a\n\n## B\n\nb\n"},
		{"last", doc, "## B", "## B\n\nnew b", "# Title\n\nhead\n\n## A\n\na\n\n## B\n\nnew b\n"},
		{"missing", doc, "## C", "## C\n\nc\n", doc + "\n## C\n\nc\n"},
		{"empty doc", "", "## C", "## C\n\nc\n", "## C\n\nc\n"},
		{"heading inside a line is not one", "x ## A\n", "## A", "## A\n", "x ## A\n\n## A\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplaceSection(tc.doc, tc.heading, tc.body); got != tc.want {
				t.Errorf("ReplaceSection(%q, %q) =\n%q\nwant\n%q", tc.doc, tc.heading, got, tc.want)
			}
		})
	}
}

func TestReplaceHead(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"sections kept", "# Old\n\nold\n\n## A\n\na\n", "# New\n\n## A\n\na\n"},
		{"no sections", "# Old\n", "# New\n"},
		{"empty", "", "# New\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplaceHead(tc.doc, "# New\n"); got != tc.want {
				t.Errorf("ReplaceHead(%q) = %q, want %q", tc.doc, got, tc.want)
			}
		})
	}
}
