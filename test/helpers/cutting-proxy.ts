import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/**
 * A loopback TCP proxy to a lab service that cuts the first connection that carried more than
 * `limit` bytes towards the client (a disk download; control answers are far smaller), once.
 */
export async function cuttingProxy(port: number, limit: number): Promise<{ port: number; cuts: () => number; close: () => Promise<void> }> {
  let cuts = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1')
    sockets.add(client).add(upstream)
    let down = 0
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length
      if (cuts === 0 && down > limit) {
        cuts++
        client.destroy()
        upstream.destroy()
        return
      }
      if (!client.write(chunk)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
    client.on('data', (chunk: Buffer) => upstream.write(chunk))
    const end = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
}
