/**
 * The raw UDP echo peer of the provider bench (bench/provider-cycles.ts), in its own process:
 * every datagram goes straight back to its sender. Prints its port on stdout, then serves until
 * killed. The round-trip rate against it is the ceiling one Node process can reach on this
 * machine's loopback, measured in the same run as the CPNP cycles.
 */
import { createSocket } from 'node:dgram';

const socket = createSocket('udp4');
socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
socket.bind(0, '127.0.0.1', () => {
  process.stdout.write(`${socket.address().port}\n`);
});
