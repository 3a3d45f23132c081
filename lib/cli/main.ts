import { decodeCommand, encodeCommand } from './codec-commands';
import { pingCommand } from './ping-command';
import { portalCommand } from './portal-command';
import { providerCommand } from './provider-command';
import { quoteCommand } from './quote-command';
import { EXIT_USAGE, type CliIo } from './io';

const USAGE = `usage: cpnp <command> [options]

commands:
  decode [--hex HEX] [--lines]   decode a CPNP message (hex or raw CBOR on stdin, or --hex)
                                 and print its JSON form; --lines: one hex message per line
  encode                         read the JSON form on stdin, print the deterministic hex
  ping --server HOST:PORT --psk-identity ID --psk-file F [--transport dtls|udp] [--count N]
                                 DTLS handshake, then CANCEL probes of an unknown order: the
                                 server's FAIL is the pong; prints handshake and round-trip
                                 times (cpnp ping --help for every option)
  quote --server HOST:PORT --cpd FILE.json [--psk-identity ID --psk-file F] [--accept auto|ask|never]
                                 place one order with a provider, show its answers and the offer's
                                 diff, accept or decline; exit 0 agreement, 1 declined/cancelled,
                                 2 bad input, 3 unreachable, 4 unknown outcome (cpnp quote --help)
  provider --config FILE [--listen HOST:PORT] [--transport dtls|udp|tls] [--db FILE_OR_URL]
                                 run the reference Provider server; also: provider orders,
                                 provider approve ORDER, provider reject ORDER [--status N]
                                 (cpnp provider --help for every option)
  portal user add --email E --password P --role customer|admin|staff --org NAME [--db FILE]
                                 add a portal account (the first admin of a deployment);
                                 portal migrate [--db FILE]: apply the portal's migrations

exit status: 0 ok, 1 usage error, 2 invalid message (one line on stderr names the rule),
3 ping: server unreachable (handshake failed, wrong PSK, no pong in time); provider: 2 bad
configuration value, 3 could not start or not reachable, 4 request refused
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  decode: decodeCommand,
  encode: encodeCommand,
  ping: pingCommand,
  quote: quoteCommand,
  provider: providerCommand,
  portal: portalCommand,
};

export async function main(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`cpnp: unknown command "${name}"\n${USAGE}`);
    return EXIT_USAGE;
  }
  return command(rest, io);
}
