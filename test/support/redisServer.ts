/**
 * A private redis-server for one test file (or one benchmark): Debian's `redis-server` on a
 * free loopback port, persistence off, started as our own child process and stopped by its
 * own pid. Test files run in parallel workers, so each starts its own.
 *
 * Without a `redis-server` on PATH the Redis suites are skipped (`redisTests.skip`), and
 * `test/support/globalSetup.ts` says so in one line. CI sets `FOUNDATION_REQUIRE_REDIS=1`
 * (`.ci/run` installs the binary), which turns a missing binary into a failure, so CI always
 * runs them.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as net from "node:net"

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** the pid of the running server (undefined while stopped) */
  readonly pid: () => number | undefined
  /** sends one command over a fresh connection and returns the raw RESP reply */
  readonly command: (...args: ReadonlyArray<string>) => Promise<string>
  /** stops the server (SIGTERM, then SIGKILL after 2 s) and waits for it to exit */
  readonly stop: () => Promise<void>
  /** starts it again on the same port */
  readonly restart: () => Promise<void>
  /** freezes the server (SIGSTOP to its pid): connections stay open, nothing answers */
  readonly pause: () => void
  /** thaws a paused server (SIGCONT) */
  readonly resume: () => void
  /** kills the server at once (SIGKILL, no shutdown) and waits for it to exit; `restart` brings it back */
  readonly kill: () => Promise<void>
}

export const redisServerPath = (): string | undefined => {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

/** Set in CI: a missing redis-server fails the run instead of skipping the Redis suites. */
export const redisRequired = process.env.FOUNDATION_REQUIRE_REDIS === "1"

/**
 * Whether this machine can run the Redis suites. Use it as
 * `describe.skipIf(!redisTests.enabled)(...)`; with `FOUNDATION_REQUIRE_REDIS=1` it is always
 * true, so a missing binary fails where `startRedisServer` is called.
 */
export const redisTests = {
  enabled: redisRequired || redisServerPath() !== undefined,
  howToRun: "install Debian's redis-server (apt-get install -y redis-server) so it is on PATH"
} as const

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const encode = (args: ReadonlyArray<string>): string =>
  `*${args.length}\r\n` + args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join("")

/** One command over a new connection; resolves with the reply text once it looks complete. */
export const rawCommand = (port: number, args: ReadonlyArray<string>, timeoutMillis = 1_000): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    let reply = ""
    const done = (error?: Error) => {
      clearTimeout(timer)
      socket.destroy()
      if (error) reject(error)
      else resolve(reply)
    }
    const timer = setTimeout(() => done(new Error(`no reply from 127.0.0.1:${port}`)), timeoutMillis)
    socket.on("connect", () => socket.write(encode(args)))
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8")
      // simple replies end with one CRLF; bulk replies ($n) end once n bytes have arrived
      const bulk = /^\$(\d+)\r\n/.exec(reply)
      if (bulk === null ? reply.endsWith("\r\n") : Buffer.byteLength(reply) >= bulk[0].length + Number(bulk[1]) + 2) {
        done()
      }
    })
    socket.on("error", (error) => done(error))
  })

const waitUntilReady = async (port: number, child: ChildProcess, deadlineMillis: number): Promise<void> => {
  const deadline = Date.now() + deadlineMillis
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before answering`)
    try {
      if ((await rawCommand(port, ["PING"], 200)).startsWith("+PONG")) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${deadlineMillis}ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Starts a redis-server on a free port (or `port`) and waits until it answers PING. */
export const startRedisServer = async (options?: { readonly port?: number }): Promise<RedisServer> => {
  const binary = redisServerPath()
  if (binary === undefined) {
    throw new Error("redis-server is not installed: `apt-get install -y redis-server` (.ci/run does it in CI)")
  }
  const port = options?.port ?? (await freePort())
  let child: ChildProcess | undefined
  const killOnExit = () => child?.kill("SIGKILL")
  const start = async () => {
    const started = spawn(binary, ["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    child = started
    process.once("exit", killOnExit)
    await waitUntilReady(port, started, 10_000)
  }
  const stop = async () => {
    const running = child
    child = undefined
    process.removeListener("exit", killOnExit)
    if (running === undefined || running.exitCode !== null || running.pid === undefined) return
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
    // a paused server would not handle SIGTERM until thawed
    process.kill(running.pid, "SIGCONT")
    process.kill(running.pid, "SIGTERM")
    const forced = setTimeout(() => running.pid !== undefined && running.kill("SIGKILL"), 2_000)
    await exited
    clearTimeout(forced)
  }
  const signal = (name: NodeJS.Signals) => {
    const pid = child?.pid
    if (pid === undefined || child?.exitCode !== null) throw new Error(`redis-server on port ${port} is not running`)
    process.kill(pid, name)
  }
  const kill = async () => {
    const running = child
    child = undefined
    process.removeListener("exit", killOnExit)
    if (running === undefined || running.exitCode !== null || running.pid === undefined) return
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()))
    process.kill(running.pid, "SIGKILL")
    await exited
  }
  await start()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    command: (...args) => rawCommand(port, args),
    stop,
    restart: async () => {
      await stop()
      await start()
    },
    pause: () => signal("SIGSTOP"),
    resume: () => signal("SIGCONT"),
    kill
  }
}

/**
 * The test file's own redis-server: started before its tests (when `redisTests.enabled`),
 * stopped by pid after them. Call it once at the top of the file; the returned handle reaches
 * the running server.
 */
export const useRedisServer = (): RedisServer => {
  let server: RedisServer | undefined
  beforeAll(async () => {
    if (redisTests.enabled) server = await startRedisServer()
  })
  afterAll(async () => {
    await server?.stop()
  })
  const current = (): RedisServer => {
    if (server === undefined) throw new Error("this file's redis-server is not running (Redis suites skipped?)")
    return server
  }
  return {
    get port() {
      return current().port
    },
    get url() {
      return current().url
    },
    pid: () => current().pid(),
    command: (...args) => current().command(...args),
    stop: () => current().stop(),
    restart: () => current().restart(),
    pause: () => current().pause(),
    resume: () => current().resume(),
    kill: () => current().kill()
  }
}
