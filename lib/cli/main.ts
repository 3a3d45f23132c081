import { decodeCommand, encodeCommand } from './codec-commands';
import { EXIT_USAGE, type CliIo } from './io';

const USAGE = `usage: cpnp <command> [options]

commands:
  decode [--hex HEX] [--lines]   decode a CPNP message (hex or raw CBOR on stdin, or --hex)
                                 and print its JSON form; --lines: one hex message per line
  encode                         read the JSON form on stdin, print the deterministic hex

exit status: 0 ok, 1 usage error, 2 invalid message (one line on stderr names the rule)
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  decode: decodeCommand,
  encode: encodeCommand,
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
