/**
 * The audit head copied off the store's folder (store/audit-sink.ts): a file sink read back by
 * verify, syslog through logger(1) to a UDP server and a unix datagram socket the test binds, and
 * the one attack the local head file cannot reveal: the database and its head file both put back
 * to older copies by someone holding the data key.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseAuditSink, type AuditSinkConfig } from '../../../src-main/store/audit-sink.js';
import { initStore, openStore, storePaths } from '../../../src-main/store/store.js';
import { runCliCaptured } from '../../support/cli.js';
import { makeTempDir } from '../../support/temp.js';

const PASSPHRASE = 'audit sink passphrase';
const FAST_SCRYPT = { N: 2 ** 14, r: 8, p: 1 };
const unlock = { user: 'admin', passphrase: PASSPHRASE };

describe('the audit head copied off the store folder', () => {
  const tmp = makeTempDir('clinprompt-audit-sink-');
  afterAll(() => tmp.cleanup());

  async function storeWithHistory(home: string, auditSink: AuditSinkConfig, entries: number) {
    const store = await initStore(home, {
      protect: { passphrase: PASSPHRASE, scrypt: FAST_SCRYPT },
      admin: { username: 'admin' },
      auditSink,
    });
    for (let i = 0; i < entries; i++) store.session('admin').record('store.admin', 'store.backup', { details: { i } });
    return store;
  }

  it('detects the database and its head file both rolled back, which the head file alone cannot', async () => {
    const home = path.join(tmp.dir, 'rollback');
    const older = path.join(tmp.dir, 'rollback-older');
    const sinkFile = path.join(tmp.dir, 'rollback-heads.log');
    const auditSink = { sink: parseAuditSink(`file:${sinkFile}`) };
    const store = await storeWithHistory(home, auditSink, 2);
    const olderEntries = store.audit.verify().entries;
    store.close();
    cpSync(storePaths(home).dir, older, { recursive: true }); // database + head file, consistent
    const again = await openStore(home, unlock, { auditSink });
    again.session('admin').record('store.admin', 'store.backup', { details: { i: 8 } });
    again.session('admin').record('store.admin', 'store.backup', { details: { i: 9 } });
    const newest = again.audit.verify();
    expect(newest).toMatchObject({ ok: true, externalSeq: newest.entries });
    again.close();

    // both files put back; the copy off the folder stays
    for (const file of ['clinprompt.db', 'audit-head.json']) {
      copyFileSync(path.join(older, file), path.join(storePaths(home).dir, file));
    }
    const withoutCopy = await openStore(home, unlock, { auditSink: {} });
    expect(withoutCopy.audit.verify().ok).toBe(true); // locally consistent: the gap the sink closes
    withoutCopy.close();
    const rolledBack = await openStore(home, unlock, { auditSink });
    const result = rolledBack.audit.verify();
    rolledBack.close();
    expect(newest.entries).toBe(olderEntries + 2);
    expect(result).toMatchObject({ ok: false, entries: olderEntries });
    expect(result.problem).toBe(
      `the log ends at entry ${olderEntries} but its copy in ${sinkFile} records entry ${newest.entries}: ` +
        'the database and its head file were rolled back to older copies, or entries were removed from the end',
    );

    // the same through the CLI, configured by the environment
    const env = {
      CLINPROMPT_HOME: home,
      CLINPROMPT_PASSPHRASE: PASSPHRASE,
      CLINPROMPT_USER: 'admin',
      CLINPROMPT_AUDIT_SINK: `file:${sinkFile}`,
    };
    const verify = await runCliCaptured(['audit', 'verify'], env);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^AUDIT LOG TAMPERED: the log ends at entry \d+ but its copy in /);
  });

  it('ignores lines this store did not sign, and writes no note text', async () => {
    const home = path.join(tmp.dir, 'noise');
    const sinkFile = path.join(tmp.dir, 'noise-heads.log');
    const auditSink = { sink: parseAuditSink(`file:${sinkFile}`) };
    const store = await storeWithHistory(home, auditSink, 1);
    const lines = readFileSync(sinkFile, 'utf8').trim().split('\n');
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^clinprompt-audit-head v1 store=${store.storeId} seq=\\d+ link=[0-9a-f]{64} at=\\S+ mac=[0-9a-f]{64}$`,
      ),
    );
    // someone who can write to the log adds a far newer head with a made-up MAC
    const forged = lines
      .at(-1)
      ?.replace(/seq=\d+/, 'seq=999')
      .replace(/mac=[0-9a-f]+/, `mac=${'ab'.repeat(32)}`);
    writeFileSync(sinkFile, `${lines.join('\n')}\n${forged}\n`);
    expect(store.audit.verify()).toMatchObject({ ok: true, externalSeq: store.audit.verify().entries });
    store.close();
  });

  it('sends each new head to a syslog server over UDP through logger', async () => {
    const server = dgram.createSocket('udp4');
    const received: string[] = [];
    server.on('message', (m) => received.push(m.toString('utf8')));
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const home = path.join(tmp.dir, 'udp');
      const sink = parseAuditSink(`syslog:udp:127.0.0.1:${server.address().port}`);
      const store = await storeWithHistory(home, { sink }, 1);
      const entries = store.audit.verify().entries;
      await expect.poll(() => received.join('\n'), { timeout: 5_000 }).toContain(`seq=${entries} `);
      expect(received.join('\n')).toContain(`clinprompt-audit-head v1 store=${store.storeId}`);
      // what the server wrote is what verify reads back
      const serverLog = path.join(tmp.dir, 'udp-server.log');
      writeFileSync(serverLog, received.join('\n'));
      store.close();
      const reopened = await openStore(home, unlock, { auditSink: { sink, readBack: serverLog } });
      expect(reopened.audit.verify()).toMatchObject({ ok: true, externalSeq: entries });
      reopened.close();
    } finally {
      server.close();
    }
  });

  it.runIf(existsSync('/usr/bin/python3') || existsSync('/usr/local/bin/python3'))(
    'sends each new head to a unix datagram syslog socket',
    async () => {
      const socket = path.join(tmp.dir, 'syslog.sock');
      // Node binds no unix datagram sockets: a tiny Python listener stands in for syslogd
      const listener = spawn('python3', [
        '-u',
        '-c',
        'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("ready")\n' +
          'while True:\n  print(s.recv(65536).decode("utf8","replace"))',
        socket,
      ]);
      let out = '';
      listener.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      try {
        await expect.poll(() => out, { timeout: 10_000 }).toContain('ready');
        const store = await storeWithHistory(
          path.join(tmp.dir, 'unix'),
          { sink: parseAuditSink(`syslog:unix:${socket}`) },
          1,
        );
        const entries = store.audit.verify().entries;
        await expect.poll(() => out, { timeout: 5_000 }).toContain(`seq=${entries} `);
        expect(out).toMatch(/clinprompt.*clinprompt-audit-head v1 store=/);
        store.close();
      } finally {
        listener.kill();
      }
    },
  );

  it('refuses a sink it does not know, naming the variable', () => {
    expect(() => parseAuditSink('syslog:tcp:host')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'CLINPROMPT_AUDIT_SINK' }) as Error,
    );
    expect(() => parseAuditSink('file:')).toThrow(/CLINPROMPT_AUDIT_SINK="file:" names no file/);
  });
});
