package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// Lambda's published arm64 price (US East (N. Virginia), first tier), as
// read on aws.amazon.com/lambda/pricing in November 2026.
const (
	pricePerGBSecond = 0.0000133334
	pricePerRequest  = 0.20 / 1e6
	// fullVCPUMB is the memory setting at which Lambda gives a function one
	// full vCPU; below it the CPU share is proportional to memory.
	fullVCPUMB = 1769
)

// report holds every row's measurements and prints them.
type report struct {
	quick      bool
	rounds     int
	awsVersion string
	took       time.Duration
	load       [2]string // /proc/loadavg before and after
	sha        *shaResult
	applogs    *appLogsResult
	cold       []*coldResult
	small      *smallResult
	backfill   *backfillResult
	copies     []copyResult
}

func (r *report) print(w io.Writer) {
	mode := "make bench"
	if r.quick {
		mode = "make bench-quick (a tenth of the sizes)"
	}
	fmt.Fprintf(w, "\n## logvault benchmarks: %s\n\n", mode)
	fmt.Fprintf(w, "%s/%s, %d CPUs, %s; local stack (versitygw over TLS) on the same machine; %s; ran %s; load average %s before, %s after.\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), r.awsVersion, r.took.Round(time.Second), r.load[0], r.load[1])
	fmt.Fprintf(w, "Ratios are medians of per-round ratios of alternated runs (range in brackets).\n")
	if len(r.copies) > 0 {
		r.printCopy(w)
	}
	if r.small != nil {
		r.printSmall(w)
	}
	if r.applogs != nil {
		r.printAppLogs(w)
	}
	if len(r.cold) > 0 {
		r.printCold(w)
	}
	if r.sha != nil {
		r.printSHA(w)
	}
	if r.backfill != nil {
		r.printBackfill(w)
	}
	r.printCost(w)
}

func (r *report) printCopy(w io.Writer) {
	fmt.Fprintf(w, "\n### 1. Large copy: `logvault invoke billing` vs `aws s3 cp` between the same buckets (%d rounds)\n\n", len(r.copies[0].logvault))
	fmt.Fprintln(w, "| file | path | logvault wall | aws s3 cp wall | ratio (goal ≤ 1.0×) | logvault peak RSS (goal ≤ 128 MiB) | aws s3 cp peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	var rss []float64
	for _, c := range r.copies {
		lv, fb, cli := walls(c.logvault), walls(c.fallback), walls(c.awscli)
		peak := maxRSS(c.logvault)
		rss = append(rss, float64(peak))
		fmt.Fprintf(w, "| %s | server-side copy | %s | %s | %s | %s %s | %s |\n", sizeLabel(c.size), secs(median(lv)), secs(median(cli)),
			ratioCell(ratios(lv, cli), 1.0), mib(peak), goal(float64(peak) <= 128<<20), mib(maxRSS(c.awscli)))
		if len(fb) > 0 {
			fpeak := maxRSS(c.fallback)
			fmt.Fprintf(w, "| %s | upload (source without the read grant) | %s | %s | %s | %s %s | |\n", sizeLabel(c.size), secs(median(fb)), secs(median(cli)),
				ratioCell(ratios(fb, cli), 1.0), mib(fpeak), goal(float64(fpeak) <= 128<<20))
		}
	}
	if len(rss) == 2 {
		d := (rss[1] - rss[0]) / rss[0]
		fmt.Fprintf(w, "\nlogvault peak RSS, %s vs %s: %+.1f%% (goal: differ by < 10%%) %s\n", sizeLabel(r.copies[1].size), sizeLabel(r.copies[0].size), 100*d, goal(d < 0.10 && d > -0.10))
	}
}

func (r *report) printSmall(w io.Writer) {
	s := r.small
	fmt.Fprintf(w, "\n### 2. Many small objects: %d CloudTrail files (1-100 KiB, %s), SQS batches of %d (%d rounds)\n\n", s.files, mib(s.bytes), sqsBatchSize, len(s.logvault))
	fmt.Fprintln(w, "| shipper | wall | vs aws s3 sync (goal ≤ 0.4×) |")
	fmt.Fprintln(w, "|---|---|---|")
	lv, par, cli := walls(s.logvault), walls(s.parallel), walls(s.awscli)
	fmt.Fprintf(w, "| logvault, one warm Lambda instance, batch after batch | %s | %s |\n", secs(median(lv)), ratioCell(ratios(lv, cli), 0.4))
	fmt.Fprintf(w, "| logvault, %d instances (Lambda's starting SQS concurrency) | %s | %s |\n", lambdaSQSPollers, secs(median(par)), ratioCell(ratios(par, cli), 0.4))
	fmt.Fprintf(w, "| aws s3 sync | %s | 1 |\n", secs(median(cli)))
}

func (r *report) printAppLogs(w io.Writer) {
	a := r.applogs
	mb := float64(a.bytes) / 1e6
	h, f := median(a.handler), median(a.floor)
	fmt.Fprintf(w, "\n### 3. Application logs: CPU per MB of CloudWatch Logs payload (%d payloads, %.1f MB, %d events; %d rounds)\n\n", a.payloads, mb, a.events, len(a.handler))
	fmt.Fprintln(w, "| handler CPU per MB | floor (gunzip + gzip + SHA-256) per MB | ratio (goal ≤ 1.3×) | handler CPU per 1,000 events |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| %.2f ms | %.2f ms | %s | %.2f ms |\n", ms(h)/mb, ms(f)/mb, ratioCell(ratios(a.handler, a.floor), 1.3), ms(h)/float64(a.events)*1000)
}

func (r *report) printCold(w io.Writer) {
	fmt.Fprintf(w, "\n### 4. Cold start under aws-lambda-rie (%d rounds; bootstraps built as `make build` builds them)\n\n", len(r.cold[0].init))
	fmt.Fprintf(w, "| function | init (goal ≤ 50 ms) | first invocation | second invocation | bootstrap linux/arm64 (goal ≤ 20 MB) | bootstrap linux/%s (run here) |\n", r.cold[0].hostArch)
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, c := range r.cold {
		in := median(c.init)
		fmt.Fprintf(w, "| %s | %.1f ms %s | %.1f ms | %.1f ms | %.1f MB %s | %.1f MB |\n", c.function, ms(in), goal(in <= 50*time.Millisecond),
			ms(median(c.first)), ms(median(c.warm)), float64(c.sizeArm64)/1e6, goal(c.sizeArm64 <= 20e6), float64(c.sizeHost)/1e6)
	}
}

func (r *report) printSHA(w io.Writer) {
	s := r.sha
	rate := func(d time.Duration) float64 { return float64(s.bytes) / 1e6 / d.Seconds() }
	m, sh := median(s.machine), median(s.shipper)
	fmt.Fprintf(w, "\n### 5. SHA-256 (%s in memory, read as a body is: io.Copy from a reader; %d rounds)\n\n", mib(s.bytes), len(s.machine))
	fmt.Fprintln(w, "| machine: crypto/sha256, one goroutine | shipper: vault.Hasher (whole object + 8 MiB parts, two goroutines) | shipper / machine (goal ≥ 0.9×) |")
	fmt.Fprintln(w, "|---|---|---|")
	verdict := "met"
	if rate(sh)/rate(m) < 0.9 {
		verdict = "**MISSED**"
	}
	fmt.Fprintf(w, "| %.0f MB/s | %.0f MB/s | %.2f× %s |\n", rate(m), rate(sh), rate(sh)/rate(m), verdict)
}

func (r *report) printBackfill(w io.Writer) {
	b := r.backfill
	fmt.Fprintf(w, "\n### 6. Backfill: %d existing files (1-100 KiB, %s, keys of no known layout) into the vault (%d rounds)\n\n", b.files, mib(b.bytes), len(b.backfill))
	fmt.Fprintln(w, "| run | wall | vs aws s3 sync | peak RSS |")
	fmt.Fprintln(w, "|---|---|---|---|")
	bf, re, cli := walls(b.backfill), walls(b.rerun), walls(b.awscli)
	fmt.Fprintf(w, "| `logvault backfill`, empty vault prefix (goal ≤ 0.5×) | %s | %s | %s |\n", secs(median(bf)), ratioCell(ratios(bf, cli), 0.5), mib(maxRSS(b.backfill)))
	fmt.Fprintf(w, "| `logvault backfill` again, vault complete (goal ≤ 0.2×) | %s | %s | %s |\n", secs(median(re)), ratioCell(ratios(re, cli), 0.2), mib(maxRSS(b.rerun)))
	fmt.Fprintf(w, "| `aws s3 sync`, empty destination | %s | 1 | %s |\n", secs(median(cli)), mib(maxRSS(b.awscli)))
}

// printCost turns CPU time into Lambda cost: below fullVCPUMB a function
// gets a proportional share of a vCPU, so C CPU-seconds take at least
// C × fullVCPUMB / memory seconds, and cost GB-seconds of C × fullVCPUMB /
// 1024 whatever the memory setting.
func (r *report) printCost(w io.Writer) {
	if len(r.copies) == 0 && r.applogs == nil && r.small == nil {
		return
	}
	fmt.Fprintf(w, "\n### Cost (Lambda arm64: $%.10f per GB-second, $0.20 per million requests; CPU-bound estimate)\n\n", pricePerGBSecond)
	fmt.Fprintln(w, "| what | memory | measured CPU | Lambda GB-seconds | cost |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	gbs := func(cpu float64) float64 { return cpu * fullVCPUMB / 1024 }
	for _, c := range r.copies {
		var cpu []time.Duration
		for _, m := range c.logvault {
			cpu = append(cpu, m.cpu)
		}
		perGB := median(cpu).Seconds() / (float64(c.size) / 1e9)
		g := gbs(perGB)
		fmt.Fprintf(w, "| 1 GB shipped as %s billing files | 512 MB | %.2f s | %.2f | $%.5f per GB |\n", sizeLabel(c.size), perGB, g, g*pricePerGBSecond+pricePerRequest*1e9/float64(c.size))
	}
	if s := r.small; s != nil {
		var cpu []time.Duration
		for _, m := range s.logvault {
			cpu = append(cpu, m.cpu)
		}
		perGB := median(cpu).Seconds() / (float64(s.bytes) / 1e9)
		g := gbs(perGB)
		invocations := float64(s.files) / sqsBatchSize * 1e9 / float64(s.bytes)
		fmt.Fprintf(w, "| 1 GB shipped as 1-100 KiB CloudTrail files | 256 MB | %.2f s | %.2f | $%.5f per GB |\n", perGB, g, g*pricePerGBSecond+pricePerRequest*invocations)
	}
	if a := r.applogs; a != nil {
		perM := median(a.handler).Seconds() / float64(a.events) * 1e6
		g := gbs(perM)
		invocations := 1e6 / (float64(a.events) / float64(a.payloads))
		fmt.Fprintf(w, "| 1 million log events (%d per 1 MB delivery) | 256 MB | %.2f s | %.2f | $%.5f per million events |\n", a.events/a.payloads, perM, g, g*pricePerGBSecond+pricePerRequest*invocations)
	}
}

// ratioCell is "median× [min–max] met|MISSED" against goal (at most).
func ratioCell(rs []float64, goalAtMost float64) string {
	if len(rs) == 0 {
		return "-"
	}
	m := medianF(rs)
	return fmt.Sprintf("%.2f× [%.2f–%.2f] %s", m, slices.Min(rs), slices.Max(rs), goal(m <= goalAtMost))
}

func goal(met bool) string {
	if met {
		return "met"
	}
	return "**MISSED**"
}

func walls(ms []measure) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = m.wall
	}
	return out
}

func maxRSS(ms []measure) int64 {
	var m int64
	for _, x := range ms {
		m = max(m, x.rss)
	}
	return m
}

func ratios(a, b []time.Duration) []float64 {
	var out []float64
	for i := range min(len(a), len(b)) {
		out = append(out, a[i].Seconds()/b[i].Seconds())
	}
	return out
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianF(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
