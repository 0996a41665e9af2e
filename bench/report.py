#!/usr/bin/env python3
"""report.py - tables and plots from bench/run.sh's results.jsonl.

    python3 bench/report.py DIR/results.jsonl DIR

Writes DIR/results.md (one table per scenario, then this project's ratios
to each peer) and, with gnuplot, DIR/scenarioN.png: latency p50/p90/p99
(log scale) and delivered messages per second of every run, by server.
"""

import json
import os
import shutil
import subprocess
import sys

OURS = 'lighttpd'
NAMES = {
    '1': 'Scenario 1: broadcast fan-out (1 publisher; 100 subscribers at 200 msg/s and at 500 msg/s, 1,000 at 20 msg/s)',
    '2': 'Scenario 2: 1,000 WebSocket clients in 100 rooms of 10, all publishing, 200 msg/s in total',
    '3': 'Scenario 3: idle subscribed WebSocket sessions (server memory)',
    '4': 'Scenario 4: 500 polling subscribers (xhr-polling; Nchan long-poll), 10 msg/s',
}


def tclass(r):
    """Transport class used to pair this project's run with a peer's."""
    t, f = r['transport'], r['framing']
    if t == 'websocket':
        return 'ws-stomp-raw' if (f == 'raw' and r['proto'] == 'stomp') else 'ws'
    if t in ('xhr-polling', 'long-poll'):
        return 'poll'
    return t


def key(r):
    if r['scenario'] == '3':
        return (r['scenario'], r['subs'], 'any')  # memory per session, whatever the framing
    return (r['scenario'], r['subs'], tclass(r), r.get('rate'))


def fmt(x, nd=1):
    return ('%.' + str(nd) + 'f') % x


def table(rows, scenario):
    out = []
    if scenario == '3':
        out.append('| server | run | ready | server RSS before -> with sessions (MiB) | KiB per session | setup s | load avg |')
        out.append('|---|---|---|---|---|---|---|')
        for r in rows:
            if 'failed_run' in r:
                out.append('| %s | %s | run failed | | | |' % (r['server'], r['label']))
                continue
            out.append('| %s | %s | %d/%d | %.1f -> %.1f | %.1f | %.1f | %.1f |' % (
                r['server'], r['label'], r['ready'], r['ready'] + r['failed'],
                r['server_rss_before_kib'] / 1024, r['server_rss_idle_kib'] / 1024,
                r['server_rss_per_conn_kib'], r['setup_s'], r.get('loadavg', 0)))
        return out
    out.append('| server | run | ready | delivered/s | not delivered | dup | p50 ms | p90 ms | p99 ms | max ms '
               '| server CPU s /100k msgs | peak RSS MiB | loadgen CPU s | load avg |')
    out.append('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        if 'failed_run' in r:
            out.append('| %s | %s | run failed (exit %d) |||||||||||' % (r['server'], r['label'], r['failed_run']))
            continue
        out.append('| %s | %s | %d/%d | %.0f | %d | %d | %.2f | %.2f | %.2f | %.1f | %.2f | %.0f | %.2f | %.1f |' % (
            r['server'], r['label'], r['ready'], r['ready'] + r['failed'], r['delivered_per_s'],
            r['lost'], r['dup'], r['p50_ms'], r['p90_ms'], r['p99_ms'], r['max_ms'],
            r['server_cpu_s_per_100k'], r['server_peak_rss_kib'] / 1024, r['loadgen_cpu_s'],
            r.get('loadavg', 0)))
    return out


def ratios(results):
    """This project behind lighttpd against each peer's run of the same shape."""
    # The whole stack behind lighttpd; chat-ws alone only where that was
    # not run (10,000 idle sessions exceed lighttpd's shipped limits).
    ours = {}
    for r in sorted((r for r in results if r.get('server') in (OURS, 'chat-ws') and 'failed_run' not in r),
                    key=lambda r: r['server'] == OURS):
        ours[key(r)] = r
    out = ['| scenario | transport | peer | p50 ours/peer | p99 ours/peer | CPU per msg ours/peer '
           '| RSS (or KiB/session) ours/peer |', '|---|---|---|---|---|---|---|']
    for r in results:
        if 'failed_run' in r or r['server'] in (OURS, 'chat-ws', 'apache-fcgid'):
            continue
        o = ours.get(key(r))
        if o is None:
            continue

        def q(a, b):
            return '%.2f' % (a / b) if b else 'n/a'
        if r['scenario'] == '3':
            out.append('| 3 (%d idle) | %s | %s | | | | %s |' % (
                r['subs'], tclass(r), r['server'], q(o['server_rss_per_conn_kib'], r['server_rss_per_conn_kib'])))
        else:
            out.append('| %s (%d subs, %s msg/s) | %s | %s | %s | %s | %s | %s |' % (
                r['scenario'], r['subs'], r.get('rate', '?'), tclass(r), r['server'], q(o['p50_ms'], r['p50_ms']),
                q(o['p99_ms'], r['p99_ms']), q(o['server_cpu_s_per_100k'], r['server_cpu_s_per_100k']),
                q(o['server_peak_rss_kib'], r['server_peak_rss_kib'])))
    return out


def plot(rows, scenario, outdir):
    if not shutil.which('gnuplot'):
        return None
    rows = [r for r in rows if 'failed_run' not in r]
    if not rows:
        return None
    dat = os.path.join(outdir, 'scenario%s.dat' % scenario)
    png = os.path.join(outdir, 'scenario%s.png' % scenario)
    with open(dat, 'w') as f:
        f.write('# label p50 p90 p99 delivered_per_s cpu_per_100k rss_per_conn\n')
        for r in rows:
            label = '%s: %s' % (r['server'], r['label'].replace('fan-out ', '').replace('rooms ', '')
                                .replace('churn ', '').replace(' (chat-ws direct)', ''))
            f.write('"%s" %g %g %g %g %g %g\n' % (label.replace('"', "'"), max(r['p50_ms'], 0.01),
                                                  max(r['p90_ms'], 0.01), max(r['p99_ms'], 0.01),
                                                  r['delivered_per_s'], r['server_cpu_s_per_100k'],
                                                  r['server_rss_per_conn_kib']))
    height = 900
    title = NAMES.get(scenario, 'scenario ' + scenario)
    if scenario == '3':
        script = '''
set terminal pngcairo size 1200,700 font ",10"
set output "%(png)s"
set title "%(title)s"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set xtics rotate by -35 left
set ylabel "server KiB per idle session"
set grid ytics
set bmargin 12
plot "%(dat)s" using 7:xtic(1) title "KiB per session" lc rgb "#4477aa"
''' % dict(png=png, dat=dat, title=title)
    else:
        script = '''
set terminal pngcairo size 1400,%(height)d font ",10"
set output "%(png)s"
set multiplot layout 2,1 title "%(title)s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set grid ytics
set xtics rotate by -35 left font ",9"
set logscale y
set ylabel "latency ms (log)"
set key top left
set bmargin 10
plot "%(dat)s" using 2:xtic(1) title "p50" lc rgb "#4477aa", "" using 3 title "p90" lc rgb "#ccbb44", "" using 4 title "p99" lc rgb "#ee6677"
unset logscale y
set ylabel "delivered msgs/s"
set y2label "server CPU s per 100k msgs"
set y2tics
set ytics nomirror
set yrange [0:%(ymax)g]
set y2range [0:%(y2max)g]
set rmargin 12
set key top left opaque box
plot "%(dat)s" using 5:xtic(1) title "delivered/s" lc rgb "#228833", "" using 6 axes x1y2 title "CPU s/100k (right)" lc rgb "#aa3377"
unset multiplot
''' % dict(png=png, dat=dat, title=title, height=height,
           ymax=1.15 * max(r['delivered_per_s'] for r in rows) or 1,
           y2max=1.15 * max(r['server_cpu_s_per_100k'] for r in rows) or 1)
    subprocess.run(['gnuplot'], input=script.encode(), check=True)
    return png


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    results = [json.loads(line) for line in open(src) if line.strip()]
    md = []
    for sc in sorted({r['scenario'] for r in results}):
        rows = [r for r in results if r['scenario'] == sc]
        md.append('### ' + NAMES.get(sc, 'Scenario ' + sc))
        md.append('')
        md.extend(table(rows, sc))
        png = plot(rows, sc, outdir)
        if png:
            md.append('')
            md.append('![scenario %s](%s)' % (sc, os.path.basename(png)))
        md.append('')
    md.append('### This project (behind lighttpd; chat-ws alone for 10,000 idle sessions) against each peer')
    md.append('')
    md.append('Below 1 is better for this project, above 1 worse.')
    md.append('')
    md.extend(ratios(results))
    md.append('')
    with open(os.path.join(outdir, 'results.md'), 'w') as f:
        f.write('\n'.join(md))
    print(os.path.join(outdir, 'results.md'))


if __name__ == '__main__':
    main()
