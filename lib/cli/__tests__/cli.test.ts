import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, vectorSets } from '../../cpnp/__tests__/vectors';
import type { CliIo } from '../io';
import { main } from '../main';

function fakeIo(stdin: string | Uint8Array = '') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    readStdin: async () => (typeof stdin === 'string' ? new Uint8Array(Buffer.from(stdin)) : stdin),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const [vectors] = vectorSets();
const valid = vectors?.valid ?? [];
const invalid = vectors?.invalid ?? [];

describe('cpnp decode', () => {
  for (const v of valid) {
    it(`--hex ${v.name} prints the JSON form`, async () => {
      const f = fakeIo();
      assert.equal(await main(['decode', '--hex', v.hex], f.io), 0);
      assert.deepStrictEqual(JSON.parse(f.out()), v.json);
      assert.equal(f.err(), '');
    });
  }
  it('reads hex with whitespace and newlines from stdin', async () => {
    const v = valid[0];
    assert.ok(v);
    const f = fakeIo(`${v.hex.slice(0, 10)} \n ${v.hex.slice(10)}\n`);
    assert.equal(await main(['decode'], f.io), 0);
    assert.deepStrictEqual(JSON.parse(f.out()), v.json);
  });
  it('reads raw CBOR bytes from stdin', async () => {
    const v = valid[3];
    assert.ok(v);
    const f = fakeIo(new Uint8Array(Buffer.from(v.hex, 'hex')));
    assert.equal(await main(['decode'], f.io), 0);
    assert.deepStrictEqual(JSON.parse(f.out()), v.json);
  });
  it('notes non-deterministic input on stderr but succeeds', async () => {
    const v = vectors?.lenient[0];
    assert.ok(v);
    const f = fakeIo();
    assert.equal(await main(['decode', '--hex', v.hex], f.io), 0);
    assert.match(f.err(), /not in deterministic form/);
  });
  for (const v of invalid) {
    it(`${v.name}: exit 2 and one line naming the rule`, async () => {
      const f = fakeIo();
      assert.equal(await main(['decode', '--hex', v.hex], f.io), 2);
      assert.equal(f.out(), '');
      const lines = f.err().trimEnd().split('\n');
      assert.equal(lines.length, 1);
      assert.match(lines[0] ?? '', /^cpnp: invalid message \([a-z0-9.-]+\): /);
    });
  }
  it('--lines decodes one hex message per line', async () => {
    const f = fakeIo(valid.map((v) => v.hex).join('\n'));
    assert.equal(await main(['decode', '--lines'], f.io), 0);
    const lines = f.out().trimEnd().split('\n');
    assert.equal(lines.length, valid.length);
    assert.deepStrictEqual(JSON.parse(lines[1] ?? ''), valid[1]?.json);
  });
  it('odd hex and empty input are invalid input (exit 2)', async () => {
    assert.equal(await main(['decode', '--hex', 'abc'], fakeIo().io), 2);
    assert.equal(await main(['decode'], fakeIo('').io), 2);
  });
  it('unknown flags are usage errors (exit 1)', async () => {
    assert.equal(await main(['decode', '--nope'], fakeIo().io), 1);
    assert.equal(await main(['frobnicate'], fakeIo().io), 1);
  });
});

describe('cpnp encode', () => {
  for (const v of valid) {
    it(`${v.name}: JSON on stdin → deterministic hex`, async () => {
      const f = fakeIo(JSON.stringify(v.json));
      assert.equal(await main(['encode'], f.io), 0);
      assert.equal(f.out(), `${v.hex}\n`);
    });
  }
  it('invalid JSON form: exit 2, one line', async () => {
    const f = fakeIo('{"version":2}');
    assert.equal(await main(['encode'], f.io), 2);
    assert.equal(f.err().trimEnd().split('\n').length, 1);
    const g = fakeIo('not json');
    assert.equal(await main(['encode'], g.io), 2);
  });
});

describe('bin/cpnp.mjs (real process)', () => {
  const bin = resolve(REPO_ROOT, 'bin/cpnp.mjs');
  it('decode | encode pipeline reproduces the bytes, and exit codes are real', () => {
    const v = valid[1];
    assert.ok(v);
    const dec = spawnSync(process.execPath, [bin, 'decode', '--hex', v.hex], { encoding: 'utf8' });
    assert.equal(dec.status, 0, dec.stderr);
    const enc = spawnSync(process.execPath, [bin, 'encode'], { input: dec.stdout, encoding: 'utf8' });
    assert.equal(enc.status, 0, enc.stderr);
    assert.equal(enc.stdout.trim(), v.hex);
    const bad = spawnSync(process.execPath, [bin, 'decode'], { input: invalid[0]?.hex ?? '', encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1);
  });
});
