package framework

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// PlainMetricsFlags returns the flags that serve the operator's metrics over plain HTTP on a free loopback port,
// and the address to scrape (for ScrapeMetric). Tests only: the metrics of a production operator are served
// authenticated.
func PlainMetricsFlags() ([]string, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	_ = l.Close()
	return []string{"--metrics-bind-address=" + addr, "--metrics-secure=false"}, addr, nil
}

// ScrapeMetric returns the value of the metric called name (a sample without labels, as Sail's counters are) served
// at http://addr/metrics.
func ScrapeMetric(addr, name string) (float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, fmt.Errorf("scraping the operator's metrics (started with PlainMetricsFlags?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("scraping the operator's metrics: %s: %s", resp.Status, body)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("the operator serves no metric %s", name)
}

// ScrapeByLabel sums the samples of the metric called name served at http://addr/metrics by the value of their
// label called label, e.g. controller_runtime_reconcile_total by controller.
func ScrapeByLabel(addr, name, label string) (map[string]float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("scraping the operator's metrics (started with PlainMetricsFlags?): %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping the operator's metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), name+"{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[labelValue(labels, label)] += v
	}
	return out, sc.Err()
}

// labelValue returns the value of label in a Prometheus label list (a="x",b="y").
func labelValue(labels, label string) string {
	for _, part := range strings.Split(labels, ",") {
		if v, ok := strings.CutPrefix(part, label+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}
