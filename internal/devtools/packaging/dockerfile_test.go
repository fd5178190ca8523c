package packaging

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd  string // upper case: FROM, RUN, ...
	Args string
}

// stage is a build stage: its FROM and what follows it.
type stage struct {
	Image, Name  string
	Instructions []instruction
}

// parseDockerfile reads the Dockerfile syntax this repository uses: comments, line continuations and
// instructions; global ARGs before the first FROM are returned separately (with their defaults).
func parseDockerfile(t *testing.T, path string) (globalArgs map[string]string, stages []stage) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	globalArgs = map[string]string{}
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") { // a comment inside a continued instruction
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur.Len() > 0 {
		t.Fatalf("%s ends in a line continuation", path)
	}
	for _, l := range lines {
		cmd, args, _ := strings.Cut(l, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args)}
		switch {
		case in.Cmd == "FROM":
			fields := strings.Fields(in.Args)
			fields = slices.DeleteFunc(fields, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{Image: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.Name = fields[2]
			}
			stages = append(stages, st)
		case len(stages) == 0:
			if in.Cmd != "ARG" {
				t.Fatalf("%s: %s before the first FROM", path, in.Cmd)
			}
			name, def, _ := strings.Cut(in.Args, "=")
			globalArgs[name] = def
		default:
			stages[len(stages)-1].Instructions = append(stages[len(stages)-1].Instructions, in)
		}
	}
	return globalArgs, stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.Instructions {
		if in.Cmd == cmd {
			out = append(out, in.Args)
		}
	}
	return out
}

// expand replaces ${NAME} and $NAME by the global ARG defaults.
func expand(s string, args map[string]string) string {
	return os.Expand(s, func(k string) string { return args[k] })
}

func TestDockerfile_BuildsAStaticNonRootImage(t *testing.T) {
	g := NewWithT(t)
	args, stages := parseDockerfile(t, filepath.Join(repoRoot(), "Dockerfile"))
	g.Expect(len(stages)).To(BeNumerically(">=", 2), "multi-stage: a builder and the final image")
	builder, final := stages[0], stages[len(stages)-1]

	t.Run("the final image is distroless or scratch and runs as a non-root user", func(t *testing.T) {
		g := NewWithT(t)
		base := expand(final.Image, args)
		g.Expect(base == "scratch" || strings.HasPrefix(base, "gcr.io/distroless/static")).To(BeTrue(), "final base image %q", base)
		users := final.all("USER")
		g.Expect(users).To(HaveLen(1))
		uid, gid, _ := strings.Cut(users[0], ":")
		g.Expect(uid).To(MatchRegexp(`^[0-9]+$`), "a numeric UID, so that runAsNonRoot can verify it")
		g.Expect(uid).NotTo(Equal("0"))
		g.Expect(gid).NotTo(Equal("0"))
		g.Expect(final.all("RUN")).To(BeEmpty(), "nothing runs in the final stage (it has no shell)")

		entrypoint := final.all("ENTRYPOINT")
		g.Expect(entrypoint).To(HaveLen(1))
		var argv []string
		g.Expect(json.Unmarshal([]byte(entrypoint[0]), &argv)).To(Succeed(), "ENTRYPOINT in exec form")
		copies := final.all("COPY")
		g.Expect(copies).To(ContainElement(MatchRegexp(`^--from=`+builder.Name+` \S+ `+regexp.QuoteMeta(argv[0])+`$`)),
			"the entrypoint is the binary copied from the builder")
	})

	t.Run("the builder makes a static, stamped binary with the Istio charts", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(builder.Name).NotTo(BeEmpty())
		g.Expect(expand(builder.Image, args)).To(HavePrefix("golang:1.26"))
		g.Expect(builder.all("ARG")).To(ContainElements(HavePrefix("VERSION"), HavePrefix("COMMIT")))
		runs := builder.all("RUN")
		resources := slices.IndexFunc(runs, func(r string) bool { return strings.Contains(r, "make resources") })
		build := slices.IndexFunc(runs, func(r string) bool { return strings.Contains(r, "go build") })
		g.Expect(resources).To(BeNumerically(">=", 0), "the Istio charts are extracted")
		g.Expect(build).To(BeNumerically(">", resources), "and embedded by the build")
		cmd := runs[build]
		g.Expect(cmd).To(ContainSubstring("CGO_ENABLED=0"))
		g.Expect(cmd).To(ContainSubstring("-trimpath"))
		g.Expect(cmd).To(ContainSubstring("-X github.com/sail-mesh/sail/internal/operator.Version=${VERSION}"))
		g.Expect(cmd).To(ContainSubstring("-X github.com/sail-mesh/sail/internal/operator.Commit=${COMMIT}"))
		g.Expect(cmd).To(ContainSubstring("./cmd/sail-operator"))
	})

	t.Run("the builder copies every source the build needs", func(t *testing.T) {
		g := NewWithT(t)
		var copied []string
		for _, c := range builder.all("COPY") {
			fields := strings.Fields(c)
			for _, src := range fields[:len(fields)-1] {
				copied = append(copied, strings.TrimSuffix(src, "/"))
			}
		}
		g.Expect(copied).To(ContainElements("go.mod", "go.sum", "Makefile", "resources"))
		// Every package of this module that the operator or the chart extractor (make resources) imports.
		cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
			"./cmd/sail-operator", "./hack/extractcharts")
		cmd.Dir = repoRoot()
		out, err := cmd.Output()
		g.Expect(err).NotTo(HaveOccurred())
		const module = "github.com/sail-mesh/sail/"
		for _, pkg := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(pkg, module)
			if !ok {
				continue
			}
			top, _, _ := strings.Cut(rel, "/")
			g.Expect(copied).To(ContainElement(top), "package %s is not copied into the builder", pkg)
		}
	})
}
