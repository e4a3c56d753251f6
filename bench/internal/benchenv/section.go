package benchenv

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// A markdown report is a head (everything before the first "## " line) and sections, each
// from its "## " heading line to the next one. The commands write their own parts and keep
// the others.

// ReplaceSection returns doc with the section whose heading line is heading (for example
// "## Slow-client soak") replaced by body, which starts with that heading line; a doc without
// the section gets body appended.
func ReplaceSection(doc, heading, body string) string {
	body = strings.TrimRight(body, "\n") + "\n"
	start, end, ok := findSection(doc, heading)
	if !ok {
		if doc != "" {
			doc = strings.TrimRight(doc, "\n") + "\n\n"
		}
		return doc + body
	}
	rest := doc[end:]
	if rest != "" {
		body += "\n"
	}
	return doc[:start] + body + rest
}

// ReplaceHead returns doc with its head (everything before the first section) replaced by
// head.
func ReplaceHead(doc, head string) string {
	head = strings.TrimRight(head, "\n") + "\n"
	i := nextHeading(doc, 0)
	if i == len(doc) {
		return head
	}
	return head + "\n" + doc[i:]
}

// WriteSection replaces (or appends) one section of the markdown file at path, creating the
// file when it is missing.
func WriteSection(path, heading, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, []byte(ReplaceSection(string(old), heading, body)), 0o644)
}

// findSection returns the byte range of the section headed by heading.
func findSection(doc, heading string) (start, end int, ok bool) {
	for i := nextHeading(doc, 0); i < len(doc); i = nextHeading(doc, i+1) {
		line, _, _ := strings.Cut(doc[i:], "\n")
		if strings.TrimSpace(line) == heading {
			return i, nextHeading(doc, i+1), true
		}
	}
	return 0, 0, false
}

// nextHeading returns the offset of the first "## " line starting at or after from, or
// len(doc).
func nextHeading(doc string, from int) int {
	for i := from; i < len(doc); {
		if (i == 0 || doc[i-1] == '\n') && strings.HasPrefix(doc[i:], "## ") {
			return i
		}
		j := strings.IndexByte(doc[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	return len(doc)
}
