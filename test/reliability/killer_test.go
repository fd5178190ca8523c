package reliability

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/sail-mesh/sail/test/framework"
)

// killPlan picks, for each phase, the writes after which the operator is killed: SAIL_KILL_POINTS points (5 by
// default) spread over the phases in turn, each the k-th write of its phase with k drawn from [1, bound] (bounds
// are the fewest writes an uninterrupted phase sends). The seed is SAIL_RELIABILITY_SEED, or the clock; it is
// printed, so a failing plan can be run again.
func killPlan(t *testing.T, phases []string, bounds map[string]int) map[string][]int {
	t.Helper()
	n, seed := envInt(t, "SAIL_KILL_POINTS", 5), envInt(t, "SAIL_RELIABILITY_SEED", int(time.Now().UnixNano()%1e9))
	fmt.Fprintf(os.Stderr, "reliability: %d kill points, seed %d (rerun with SAIL_RELIABILITY_SEED=%d)\n", n, seed, seed)
	t.Logf("%d kill points, seed %d (rerun with SAIL_RELIABILITY_SEED=%d)", n, seed, seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	plan := map[string][]int{}
	for i := range n {
		p := phases[i%len(phases)]
		plan[p] = append(plan[p], 1+rng.IntN(bounds[p]))
	}
	for p, ks := range plan {
		slices.Sort(ks)
		for i := 1; i < len(ks); i++ {
			ks[i] = max(ks[i], ks[i-1]+1) // two kills at one point would kill an operator that did nothing yet
		}
		t.Logf("phase %s: kill after writes %v", p, ks)
	}
	return plan
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// killer runs the operator and kills it (SIGKILL) at planned writes, starting a fresh one each time.
type killer struct {
	t       *testing.T
	logDir  string
	op      *framework.Operator
	started int
	killed  []string
}

func newKiller(t *testing.T) *killer {
	k := &killer{t: t, logDir: t.TempDir()}
	k.start()
	t.Cleanup(func() {
		k.op.DumpLogOnFailure(t)
		k.op.Stop()
		k.checkNoPanic()
	})
	return k
}

func (k *killer) start() {
	k.started++
	op, err := cluster.StartOperator(k.logDir, fmt.Sprintf("operator-%02d", k.started))
	if err != nil {
		k.t.Fatal(err)
	}
	k.op = op
}

// phase does act, kills the operator right after each of the phase's planned writes (counted from act on, across
// operators, from the audit log) and starts a fresh one, then waits until converged passes and the operator has
// settled. It fails when a planned write never came.
func (k *killer) phase(name string, kills []int, act func(), converged func(Gomega)) {
	t := k.t
	tail := newTail(t)
	start, writes, lastWrite, lastCheck := time.Now(), 0, time.Now(), time.Time{}
	act()
	for {
		ws, err := tail.Next()
		if err != nil {
			t.Fatalf("reading the audit log: %v", err)
		}
		if len(ws) > 0 {
			lastWrite = time.Now()
		}
		for _, w := range ws {
			writes++
			if len(kills) > 0 && writes == kills[0] {
				k.op.Kill()
				k.killed = append(k.killed, fmt.Sprintf("%s #%d (%s)", name, writes, w))
				kills = kills[1:]
				k.start()
			}
		}
		if time.Since(lastCheck) > time.Second {
			lastCheck = time.Now()
			if time.Since(lastWrite) > quietFor && try(converged) == nil {
				break
			}
		}
		if time.Since(start) > waitFor {
			g := NewWithT(t)
			converged(g) // fails with what is wrong
			t.Fatalf("phase %s: the operator did not settle within %s", name, waitFor)
		}
		time.Sleep(10 * time.Millisecond)
	}
	NewWithT(t).Expect(kills).To(BeEmpty(), "phase %s sent only %d writes, fewer than planned: lower its bound", name, writes)
	t.Logf("FIGURE phase %s: converged in %s after %d operator writes, operator started %d times so far",
		name, time.Since(start).Round(time.Millisecond), writes, k.started)
}

// checkNoPanic fails when an operator's log shows a panic.
func (k *killer) checkNoPanic() {
	for i := 1; i <= k.started; i++ {
		data, err := os.ReadFile(fmt.Sprintf("%s/operator-%02d.log", k.logDir, i))
		if err == nil && strings.Contains(string(data), "panic") {
			k.t.Errorf("operator %d panicked; its log: %s/operator-%02d.log", i, k.logDir, i)
		}
	}
}

// servingMonitor checks, every 50 ms, that the istiod Deployments that serve exist.
type servingMonitor struct {
	mu         sync.Mutex
	ns         string
	want       []string
	violations []string
	stop       chan struct{}
	done       chan struct{}
}

func newServingMonitor(t *testing.T, ns string) *servingMonitor {
	m := &servingMonitor{ns: ns, stop: make(chan struct{}), done: make(chan struct{})}
	go m.loop()
	t.Cleanup(m.close)
	return m
}

// expect sets the istiod Deployments that must exist from now on.
func (m *servingMonitor) expect(names ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.want = names
}

func (m *servingMonitor) loop() {
	defer close(m.done)
	for {
		select {
		case <-m.stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		m.check()
	}
}

func (m *servingMonitor) check() {
	m.mu.Lock()
	want := m.want
	m.mu.Unlock()
	var got []string
	if try(func(g Gomega) { got = istiods(g, m.ns) }) != nil {
		return // the API server did not answer: nothing to tell
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			m.mu.Lock()
			m.violations = append(m.violations, time.Now().Format("15:04:05.000")+" "+w+" missing")
			m.mu.Unlock()
		}
	}
}

// Violations returns the times a serving istiod was missing.
func (m *servingMonitor) Violations() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.violations)
}

func (m *servingMonitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// tryFailure carries a Gomega failure out of try's function.
type tryFailure struct{ err error }

// try runs f and returns its first failed assertion, or nil.
func try(f func(Gomega)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			failure, ok := r.(tryFailure)
			if !ok {
				panic(r)
			}
			err = failure.err
		}
	}()
	f(NewGomega(func(msg string, _ ...int) { panic(tryFailure{errors.New(msg)}) }))
	return nil
}
