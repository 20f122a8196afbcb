import { join } from 'node:path';
import { summarizeCpuProfile } from '../cpu-profile.js';
import type { BenchScenario, ScenarioContext } from '../harness.js';
import { streamRun, type StreamRunResult } from '../stream-run.js';
import { BOXES, ceilingRun, streamLength } from './ceiling.js';

/** One paced trial through the broker: zero loss or not, and what arrived. */
interface Trial {
  readonly rate: number;
  readonly result: StreamRunResult;
  readonly zeroLoss: boolean;
}

/**
 * Through the broker the last hop is the broker's XPUB, which drops for a slow subscriber at
 * its high-water mark (as the original did), so back-pressure cannot reach the sender. The
 * sender is paced instead, and the highest zero-loss rate is bisected: the first trial at the
 * direct rate of the same run (the broker only adds a hop), then halving until a trial loses
 * nothing, then halfway between the best zero-loss and the lowest lossy rate, until they are
 * within 10 % or the trials run out. (Stepping down by 10 % from the direct rate, as before,
 * ran out of trials above the zero-loss rate once the direct rate was measured warm.)
 */
async function brokerZeroLossRate(context: ScenarioContext, directRate: number): Promise<{ rate: number; trials: Trial[] }> {
  const seconds = context.options.smoke ? 0.5 : 3;
  const maxTrials = context.options.smoke ? 1 : 6;
  const trials: Trial[] = [];
  const trial = async (rate: number): Promise<Trial> => {
    const result = await streamRun({
      receiver: 'service',
      broker: true,
      boxes: BOXES,
      rate,
      count: Math.max(1000, Math.round(rate * seconds)),
      drainMs: 5_000,
      tempDir: context.tempDir,
    });
    const t = { rate, result, zeroLoss: result.lost === 0 && result.rate !== undefined };
    trials.push(t);
    context.log('broker trial', { rate: Math.round(rate), sent: result.sent, stored: result.received, brokerDropped: result.brokerDropped, brokerCpu: result.brokerCpu, receiverCpu: result.receiverCpu });
    return t;
  };
  // No direct rate (a direct run that lost messages) leaves nothing to pace at.
  if (!(directRate > 0)) return { rate: 0, trials };
  let best: number | undefined;
  let lossy: number | undefined;
  let rate = directRate;
  while (trials.length < maxTrials) {
    const t = await trial(rate);
    if (t.zeroLoss) best = Math.max(best ?? 0, rate);
    else lossy = Math.min(lossy ?? Number.POSITIVE_INFINITY, rate);
    if (lossy === undefined || (best !== undefined && lossy / best < 1.1)) break;
    rate = best === undefined ? rate / 2 : (best + lossy) / 2;
  }
  return { rate: best ?? 0, trials };
}

/** Scenario 2: the default topology against the ceiling of the same run, direct and through the broker. */
export const pipelineThroughputScenario: BenchScenario = {
  name: 'throughput',
  description:
    'the same sender → the triggering service on the default topology (SQLite): zero-loss messages per second, direct and through the CURVE triggering broker, as a ratio to a ceiling run paired with each',
  async run(context) {
    const runs = context.runs(3);
    const { count, warmUp } = streamLength(context);
    const ceilings: number[] = [];
    const coldCeilings: number[] = [];
    const direct: StreamRunResult[] = [];
    const broker: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ceiling = await ceilingRun(context);
      ceilings.push(ceiling.rate!);
      coldCeilings.push(ceiling.coldRate ?? 0);
      const profileDir = context.options.profile && i === 0 ? join(context.resultsDir, 'profiles') : undefined;
      const service = await streamRun({
        receiver: 'service',
        boxes: BOXES,
        count,
        warmUpMessages: warmUp,
        tempDir: context.tempDir,
        ...(profileDir ? { profileDir } : {}),
      });
      direct.push(service);
      if (service.profileFile) {
        const summary = await summarizeCpuProfile(service.profileFile, 25);
        context.profile({ scenario: 'throughput', file: service.profileFile, hotspots: summary.bySelf });
        context.log('profile (self time)', { file: service.profileFile });
        for (const h of summary.bySelf) context.log(`  ${h.selfPercent.toFixed(1).padStart(5)} % self  ${h.totalPercent.toFixed(1).padStart(5)} % total  ${h.name}`);
      }
      context.log(`run ${i + 1}/${runs} direct`, {
        ceiling: Math.round(ceiling.rate!),
        rate: service.rate === undefined ? null : Math.round(service.rate),
        coldRate: service.coldRate === undefined ? null : Math.round(service.coldRate),
        sent: service.sent,
        stored: service.received,
        pluginDropped: service.pluginDropped,
        senderCpu: service.senderCpu,
        receiverCpu: service.receiverCpu,
      });
      const { rate } = await brokerZeroLossRate(context, service.rate ?? service.received / service.seconds);
      broker.push(rate);
    }
    const ok = (r: StreamRunResult) => r.rate !== undefined && r.lost === 0;
    context.report({
      metric: 'ceiling-messages-per-second',
      unit: 'msg/s',
      values: ceilings,
      note: 'ceiling runs paired with the pipeline runs below (same sender, bare SUB)',
    });
    context.report({
      metric: 'direct-messages-per-second',
      unit: 'msg/s',
      values: direct.map((r) => (ok(r) ? r.rate! : 0)),
      baselineValues: ceilings,
      baseline: 'throughput/ceiling-messages-per-second',
      target: '>= 0.6 of the ceiling',
      meets: (_median, ratio) => ratio !== undefined && ratio >= 0.6,
      note: `${count} messages sent as fast as the receiver takes them (XPUB NODROP: the sender waits at the high-water mark, nothing is dropped); the ${count - warmUp} after the first ${warmUp} stored, until the last one is stored (SQLite, batches of 1000); 0 for a run that lost any`,
    });
    context.report({
      metric: 'cold-ceiling-messages-per-second',
      unit: 'msg/s',
      values: coldCeilings,
      note: 'the ceiling runs above from the first send, warm-up included',
    });
    context.report({
      metric: 'direct-cold-messages-per-second',
      unit: 'msg/s',
      values: direct.map((r) => (ok(r) ? (r.coldRate ?? 0) : 0)),
      baselineValues: coldCeilings,
      baseline: 'throughput/cold-ceiling-messages-per-second',
      note: 'the direct runs from the first send, warm-up included (V8 compiling the service optimized, the first batches and windows)',
    });
    context.report({
      metric: 'direct-lost-messages',
      unit: 'messages',
      values: direct.map((r) => r.lost),
      target: '0 (sent = stored after a graceful stop)',
      meets: (_median) => direct.every((r) => r.lost === 0),
    });
    context.report({ metric: 'direct-receiver-cpu', unit: 'cores', values: direct.map((r) => r.receiverCpu), note: 'CPU of the service process over the run' });
    context.report({
      metric: 'broker-messages-per-second',
      unit: 'msg/s',
      values: broker,
      baselineValues: ceilings,
      baseline: 'throughput/ceiling-messages-per-second',
      note: 'sender → triggering broker (CURVE XSUB → XPUB, own process) → service; highest paced rate with zero loss found by a short search (trials of 3 s)',
    });
  },
};
