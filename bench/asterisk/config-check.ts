// bench/asterisk/config-check: loads asterisk-config/ (production configuration, rendered by its entrypoint; only
// paths and ports moved into a temp dir) into a real Asterisk 22 and prints every ERROR / WARNING line of the
// start, the music-on-hold classes and the AMI user's rights. Exit code 1 on any ERROR line.
//
//   ASTERISK_PREFIX=/opt/asterisk-22 npm run check:asterisk-config
//   KEEP_RUNNING=1 …   keeps that Asterisk up and prints the variables for test/real-asterisk
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, installPrompts, renderAsteriskConfig, start, stop, until } from './lab';

async function main(): Promise<void> {
  const prefix = process.env.ASTERISK_PREFIX ?? '';
  const bin = path.join(prefix, 'sbin', 'asterisk');
  if (!prefix || !existsSync(bin)) throw new Error('set ASTERISK_PREFIX to an Asterisk 22 install (sbin/asterisk)');
  const dir = mkdtempSync(path.join(tmpdir(), 'h114-asterisk-config-'));
  const ports = { sip: await freePort(), http: await freePort(), ami: await freePort(), pg: 0, redis: 0, service: 0, agentSipp: 0 };
  const etc = renderAsteriskConfig({ dir, asteriskPrefix: prefix, agents: 0, queueSizes: [], ports, secrets: { ari: 'check-ari', ami: 'check-ami' }, overlay: false });
  await installPrompts(dir);
  const conf = path.join(etc, 'asterisk.conf');
  const asterisk = start('asterisk', bin, ['-f', '-C', conf]);
  const rx = (cmd: string) => execFileSync(bin, ['-C', conf, '-rx', cmd], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await until('Asterisk fully booted', () => rx('core waitfullybooted').includes('fully booted'), 60_000, 500);
    const log = readFileSync(path.join(dir, 'log', 'messages.log'), 'utf8').split('\n');
    const errors = log.filter((l) => /\bERROR\[/.test(l));
    const warnings = log.filter((l) => /\bWARNING\[/.test(l));
    console.log(`${rx('core show version').trim()}\n${rx('module show like .').trim().split('\n').pop()}`);
    console.log(`${errors.length} ERROR and ${warnings.length} WARNING lines at start`);
    for (const l of [...errors, ...warnings]) console.log(`  ${l}`);
    console.log(rx('moh show classes').trim());
    console.log(rx('manager show user hotline114').trim());
    console.log(rx('ari show users').trim());
    process.exitCode = errors.length ? 1 : 0;
    if (process.env.KEEP_RUNNING) {
      // For test/real-asterisk against this very configuration.
      console.log(
        `\nAsterisk keeps running until Ctrl-C; in another shell:\n` +
          `ASTERISK_ARI_URL=http://127.0.0.1:${ports.http} ASTERISK_AMI_PORT=${ports.ami} ASTERISK_SIP=127.0.0.1:${ports.sip} ` +
          `ASTERISK_ARI_PASSWORD=check-ari ASTERISK_AMI_SECRET=check-ami npx jest test/real-asterisk`,
      );
      await new Promise((r) => process.once('SIGINT', r));
    }
  } finally {
    await stop(asterisk);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
