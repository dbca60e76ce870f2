import type { Daemon } from '../daemon/daemon.js';
import { ERR_BAD_REQUEST } from '../daemon/control.js';
import { errorLine } from '../errors.js';
import { effectiveOptions, type EffectiveOption } from './config.js';
import { FileTrigger } from './file-trigger.js';
import { reportOptions, reportSettings, type ReportSettings } from './options.js';
import { ReportBuilder, reportJson, reportText, type Report } from './registry.js';
import {
  configurationSection,
  detectionSection,
  FailcountLedger,
  greenThreadsSection,
  packageSection,
  processesSection,
  resourcesSection,
  threadsSection,
} from './sections.js';
import { StderrWriter, writeReportFile } from './sink.js';
import { testOnlyBlockEventLoop } from './test-hooks.js';
import { TimerTracker } from './timers.js';
import { Watchdog } from './watchdog.js';

export { reportOptions };

const builders = new WeakMap<Daemon, ReportBuilder>();

/**
 * The report builder of a daemon, for features that add their own section (journal, tracing,
 * virtual filesystem): `reportBuilderFor(daemon).registerSection('Journal', () => ...)`. Works
 * before or after the report is attached; the report's own sections always come first.
 */
export function reportBuilderFor(daemon: Daemon): ReportBuilder {
  let b = builders.get(daemon);
  if (!b) builders.set(daemon, (b = new ReportBuilder()));
  return b;
}

/** Reports waiting to be built at most; further triggers are dropped (a signal storm must not pile up work). */
const MAX_WAITING = 3;

/**
 * The Guru Meditation Report of a running daemon: the sections, the watchdog thread, and the
 * triggers (SIGUSR2 or a touched file, GET /v1/report on the control socket). Attach before
 * `daemon.start()`; it stops itself on `daemon-stopped`.
 */
export class ReportService {
  readonly builder: ReportBuilder;
  readonly watchdog: Watchdog;
  readonly timers = new TimerTracker();
  readonly settings: ReportSettings;
  private readonly ledger = new FailcountLedger();
  private readonly stderr: StderrWriter;
  private fileTrigger: FileTrigger | null = null;
  private startedMode: string | null = null;
  private waiting = 0;
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    readonly daemon: Daemon,
    settings: ReportSettings,
    options: EffectiveOption[],
  ) {
    this.settings = settings;
    this.builder = reportBuilderFor(daemon);
    const log = daemon.log;
    let lastDropLog = 0;
    this.stderr = new StderrWriter(2, 256 * 1024, (why) => {
      // One line at most every 10 s: a dead stderr must not flood the log either.
      if (Date.now() - lastDropLog < 10_000) return;
      lastDropLog = Date.now();
      log.warn({ report: 'stderr' }, `guru meditation report dropped: ${why}`);
    });
    this.watchdog = new Watchdog({ thread: daemon.thread, onError: (e) => log.warn(`report watchdog failed: ${errorLine(e)}`) });
    const b = this.builder;
    const core = { core: true };
    b.registerSection('Package', () => packageSection(daemon.startedAt), core);
    b.registerSection('Threads', () => threadsSection(this.watchdog), core);
    b.registerSection('Green Threads', () => greenThreadsSection(daemon, this.timers), core);
    b.registerSection('Processes', () => processesSection(), core);
    b.registerSection('Configuration', () => configurationSection(options), core);
    b.registerSection('Resources', () => resourcesSection(daemon), core);
    b.registerSection('Fail-counts', this.ledger.section, core);
    b.registerSection('Detection', () => detectionSection(daemon, this.startedMode), core);

    daemon.bus.subscribe(this.ledger.consume);
    // Work arriving wakes the watchdog at once (it otherwise looks every 2 s): a block in it is caught from its start.
    daemon.onActivity(() => this.watchdog.kick());
    daemon.bus.on('daemon-started', (e) => (this.startedMode = e.mode));
    daemon.bus.on('daemon-stopped', () => void this.stop());

    daemon.control?.route('GET', '/v1/report', async (req) => {
      const format = req.query.get('format') ?? 'text';
      if (format !== 'text' && format !== 'json') throw ERR_BAD_REQUEST(`format must be text or json, got ${JSON.stringify(format)}`);
      const r = await this.build();
      return format === 'json' ? { body: reportJson(r) } : { body: reportText(r), type: 'text/plain; charset=utf-8' };
    });
    if (settings.testHooks) {
      daemon.control?.route('POST', '/v1/test/block', (req) => {
        const body = req.body as { ms?: unknown; afterMs?: unknown } | undefined;
        const ms = Number(body?.ms);
        const afterMs = Number(body?.afterMs ?? 0);
        if (!Number.isFinite(ms) || ms <= 0 || ms > 60_000 || !Number.isFinite(afterMs) || afterMs < 0 || afterMs > 60_000)
          throw ERR_BAD_REQUEST('body must be {"ms": 1..60000, "afterMs": 0..60000}');
        const block = () => {
          log.warn({ ms }, `TEST-ONLY: blocking the event loop for ${ms} ms${afterMs ? ' (from a timer)' : ''}`);
          return testOnlyBlockEventLoop(ms);
        };
        if (afterMs === 0) return { body: { spins: block() } };
        // Later, in a timer: work that does not kick the watchdog.
        setTimeout(block, afterMs);
        return { body: { scheduled: true } };
      });
    }
  }

  /** Starts the watchdog, timer tracking and the trigger (file poll, else SIGUSR2). */
  start(): this {
    this.timers.enable();
    this.watchdog.start();
    if (this.settings.file) {
      this.fileTrigger = new FileTrigger(this.settings.file, this.settings.intervalS * 1000, () => this.trigger('file'));
      this.fileTrigger.start();
      process.on('SIGUSR2', this.ignoreSignal);
    } else {
      process.on('SIGUSR2', this.onSignal);
    }
    return this;
  }

  private onSignal = () => this.trigger('SIGUSR2');
  private ignoreSignal = () => this.daemon.log.info(`SIGUSR2 ignored: reports are triggered by touching ${this.settings.file}`);

  /** Builds the report now (for the control socket and tests). */
  build(): Promise<Report> {
    return this.builder.build();
  }

  /** Queues one report to stderr or --report-dir. */
  trigger(origin: string) {
    if (this.stopped) return;
    if (this.waiting >= MAX_WAITING) {
      this.daemon.log.warn({ trigger: origin }, `guru meditation report skipped: ${this.waiting} already waiting`);
      return;
    }
    this.waiting++;
    this.chain = this.chain
      .then(() => this.emit(origin))
      .catch((e) => this.daemon.log.error({ trigger: origin }, `guru meditation report failed: ${errorLine(e)}`))
      .finally(() => this.waiting--);
  }

  private async emit(origin: string) {
    const r = await this.build();
    const text = reportText(r);
    const fields = { trigger: origin, bytes: Buffer.byteLength(text), buildMs: Math.round(r.buildMs) };
    if (!this.settings.dir) {
      // Not awaited: a stalled stderr must not hold up the next report's turn (the writer bounds the backlog).
      void this.stderr.write(text).then((ok) => ok && this.daemon.log.info({ report: 'stderr', ...fields }, 'guru meditation report written to stderr'));
      return;
    }
    const where = await writeReportFile(this.settings.dir, text, new Date(r.createdAt));
    this.daemon.log.info({ report: where, ...fields }, `guru meditation report written to ${where}`);
  }

  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.fileTrigger?.stop();
    // The SIGUSR2 listener stays (as a no-op): a late signal must not kill a stopping daemon.
    process.off('SIGUSR2', this.onSignal);
    process.off('SIGUSR2', this.ignoreSignal);
    process.on('SIGUSR2', () => {});
    this.timers.disable();
    await this.watchdog.stop();
  }
}

/** Wires the report into a daemon from parsed `procd run` arguments; call before `daemon.start()`. */
export function attachReports(daemon: Daemon, args: Record<string, unknown>, argv: string[] = process.argv.slice(2)): ReportService {
  return new ReportService(daemon, reportSettings(args), effectiveOptions(args, argv, process.env)).start();
}
