// Command versionsgen keeps the version markers of the API types in step with resources/versions.yaml. In the
// Go files it is given, the kubebuilder marker on the line after a `// sail:versions-enum` comment becomes an
// Enum of every version and alias, after `// sail:versions-enum-concrete` an Enum of the concrete versions, and
// after `// sail:versions-default` a default of the newest version. With -check it changes nothing and fails
// when a file is out of date.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sail-mesh/sail/internal/pipeline/versions"
)

func main() {
	versionsFile := flag.String("versions", "resources/versions.yaml", "versions list")
	check := flag.Bool("check", false, "fail when a file is out of date instead of rewriting it")
	flag.Parse()
	if err := run(*versionsFile, *check, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "versionsgen:", err)
		os.Exit(1)
	}
}

func run(versionsFile string, check bool, files []string) error {
	data, err := os.ReadFile(versionsFile)
	if err != nil {
		return err
	}
	list, err := versions.Parse(data)
	if err != nil {
		return err
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		out := Rewrite(src, list)
		if bytes.Equal(src, out) {
			continue
		}
		if check {
			return fmt.Errorf("%s is out of date with %s: run `make gen`", f, versionsFile)
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			return err
		}
		fmt.Println("updated", f)
	}
	return nil
}

// Rewrite returns src with the marker line after each sail:versions-* comment regenerated from list.
func Rewrite(src []byte, list *versions.List) []byte {
	var concrete []string
	for _, v := range list.Versions {
		concrete = append(concrete, v.Name)
	}
	replacements := map[string]string{
		"// sail:versions-enum":          "// +kubebuilder:validation:Enum=" + strings.Join(list.Names(), ";"),
		"// sail:versions-enum-concrete": "// +kubebuilder:validation:Enum=" + strings.Join(concrete, ";"),
		"// sail:versions-default":       "// +kubebuilder:default=" + list.Newest().Name,
	}
	lines := strings.Split(string(src), "\n")
	for i := 0; i+1 < len(lines); i++ {
		trimmed := strings.TrimSpace(lines[i])
		if repl, ok := replacements[trimmed]; ok {
			indent := lines[i][:len(lines[i])-len(strings.TrimLeft(lines[i], " \t"))]
			lines[i+1] = indent + repl
		}
	}
	return []byte(strings.Join(lines, "\n"))
}
