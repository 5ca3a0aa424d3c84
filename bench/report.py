#!/usr/bin/env python3
"""bench/report.py RAW-DIR RESULTS-DIR: turn bench/run.sh's raw data into a table on stdout,
RESULTS-DIR/latest.md and PNG plots (gnuplot). Missing inputs (--no-vm, --no-density) are
reported as not measured."""
import json
import os
import random
import statistics
import subprocess
import sys

raw, out = sys.argv[1], sys.argv[2]
plotdir = os.path.join(raw, "plot")
os.makedirs(plotdir, exist_ok=True)
os.makedirs(out, exist_ok=True)


def path(name):
    return os.path.join(raw, name)


def exists(name):
    return os.path.exists(path(name))


def kv(name):
    d = {}
    if exists(name):
        for line in open(path(name)):
            k, _, v = line.rstrip("\n").partition(" ")
            d[k] = v
    return d


def tsv(name):
    if not exists(name):
        return []
    lines = [l.rstrip("\n").split("\t") for l in open(path(name)) if l.strip()]
    head = lines[0]
    return [dict(zip(head, l)) for l in lines[1:]]


def hyperfine(prefix):
    """prefix -> {label: [ms...]}, pooled over the rounds prefix.N.json (or prefix.json);
    also {label: (user_ms, system_ms)} means, in hf_cpu[prefix]."""
    import glob
    files = sorted(glob.glob(path(prefix + ".[0-9]*.json"))) or glob.glob(path(prefix + ".json"))
    res, cpu = {}, {}
    for fn in files:
        for r in json.load(open(fn))["results"]:
            res.setdefault(r["command"], []).extend(t * 1e3 for t in r["times"])
            cpu.setdefault(r["command"], []).append((r["user"] * 1e3, r["system"] * 1e3, len(r["times"])))
    hf_cpu[prefix] = {k: (sum(u * n for u, _, n in v) / sum(n for _, _, n in v),
                          sum(s_ * n for _, s_, n in v) / sum(n for _, _, n in v)) for k, v in cpu.items()}
    return res


hf_cpu = {}


def cycles(name):
    """label -> {phase: [ms...]} (and mem columns)"""
    res = {}
    for r in tsv(name):
        d = res.setdefault(r["label"], {})
        for k, v in r.items():
            if k == "label":
                continue
            d.setdefault(k, []).append(float(v))
    return res


def med(v):
    return statistics.median(v) if v else float("nan")


def pct(v, p):
    if not v:
        return float("nan")
    s = sorted(v)
    i = (len(s) - 1) * p / 100
    lo = int(i)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (i - lo)


def ratio_ci(a, b, n=2000):
    """median(a)/median(b) with a 95% bootstrap interval."""
    if not a or not b:
        return float("nan"), float("nan"), float("nan")
    rnd = random.Random(7)
    rs = []
    for _ in range(n):
        ra = [rnd.choice(a) for _ in a]
        rb = [rnd.choice(b) for _ in b]
        rs.append(med(ra) / med(rb))
    rs.sort()
    return med(a) / med(b), rs[int(0.025 * n)], rs[int(0.975 * n) - 1]


def paired(rows_by_label, a, b, key="total_ms"):
    """median over iterations of a_i / b_i (interleaved runs: neighbours in time), with a
    95% bootstrap interval; rows_by_label: label -> {key: [...], 'iter': [...]}"""
    A, B = rows_by_label.get(a), rows_by_label.get(b)
    if not A or not B:
        return float("nan"), float("nan"), float("nan")
    ia = dict(zip(A["iter"], A[key]))
    ib = dict(zip(B["iter"], B[key]))
    rs = [ia[i] / ib[i] for i in ia if i in ib and ib[i] > 0]
    if not rs:
        return float("nan"), float("nan"), float("nan")
    rnd = random.Random(11)
    bs = sorted(med([rnd.choice(rs) for _ in rs]) for _ in range(2000))
    return med(rs), bs[50], bs[1949]


def verdict(r, lo, hi, limit):
    """met/missed on the ratio of medians; flagged when its 95% interval spans the limit."""
    ok = r <= limit
    note = ""
    if lo == lo and hi == hi and lo <= limit <= hi:
        note = f"not significant: the 95% interval {lo:.2f}-{hi:.2f} spans {limit}"
    return ok, note


def f1(x):
    return "n/a" if x != x else f"{x:.1f}"


def f2(x):
    return "n/a" if x != x else f"{x:.2f}"


meta = kv("meta.txt")
vmeta = kv("vm-meta.txt")
md = []
summary = []  # (target, measured, ratio, status)


def target(name, measured, ratio, ok, note=""):
    status = "n/a (not measured)" if ok is None else ("met" if ok else "MISSED")
    summary.append((name, measured, ratio, status, note))


# ------------------------------------------------------------------ run
hrun = hyperfine("host-run")
hiso = hyperfine("host-run-isolated")
hmem = hyperfine("host-run-mem")
vrun = hyperfine("vm-run")

def ratio_target(name, data, a, b, limit, where=""):
    """a target on the ratio of the medians of data[a] and data[b] (milliseconds)"""
    if not data:
        target(name, "-", "-", None)
        return
    r, lo, hi = ratio_ci(data[a], data[b])
    ok, note = verdict(r, lo, hi, limit)
    target(name, f"{a} {f1(med(data[a]))} ms, {b} {f1(med(data[b]))} ms{where}",
           f"{r:.2f} (95% CI {lo:.2f}-{hi:.2f})", ok, note)


ratio_target("`run` /bin/true, host: berth <= 0.5x runc", hrun, "berth", "runc", 0.5)
ratio_target("`run` /bin/true, VM: berth <= 0.8x crun", vrun, "berth", "crun", 0.8, " (TCG)")

hcyc = cycles("host-cycle.tsv")
hcycm = cycles("host-cycle-mem.tsv")
hcycn = cycles("host-cycle-net.tsv")
vcyc = cycles("vm-cycle.tsv")
vcycm = cycles("vm-cycle-mem.tsv")
if vcyc:
    r, lo, hi = ratio_ci(vcyc["berth"]["total_ms"], vcyc["crun"]["total_ms"])
    pr, plo, phi = paired(vcyc, "berth", "crun")
    ok, note = verdict(r, lo, hi, 0.8)
    note = "; ".join(x for x in (note, f"paired per-iteration ratio {pr:.2f} ({plo:.2f}-{phi:.2f})") if x)
    target("create+start+wait+delete, VM: berth <= 0.8x crun",
           f"berth {f1(med(vcyc['berth']['total_ms']))} ms, crun {f1(med(vcyc['crun']['total_ms']))} ms (TCG)",
           f"{r:.2f} (95% CI {lo:.2f}-{hi:.2f})", ok, note)
else:
    target("create+start+wait+delete, VM: berth <= 0.8x crun", "-", "-", None)


# ------------------------------------------------------------------ memory
def rss(name):
    d = {}
    if exists(name):
        for line in open(path(name)):
            lab, cmd, kb = line.split()
            d.setdefault(lab, {})[cmd] = int(kb)
    return d


hrss = rss("host-rss.txt")
vrss = rss("vm-rss.txt")
if vrss.get("berth") and vrss.get("crun"):
    b, c = max(vrss["berth"].values()), max(vrss["crun"].values())
    target("peak RSS of the runtime: berth <= crun (VM)", f"berth {b} KiB, crun {c} KiB",
           f"{b / c:.2f}", b <= c)
else:
    target("peak RSS of the runtime: berth <= crun (VM)", "-", "-", None)

hmin = kv("host-minmem.txt")
vmin = kv("vm-minmem.txt")


def kib(v):
    if v is None:
        return None
    return 128 if v.startswith("<=") else (10 ** 9 if v.startswith(">") else int(v))


bm = [x for x in (kib(hmin.get("berth")), kib(vmin.get("berth"))) if x is not None]
if bm:
    worst = max(bm)
    where = f"host (v1) {hmin.get('berth', '-')} KiB, VM (v2) {vmin.get('berth', 'not measured')} KiB"
    target("/bin/true starts under a 512 KiB limit (stretch 256 KiB)", where,
           f"{worst / 512:.2f} of 512 KiB", worst <= 512,
           "stretch met" if worst <= 256 else "stretch missed")
else:
    target("/bin/true starts under a 512 KiB limit (stretch 256 KiB)", "-", "-", None)


# ------------------------------------------------------------------ density
def fill(label):
    st = tsv(f"fill-{label}.start.tsv")
    pts = tsv(f"fill-{label}.points.tsv")
    dl = tsv(f"fill-{label}.delete.tsv")
    return st, pts, dl


labels_fill = [l for l in ("berth-net", "berth", "runc") if exists(f"fill-{l}.points.tsv")]
fills = {l: fill(l) for l in labels_fill}


def window(st, n, w=100):
    v = [float(r["create_ms"]) + float(r["start_ms"]) for r in st if n - w < int(r["i"]) <= n]
    return med(v)


if "berth-net" in fills:
    st, pts, _ = fills["berth-net"]
    ns = [int(p["n"]) for p in pts if p["n"] != "0"]
    n0, n1 = ns[0], ns[-1]
    w = min(100, n0)
    a, b = window(st, n0, w), window(st, n1, w)
    target(f"per-container start at N={n1} within 1.2x of N={n0} (berth, limits + veth)",
           f"{f1(a)} ms at {n0}, {f1(b)} ms at {n1}", f"{b / a:.2f}", b / a <= 1.2)
    lst = [float(p["list_ms"]) for p in pts if int(p["n"]) == n1][0]
    target(f"`list` at {n1} containers under 50 ms (berth, limits + veth)", f"{f1(lst)} ms",
           f"{lst / 50:.2f} of 50 ms", lst < 50)
else:
    target("per-container start at N=1000 within 1.2x of N=100", "-", "-", None)
    target("`list` at 1000 containers under 50 ms", "-", "-", None)

# ------------------------------------------------------------------ markdown
quick = meta.get("quick") == "1"
md.append("# berth benchmarks (issue 7)\n")
md.append("Generated by `bench/run.sh`" + (" --quick (harness check, NOT results)" if quick else "")
          + f" on {meta.get('date', '?')}, in {meta.get('seconds', '?')} s. "
          "Every ratio is taken side by side in the same run on the same bundle; "
          "medians, 95% bootstrap intervals for ratios of medians.\n")
md.append("| | |\n|---|---|")
for k, lab in (("commit", "berth commit"), ("dirty", "uncommitted changed files in the tree"),
               ("berth", "berth"), ("runc", "runc"), ("crun", "crun"), ("kernel", "host kernel"),
               ("cgroup", "host cgroups"), ("cpu", "cpu"), ("cpus", "cpus"),
               ("load_start", "load average at start"), ("load_end", "load average at end")):
    if k in meta:
        md.append(f"| {lab} | {meta[k]} |")
if vmeta:
    md.append(f"| VM | kernel {vmeta.get('vm_kernel')}, cgroup {vmeta.get('vm_cgroup')}, qemu TCG, 2 vCPUs |")
md.append("")

md.append("## Targets\n")
md.append("| target | measured (medians) | ratio | status |\n|---|---|---|---|")
for name, meas, ratio, status, note in summary:
    md.append(f"| {name} | {meas} | {ratio} | **{status}**{' (' + note + ')' if note else ''} |")
md.append("")


def table_head(title, note, cols):
    md.append(f"### {title}\n")
    if note:
        md.append(note + "\n")
    md.append("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))


def dist_table(title, d, note="", cpu=None):
    table_head(title, note, ["runtime", "n", "median ms", "p10", "p90", "mean", "min", "max",
                             "CPU ms (user+sys, mean)"])
    for lab, v in d.items():
        c = (cpu or {}).get(lab)
        cs = f"{c[0] + c[1]:.1f} ({c[0]:.1f}+{c[1]:.1f})" if c else "-"
        md.append(f"| {lab} | {len(v)} | {f2(med(v))} | {f2(pct(v, 10))} | {f2(pct(v, 90))} | "
                  f"{f2(statistics.mean(v))} | {f2(min(v))} | {f2(max(v))} | {cs} |")
    md.append("")


md.append("## 1. `run` of /bin/true (hyperfine)\n")
md.append("Default `berth spec` config (pid, mount, network, uts, ipc, cgroup namespaces, read-only "
          "root), ociVersion 1.0.2, `process.args = [\"/bin/true\"]`, a relative cgroupsPath. "
          "Plot: `run-latency.png`.\n")
if hrun:
    dist_table("host, back to back", hrun, cpu=hf_cpu.get("host-run"))
if hiso:
    r, lo, hi = ratio_ci(hiso["berth"], hiso["runc"])
    dist_table("host, each run 100 ms after the previous one", hiso,
               f"berth/runc = {r:.2f} ({lo:.2f}-{hi:.2f}). On this cgroup v1 host the first write "
               "to a cgroup.procs file after an idle period waits for an RCU grace period "
               "(see Notes); back to back, a start often lands inside the previous one's window.",
               cpu=hf_cpu.get("host-run-isolated"))
if hmem:
    r, lo, hi = ratio_ci(hmem["berth"], hmem["runc"])
    dist_table("host, 64 MiB memory limit", hmem, f"berth/runc = {r:.2f} ({lo:.2f}-{hi:.2f})",
               cpu=hf_cpu.get("host-run-mem"))
if vrun:
    rr, lo2, hi2 = ratio_ci(vrun["berth"], vrun["runc"])
    r1, lo1, hi1 = ratio_ci(vrun["berth"], vrun["crun"])
    dist_table("VM (cgroup v2, TCG: compare ratios only)", vrun,
               f"berth/crun = {r1:.2f} ({lo1:.2f}-{hi1:.2f}), berth/runc = {rr:.2f} ({lo2:.2f}-{hi2:.2f})",
               cpu=hf_cpu.get("vm-run"))


def cycle_table(title, d, note=""):
    table_head(title, note, ["runtime", "n", "create", "start", "wait", "delete", "total",
                             "total p10", "total p90"])
    for lab, v in d.items():
        t = v["total_ms"]
        md.append(f"| {lab} | {len(t)} | {f2(med(v['create_ms']))} | {f2(med(v['start_ms']))} | "
                  f"{f2(med(v['wait_ms']))} | {f2(med(v['delete_ms']))} | **{f2(med(t))}** | "
                  f"{f2(pct(t, 10))} | {f2(pct(t, 90))} |")
    md.append("")


md.append("## 2-3. create + start + wait + delete (bench/benchtool cycle)\n")
md.append("Each phase timed separately (ms, medians), runtimes interleaved iteration by iteration. "
          "`wait` is from `start` returning to the container's process being reaped (benchtool is "
          "its subreaper). Plots: `cycle-latency.png`, `cycle-phases.png`.\n")
if hcyc:
    r, lo, hi = ratio_ci(hcyc["berth"]["total_ms"], hcyc["runc"]["total_ms"])
    pr, plo, phi = paired(hcyc, "berth", "runc")
    cycle_table("host", hcyc, f"berth/runc = {r:.2f} ({lo:.2f}-{hi:.2f}); paired per iteration "
                f"{pr:.2f} ({plo:.2f}-{phi:.2f})")
if hcycm:
    r, lo, hi = ratio_ci(hcycm["berth"]["total_ms"], hcycm["runc"]["total_ms"])
    cycle_table("host, 64 MiB memory limit", hcycm, f"berth/runc = {r:.2f} ({lo:.2f}-{hi:.2f})")
if hcycn:
    a, b = med(hcycn["berth-net"]["total_ms"]), med(hcycn["berth"]["total_ms"])
    cycle_table("host, bridge networking (berth `--network`, in a private netns)", hcycn,
                f"networking adds {f1(a - b)} ms per cycle ({f2(a / b)}x); runc and crun have no "
                f"equivalent.  Create: +{f1(med(hcycn['berth-net']['create_ms']) - med(hcycn['berth']['create_ms']))} ms, "
                f"delete: +{f1(med(hcycn['berth-net']['delete_ms']) - med(hcycn['berth']['delete_ms']))} ms.")
if vcyc:
    r, lo, hi = ratio_ci(vcyc["berth"]["total_ms"], vcyc["crun"]["total_ms"])
    r2, lo2, hi2 = ratio_ci(vcyc["berth"]["total_ms"], vcyc["runc"]["total_ms"])
    pr, plo, phi = paired(vcyc, "berth", "crun")
    cycle_table("VM (TCG: ratios only)", vcyc,
                f"berth/crun = {r:.2f} ({lo:.2f}-{hi:.2f}), berth/runc = {r2:.2f} ({lo2:.2f}-{hi2:.2f}). "
                f"Paired per iteration (berth and crun run next to each other in time, so a burst "
                f"of load on the host hits both): berth/crun = {pr:.2f} ({plo:.2f}-{phi:.2f}).")
if vcycm:
    r, lo, hi = ratio_ci(vcycm["berth"]["total_ms"], vcycm["crun"]["total_ms"])
    cycle_table("VM, 64 MiB memory limit", vcycm, f"berth/crun = {r:.2f} ({lo:.2f}-{hi:.2f})")

md.append("## 4. Memory\n")
md.append("### Peak RSS of the runtime's own processes (KiB, `/usr/bin/time -v`, median of 5)\n")
md.append("Max RSS of the command and the children it waited for (for `create`: runc's `runc init` "
          "stages; for `run`: the container's process too, which is /bin/true).\n")
cmds = ["run", "create", "start", "state", "delete", "list"]
md.append("| where | runtime | " + " | ".join(cmds) + " | peak |\n|---|---|" + "---|" * (len(cmds) + 1))
for where, d in (("host", hrss), ("VM", vrss)):
    for lab, v in d.items():
        md.append(f"| {where} | {lab} | " + " | ".join(str(v.get(c, "-")) for c in cmds)
                  + f" | **{max(v.values())}** |")
md.append("")
md.append("### Memory charged to the container's cgroup by the runtime\n")
md.append("Container with a 64 MiB limit whose process is /bin/true: usage while it waits in "
          "`created` (everything the runtime's in-container process holds before exec), and the "
          "cgroup's peak after the process exited (`memory.max_usage_in_bytes` on v1, "
          "`memory.peak` on v2). KiB, medians.\n")
md.append("| where | runtime | created | peak |\n|---|---|---|---|")
for where, d in (("host (v1)", hcycm), ("VM (v2)", vcycm)):
    for lab, v in d.items():
        c = [x for x in v["mem_created"] if x >= 0]
        p = [x for x in v["mem_peak"] if x >= 0]
        md.append(f"| {where} | {lab} | {f1(med(c) / 1024) if c else 'n/a'} | {f1(med(p) / 1024) if p else 'n/a'} |")
md.append("")
md.append("### Smallest memory limit under which /bin/true starts\n")
md.append("Bisection in 4 KiB steps between 128 KiB and 16 MiB (memory = memory+swap = limit); the "
          "answer had to pass 3 more times. Logs: `raw/*minmem-*.log`.\n")
md.append("| runtime | host (cgroup v1) | VM (cgroup v2) |\n|---|---|---|")
for lab in ("berth", "crun", "runc"):
    h = hmin.get(lab)
    v = vmin.get(lab)
    md.append(f"| {lab} | {h + ' KiB' if h else ('n/a (crun refuses hybrid hosts)' if lab == 'crun' else 'n/a')} | "
              f"{v + ' KiB' if v else ('not measured in the VM (host only)' if lab == 'runc' else 'n/a')} |")
md.append("")

md.append("## 5. Density\n")
if fills:
    md.append("Containers 1..N created and started one after another, each running "
              "`berth-testhelper sleep inf` with a 64 MiB memory limit and a 64 pids limit; "
              "`berth-net` also gets a veth on a bridge (`--network`, private netns). Start time "
              "per container = median of create+start over the 100 containers up to N. `list` "
              "and `state` (of container N/2): median of 11, 2 s after the last start. "
              "Host memory per container: drop of "
              "MemAvailable / N; charged: the memory cgroup parent's usage / N. Plot: "
              "`density.png`.\n")
    md.append("| runtime | N | start/container ms | list ms | state ms | host MiB/container | slab KiB/container | charged KiB/container |\n"
              "|---|---|---|---|---|---|---|---|")
    for lab, (st, pts, dl) in fills.items():
        base = pts[0]
        for p in pts[1:]:
            n = int(p["n"])
            w = min(100, n)
            mem = (int(base["memavail_kb"]) - int(p["memavail_kb"])) / n / 1024
            slab = (int(p["slab_kb"]) - int(base["slab_kb"])) / n
            cg = int(p["cg_bytes"]) / n / 1024 if int(p["cg_bytes"]) >= 0 else float("nan")
            md.append(f"| {lab} | {n} | {f2(window(st, n, w))} | {f1(float(p['list_ms']))} | "
                      f"{f1(float(p['state_ms']))} | {f2(mem)} | {f1(slab)} | {f1(cg)} |")
    md.append("")
    md.append("| runtime | delete all: seconds | per container (kill+reap+delete) ms median | p90 |\n|---|---|---|---|")
    for lab, (st, pts, dl) in fills.items():
        v = [float(r["delete_ms"]) for r in dl]
        md.append(f"| {lab} | {f1(sum(v) / 1e3)} | {f2(med(v))} | {f2(pct(v, 90))} |")
    md.append("")
    lk = {}
    if exists("fill-leaks.txt"):
        w = open(path("fill-leaks.txt")).read().split()
        lk = dict(zip(w[0::2], w[1::2]))
    if lk:
        md.append(f"After deleting everything: {lk.get('veths')} veths, {lk.get('leases')} leases, "
                  f"{lk.get('cgroups')} container cgroups left; `list` empty (checked by benchtool).\n")
else:
    md.append("Not measured (--no-density).\n")

md.append("## 6. Two concurrent creators, one root directory\n")
conc = {l: tsv(f"conc-{l}.tsv") for l in ("berth", "runc") if exists(f"conc-{l}.tsv")}
if conc:
    md.append("`one`: a single creator makes 2M containers (`create`, process /bin/true, left "
              "`created`); `two`: two processes make M each at the same time; `race`: two "
              "processes try the same M ids (exactly one may win each). After each phase every "
              "container must appear in `list -q` and `state` must be valid for each.\n")
    md.append("| runtime | phase | containers | seconds | containers/s | created | invalid state / missing | undeletable | orphaned processes |\n|---|---|---|---|---|---|---|---|---|")
    for lab, rows in conc.items():
        for r in rows:
            md.append(f"| {lab} | {r['phase']} | {r['containers']} | {r['seconds']} | {r['per_s']} | "
                      f"{r['created']} | {r.get('invalid', '-')} | {r.get('undeletable', '-')} | {r.get('orphans', '-')} |")
    md.append("")
    for lab, rows in conc.items():
        ph = {r["phase"]: r for r in rows}
        if "one" in ph and "two" in ph:
            md.append(f"- {lab}: two creators give {float(ph['two']['per_s']) / float(ph['one']['per_s']):.2f}x "
                      "the throughput of one.")
        broken = sum(int(r.get("invalid", 0)) + int(r.get("undeletable", 0)) + int(r.get("orphans", 0)) for r in rows)
        md.append(f"- {lab}: " + ("**no corruption**: every container listed, every state valid, "
                                  "exactly one winner per raced id, nothing left after delete."
                                  if broken == 0 else f"**{broken} problems** (see the table and raw/conc-{lab}.err)."))
    md.append("")

# ------------------------------------------------------------------ profile
def profile_section():
    if not exists("profile-startup.txt"):
        return
    import re
    md.append("## Where berth's time goes (profile, this run)\n")
    libs = [l.strip() for l in open(path("profile-libs.txt")) if l.strip()]
    st = {}
    for line in open(path("profile-startup.txt")):
        p = line.split()
        if len(p) >= 3:
            st[os.path.basename(p[0])] = (float(p[1]), p[2])
    lds = open(path("profile-ldstats.txt")).read()
    m = re.search(r"total startup time in dynamic loader: (\d+)", lds)
    rel = re.search(r"number of relocations: (\d+)", lds)
    rrel = re.search(r"number of relative relocations: (\d+)", lds)
    md.append("**Start-up cost of every berth command.** `berth --version` "
              "(no work at all) versus `/bin/true` and `runc --version`, `perf stat` task-clock "
              "(mean of 50) and `/usr/bin/time` max RSS:\n")
    md.append("| program | CPU ms | max RSS KiB |\n|---|---|---|")
    for k, (c, r) in st.items():
        md.append(f"| {k} --version | {c:.2f} | {r} |" if k != "true" else f"| /bin/true | {c:.2f} | {r} |")
    md.append("")
    md.append(f"berth loads {len(libs)} shared objects: {', '.join(libs)}. The loader performs "
              f"{rel.group(1) if rel else '?'} symbol relocations and {rrel.group(1) if rrel else '?'} "
              f"relative ones ({m.group(1) if m else '?'} cycles). `create`, `start`, `kill`, `delete`, "
              "`state` and `list` each pay this once; a create+start+delete cycle pays it three "
              "times.\n")
    if exists("profile-trace.txt"):
        rows = {}
        runs = set()
        for line in open(path("profile-trace.txt")):
            p = line.split(None, 4)
            if len(p) < 4:
                continue
            try:
                run, dur = p[0], float(p[1])
            except ValueError:
                continue
            comm, sc = p[2], p[3]
            args = p[4] if len(p) > 4 else ""
            what = ""
            mm = re.search(r"<([^>]+)>", args)
            if mm:
                what = mm.group(1)
                what = re.sub(r"/[^/]*/[^/]*/cgroup\.procs$", "/.../cgroup.procs", what)
                what = re.sub(r"socket:\[\d+\]", "sync socket", what)
            what = re.sub(r"/run/berth-bench-\d+", "$STATE", what)
            key = (sc, what)
            rows.setdefault(key, []).append(dur)
            runs.add(run)
        n = len(runs) or 1
        md.append(f"**Slow system calls of `run` (/bin/true)**: every call over 0.3 ms in {n} runs "
                  "started 150 ms apart (`perf trace --duration 0.3`), by total time. `recvmsg`/`poll` "
                  "are one side waiting for the other.\n")
        md.append("| syscall | on | runs with it | median ms | max ms | total ms per run |\n|---|---|---|---|---|---|")
        for (sc, what), v in sorted(rows.items(), key=lambda kv: -sum(kv[1]))[:12]:
            md.append(f"| {sc} | {what or '-'} | {len(v)} | {med(v):.2f} | {max(v):.2f} | {sum(v) / n:.2f} |")
        md.append("")
    def strace_c(name):
        calls, total = {}, 0
        for line in open(path(name)):
            p = line.split()
            if len(p) >= 5 and p[0][0].isdigit() and p[-1] != "total":
                try:
                    calls[p[-1]] = int(p[3])
                except ValueError:
                    pass
            if p and p[-1] == "total":
                total = int(p[2]) if len(p) >= 4 else 0
        return calls
    if exists("profile-strace-run.txt"):
        c = strace_c("profile-strace-run.txt")
        top = sorted(c.items(), key=lambda kv: -kv[1])[:10]
        md.append(f"**System calls of one `run`** (berth and the container's process until exec, "
                  f"`strace -f -c`): {sum(c.values())} in all; most frequent: "
                  + ", ".join(f"{k} {v}" for k, v in top) + f"; mount {c.get('mount', 0)}, "
                  f"mkdir {c.get('mkdir', 0)} (cgroups), openat2 {c.get('openat2', 0)}.\n")
    n = int(open(path("profile-n.txt")).read()) if exists("profile-n.txt") else 0
    if n and exists("profile-strace-list.txt"):
        c = strace_c("profile-strace-list.txt")
        md.append(f"**`list` with {n} containers** (`strace -c`): {sum(c.values())} system calls, "
                  f"{sum(c.values()) / n:.1f} per container (openat {c.get('openat', 0) / n:.1f}, "
                  f"read {c.get('read', 0) / n:.1f}, close {c.get('close', 0) / n:.1f}, "
                  f"newfstatat {c.get('newfstatat', 0) / n:.1f}): per container its state dir, "
                  "its state.json (one read), /proc/PID/stat and, when running, freezer.state.\n")
    if n and exists("profile-strace-netcreate.txt"):
        t = open(path("profile-strace-netcreate.txt")).read().splitlines()
        procstat = sum(1 for l in t if re.search(r'openat\(AT_FDCWD, "/proc/\d+/stat"', l))
        fst = sum(1 for l in t if re.search(r'newfstatat\(\d+, "p\d+"', l))
        verdict = ("the IPAM checks every existing lease for staleness on every attach, so each "
                   "create costs O(containers on the host)" if procstat + fst >= n else
                   "stale leases are looked for only when one stands in the way, so the count does "
                   "not grow with the containers present")
        md.append(f"**`create --network` with {n} containers on the network** (`strace`): "
                  f"{len(t)} system calls, of them {procstat} opens of /proc/PID/stat and {fst} "
                  f"stats of state directories: {verdict}.\n")


# ------------------------------------------------------------------ images
def images_section():
    v = {}
    if exists("images.txt"):
        for line in open(path("images.txt")):
            p = line.split()
            if len(p) == 2:
                v[p[0]] = float(p[1])
    if not v:
        return
    md.append("## 7. Images (issue 5)\n")
    md.append(f"`bench/images.sh`: a {meta.get('images_mib', '100')} MiB image of "
              f"{meta.get('images_layers', '4')} layers made by tests/images/oci.py, imported "
              "(`berth image import` of the OCI layout: digest checks and unpacking of every "
              "layer into the store) against `tar -x` of the same layers into one directory; "
              "medians of 5. Start-up: `run` of `true` from a prepared bundle of the default "
              "image's rootfs against `run --image default --rm`, medians of 9.\n")
    md.append("| what | berth s | tar -x s | ratio (goal <= 1.3) |\n|---|---|---|---|")
    for kind in ("gzip", "plain"):
        b, t = v.get(f"import-{kind}"), v.get(f"tar-x-{kind}")
        if b and t:
            md.append(f"| import, {kind} layers | {b:.2f} | {t:.2f} | {b / t:.2f} |")
    md.append("")
    rb, ri = v.get("run-bundle"), v.get("run-image")
    if rb and ri:
        md.append(f"`run` from a bundle {rb * 1000:.1f} ms, `run --image` {ri * 1000:.1f} ms: "
                  f"the image adds {(ri - rb) * 1000:.1f} ms (the overlay snapshot, the generated "
                  "bundle, and their removal with `--rm`).\n")


images_section()
profile_section()

# ------------------------------------------------------------------ plots
def write_dat(name, cols):
    p = os.path.join(plotdir, name)
    with open(p, "w") as f:
        n = max(len(c) for c in cols)
        for i in range(n):
            f.write("\t".join(f"{c[i]:.4f}" if i < len(c) else "NaN" for c in cols) + "\n")
    return p


def cdf(v):
    s = sorted(v)
    return s, [(i + 1) / len(s) for i in range(len(s))]


gp = ["set terminal pngcairo size 1200,520 font ',10'", "set grid", "set key bottom right"]
colors = {"berth": "#1b9e77", "berth-net": "#7570b3", "runc": "#d95f02", "crun": "#e7298a"}


def cdf_plot(panels, outname, xlabel):
    """panels: [(title, {label: values}, dashed: {label: values})]"""
    gp.append(f"set output '{os.path.join(out, outname)}'")
    gp.append(f"set multiplot layout 1,{len(panels)}")
    for title, d, dashed in panels:
        plots = []
        for lab, v in d.items():
            x, y = cdf(v)
            p = write_dat(f"{outname}-{title[:8]}-{lab}.dat".replace(" ", "_"), [x, y])
            plots.append(f"'{p}' using 1:2 with steps lw 2 lc rgb '{colors.get(lab, '#666666')}' title '{lab}'")
        for lab, v in (dashed or {}).items():
            x, y = cdf(v)
            p = write_dat(f"{outname}-{title[:8]}-{lab}-iso.dat".replace(" ", "_"), [x, y])
            plots.append(f"'{p}' using 1:2 with steps lw 1 dt 2 lc rgb '{colors.get(lab, '#666666')}' title '{lab}, isolated'")
        hi = max(pct(v, 98) for v in d.values())
        gp.append(f"set title '{title}'")
        gp.append(f"set xlabel '{xlabel}'")
        gp.append("set ylabel 'fraction of runs'")
        gp.append(f"set xrange [0:{hi * 1.1:.1f}]")
        gp.append("set yrange [0:1]")
        gp.append("plot " + ", ".join(plots))
    gp.append("unset multiplot")
    gp.append("set xrange [*:*]")
    gp.append("set yrange [*:*]")


pngs = []
panels = []
if hrun:
    panels.append(("host (cgroup v1/hybrid): run /bin/true", hrun, hiso))
if vrun:
    panels.append(("VM (cgroup v2, TCG): run /bin/true", vrun, None))
if panels:
    cdf_plot(panels, "run-latency.png", "ms")
    pngs.append("run-latency.png")
panels = []
if hcyc:
    d = {k: v["total_ms"] for k, v in hcyc.items()}
    if hcycn:
        d["berth-net"] = hcycn["berth-net"]["total_ms"]
    panels.append(("host: create+start+wait+delete", d, None))
if vcyc:
    panels.append(("VM (TCG): create+start+wait+delete", {k: v["total_ms"] for k, v in vcyc.items()}, None))
if panels:
    cdf_plot(panels, "cycle-latency.png", "ms")
    pngs.append("cycle-latency.png")

# phases: stacked bars
rows = []
for where, d in (("host", hcyc), ("host+net", {"berth-net": hcycn.get("berth-net")} if hcycn else {}),
                 ("VM", vcyc)):
    for lab, v in d.items():
        if v:
            rows.append((f"{where} {lab}", [med(v[k]) for k in ("create_ms", "start_ms", "wait_ms", "delete_ms")]))
if rows:
    p = os.path.join(plotdir, "phases.dat")
    with open(p, "w") as f:
        for name, vals in rows:
            f.write(f"\"{name}\"\t" + "\t".join(f"{x:.3f}" for x in vals) + "\n")
    gp += ["set terminal pngcairo size 1200,520 font ',10'",
           f"set output '{os.path.join(out, 'cycle-phases.png')}'",
           "set multiplot layout 1,%d" % (1 + any(r[0].startswith("VM") for r in rows))]
    hostrows = [r for r in rows if not r[0].startswith("VM")]
    for sel, title in (("host", "host: median phase times (ms)"), ("VM", "VM (TCG): median phase times (ms)")):
        idx = [i for i, r in enumerate(rows) if (r[0].startswith("VM")) == (sel == "VM")]
        if not idx:
            continue
        sub = os.path.join(plotdir, f"phases-{sel}.dat")
        with open(sub, "w") as f:
            for i in idx:
                f.write(f"\"{rows[i][0]}\"\t" + "\t".join(f"{x:.3f}" for x in rows[i][1]) + "\n")
        gp += ["set style data histograms", "set style histogram rowstacked", "set style fill solid 0.8 border -1",
               "set boxwidth 0.6", "set key top left", f"set title '{title}'", "set xlabel ''",
               "set ylabel 'ms'", "set xtics rotate by -20",
               f"plot '{sub}' using 2:xtic(1) title 'create', '' using 3 title 'start', "
               "'' using 4 title 'wait', '' using 5 title 'delete'"]
    gp += ["unset multiplot", "set style data points", "set xtics norotate", "set key bottom right"]
    pngs.append("cycle-phases.png")

if fills:
    gp += ["set terminal pngcairo size 1200,900 font ',10'",
           f"set output '{os.path.join(out, 'density.png')}'", "set multiplot layout 2,2"]
    # (a) per-container start time, rolling median of 25
    plots = []
    for lab, (st, pts, dl) in fills.items():
        v = [float(r["create_ms"]) + float(r["start_ms"]) for r in st]
        roll = [med(v[max(0, i - 24):i + 1]) for i in range(len(v))]
        p = write_dat(f"density-start-{lab}.dat", [list(range(1, len(v) + 1)), v, roll])
        c = colors.get(lab, "#666666")
        plots.append(f"'{p}' using 1:2 with points pt 7 ps 0.25 lc rgb '{c}' notitle")
        plots.append(f"'{p}' using 1:3 with lines lw 2 lc rgb '{c}' title '{lab} (rolling median of 25)'")
    hi = max(pct([float(r["create_ms"]) + float(r["start_ms"]) for r in st], 98) for st, _, _ in fills.values())
    gp += ["set key top left", "set title 'create+start time per container vs containers already running'",
           "set xlabel 'container number'", "set ylabel 'ms'", f"set yrange [0:{hi * 1.2:.1f}]",
           "set xrange [*:*]", "plot " + ", ".join(plots), "set yrange [0:*]"]
    for col, title, ylab in (("list_ms", "`list` time vs containers", "ms"),
                             ("state_ms", "`state` time vs containers", "ms"),
                             ("mem", "host memory per container (MemAvailable drop / N)", "MiB")):
        plots = []
        for lab, (st, pts, dl) in fills.items():
            xs, ys = [], []
            base = pts[0]
            for p_ in pts[1:]:
                n = int(p_["n"])
                xs.append(n)
                if col == "mem":
                    ys.append((int(base["memavail_kb"]) - int(p_["memavail_kb"])) / n / 1024)
                else:
                    ys.append(float(p_[col]))
            p = write_dat(f"density-{col}-{lab}.dat", [xs, ys])
            plots.append(f"'{p}' using 1:2 with linespoints lw 2 pt 7 lc rgb '{colors.get(lab, '#666666')}' title '{lab}'")
        gp += [f"set title '{title}'", "set xlabel 'containers'", f"set ylabel '{ylab}'",
               "plot " + ", ".join(plots)]
    gp += ["unset multiplot"]
    pngs.append("density.png")

gpfile = os.path.join(plotdir, "plots.gp")
open(gpfile, "w").write("\n".join(gp) + "\n")
try:
    subprocess.run(["gnuplot", gpfile], check=True)
except Exception as e:  # plots are a convenience; the numbers are in latest.md
    print(f"report: gnuplot failed: {e}", file=sys.stderr)
    pngs = []

if pngs:
    md.append("## Plots\n")
    for p in pngs:
        md.append(f"![{p}]({p})\n")

notes_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "NOTES.md")
if os.path.exists(notes_file):
    md.append(open(notes_file).read())

open(os.path.join(out, "latest.md"), "w").write("\n".join(md) + "\n")

# ------------------------------------------------------------------ stdout
w = max(len(s[0]) for s in summary)
print()
print(f"{'target':<{w}}  {'status':<8}  ratio / measured")
print("-" * (w + 60))
for name, meas, ratio, status, note in summary:
    name = name.replace("`", "")
    print(f"{name:<{w}}  {status.split()[0]:<8}  {ratio}  [{meas}]{' ' + note if note else ''}")
print()
for title, d in (("host run", hrun), ("host run isolated", hiso), ("VM run", vrun)):
    if d:
        print(f"{title}: " + ", ".join(f"{k} {f2(med(v))} ms" for k, v in d.items()))
for title, d in (("host cycle", hcyc), ("host cycle mem", hcycm), ("host cycle net", hcycn), ("VM cycle", vcyc)):
    if d:
        print(f"{title}: " + ", ".join(
            f"{k} {f2(med(v['total_ms']))} ms (c {f1(med(v['create_ms']))}/s {f1(med(v['start_ms']))}/w {f1(med(v['wait_ms']))}/d {f1(med(v['delete_ms']))})"
            for k, v in d.items()))
print(f"\nwrote {os.path.join(out, 'latest.md')}" + (f" and {', '.join(pngs)}" if pngs else ""))
