package framework

import (
	"bufio"
	"fmt"
	"strings"
)

// DocPages are the pages of docs/ whose commands the docs test (test/e2e/realistiod) runs, in order. Every page with
// a runnable block must be listed (TestDocPages_EveryPageWithCommandsIsListed).
var DocPages = []string{"getting-started.md", "day2.md", "ambient.md", "gateways.md", "troubleshooting.md", "uninstall.md"}

// DocBlock is a fenced code block of a Markdown page, as the docs test runs it: `sh` blocks are commands to run,
// blocks whose info string names a file (```yaml file=istio.yaml) are written to that file first, and every other
// block (output shown as `console` or `text`, commands marked ```sh norun) is only shown.
type DocBlock struct {
	// Line is the line of the opening fence, for messages.
	Line int
	// Lang is the first word of the info string (sh, yaml, console, ...).
	Lang string
	// File is the file=NAME of the info string; empty when the block is not a file.
	File string
	// Run says the block is commands to run: Lang sh without norun.
	Run bool
	// Invalid marks a resource shown to be refused (info string word "invalid"): the docs test expects the CRD
	// schemas to refuse it.
	Invalid bool
	// Text is the block's content.
	Text string
}

// ParseDocBlocks returns the fenced code blocks (``` fences) of a Markdown page in order. An unclosed fence is an
// error naming its line.
func ParseDocBlocks(page string) ([]DocBlock, error) {
	var blocks []DocBlock
	var cur *DocBlock
	var text strings.Builder
	sc := bufio.NewScanner(strings.NewReader(page))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.HasPrefix(strings.TrimSpace(line), "```")
		switch {
		case cur == nil && fence:
			cur = openBlock(n, strings.TrimPrefix(strings.TrimSpace(line), "```"))
			text.Reset()
		case cur != nil && fence:
			cur.Text = text.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			text.WriteString(line + "\n")
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: code block is never closed", cur.Line)
	}
	return blocks, sc.Err()
}

// openBlock reads a fence's info string: the language, then words such as file=NAME and norun.
func openBlock(line int, info string) *DocBlock {
	b := &DocBlock{Line: line}
	words := strings.Fields(info)
	norun := false
	for i, w := range words {
		switch {
		case i == 0:
			b.Lang = w
		case strings.HasPrefix(w, "file="):
			b.File = strings.TrimPrefix(w, "file=")
		case w == "norun":
			norun = true
		case w == "invalid":
			b.Invalid = true
		}
	}
	b.Run = b.Lang == "sh" && !norun && b.File == ""
	return b
}
