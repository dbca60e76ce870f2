import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../events/index.js';
import type { Journal } from '../journal/index.js';
import type { Monitor } from '../monitor/index.js';

/** Prometheus metrics (prom-client): fed by the bus and read from the monitor and journal at scrape time. */
export class Metrics {
  readonly registry = new Registry();
  private readonly off: (() => void)[] = [];

  constructor(bus: EventBus, monitor: Monitor, journal: Journal) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'procd_' });
    new Gauge({ name: 'procd_resources', help: 'Resources procd watches', registers: [r], collect() { this.set(monitor.status().length); } });
    new Gauge({ name: 'procd_watched_processes', help: 'Processes procd watches that are running (live pids)', registers: [r], collect() { this.set(monitor.watchedPids().length); } });
    new Gauge({
      name: 'procd_scan_duration_seconds',
      help: 'Duration of the last /proc discovery scan',
      registers: [r],
      collect() {
        this.set(monitor.lastScanMs / 1000);
      },
    });
    new Gauge({ name: 'procd_scans', help: 'Discovery scans since start', registers: [r], collect() { this.set(monitor.scans); } });
    const failures = new Counter({ name: 'procd_failures_total', help: 'Deaths detected (process-lost events)', labelNames: ['resource', 'reason'], registers: [r] });
    const events = new Counter({ name: 'procd_events_total', help: 'Events on the bus by kind', labelNames: ['kind'], registers: [r] });
    const detection = new Histogram({
      name: 'procd_detection_latency_seconds',
      help: 'From the detection of a death to the start of its first wrapper run',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    const report = new Histogram({
      name: 'procd_failure_report_seconds',
      help: 'From the detection of a death to its fail-count written (or the last failed try)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [r],
    });
    const j = (name: string, help: string, f: () => number, type: 'gauge' | 'counter' = 'gauge') =>
      type === 'gauge'
        ? new Gauge({ name, help, registers: [r], collect() { this.set(f()); } })
        : new Counter({ name, help, registers: [r], collect() { this.reset(); this.inc(f()); } });
    j('procd_journal_dropped_total', 'Events the journal had to drop (buffer full while the database could not be written)', () => journal.stats().dropped, 'counter');
    j('procd_journal_written_total', 'Events written to the journal', () => journal.stats().written, 'counter');
    j('procd_journal_buffered', 'Events accepted but not yet written', () => journal.stats().buffered);
    j('procd_journal_up', '1 when the journal database is open and writable', () => (journal.stats().state === 'open' ? 1 : 0));
    this.off.push(
      bus.subscribe((e) => {
        events.inc({ kind: e.kind });
        if (e.kind === 'process-lost') failures.inc({ resource: e.resource, reason: e.reason });
        else if (e.kind === 'wrapper-started' && e.attempt === 1) detection.observe(e.sinceDetectedUs / 1e6);
        else if (e.kind === 'failure-reported') report.observe(e.totalMs / 1000);
      }),
    );
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close() {
    for (const f of this.off.splice(0)) f();
  }
}
