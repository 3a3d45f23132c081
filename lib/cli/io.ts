import { createInterface } from 'node:readline/promises';

/** What a CLI command may touch, injected so commands are testable without a process. */
export interface CliIo {
  readStdin(): Promise<Uint8Array>;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Asks a question on the terminal and resolves with the answer line (absent: not interactive). */
  ask?(question: string): Promise<string>;
}

export const EXIT_OK = 0;
/** Usage errors (unknown command or flag). */
export const EXIT_USAGE = 1;
/** The input is not a valid CPNP message (wire-format.md, RFC 8921 section 10). */
export const EXIT_INVALID = 2;

export function processIo(): CliIo {
  return {
    async readStdin() {
      if (process.stdin.isTTY) return new Uint8Array();
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    },
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    ...(process.stdin.isTTY
      ? {
          ask: async (question: string) => {
            const rl = createInterface({ input: process.stdin, output: process.stdout });
            try {
              return await rl.question(question);
            } finally {
              rl.close();
            }
          },
        }
      : {}),
  };
}
