/**
 * "Test connection" (issue 10 item 3): the `cpnp ping` exchange (transport/ping.ts: a CANCEL of
 * an order nobody has, answered by FAIL) against one provider with its stored credentials, on
 * a transport of its own (the engine host's associations are not disturbed), within a bounded
 * time. Reports the handshake time (DTLS/TLS) and the round trip. Framework-free.
 */
import type { Clock } from '../../cpnp/clock';
import { cryptoRandom } from '../../cpnp/random';
import { DtlsClientTransport, nodeDtlsConnector, realScheduler } from '../../cpnp/transport/dtls-client';
import { describePong, ping, timedConnector } from '../../cpnp/transport/ping';
import { TlsClientTransport } from '../../cpnp/transport/tls';
import type { Endpoint, MessageTransport } from '../../cpnp/transport/transport';
import { UdpTransport } from '../../cpnp/transport/udp';
import type { ProviderRoute } from '../negotiation/providers';

export interface CheckResult {
  ok: boolean;
  message: string;
  handshakeMs: number | null;
  rttMs: number | null;
}

const preciseClock: Clock = { now: () => performance.timeOrigin + performance.now() };

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Times the first send (TCP connect + TLS handshake + write) as the handshake. */
function timedFirstSend(inner: MessageTransport, onFirst: (ms: number) => void): MessageTransport {
  let first = true;
  return {
    kind: inner.kind,
    local: () => inner.local(),
    onMessage: (h) => inner.onMessage(h),
    close: () => inner.close(),
    async send(to: Endpoint, bytes: Uint8Array) {
      const started = preciseClock.now();
      await inner.send(to, bytes);
      if (first) {
        first = false;
        onFirst(preciseClock.now() - started);
      }
    },
  };
}

/** One ping exchange with the provider; never throws. `timeoutMs` bounds handshake and pong each. */
export async function checkConnection(route: ProviderRoute, timeoutMs = 4000): Promise<CheckResult> {
  let handshakeMs: number | null = null;
  let transport: MessageTransport;
  const quiet = { warn: () => undefined };
  try {
    if (route.transport === 'dtls' && route.psk) {
      transport = new DtlsClientTransport({
        psk: route.psk,
        retry: { attempts: 1, attemptTimeoutMs: timeoutMs, backoffMs: [0] },
        logger: quiet,
        connector: timedConnector(nodeDtlsConnector, preciseClock, { onEstablished: (ms) => (handshakeMs ??= ms) }),
      });
    } else if (route.transport === 'tls' && route.tls) {
      transport = timedFirstSend(new TlsClientTransport({ ...route.tls, connectTimeoutMs: timeoutMs, logger: quiet }), (ms) => (handshakeMs = ms));
    } else if (route.transport === 'udp') {
      transport = await UdpTransport.bind({ host: route.endpoint.address.includes(':') ? '::1' : '127.0.0.1', port: 0, logger: quiet });
    } else {
      return { ok: false, message: 'no credentials for this transport', handshakeMs: null, rttMs: null };
    }
  } catch (error) {
    return { ok: false, message: errorText(error), handshakeMs: null, rttMs: null };
  }
  try {
    const report = await ping({ transport, server: route.endpoint, count: 1, intervalMs: 0, timeoutMs, clock: preciseClock, random: cryptoRandom, scheduler: realScheduler });
    const exchange = report.exchanges[0];
    if (exchange?.rttMs === undefined || exchange.statusCode === undefined) {
      return { ok: false, message: exchange?.lost ?? 'no answer', handshakeMs, rttMs: null };
    }
    // The pong of a ping is a FAIL (no such order): the expected answer.
    return { ok: true, message: `ping answered (${describePong(exchange.statusCode)}, as expected)`, handshakeMs, rttMs: exchange.rttMs };
  } catch (error) {
    return { ok: false, message: errorText(error).replace(/\s*\n\s*/g, ' ').slice(0, 300), handshakeMs, rttMs: null };
  } finally {
    await transport.close().catch(() => undefined);
  }
}
