import { readFile } from 'node:fs/promises';
import { systemClock } from '../cpnp/clock';
import { diffCpd, type DiffEntry } from '../cpnp/cpd/diff';
import type { Cpd } from '../cpnp/cpd/types';
import { millisToDateTime } from '../cpnp/date-time';
import { DECLINE_REASON_DESCRIPTIONS, isDeclineReason, type DeclineReasonValue } from '../cpnp/decline-reason';
import { ClientEngine, type ClientOrderRecord, type CommandResult } from '../cpnp/engine/client-engine';
import type { EngineEvent } from '../cpnp/engine/output';
import { EngineRunner } from '../cpnp/engine/runner';
import type { InformationElements } from '../cpnp/information-elements';
import { PROCESSING_SUBCODE_DESCRIPTIONS, isProcessingSubcode } from '../cpnp/processing-subcode';
import { cryptoRandom } from '../cpnp/random';
import { STATUS_CODE_DESCRIPTIONS, type StatusCodeValue } from '../cpnp/status-code';
import { DtlsClientTransport } from '../cpnp/transport/dtls-client';
import { isLoopbackAddress, udpFamilyOf } from '../cpnp/transport/loopback';
import { parseServer, PskFileError, pskFromText } from '../cpnp/transport/ping';
import { TlsClientTransport } from '../cpnp/transport/tls';
import type { Endpoint, MessageTransport } from '../cpnp/transport/transport';
import { UdpTransport } from '../cpnp/transport/udp';
import { parseDuration } from '../provider/policy';
import type { CliIo } from './io';

/** Exit statuses of `cpnp quote` (issue 7): scripts branch on them. */
export const QUOTE_EXIT = { agreement: 0, declined: 1, badInput: 2, unreachable: 3, unknown: 4 } as const;

export const QUOTE_USAGE = `usage: cpnp quote --server HOST:PORT [--transport dtls|udp|tls] --cpd FILE.json
                  [--psk-identity ID --psk-file FILE]  (dtls)
                  [--tls-cert F --tls-key F --tls-ca F [--tls-server-name NAME]]  (tls)
                  [--expected-response 60s] [--accept auto|ask|never] [--decline-reason 1|2|3]
                  [--more-time grant|refuse|ask] [--timeout DURATION] [--json]

Places one QUOTATION (RFC 8921 section 6, first model: the customer runs its own client), shows
the provider's PROCESSING and more-time requests and the OFFER with its clause-by-clause diff
against the request, then accepts or declines as told, with the same engine and rules as the
portal: a lost answer or a crossing message never ends in a silent disagreement.

  --cpd FILE.json          the Requested CPD: a JSON array of CPPs, or { "cpd": [...], "ies": {...} }
  --expected-response D    EXPECTED_RESPONSE_TIME from now (default 60s; e.g. 90s, 5m)
  --accept auto|ask|never  auto (default): accept an offer that meets or narrows every requested
                           clause, decline one that misses a clause (reason 1); ask: ask on the
                           terminal; never: decline every offer
  --decline-reason N       the reason of a DECLINE (default 1; Table 3)
  --more-time M            answer to a request for more time: grant, refuse (default) or ask
  --timeout D              give up waiting after D (default: the response time plus 2 minutes)
  --json                   one JSON event per line on stdout, then a {"kind":"result"} line
  --transport udp          plain UDP, loopback addresses only (RFC 8921 section 13)

exit status: 0 agreement concluded, 1 declined / cancelled / refused, 2 bad input (options, files,
CPD), 3 unreachable (no DTLS/TLS session, no answer at all), 4 unknown outcome (an alarm: the
provider may have concluded what this client could not confirm)
`;

type AcceptMode = 'auto' | 'ask' | 'never';
type MoreTimeMode = 'grant' | 'refuse' | 'ask';

interface QuoteArgs {
  server: Endpoint;
  serverText: string;
  transport: 'dtls' | 'udp' | 'tls';
  identity?: string;
  pskFile?: string;
  tls?: { cert: string; key: string; ca: string; serverName?: string };
  cpdFile: string;
  expectedResponseMs: number;
  accept: AcceptMode;
  declineReason: DeclineReasonValue;
  moreTime: MoreTimeMode;
  timeoutMs?: number;
  json: boolean;
}

function parseArgs(args: string[]): QuoteArgs | 'help' | string {
  let serverText: string | undefined;
  let transport: QuoteArgs['transport'] = 'dtls';
  let identity: string | undefined;
  let pskFile: string | undefined;
  let cpdFile: string | undefined;
  let expectedResponseMs = 60_000;
  let accept: AcceptMode = 'auto';
  let declineReason: DeclineReasonValue = 1;
  let moreTime: MoreTimeMode = 'refuse';
  let timeoutMs: number | undefined;
  let json = false;
  const tls: Partial<NonNullable<QuoteArgs['tls']>> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string | undefined => args[++i];
    const need = (name: string): string => {
      const v = value();
      if (v === undefined || v === '') throw new Error(`${name} needs a value`);
      return v;
    };
    try {
      switch (arg) {
        case '--help':
        case '-h':
          return 'help';
        case '--server':
          serverText = need('--server');
          break;
        case '--transport': {
          const v = need('--transport');
          if (v !== 'dtls' && v !== 'udp' && v !== 'tls') return `--transport "${v}": expected dtls, udp or tls`;
          transport = v;
          break;
        }
        case '--psk-identity':
          identity = need('--psk-identity');
          break;
        case '--psk-file':
          pskFile = need('--psk-file');
          break;
        case '--tls-cert':
          tls.cert = need('--tls-cert');
          break;
        case '--tls-key':
          tls.key = need('--tls-key');
          break;
        case '--tls-ca':
          tls.ca = need('--tls-ca');
          break;
        case '--tls-server-name':
          tls.serverName = need('--tls-server-name');
          break;
        case '--cpd':
          cpdFile = need('--cpd');
          break;
        case '--expected-response': {
          const v = need('--expected-response');
          const ms = parseDuration(v);
          if (ms === undefined || ms < 1000) return `--expected-response "${v}": expected a duration of at least 1s (e.g. 60s, 5m)`;
          expectedResponseMs = ms;
          break;
        }
        case '--timeout': {
          const v = need('--timeout');
          const ms = parseDuration(v);
          if (ms === undefined || ms < 1000) return `--timeout "${v}": expected a duration of at least 1s`;
          timeoutMs = ms;
          break;
        }
        case '--accept': {
          const v = need('--accept');
          if (v !== 'auto' && v !== 'ask' && v !== 'never') return `--accept "${v}": expected auto, ask or never`;
          accept = v;
          break;
        }
        case '--more-time': {
          const v = need('--more-time');
          if (v !== 'grant' && v !== 'refuse' && v !== 'ask') return `--more-time "${v}": expected grant, refuse or ask`;
          moreTime = v;
          break;
        }
        case '--decline-reason': {
          const v = need('--decline-reason');
          const n = Number(v);
          if (!isDeclineReason(n)) return `--decline-reason "${v}": expected 1, 2 or 3 (RFC 8921 Table 3)`;
          declineReason = n;
          break;
        }
        case '--json':
          json = true;
          break;
        default:
          return `unknown argument ${String(arg)}`;
      }
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
  if (serverText === undefined) return '--server HOST:PORT is required';
  const server = parseServer(serverText);
  if (server === undefined) return `--server: expected HOST:PORT (IPv6: [addr]:port), got "${serverText}"`;
  if (cpdFile === undefined) return '--cpd FILE.json is required';
  if (transport === 'dtls' && (identity === undefined || pskFile === undefined)) return 'dtls needs --psk-identity and --psk-file';
  if (transport === 'tls' && (tls.cert === undefined || tls.key === undefined || tls.ca === undefined)) return 'tls needs --tls-cert, --tls-key and --tls-ca';
  if (transport !== 'tls' && Object.keys(tls).length > 0) return '--tls-* options are only used with --transport tls';
  if (transport === 'udp' && !isLoopbackAddress(server.address)) {
    return '--transport udp works on loopback addresses only (RFC 8921 section 13 requires DTLS or TLS on a network)';
  }
  return {
    server,
    serverText,
    transport,
    cpdFile,
    expectedResponseMs,
    accept,
    declineReason,
    moreTime,
    json,
    ...(identity === undefined ? {} : { identity }),
    ...(pskFile === undefined ? {} : { pskFile }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(transport === 'tls' ? { tls: tls as NonNullable<QuoteArgs['tls']> } : {}),
  };
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');
const describeStatus = (code: number): string => `${code} (${STATUS_CODE_DESCRIPTIONS[code as StatusCodeValue] ?? 'unknown status'})`;
const describeSubcode = (code: number | undefined): string =>
  code === undefined ? '' : ` (subcode ${code}: ${isProcessingSubcode(code) ? PROCESSING_SUBCODE_DESCRIPTIONS[code] : 'unknown'})`;
const show = (value: unknown): string => (value === undefined ? '-' : JSON.stringify(value));

/** The Requested CPD (and IEs) from the file: an array of CPPs, or { cpd, ies }. */
async function readRequest(file: string): Promise<{ cpd: Cpd; ies?: InformationElements } | string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return `--cpd ${file}: cannot be read: ${oneLine(error instanceof Error ? error.message : String(error))}`;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return `--cpd ${file}: not JSON: ${oneLine(error instanceof Error ? error.message : String(error))}`;
  }
  if (Array.isArray(data)) return { cpd: data as Cpd };
  if (typeof data === 'object' && data !== null && Array.isArray((data as { cpd?: unknown }).cpd)) {
    const { cpd, ies } = data as { cpd: Cpd; ies?: InformationElements };
    return { cpd, ...(ies === undefined ? {} : { ies }) };
  }
  return `--cpd ${file}: expected a JSON array of CPPs or an object { "cpd": [...], "ies": {...} }`;
}

async function openTransport(options: QuoteArgs, io: CliIo): Promise<MessageTransport | string> {
  if (options.transport === 'dtls') {
    let key: Uint8Array;
    try {
      key = pskFromText(await readFile(options.pskFile ?? '', 'utf8'), options.identity ?? '');
    } catch (error) {
      const detail = error instanceof PskFileError || error instanceof Error ? error.message : String(error);
      return `--psk-file ${options.pskFile ?? ''}: ${oneLine(detail)}`;
    }
    return new DtlsClientTransport({
      psk: { identity: options.identity ?? '', key },
      retry: { attempts: 3, attemptTimeoutMs: 2000, backoffMs: [200, 400] },
      logger: { warn: () => undefined },
    });
  }
  if (options.transport === 'tls' && options.tls !== undefined) {
    try {
      const [cert, key, ca] = await Promise.all([readFile(options.tls.cert, 'utf8'), readFile(options.tls.key, 'utf8'), readFile(options.tls.ca, 'utf8')]);
      return new TlsClientTransport({ cert, key, ca, logger: { warn: () => undefined }, ...(options.tls.serverName === undefined ? {} : { serverName: options.tls.serverName }) });
    } catch (error) {
      return `--tls-*: ${oneLine(error instanceof Error ? error.message : String(error))}`;
    }
  }
  const family = udpFamilyOf(options.server.address);
  try {
    return await UdpTransport.bind({ host: family === 'udp6' ? '::1' : '127.0.0.1', port: 0, logger: { warn: () => undefined } });
  } catch (error) {
    io.stderr(`cpnp quote: cannot open a UDP socket: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
    return 'cannot open a UDP socket';
  }
}

/** The offer against the request, clause by clause (cpd/diff.ts), as lines. */
function diffLines(requested: Cpd, offered: Cpd): { lines: string[]; overall: 'meets' | 'narrows' | 'misses' } {
  const diff = diffCpd(requested, offered);
  const lines = diff.entries.map(
    (e: DiffEntry) => `  ${e.verdict.padEnd(7)} ${e.path}  requested ${show(e.requested)}  offered ${show(e.offered)}  (${e.clause}${e.note ? `; ${e.note}` : ''})`,
  );
  return { lines, overall: diff.summary.overall };
}

/** `cpnp quote`: see QUOTE_USAGE. */
export async function quoteCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    io.stdout(QUOTE_USAGE);
    return 0;
  }
  if (typeof parsed === 'string') {
    io.stderr(`cpnp quote: ${parsed}\n${QUOTE_USAGE}`);
    return QUOTE_EXIT.badInput;
  }
  const options = parsed;
  if ((options.accept === 'ask' || options.moreTime === 'ask') && io.ask === undefined) {
    io.stderr('cpnp quote: "ask" needs an interactive terminal\n');
    return QUOTE_EXIT.badInput;
  }
  const request = await readRequest(options.cpdFile);
  if (typeof request === 'string') {
    io.stderr(`cpnp quote: ${request}\n`);
    return QUOTE_EXIT.badInput;
  }
  const opened = await openTransport(options, io);
  if (typeof opened === 'string') {
    io.stderr(`cpnp quote: ${opened}\n`);
    return opened === 'cannot open a UDP socket' ? QUOTE_EXIT.unreachable : QUOTE_EXIT.badInput;
  }
  const transport = opened;
  const engine = new ClientEngine({
    clock: systemClock,
    random: cryptoRandom,
    localEndpoint: (server) => (transport instanceof UdpTransport ? transport.local() : (transport as DtlsClientTransport | TlsClientTransport).localFor(server)),
    transport: options.transport,
    // A command-line client waits a little for a late answer, not half an hour (C9, C10).
    config: { requery: { intervalMs: 5000, maxRounds: 2 } },
  });
  const say = (line: string): void => {
    if (!options.json) io.stdout(`${line}\n`);
  };
  let received = 0;
  let sendErrors = 0;
  let wake: (() => void) | undefined;
  const runner = new EngineRunner({
    core: engine,
    transport,
    clock: systemClock,
    side: 'client',
    onEvent: (event) => {
      if (options.json) io.stdout(`${JSON.stringify(event)}\n`);
      else describe(event);
      if (event.kind === 'received') received++;
      if (event.kind === 'send-error') sendErrors++;
      wake?.();
    },
  });

  const describe = (e: EngineEvent): void => {
    const d = e.data ?? {};
    switch (e.kind) {
      case 'sent':
        if (e.method === 'QUOTATION') say(`→ QUOTATION ${e.orderId ?? ''} to ${options.serverText} over ${options.transport.toUpperCase()}; answer expected by ${d.expectedResponseTime ?? '-'}`);
        else if (e.method === 'DECLINE') say(`→ DECLINE, reason ${(d.declineReasons ?? []).map((r) => `${r} (${DECLINE_REASON_DESCRIPTIONS[r]})`).join(', ') || '-'}`);
        else if (e.method === 'ACK') say(`→ ACK: more time granted until ${d.expectedResponseTime ?? '-'}`);
        else if (e.method === 'FAIL') say(`→ FAIL ${describeStatus(d.statusCode ?? 0)}`);
        else say(`→ ${e.method ?? ''}`);
        return;
      case 'retransmitted':
        say(`→ ${e.method ?? ''} again (no answer yet)`);
        return;
      case 'received':
        if (e.method === 'PROCESSING') say(`← PROCESSING${d.expectedOfferTime ? `: offer expected by ${d.expectedOfferTime}` : ''}${describeSubcode(d.processingSubcode)}`);
        else if (e.method === 'FAIL') say(`← FAIL ${describeStatus(d.statusCode ?? 0)}`);
        else say(`← ${e.method ?? ''}`);
        return;
      case 'notice':
        if (e.cause === 'decideMoreTime') say(`the provider asks for more time: until ${d.expectedOfferTime ?? '-'}${describeSubcode(d.processingSubcode)}; our deadline ${d.deadline === undefined ? '-' : new Date(d.deadline).toISOString()}`);
        return;
      case 'alarm':
        say(`ALARM ${e.cause}: the provider's outcome is not known to this client`);
        return;
      case 'transition':
        say(`order ${e.orderId ?? ''}: ${e.from ?? '-'} → ${e.to ?? '-'}${d.cancelReason ? ` (${d.cancelReason})` : ''}`);
        return;
      case 'send-error':
      case 'error':
        say(`error: ${e.detail ?? e.cause}`);
        return;
      default:
    }
  };

  const run = async (command: (c: ClientEngine) => CommandResult): Promise<CommandResult> => runner.run(command);
  let exit: number = QUOTE_EXIT.unknown;
  let summary = '';
  runner.start();
  try {
    const created = await run((c) =>
      c.createOrder({
        cpd: request.cpd,
        ...(request.ies === undefined ? {} : { ies: request.ies }),
        expectedResponseTime: millisToDateTime(Math.ceil((Date.now() + options.expectedResponseMs) / 1000) * 1000),
        server: options.server,
      }),
    );
    if (!created.ok) {
      io.stderr(`cpnp quote: ${options.cpdFile}: ${oneLine(created.reason)}\n`);
      return QUOTE_EXIT.badInput;
    }
    const id = created.orderId;
    await run((c) => c.approve(id));
    await run((c) => c.sendQuotation(id));
    const deadline = Date.now() + (options.timeoutMs ?? options.expectedResponseMs + 120_000);
    let answeredOffer: string | undefined;
    let answeredTime: string | undefined;
    for (;;) {
      const rec = engine.order(id) as ClientOrderRecord;
      const fsm = rec.fsm;
      if (fsm.state === 'OfferReceived' && rec.offer !== undefined && answeredOffer !== rec.offer.nonce) {
        answeredOffer = rec.offer.nonce;
        const { lines, overall } = diffLines(request.cpd, rec.offer.cpd);
        say(`OFFER ${rec.offer.providerOrderId}, valid until ${rec.offer.validityOfferTime}; against the request: ${overall}`);
        for (const line of lines) say(line);
        let yes = options.accept === 'auto' ? overall !== 'misses' : false;
        if (options.accept === 'ask' && io.ask !== undefined) yes = /^y(es)?$/i.test((await io.ask(`accept offer ${rec.offer.providerOrderId}? [y/N] `)).trim());
        const result = await run((c) => (yes ? c.accept(id) : c.decline(id, [options.declineReason])));
        if (!result.ok) say(`could not ${yes ? 'accept' : 'decline'}: ${result.code} ${result.reason}`);
        continue;
      }
      if (fsm.state === 'ServerProcessing' && fsm.moreTimeRequested !== undefined && answeredTime !== fsm.moreTimeRequested) {
        answeredTime = fsm.moreTimeRequested;
        let grant = options.moreTime === 'grant';
        if (options.moreTime === 'ask' && io.ask !== undefined) grant = /^y(es)?$/i.test((await io.ask(`grant more time until ${fsm.moreTimeRequested}? [y/N] `)).trim());
        await run((c) => (grant ? c.grantMoreTime(id) : c.refuseMoreTime(id)));
        continue;
      }
      const waiting = fsm.outstanding !== undefined && fsm.outstanding.unknown !== true;
      if (fsm.state === 'Completed' && !waiting) {
        exit = engine.openAlarms(id).length > 0 ? QUOTE_EXIT.unknown : QUOTE_EXIT.agreement;
        summary = `agreement concluded: ${rec.agreement?.providerOrderId ?? rec.providerOrderId ?? ''}`;
        break;
      }
      if (fsm.state === 'Cancelled' && !waiting) {
        const unreached = received === 0 && fsm.cancelReason === 'timeout';
        exit = engine.openAlarms(id).length > 0 ? QUOTE_EXIT.unknown : unreached ? QUOTE_EXIT.unreachable : QUOTE_EXIT.declined;
        summary = unreached ? `no answer from ${options.serverText}` : `no agreement: ${fsm.cancelReason ?? 'cancelled'}`;
        break;
      }
      if (fsm.outstanding?.unknown === true && engine.nextDue() === undefined) {
        exit = QUOTE_EXIT.unknown;
        summary = `outcome unknown (${fsm.outstanding.method} unanswered): the provider may have concluded it; order ${id}, provider order ${rec.providerOrderId ?? '-'}`;
        break;
      }
      if (received === 0 && sendErrors > 0) {
        exit = QUOTE_EXIT.unreachable;
        summary = `${options.serverText} unreachable (no ${options.transport.toUpperCase()} session)`;
        break;
      }
      if (Date.now() >= deadline) {
        exit = received === 0 ? QUOTE_EXIT.unreachable : QUOTE_EXIT.unknown;
        summary = received === 0 ? `no answer from ${options.serverText}` : `gave up waiting in ${fsm.state}`;
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      await runner.idle();
    }
  } finally {
    await runner.stop().catch(() => undefined);
    await transport.close().catch(() => undefined);
  }
  if (options.json) io.stdout(`${JSON.stringify({ kind: 'result', exit, summary })}\n`);
  else say(`${summary} (exit ${exit})`);
  return exit;
}
