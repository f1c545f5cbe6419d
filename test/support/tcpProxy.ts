/**
 * A loopback TCP proxy for fault tests: clients connect to `url`, the proxy forwards to a
 * local target (a test's redis-server), and the test switches what happens on the wire:
 * forward, hold, blackhole, drop, refuse, delay. Every socket has an error handler, so a fault
 * never becomes an unhandled error; the proxy only targets loopback addresses.
 */
import * as net from "node:net"

export interface TcpProxy {
  readonly port: number
  /** `redis://127.0.0.1:${port}` */
  readonly url: string
  /** forward normally (the default) */
  readonly pass: () => void
  /** keep connections open but forward nothing either way; data is buffered and flows again on pass() */
  readonly hold: () => void
  /** keep connections open, silently discard everything in both directions (lost, not buffered); new connections are accepted and also discarded */
  readonly blackhole: () => void
  /** destroy every open connection now (clients see a reset); new connections are accepted and forwarded normally */
  readonly drop: () => void
  /** destroy open connections and destroy new ones as soon as they arrive, until pass() */
  readonly refuse: () => void
  /** forward, with each chunk delayed by `millis` in each direction (order kept); delay(0) = pass */
  readonly delay: (millis: number) => void
  /** open client connections */
  readonly connections: () => number
  /** destroys every connection and stops listening */
  readonly close: () => Promise<void>
}

type Mode = "pass" | "hold" | "blackhole" | "refuse"

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"])

/** One direction of one connection: chunks wait here until the mode lets them through. */
class Pipe {
  readonly queue: Array<{ readonly chunk: Buffer; readonly due: number }> = []
  timer: ReturnType<typeof setTimeout> | undefined = undefined
  constructor(readonly to: net.Socket) {}
  clear(): void {
    this.queue.length = 0
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}

interface Connection {
  readonly client: net.Socket
  readonly upstream: net.Socket
  readonly toUpstream: Pipe
  readonly toClient: Pipe
}

/** Destroys a socket with a TCP reset when it can (the peer sees ECONNRESET), else plainly. */
const reset = (socket: net.Socket): void => {
  try {
    if (socket.destroyed) return
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

export const startTcpProxy = (target: { readonly host?: string; readonly port: number }): Promise<TcpProxy> => {
  const host = target.host ?? "127.0.0.1"
  if (!LOOPBACK.has(host)) return Promise.reject(new Error(`tcpProxy only targets loopback, got ${host}`))
  let mode: Mode = "pass"
  let delayMillis = 0
  const open = new Set<Connection>()

  const pump = (pipe: Pipe): void => {
    if (mode === "hold" || pipe.to.destroyed) return
    if (mode === "blackhole") {
      pipe.clear()
      return
    }
    const now = Date.now()
    while (pipe.queue.length > 0) {
      const head = pipe.queue[0]!
      if (delayMillis > 0 && head.due > now) {
        if (pipe.timer === undefined) {
          pipe.timer = setTimeout(() => {
            pipe.timer = undefined
            pump(pipe)
          }, head.due - now)
        }
        return
      }
      pipe.queue.shift()
      pipe.to.write(head.chunk)
    }
  }

  const receive =
    (pipe: Pipe) =>
    (chunk: Buffer): void => {
      if (mode === "blackhole") return
      pipe.queue.push({ chunk, due: Date.now() + delayMillis })
      pump(pipe)
    }

  const close = (connection: Connection): void => {
    if (!open.delete(connection)) return
    connection.toUpstream.clear()
    connection.toClient.clear()
    reset(connection.client)
    reset(connection.upstream)
  }

  const server = net.createServer((client) => {
    client.on("error", () => {})
    if (mode === "refuse") return reset(client)
    const upstream = net.connect({ host, port: target.port })
    upstream.on("error", () => {})
    const connection: Connection = { client, upstream, toUpstream: new Pipe(upstream), toClient: new Pipe(client) }
    open.add(connection)
    client.on("data", receive(connection.toUpstream))
    upstream.on("data", receive(connection.toClient))
    client.on("close", () => close(connection))
    upstream.on("close", () => close(connection))
  })
  server.on("error", () => {})

  const setMode = (next: Mode, millis = 0): void => {
    mode = next
    delayMillis = millis
    for (const connection of open) {
      if (next === "refuse") {
        close(connection)
        continue
      }
      if (next === "blackhole") {
        connection.toUpstream.clear()
        connection.toClient.clear()
        continue
      }
      // delays of chunks already queued keep their due time; pass flushes them at once
      pump(connection.toUpstream)
      pump(connection.toClient)
    }
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.removeListener("error", reject)
      const port = (server.address() as net.AddressInfo).port
      resolve({
        port,
        url: `redis://127.0.0.1:${port}`,
        pass: () => setMode("pass"),
        hold: () => setMode("hold"),
        blackhole: () => setMode("blackhole"),
        drop: () => {
          for (const connection of open) close(connection)
          setMode("pass")
        },
        refuse: () => setMode("refuse"),
        delay: (millis) => {
          if (!(millis >= 0) || !Number.isFinite(millis)) throw new Error(`delay must be a finite number >= 0, got ${millis}`)
          setMode("pass", millis)
        },
        connections: () => open.size,
        close: () =>
          new Promise<void>((done) => {
            for (const connection of open) close(connection)
            server.close(() => done())
          })
      })
    })
  })
}
